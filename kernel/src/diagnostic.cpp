#include <vzkit/kernel/diagnostic.hpp>

#include <boost/json.hpp>

#include <algorithm>

namespace vzkit::kernel {

bool has_errors(const Diagnostics& d) {
  return std::any_of(d.begin(), d.end(), [](const Diagnostic& x) { return x.severity == Severity::error; });
}

std::string format(const Diagnostic& d) {
  std::string s;
  if (!d.file.empty()) {
    s += d.file;
    if (d.line > 0) s += ":" + std::to_string(d.line) + ":" + std::to_string(d.column);
    s += ": ";
  }
  if (!d.path.empty()) s += d.path + ": ";
  s += d.severity == Severity::error ? "error: " : "warning: ";
  s += d.message;
  s += " [" + d.code;
  if (!d.plugin.empty()) s += ", plugin " + d.plugin;
  s += "]";
  if (!d.hint.empty()) s += "\n  hint: " + d.hint;
  return s;
}

std::string format(const Diagnostics& ds) {
  std::string s;
  for (const auto& d : ds) s += format(d) + "\n";
  return s;
}

boost::json::value to_json(const Diagnostic& d) {
  boost::json::object o{{"severity", d.severity == Severity::error ? "error" : "warning"},
                        {"code", d.code},
                        {"path", d.path},
                        {"message", d.message}};
  if (!d.file.empty()) o["file"] = d.file;
  if (!d.plugin.empty()) o["plugin"] = d.plugin;
  if (!d.hint.empty()) o["hint"] = d.hint;
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
