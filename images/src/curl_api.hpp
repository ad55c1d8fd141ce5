// libcurl, opened on the first registry request instead of being linked into every binary
// (dynamic_library.hpp): it brings about 30 libraries with it (GnuTLS, p11-kit, Kerberos, LDAP,
// ...), whose loading and constructors every vzkit command paid for at start-up, registry or not
// (`vzkit --version`: 10.2 ms with libcurl linked, 3.4 ms without; docs/images.md). The headers
// still give the types.
#pragma once

#include <curl/curl.h>

namespace vzkit::images::detail {

struct CurlApi {
  CURLcode (*global_init)(long flags);
  CURL* (*easy_init)();
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

/// libcurl's functions, opened once (and curl_global_init called). Throws std::runtime_error
/// saying how to install libcurl when it cannot be opened.
const CurlApi& curl();

}  // namespace vzkit::images::detail
