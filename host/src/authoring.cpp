// The host API for plugin authors: conformance checks on one plugin file, and the spec reference.
#include <vzkit/host.hpp>

#include "host_impl.hpp"

#include <vzkit/kernel/conformance.hpp>
#include <vzkit/kernel/spec_reference.hpp>

#include <boost/json.hpp>

namespace vzkit::host {

namespace {

kernel::ConformanceReport back(const ConformanceReport& r) {
  kernel::ConformanceReport k;
  k.plugin = r.plugin;
  k.file = r.file;
  for (const auto& c : r.checks) k.checks.push_back({c.id, c.title, c.passed, c.problems});
  return k;
}

}  // namespace

bool ConformanceReport::passed() const {
  if (!load_error.empty() || checks.empty()) return false;
  for (const auto& c : checks)
    if (!c.passed) return false;
  return true;
}

std::string ConformanceReport::text() const {
  if (!load_error.empty()) return file + ": cannot be checked: " + load_error + "\n";
  return kernel::format(back(*this));
}

std::string ConformanceReport::json() const {
  auto v = kernel::to_json(back(*this));
  if (!load_error.empty()) {
    v.as_object()["load_error"] = load_error;
    v.as_object()["passed"] = false;
  }
  return boost::json::serialize(v);
}

ConformanceReport Host::check_plugin(const std::string& file) {
  ConformanceReport out;
  out.file = file;
  // Judged alone, whatever else is installed, and in a process of its own: a plugin that
  // crashes or hangs while being checked is a result, not the end of this one.
  const auto checked = kernel::check_conformance_isolated(file);
  if (!checked.report) {
    out.load_error = checked.error;
    return out;
  }
  const auto& k = *checked.report;
  out.plugin = k.plugin;
  for (const auto& c : k.checks) out.checks.push_back({c.id, c.title, c.passed, c.problems});
  return out;
}

std::string Host::spec_reference() const { return kernel::spec_reference_markdown(m_impl->plugins); }

}  // namespace vzkit::host
