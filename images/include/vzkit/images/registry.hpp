// A client of the OCI distribution API (https://github.com/opencontainers/distribution-spec)
// over libcurl: manifests, blobs (streamed), uploads (monolithic or chunked, cross-repository
// mount), and authentication as other clients do it (Basic, or the Bearer token flow the
// registry's WWW-Authenticate names, with credentials from auth_files()).
#pragma once

#include <vzkit/images/auth.hpp>
#include <vzkit/images/reference.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vzkit::images {

/// A request that failed; what() names the registry, the request and the reason, with a hint.
struct RegistryError : std::runtime_error {
  RegistryError(const std::string& what, long status, bool transient, std::string code = {})
      : std::runtime_error(what), status(status), transient(transient), code(std::move(code)) {}
  long status = 0;         ///< the HTTP status, 0 when there was no answer
  bool transient = false;  ///< worth retrying: no connection, a dropped transfer, a 5xx, 429
  std::string code;        ///< the OCI error code ("MANIFEST_UNKNOWN", "DENIED", ...)
};

struct RegistryOptions {
  /// Plain HTTP instead of HTTPS. Only for a registry on this machine (localhost, 127.0.0.1):
  /// anything else is refused (std::invalid_argument) so credentials never cross a network in clear.
  bool insecure = false;
  /// Use these instead of looking in auth_files() (`vzkit login` checks them before storing).
  std::optional<Credentials> credentials;
  /// > 0: download at most this many bytes per second on this connection (curl's limit).
  std::uint64_t max_recv_speed = 0;
};

inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";

/// One connection to one repository. Not thread-safe: give each thread its own fork(); forks
/// share the tokens and credentials.
class Registry {
 public:
  Registry(const Reference& ref, const RegistryOptions& options);
  ~Registry();
  Registry(Registry&&) noexcept;
  Registry& operator=(Registry&&) noexcept;
  /// Another handle on the same repository for another thread, sharing authentication.
  Registry fork() const;

  const Reference& reference() const;
  /// "https://host:port" (or http:// with insecure).
  std::string base_url() const;

  /// Whether the registry accepts us (GET /v2/, authenticating when it asks). Throws RegistryError.
  void ping();

  struct Manifest {
    std::string body;
    std::string media_type;
    std::string digest;  ///< sha256 of body
  };
  /// GET the manifest of a tag or digest (checked against it). Throws RegistryError.
  Manifest get_manifest(const std::string& version);
  /// PUT a manifest under a tag; returns its digest.
  std::string put_manifest(const std::string& tag, const std::string& body, const std::string& media_type);

  /// HEAD a blob: its size, or nullopt when the repository does not have it.
  std::optional<std::uint64_t> blob_size(const std::string& digest);
  /// GET a blob from byte `offset` on, handing each piece to `sink` (which may throw to stop). With an
  /// offset it asks for a Range: a 206 must start there, and of a 200 (a registry that ignores
  /// Range) the first `offset` bytes are dropped, so the sink gets the same bytes either way.
  void get_blob(const std::string& digest, const std::function<void(const char*, std::size_t)>& sink,
                std::uint64_t offset = 0);

  enum class Sent { uploaded, existed, mounted };
  /// Uploads a blob unless the repository has it (HEAD first). With `mount_from` (another
  /// repository of this registry that has it) asks for a cross-repository mount first; a
  /// registry that does not offer one answers with an upload, which is then used. `chunk` > 0
  /// sends the data in PATCH requests of that size, else in one PUT.
  Sent push_blob(const std::string& digest, std::string_view data, std::uint64_t chunk = 0,
                 const std::string& mount_from = {});

 private:
  struct Shared;
  struct Impl;
  explicit Registry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace vzkit::images
