// Opens libcrypto at first use (dynamic_library.hpp says why).
#include "crypto_api.hpp"

#include "dynamic_library.hpp"

namespace vzkit::images::detail {

namespace {

CryptoApi open_crypto() {
#ifdef __APPLE__
  const DynamicLibrary lib("libcrypto.3.dylib", "image digests", "install OpenSSL 3 (Homebrew: brew install openssl@3)");
#else
  const DynamicLibrary lib("libcrypto.so.3", "image digests", "install OpenSSL 3's library (Debian: apt-get install libssl3)");
#endif
  CryptoApi api{};
  lib.bind(api.md_ctx_new, "EVP_MD_CTX_new");
  lib.bind(api.md_ctx_free, "EVP_MD_CTX_free");
  lib.bind(api.sha256, "EVP_sha256");
  lib.bind(api.digest_init_ex, "EVP_DigestInit_ex");
  lib.bind(api.digest_update, "EVP_DigestUpdate");
  lib.bind(api.digest_final_ex, "EVP_DigestFinal_ex");
  lib.bind(api.encode_block, "EVP_EncodeBlock");
  lib.bind(api.decode_block, "EVP_DecodeBlock");
  return api;
}

}  // namespace

const CryptoApi& crypto() {
  static const CryptoApi api = open_crypto();  // a failed open throws, and the next call tries again
  return api;
}

}  // namespace vzkit::images::detail
