// A shared library opened at run time instead of being linked into every binary: libcurl and
// OpenSSL's libcrypto are needed by the registry commands only, and loading them (with the
// libraries they bring, and their relocations and constructors) at start-up cost every vzkit
// command, registry or not (docs/images.md has the numbers).
#pragma once

namespace vzkit::images::detail {

class DynamicLibrary {
 public:
  /// Opens `file` (dlopen, kept open for the life of the process). Throws std::runtime_error
  /// naming it, what vzkit uses it for (`used_for`) and how to get it (`install`).
  DynamicLibrary(const char* file, const char* used_for, const char* install);

  /// Sets `fn` to the function `symbol`. Throws std::runtime_error naming the symbol and `install`.
  template <class F>
  void bind(F& fn, const char* symbol) const {
    fn = reinterpret_cast<F>(lookup(symbol));
  }

 private:
  void* lookup(const char* symbol) const;
  void* m_handle = nullptr;
  const char* m_file;
  const char* m_install;
};

}  // namespace vzkit::images::detail
