// What the fuzz targets share: a VZKIT_HOME of their own, the plugins built in this tree loaded
// once, and plugin crashes left to the sanitizers (tests/fuzz, docs/fuzzing.md).
#pragma once

#include <vzkit/host.hpp>

#include "../../kernel/src/plugin_guard.hpp"

#include <boost/system/system_error.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace vzkit::fuzz {

/// $VZKIT_HOME for this process: the caller's when set (scripts/fuzz.sh sets one), else a new
/// temporary folder. Everything a target writes stays under it.
inline std::filesystem::path home() {
  static const std::filesystem::path dir = [] {
    if (const char* h = std::getenv("VZKIT_HOME"); h && *h) return std::filesystem::path(h);
    std::string tmpl = (std::filesystem::temp_directory_path() / "vzkit-fuzz-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    ::setenv("VZKIT_HOME", tmpl.c_str(), 1);
    return std::filesystem::path(tmpl);
  }();
  return dir;
}

/// The plugins of this build, and nothing from the user's search path. A crash inside a plugin
/// goes to the sanitizer and libFuzzer, which keep the input, rather than to the hook guard,
/// which would only print which plugin it was and end the process.
inline const host::Host& plugins() {
  static const host::Host h = [] {
    home();
    kernel::detail::disable_hook_guards();
    host::Options o;
    o.plugin_paths = {VZKIT_PLUGINS_DIR};
    o.default_plugins = false;
    host::Host made(o);
    if (made.plugins().empty() || !made.load_problems().empty()) {
      std::fprintf(stderr, "fuzz: the plugins in %s did not all load\n", VZKIT_PLUGINS_DIR);
      std::abort();
    }
    return made;
  }();
  return h;
}

/// Every text a diagnostic list is shown as, so that printing them is fuzzed too.
inline std::size_t render(const std::vector<host::Diagnostic>& ds) {
  std::size_t n = host::format(ds).size() + host::to_json(ds).size();
  for (const auto& d : ds) n += d.text().size();
  return n;
}

}  // namespace vzkit::fuzz
