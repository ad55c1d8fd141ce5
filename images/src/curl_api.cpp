// Opens libcurl at first use (curl_api.hpp says why).
#include "curl_api.hpp"

#include "dynamic_library.hpp"

namespace vzkit::images::detail {

namespace {

CurlApi open_curl() {
#ifdef __APPLE__
  const DynamicLibrary lib("libcurl.4.dylib", "registries", "install a libcurl of version 7.62 or later");
#else
  const DynamicLibrary lib("libcurl.so.4", "registries",
                           "install a libcurl of version 7.62 or later (Debian: apt-get install libcurl4)");
#endif
  CurlApi api{};
  lib.bind(api.global_init, "curl_global_init");
  lib.bind(api.easy_init, "curl_easy_init");
  lib.bind(api.easy_setopt, "curl_easy_setopt");
  lib.bind(api.easy_perform, "curl_easy_perform");
  lib.bind(api.easy_getinfo, "curl_easy_getinfo");
  lib.bind(api.easy_cleanup, "curl_easy_cleanup");
  lib.bind(api.easy_reset, "curl_easy_reset");
  lib.bind(api.easy_strerror, "curl_easy_strerror");
  lib.bind(api.slist_append, "curl_slist_append");
  lib.bind(api.slist_free_all, "curl_slist_free_all");
  api.global_init(CURL_GLOBAL_DEFAULT);
  return api;  // the library stays open for the life of the process
}

}  // namespace

const CurlApi& curl() {
  static const CurlApi api = open_curl();  // a failed open throws, and the next call tries again
  return api;
}

}  // namespace vzkit::images::detail
