#include <vzkit/images/digest.hpp>

#include "crypto_api.hpp"

#include <stdexcept>

namespace vzkit::images {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() {
    if (ctx) detail::crypto().md_ctx_free(ctx);
  }
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
  const auto& c = detail::crypto();
  m_impl->ctx = c.md_ctx_new();
  if (!m_impl->ctx || c.digest_init_ex(m_impl->ctx, c.sha256(), nullptr) != 1)
    throw std::runtime_error("cannot start a SHA-256 hash (OpenSSL)");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, std::size_t size) {
  if (size) detail::crypto().digest_update(m_impl->ctx, data, size);
}

std::string Sha256::digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  detail::crypto().digest_final_ex(m_impl->ctx, md, &n);
  static const char* hex = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < n; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string sha256_digest(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.digest();
}

bool valid_digest(std::string_view d) {
  if (d.size() != 7 + 64 || d.substr(0, 7) != "sha256:") return false;
  for (char c : d.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace vzkit::images
