// Shared helpers for tests that run specs through the real plugins built in this tree.
#pragma once

#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/plugin_host.hpp>
#include <vzkit/kernel/validate.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vzkit::test {

namespace json = boost::json;
using kernel::Diagnostic;
using kernel::Diagnostics;

/// A spec named `name` with these device entries (JSON object texts) and extra top-level keys
/// (text such as `"arch": "x86_64", ` placed before "devices").
inline std::string make_spec(std::initializer_list<std::string> devices, const std::string& extra = "",
                             const std::string& name = "vm") {
  std::string s = R"({"name": ")" + name + R"(", )" + extra + R"("devices": [)";
  bool first = true;
  for (const auto& d : devices) {
    s += (first ? "" : ", ") + d;
    first = false;
  }
  return s + "]}";
}

/// A device entry: {"plugin": NAME, ...config}.
inline std::string entry(const std::string& plugin, const json::object& config = {}) {
  json::object o{{"plugin", plugin}};
  for (const auto& kv : config) o[kv.key()] = kv.value();
  return json::serialize(o);
}

/// The plugins built from plugins/ in this tree (loaded once per process).
inline const kernel::PluginHost& builtin_plugins() {
  static kernel::PluginHost host = [] {
    kernel::PluginHost h;
    h.load({{VZKIT_PLUGINS_DIR, "build tree"}});
    return h;
  }();
  return host;
}

/// Folder with small files specs can point at (kernel, initrd, disk images): tests/data.
inline std::filesystem::path data_dir() { return std::filesystem::path(VZKIT_SOURCE_DIR) / "tests" / "data"; }

/// Parses and validates spec text as if it were a file in `dir` (default tests/data).
inline Diagnostics validate_text(const std::string& text, const std::string& engine = "",
                                 const std::filesystem::path& dir = data_dir()) {
  auto parsed = kernel::parse_spec(text, "spec.json", dir);
  if (!parsed.spec) return parsed.diagnostics;
  kernel::ValidateOptions o;
  o.engine = engine;
  return kernel::validate(*parsed.spec, builtin_plugins(), o);
}

/// Validates then assembles; fails the test (and returns null) when either step fails.
/// `check_engine` false validates without engine checks (those that look at the host, such as
/// firmware files), so a plan's shape can be pinned on any host.
inline json::value plan_text(const std::string& text, const std::string& engine,
                             const std::filesystem::path& dir = data_dir(), bool check_engine = true) {
  auto parsed = kernel::parse_spec(text, "spec.json", dir);
  if (!parsed.spec) {
    ADD_FAILURE() << kernel::format(parsed.diagnostics);
    return nullptr;
  }
  kernel::ValidateOptions o;
  if (check_engine) o.engine = engine;
  auto d = kernel::validate(*parsed.spec, builtin_plugins(), o);
  if (kernel::has_errors(d)) {
    ADD_FAILURE() << kernel::format(d);
    return nullptr;
  }
  kernel::AssembleOptions a;
  a.engine = engine;
  try {
    return kernel::assemble(*parsed.spec, builtin_plugins(), a).model;
  } catch (const kernel::AssembleError& e) {
    ADD_FAILURE() << kernel::format(e.diagnostics);
    return nullptr;
  }
}

/// True when `d` holds a diagnostic with this code, path and plugin (plugin "" = any).
inline bool has_diag(const Diagnostics& d, const std::string& code, const std::string& path,
                     const std::string& plugin = "") {
  for (const auto& x : d)
    if (x.code == code && x.path == path && (plugin.empty() || x.plugin == plugin)) return true;
  return false;
}

/// gtest-friendly form: EXPECT_TRUE(expect_diag(d, "code", "devices[0].tag", "virtiofs")).
inline ::testing::AssertionResult expect_diag(const Diagnostics& d, const std::string& code, const std::string& path,
                                              const std::string& plugin = "") {
  if (has_diag(d, code, path, plugin)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no diagnostic " << code << " at '" << path << "' (plugin '" << plugin
                                       << "'); got:\n"
                                       << kernel::format(d);
}

/// Compares `actual` with the file at `file`. With VZKIT_UPDATE_GOLDEN=1 in the environment the
/// file is (re)written instead, so a reviewer sees the change in the diff. `what` names the file
/// in messages and says how else it is made, if at all.
/// Absolute paths of this source tree are replaced by "$SRC" before comparing.
inline void expect_file_contents(const std::filesystem::path& file, std::string actual, const std::string& what) {
  const std::string src = VZKIT_SOURCE_DIR;
  for (std::size_t pos; (pos = actual.find(src)) != std::string::npos;) actual.replace(pos, src.size(), "$SRC");
  if (const char* u = std::getenv("VZKIT_UPDATE_GOLDEN"); u && std::string(u) == "1") {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(file, std::ios::binary);
  ASSERT_TRUE(in) << "missing " << what << " " << file << "; run the test with VZKIT_UPDATE_GOLDEN=1 to create it";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), actual) << what << " " << file << " differs; rerun the test with VZKIT_UPDATE_GOLDEN=1 to "
                              << "rewrite it if the change is intended";
}

/// Compares `actual` with tests/golden/NAME (see expect_file_contents).
inline void expect_golden(const std::string& name, std::string actual) {
  expect_file_contents(std::filesystem::path(VZKIT_SOURCE_DIR) / "tests" / "golden" / name, std::move(actual),
                       "golden file");
}

}  // namespace vzkit::test
