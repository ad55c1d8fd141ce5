// Content digests as OCI writes them: "sha256:" followed by 64 lower-case hex digits.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace vzkit::images {

/// An incremental SHA-256 (OpenSSL). Not copyable; one thread at a time.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, std::size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  /// "sha256:<hex>"; the hash cannot be updated afterwards.
  std::string digest();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// "sha256:<hex>" of `data`.
std::string sha256_digest(std::string_view data);

/// Whether `digest` is "sha256:" and 64 lower-case hex digits (the only algorithm vzkit accepts,
/// so a digest can name a file in the store without escaping).
bool valid_digest(std::string_view digest);

}  // namespace vzkit::images
