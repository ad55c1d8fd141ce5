// Assembly: asks each device's plugin to add its objects to the chosen engine's model and
// merges the fragments into one plan.
#pragma once

#include <vzkit/kernel/diagnostic.hpp>
#include <vzkit/kernel/plugin_host.hpp>
#include <vzkit/kernel/spec.hpp>

#include <boost/json/value.hpp>

#include <stdexcept>
#include <string>

namespace vzkit::kernel {

struct AssembleOptions {
  std::string engine;       ///< "vz" or "qemu"
  std::string bundle_dir;   ///< where the VM keeps its files (empty: the spec's folder)
  bool materialize = false; ///< let plugins create the files the plan names
  std::string accel;        ///< qemu: accelerator to record in the plan (default "tcg")
};

/// A plan: the engine's object model as JSON (vz::Configuration or qemu::Machine), canonical
/// (it round-trips through the typed model unchanged).
struct Plan {
  std::string engine;
  boost::json::value model;
};

/// Thrown when assembly fails; carries diagnostics naming the plugin and device.
struct AssembleError : std::runtime_error {
  explicit AssembleError(Diagnostics d);
  Diagnostics diagnostics;
};

/// Assembles a validated spec (validate() returned no error for this engine).
Plan assemble(const Spec& spec, const PluginHost& host, const AssembleOptions& options);

/// Merges a plugin's fragment into `plan`: objects key by key, arrays appended (each appended
/// object stamped with `origin` unless it has one), scalars must agree. `stamp_keys` are
/// top-level keys whose object values also get the origin. Conflicts are appended to `conflicts`
/// as "key.path: existing vs new".
void merge_fragment(boost::json::value& plan, boost::json::value fragment, const boost::json::object& origin,
                    const std::vector<std::string>& stamp_keys, std::vector<std::string>& conflicts);

}  // namespace vzkit::kernel
