// Conformance: the rules every device plugin follows, run on one loaded plugin. The test suite
// runs them over every plugin built in the tree; `vzkit plugin check FILE` over one file.
#pragma once

#include <vzkit/kernel/plugin_host.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vzkit::kernel {

/// The outcome of one rule.
struct ConformanceCheck {
  /// Stable identifier: "schema.metaschema", "schema.strict", "schema.documented",
  /// "manifest.complete", "examples.validate", "config.rejects-unknown", "fragments.round-trip".
  std::string id;
  std::string title;                  ///< what the rule asks for, one phrase
  bool passed = true;                 ///< true exactly when `problems` is empty
  /// One sentence each: where (a JSON path inside the plugin's "schema" or manifest, prefixed
  /// "schema: " or "manifest: ", or the engine for plan fragments) and what to do about it.
  std::vector<std::string> problems;
};

/// Every rule's outcome for one plugin.
struct ConformanceReport {
  std::string plugin;                    ///< the plugin's name
  std::string file;                      ///< the file it was loaded from
  std::vector<ConformanceCheck> checks;  ///< every rule, always in the order listed above

  /// True when every check passed.
  bool passed() const;
  /// The check with this id, or nullptr.
  const ConformanceCheck* find(std::string_view id) const;
};

/// Runs every rule on `plugin` and collects every problem (it never stops at the first). A
/// failing plugin hook (an exception, an error status) is a problem of the check that called
/// it. Plan fragments are assembled from the schema's first example with a context whose
/// folders are a fresh temporary folder (removed afterwards) and `materialize` false; a plugin
/// that writes files there anyway fails "fragments.round-trip". Thread-compatible: reports for
/// different plugins may be made concurrently.
ConformanceReport check_conformance(const LoadedPlugin& plugin);

/// For people: "PASS id  title" or "FAIL id  title" with its problems indented below, one
/// line each, then a last line "PLUGIN: conforms" or "PLUGIN: N problems".
std::string format(const ConformanceReport& report);
/// {"plugin", "file", "passed", "checks": [{"id", "title", "passed", "problems": [...]}]}.
boost::json::value to_json(const ConformanceReport& report);
/// The report back from to_json's form. Throws std::invalid_argument when it is not one.
ConformanceReport conformance_report_from_json(const boost::json::value& v);

/// The conformance checks on one file, run in the plugin scanner process (here, when there is
/// none), so that a plugin that crashes, hangs or exits while being checked is reported as such.
struct IsolatedCheck {
  std::optional<ConformanceReport> report;  ///< set when the checks ran
  std::string error;                        ///< otherwise: why not
};
IsolatedCheck check_conformance_isolated(const std::filesystem::path& file,
                                         std::chrono::milliseconds limit = std::chrono::seconds(60));

}  // namespace vzkit::kernel
