#include "dynamic_library.hpp"

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace vzkit::images::detail {

DynamicLibrary::DynamicLibrary(const char* file, const char* used_for, const char* install)
    : m_file(file), m_install(install) {
  m_handle = ::dlopen(file, RTLD_NOW | RTLD_LOCAL);
  if (!m_handle) {
    const char* why = ::dlerror();
    throw std::runtime_error(std::string("cannot open ") + file + " (" + (why ? why : "unknown reason") +
                             "), which vzkit uses for " + used_for + "; " + install);
  }
}

void* DynamicLibrary::lookup(const char* symbol) const {
  void* p = ::dlsym(m_handle, symbol);
  if (!p) throw std::runtime_error(std::string(m_file) + " has no " + symbol + "; " + m_install);
  return p;
}

}  // namespace vzkit::images::detail
