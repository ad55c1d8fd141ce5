// Registry authentication as other OCI clients do it: the challenge a registry answers 401 with
// (WWW-Authenticate, RFC 7235 / RFC 6750), and credentials kept in Docker's config file format
// (~/.docker/config.json, $DOCKER_CONFIG/config.json, or $REGISTRY_AUTH_FILE as podman and
// skopeo use it).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vzkit::images {

/// One challenge: the scheme ("Basic", "Bearer") and its parameters (realm, service, scope),
/// with parameter names in lower case and quoted values unquoted.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
  std::string param(const std::string& name) const;
};

/// The challenges of a WWW-Authenticate header value (several may share one header). Throws
/// std::invalid_argument naming what is malformed (an unterminated quote, a parameter without '=').
std::vector<Challenge> parse_www_authenticate(std::string_view value);

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  ///< a refresh token ("identitytoken"), used instead of a password
  std::string file;            ///< where they came from
};

/// A config file that cannot be read as one; what() names the file and the JSON path.
struct AuthFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The files searched for credentials, in order: $REGISTRY_AUTH_FILE, then
/// $DOCKER_CONFIG/config.json or ~/.docker/config.json. Only those that exist.
std::vector<std::filesystem::path> auth_files();

/// The entry for `registry` (host[:port]) in a config file's text: "auths" keys are matched
/// with or without a scheme and path ("https://index.docker.io/v1/" is docker.io). Reads
/// "auth" (base64 of user:password), or "username" and "password", and "identitytoken".
/// Throws AuthFileError for malformed JSON or an "auth" that is not base64 of user:password,
/// and when the registry is kept by a credential helper (credHelpers/credsStore), which vzkit
/// does not run.
std::optional<Credentials> credentials_in(const std::string& text, const std::string& registry,
                                          const std::string& file);

/// credentials_in() over auth_files(); the first file with an entry wins.
std::optional<Credentials> find_credentials(const std::string& registry);

/// Where `vzkit login` writes: $REGISTRY_AUTH_FILE if set, else the Docker config file.
std::filesystem::path login_file();

/// Adds or replaces `registry`'s entry in login_file() (other entries and keys kept), written
/// atomically with mode 0600. Returns the file.
std::filesystem::path store_credentials(const std::string& registry, const std::string& username,
                                        const std::string& password);

/// Removes `registry`'s entry; false when there was none.
bool remove_credentials(const std::string& registry);

std::string base64_encode(std::string_view data);
/// Throws std::invalid_argument for text that is not base64.
std::string base64_decode(std::string_view text);

}  // namespace vzkit::images
