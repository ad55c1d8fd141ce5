// Validation of a spec, in stages: the spec's own schema; each device against its plugin's
// schema (defaults filled in); each plugin's own rules; rules across plugins (slots, requires,
// conflicts, unique values, instance counts); engine admission. Every problem is collected.
#pragma once

#include <boost/json/object.hpp>

#include <vzkit/kernel/diagnostic.hpp>
#include <vzkit/kernel/plugin_host.hpp>
#include <vzkit/kernel/spec.hpp>

#include <boost/json/value.hpp>

#include <optional>
#include <string>

namespace vzkit::kernel {

struct ValidateOptions {
  std::string engine;        ///< "vz", "qemu", or empty for engine-independent checks
  std::string bundle_dir;    ///< where the VM keeps its files (empty: the spec's folder)
  bool run_plugin_rules = true;
  /// What the engine allows on this host, when known (the VZ engine's host_bounds_json:
  /// "virtualization_supported", "cpu_count": {"min", "max"}, "memory_size": {"min", "max"});
  /// checked against the spec's cpus and memory.
  boost::json::object host_bounds;
};

/// Checks `spec` and completes it (defaults, typed fields, device entries). Returns every
/// diagnostic found; the spec is usable for assembly when none is an error.
Diagnostics validate(Spec& spec, const PluginHost& host, const ValidateOptions& options = {});

/// Parse diagnostics plus validation in one step: appends every diagnostic to `all` and returns
/// the completed spec when none of them is an error.
std::optional<Spec> validated(ParsedSpec parsed, const PluginHost& host, const ValidateOptions& options,
                              Diagnostics& all);

/// The JSON Schema of a whole spec: top-level keys plus, for "devices", one alternative per
/// loaded plugin (its schema with "plugin" fixed to its name).
boost::json::value spec_schema(const PluginHost& host);

/// This host's architecture: "aarch64" or "x86_64".
std::string host_arch();

/// The architecture a spec runs as on an engine: the spec's "arch", else the engine's default
/// (aarch64 for vz; the host's for qemu).
std::string effective_arch(const Spec& spec, std::string_view engine);

/// The context object handed to plugin hooks, for every device of one spec, as JSON text: the
/// keys that are the same for all devices (engine, vm_name, spec_dir, bundle_dir, arch, cpus,
/// memory_bytes, materialize and, when `host` is not empty, host: what the engine reported about
/// this host, ValidateOptions::host_bounds) are serialized once, and each
/// device adds its own "path". The kernel builds hook requests as text, so a 125-device spec does
/// not build and serialize 125 context objects per pass.
class PluginContextText {
 public:
  PluginContextText(const Spec& spec, std::string_view engine, const std::string& bundle_dir, bool materialize,
                    const boost::json::object* host = nullptr);
  /// Appends the context of `device` to `out`.
  void append(std::string& out, const DeviceEntry& device) const;

 private:
  std::string m_head;  ///< the shared keys, serialized, without the closing brace
};

}  // namespace vzkit::kernel
