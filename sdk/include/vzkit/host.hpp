// The host API for front-ends: everything the vzkit command does, as a library. List plugins and
// their schemas, validate specs with path-named diagnostics, assemble plans, and run a machine
// while observing its state and console. Implemented by the kernel library (libvzkit_host);
// the types here are plain standard C++, JSON travels as text.
//
// Threading: a Host may be used from one thread at a time. A Session runs its machine on the
// thread that calls run()/run_for(); callbacks arrive on that thread.
#pragma once

#include <vzkit/machine.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vzkit::host {

/// One problem found in a spec.
struct Diagnostic {
  bool error = true;     ///< false: a warning
  std::string code;      ///< stable, e.g. "schema.range", "virtiofs.tag-too-long"
  std::string file;      ///< the spec file, when known
  std::string path;      ///< JSON path: "devices[2].scanouts[0].width"
  std::string plugin;    ///< the plugin concerned, if any
  std::string message;   ///< one lower-case phrase
  std::string hint;      ///< how to fix it
  int line = 0;          ///< for syntax errors
  int column = 0;
  /// "spec.json: devices[2].tag: error: ... [code, plugin p]" and the hint on the next line.
  std::string text() const;
};

struct PluginInfo {
  std::string name;
  std::string version;
  std::string summary;
  std::vector<std::string> engines;
  std::string file;         ///< the shared library it came from
  std::string origin;       ///< which search-path entry found it
  std::string schema_json;  ///< JSON Schema of its settings, to render a form from
};

struct LoadProblem {
  std::string file;
  std::string reason;
};

struct Validation {
  bool valid = false;  ///< no errors (warnings allowed)
  std::vector<Diagnostic> diagnostics;
};

/// A plan for one engine.
struct Plan {
  std::string engine;                  ///< "qemu" or "vz"
  std::string name;                    ///< the VM's name
  std::string model_json;              ///< the engine's object model (sdk/qemu or sdk/vz) as JSON
  std::vector<std::string> qemu_argv;  ///< qemu: the command line (without run-time options)
  std::string swift;                   ///< vz: Swift source building the same configuration
};

/// Thrown by plan() when the spec is invalid or assembly fails; carries every diagnostic.
struct PlanError : std::runtime_error {
  explicit PlanError(std::vector<Diagnostic> d);
  std::vector<Diagnostic> diagnostics;
};

struct Options {
  std::vector<std::string> plugin_paths;  ///< searched first
  bool default_plugins = true;            ///< also $VZKIT_PLUGIN_PATH, beside the binary, $VZKIT_HOME/plugins
};

struct PlanOptions {
  std::string engine = "qemu";
  std::string bundle_dir;    ///< where the VM keeps its files (default: the spec's folder)
  bool materialize = false;  ///< create the files the plan names (NVRAM copies, new disks)
  std::string accel = "tcg"; ///< qemu: "tcg", "kvm", or "auto" (probe the host)
};

struct SessionOptions {
  std::string run_dir;  ///< sockets and logs of the run (created)
  /// Guest console output (the spec's stdio serial console); default: this process's stdout.
  std::function<void(const std::string& bytes)> console;
  std::function<void(const MachineEvent&)> on_event;
};

/// A machine being run by this process.
class Session {
 public:
  virtual ~Session() = default;
  virtual Machine& machine() = 0;
  /// Runs the event loop until the machine has stopped (or failed). Returns its final state.
  virtual MachineState run() = 0;
  /// Runs the event loop for at most `d`, returning early if the machine stops.
  virtual MachineState run_for(std::chrono::milliseconds d) = 0;
};

class Host {
 public:
  explicit Host(const Options& options = {});
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const std::vector<PluginInfo>& plugins() const;
  const std::vector<LoadProblem>& load_problems() const;
  /// The JSON Schema of a whole spec (one alternative per plugin for "devices").
  std::string spec_schema() const;

  /// Validates spec text (JSON). `spec_dir` is where relative paths resolve; `engine` "" checks
  /// what does not depend on an engine.
  Validation validate(const std::string& spec_json, const std::string& spec_dir, const std::string& engine = "",
                      const std::string& file_name = "spec.json") const;
  /// Validates then assembles. Throws PlanError.
  Plan plan(const std::string& spec_json, const std::string& spec_dir, const PlanOptions& options,
            const std::string& file_name = "spec.json") const;

  /// A machine for a qemu plan, not started yet: call machine().start() and then run().
  /// Throws std::runtime_error for an engine this host cannot run (vz needs macOS).
  std::unique_ptr<Session> create_session(const Plan& plan, const SessionOptions& options) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace vzkit::host
