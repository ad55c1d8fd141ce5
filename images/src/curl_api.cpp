// Opens libcurl at first use (curl_api.hpp says why).
#include "curl_api.hpp"

#include <dlfcn.h>

#include <mutex>
#include <stdexcept>
#include <string>

namespace vzkit::images::detail {

namespace {

#ifdef __APPLE__
constexpr const char* kLibrary = "libcurl.4.dylib";
#else
constexpr const char* kLibrary = "libcurl.so.4";
#endif

template <class F>
void bind(void* lib, F& fn, const char* name) {
  void* p = ::dlsym(lib, name);
  if (!p) throw std::runtime_error(std::string(kLibrary) + " has no " + name + "; install a libcurl of version 7.62 or later");
  fn = reinterpret_cast<F>(p);
}

CurlApi open_curl() {
  void* lib = ::dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = ::dlerror();
    throw std::runtime_error(std::string("cannot open ") + kLibrary + " (" + (why ? why : "unknown reason") +
                             "), which vzkit uses for registries; install it (Debian: apt-get install libcurl4)");
  }
  CurlApi api{};
  bind(lib, api.global_init, "curl_global_init");
  bind(lib, api.easy_init, "curl_easy_init");
  bind(lib, api.easy_setopt, "curl_easy_setopt");
  bind(lib, api.easy_perform, "curl_easy_perform");
  bind(lib, api.easy_getinfo, "curl_easy_getinfo");
  bind(lib, api.easy_cleanup, "curl_easy_cleanup");
  bind(lib, api.easy_reset, "curl_easy_reset");
  bind(lib, api.easy_strerror, "curl_easy_strerror");
  bind(lib, api.slist_append, "curl_slist_append");
  bind(lib, api.slist_free_all, "curl_slist_free_all");
  api.global_init(CURL_GLOBAL_DEFAULT);
  return api;  // the library stays open for the life of the process
}

}  // namespace

const CurlApi& curl() {
  static const CurlApi api = open_curl();  // a failed open throws, and the next call tries again
  return api;
}

}  // namespace vzkit::images::detail
