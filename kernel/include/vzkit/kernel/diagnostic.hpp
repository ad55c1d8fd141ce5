// Diagnostics: every problem found in a spec, each with where it is and how to fix it.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace vzkit::kernel {

enum class Severity { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  std::string code;     ///< stable identifier, e.g. "schema.minimum" or "virtiofs.tag-too-long"
  std::string file;     ///< spec file (empty when the spec came from memory)
  std::string path;     ///< JSON path in the spec: "devices[2].scanouts[0].width" ("" = whole spec)
  std::string plugin;   ///< the plugin concerned, if any
  std::string message;  ///< one lower-case phrase, values quoted
  std::string hint;     ///< how to fix it (may be empty)
  int line = 0;         ///< 1-based, only for syntax errors
  int column = 0;
};

using Diagnostics = std::vector<Diagnostic>;

bool has_errors(const Diagnostics& d);
/// "spec.json: devices[2].tag: error: tag is empty [virtiofs.tag-empty] (plugin virtiofs)\n  hint: ..."
std::string format(const Diagnostic& d);
std::string format(const Diagnostics& d);
boost::json::value to_json(const Diagnostic& d);
boost::json::value to_json(const Diagnostics& d);

}  // namespace vzkit::kernel
