#include <vzkit/kernel/diagnostic.hpp>
#include <vzkit/kernel/json_text.hpp>

#include <boost/json.hpp>

#include <algorithm>

namespace vzkit::kernel {

bool has_errors(const Diagnostics& d) {
  return std::any_of(d.begin(), d.end(), [](const Diagnostic& x) { return x.severity == Severity::error; });
}

std::string format(const Diagnostic& d) {
  // Everything here may quote the spec: control characters are shown, never sent to the terminal.
  std::string s;
  if (!d.file.empty()) {
    s += printable(d.file);
    if (d.line > 0) s += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
    s += ": ";
  }
  if (!d.path.empty()) s += printable(d.path) + ": ";
  s += d.severity == Severity::error ? "error: " : "warning: ";
  s += printable(d.message);
  s += " [" + printable(d.code);
  if (!d.plugin.empty()) s += ", plugin " + printable(d.plugin);
  s += "]";
  if (!d.hint.empty()) s += "\n  hint: " + printable(d.hint);
  return s;
}

std::string format(const Diagnostics& ds) {
  std::string s;
  for (const auto& d : ds) s += format(d) + "\n";
  return s;
}

boost::json::value to_json(const Diagnostic& d) {
  // Always valid JSON: a file name or a quoted value may not be valid UTF-8.
  boost::json::object o{{"severity", d.severity == Severity::error ? "error" : "warning"},
                        {"code", valid_utf8(d.code)},
                        {"path", valid_utf8(d.path)},
                        {"message", valid_utf8(d.message)}};
  if (!d.file.empty()) o["file"] = valid_utf8(d.file);
  if (!d.plugin.empty()) o["plugin"] = valid_utf8(d.plugin);
  if (!d.hint.empty()) o["hint"] = valid_utf8(d.hint);
  if (d.line > 0) {
    o["line"] = d.line;
    o["column"] = d.column;
  }
  return o;
}

boost::json::value to_json(const Diagnostics& ds) {
  boost::json::array a;
  for (const auto& d : ds) a.push_back(to_json(d));
  return a;
}

}  // namespace vzkit::kernel
