// Registry authentication as other OCI clients do it: the challenge a registry answers 401 with
// (WWW-Authenticate, RFC 7235 / RFC 6750), and credentials kept in Docker's config file format
// (~/.docker/config.json, $DOCKER_CONFIG/config.json, or $REGISTRY_AUTH_FILE as podman and
// skopeo use it).
#pragma once

#include <chrono>
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

/// A credential helper (docker-credential-NAME) that is not on PATH, failed, or answered with
/// something else than the protocol's JSON; what() names the program, the config entry that
/// names it and what it said (never a secret), with a hint.
struct CredentialHelperError : AuthFileError {
  using AuthFileError::AuthFileError;
};

/// How long a credential helper may take before it is killed.
inline constexpr std::chrono::milliseconds kCredentialHelperTimeout{30000};

/// The credential helper a config names for `registry`, as Docker chooses it: the credHelpers
/// entry for that host, else credsStore. `origin` says where ("FILE: credsStore").
struct HelperRef {
  std::string name;    ///< "pass": the program docker-credential-pass
  std::string origin;
  std::string program() const { return "docker-credential-" + name; }
  /// "docker-credential-pass (named by FILE: credsStore)"
  std::string describe() const;
};
/// nullopt when the file keeps `registry`'s credentials itself (no helper, or a credHelpers
/// entry of "" for it). Throws AuthFileError for malformed JSON or a helper name that is not a
/// plain word.
std::optional<HelperRef> helper_in(const std::string& text, const std::string& registry, const std::string& file);

/// `PROGRAM get`: the credentials the helper keeps for `registry`, asked for as host[:port] and
/// then as https://host[:port] (Docker Hub: "https://index.docker.io/v1/" first); nullopt when
/// it answers "credentials not found". A Username of "<token>" makes Secret an identity token.
/// Throws CredentialHelperError.
std::optional<Credentials> helper_get(const HelperRef& helper, const std::string& registry,
                                      std::chrono::milliseconds timeout = kCredentialHelperTimeout);
/// `PROGRAM store` with {"ServerURL","Username","Secret"}. Throws CredentialHelperError.
void helper_store(const HelperRef& helper, const std::string& registry, const std::string& username,
                  const std::string& secret);
/// `PROGRAM erase`; false when the helper had nothing for `registry`. Throws CredentialHelperError.
bool helper_erase(const HelperRef& helper, const std::string& registry);

/// The files searched for credentials, in order: $REGISTRY_AUTH_FILE, then
/// $DOCKER_CONFIG/config.json or ~/.docker/config.json. Only those that exist.
std::vector<std::filesystem::path> auth_files();

/// The credentials for `registry` (host[:port]) a config file's text gives, in Docker's order:
/// a credential helper when the file names one for it (helper_in; then only the helper is asked),
/// else the "auths" entry, whose keys are matched with or without a scheme and path
/// ("https://index.docker.io/v1/" is docker.io): "auth" (base64 of user:password), or
/// "username" and "password", and "identitytoken". Throws AuthFileError for malformed JSON or an
/// "auth" that is not base64 of user:password, CredentialHelperError for a helper that fails.
std::optional<Credentials> credentials_in(const std::string& text, const std::string& registry,
                                          const std::string& file);

/// credentials_in() over auth_files(); the first file with an entry wins.
std::optional<Credentials> find_credentials(const std::string& registry);

/// Where `vzkit login` writes: $REGISTRY_AUTH_FILE if set, else the Docker config file.
std::filesystem::path login_file();

/// Stores `registry`'s credentials where login_file() says: through its credential helper when
/// it names one for the registry (and an entry in clear for it is dropped from the file), else
/// as its entry in the file (other entries and keys kept), written atomically with mode 0600.
/// Returns credentials_place(registry).
std::string store_credentials(const std::string& registry, const std::string& username, const std::string& password);

/// Removes `registry`'s credentials: through the helper login_file() names for it, and its entry
/// in the file; false when there were none.
bool remove_credentials(const std::string& registry);

/// Where `vzkit login` keeps `registry`'s credentials: the file, or "docker-credential-NAME
/// (named by FILE: credsStore)".
std::string credentials_place(const std::string& registry);

std::string base64_encode(std::string_view data);
/// Throws std::invalid_argument for text that is not base64.
std::string base64_decode(std::string_view text);

}  // namespace vzkit::images
