// OpenSSL's libcrypto (SHA-256 and base64), opened on first use (dynamic_library.hpp says why).
// The headers still give the types.
#pragma once

#include <openssl/evp.h>

namespace vzkit::images::detail {

struct CryptoApi {
  EVP_MD_CTX* (*md_ctx_new)();
  void (*md_ctx_free)(EVP_MD_CTX*);
  const EVP_MD* (*sha256)();
  int (*digest_init_ex)(EVP_MD_CTX*, const EVP_MD*, ENGINE*);
  int (*digest_update)(EVP_MD_CTX*, const void*, size_t);
  int (*digest_final_ex)(EVP_MD_CTX*, unsigned char*, unsigned int*);
  int (*encode_block)(unsigned char*, const unsigned char*, int);
  int (*decode_block)(unsigned char*, const unsigned char*, int);
};

/// libcrypto's functions, opened once. Throws std::runtime_error saying how to install it.
const CryptoApi& crypto();

}  // namespace vzkit::images::detail
