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
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vzkit::host {

/// vzkit's version, e.g. "0.3.0".
const char* version();

/// The engine this host runs VMs with when none is named: "vz" on a Mac, "qemu" elsewhere.
std::string default_engine();

/// How much vzkit says about what it does (which plugin file it loads, what it scans).
enum class LogLevel { debug, info, warning };
/// Receives vzkit's log lines; by default they are dropped. Set it once, before making a Host.
void set_log_handler(std::function<void(LogLevel, const std::string&)> handler);

/// What the VZ engine allows on this host, as JSON: {"virtualization_supported", "macos_major",
/// "cpu_count": {"min", "max"}, "memory_size": {"min", "max"}, "rosetta": "installed" |
/// "not-installed" | "not-supported", "nested_virtualization_supported", ...}. nullopt when this
/// host has no VZ engine (it is not a Mac, or vzkit-vz is missing).
std::optional<std::string> vz_host_facts();

/// Installs Rosetta for Linux guests on a Mac (macOS shows Apple's license and downloads it).
/// Throws std::runtime_error saying why when it cannot.
void install_rosetta();

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
  std::vector<std::string> slots;  ///< slots it fills ("boot-loader", "platform")
  std::string min_macos;           ///< VZ: the oldest macOS its classes run on
  bool save_restore = false;       ///< a VM with the device can be saved and restored on each of its engines
  std::vector<std::string> save_restore_engines;  ///< the engines on which it can ("qemu", "vz")
  std::map<std::string, std::string> save_restore_notes;  ///< per engine, why it can't (or a caveat)
  std::string abi;                 ///< the plugin ABI it was built for, "major.minor"
  std::string file;                ///< the shared library it came from
  std::string origin;              ///< which search-path entry found it
  std::string schema_json;         ///< JSON Schema of its settings, to render a form from
};

struct LoadProblem {
  std::string file;
  std::string reason;
};

struct Validation {
  bool valid = false;  ///< no errors (warnings allowed)
  std::vector<Diagnostic> diagnostics;
  std::string engine;  ///< the engine it was checked for ("" none)
};

/// A plan for one engine.
struct Plan {
  std::string engine;                  ///< "qemu" or "vz"
  std::string name;                    ///< the VM's name
  std::string model_json;              ///< the engine's object model (sdk/qemu or sdk/vz) as indented JSON
  std::vector<std::string> qemu_argv;  ///< qemu: the command line (without run-time options)
  std::string swift;                   ///< vz: Swift source building the same configuration
  std::vector<Diagnostic> warnings;    ///< what validation warned about
};

/// Thrown when a spec is invalid or its plan cannot be assembled; carries every diagnostic.
struct PlanError : std::runtime_error {
  /// `invalid_input`: the spec itself is wrong (validation failed); false: assembly failed.
  explicit PlanError(std::vector<Diagnostic> d, bool invalid_input = true);
  std::vector<Diagnostic> diagnostics;
  bool invalid_input = true;
};

/// Thrown for a bad request that is not about a spec (an invalid VM name, a missing option).
struct InputError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// The text of diagnostics, one per entry (with its hint), as people read them.
std::string format(const std::vector<Diagnostic>& diagnostics);
/// Diagnostics as a JSON array of objects (error, code, file, path, plugin, message, hint, line, column).
std::string to_json(const std::vector<Diagnostic>& diagnostics);
/// JSON text indented for people (two spaces, one key per line).
std::string pretty_json(const std::string& json_text);
/// `text` with each byte that is not valid UTF-8 replaced by U+FFFD (for JSON output of file
/// names and other text from outside).
std::string valid_utf8(const std::string& text);
/// A command line as a POSIX shell reads it back: each argument quoted only when it needs it.
std::string shell_join(const std::vector<std::string>& argv);
/// The name among `names` closest to a misspelled `word`, for "did you mean" hints; "" when none
/// is close (the same rule as for plugin names and spec keys).
std::string closest_name(const std::string& word, const std::vector<std::string>& names);

/// The outcome of one conformance check on a plugin (see `vzkit plugin check`).
struct ConformanceCheck {
  std::string id;                     ///< stable, e.g. "schema.documented"
  std::string title;                  ///< what it checks
  bool passed = false;
  std::vector<std::string> problems;  ///< each names the path in the schema or manifest
};

struct ConformanceReport {
  std::string plugin;  ///< the plugin's name ("" when the file did not load)
  std::string file;
  std::string load_error;  ///< why the file could not be loaded as a plugin
  std::vector<ConformanceCheck> checks;
  bool passed() const;
  /// One line per check (PASS/FAIL, id, title), its problems indented, and a summary line.
  std::string text() const;
  /// {"plugin", "file", "passed", "checks": [{"id", "title", "passed", "problems"}], "load_error"?}
  std::string json() const;
};

struct Options {
  std::vector<std::string> plugin_paths;  ///< searched first
  bool default_plugins = true;            ///< also $VZKIT_PLUGIN_PATH, beside the binary, $VZKIT_HOME/plugins
};

struct PlanOptions {
  /// "qemu" or "vz"; "" = a VM's own engine (plan_file of a VM), else default_engine().
  std::string engine = "qemu";
  /// Where the VM keeps its files. Default: plan() the spec's folder; plan_file() the VM's
  /// folder, and for a spec file the folder `vzkit run SPEC` keeps them in ($VZKIT_HOME/vms/NAME).
  std::string bundle_dir;
  /// Files and folders the spec names that do not exist are warnings rather than errors: a plan
  /// only refers to them (`vzkit plan`). Their diagnostics are those whose code ends in
  /// "-missing" (linux-boot.kernel-missing, virtio-blk.image-missing, ...).
  bool files_may_be_missing = false;
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


// ---- VMs kept on disk ----------------------------------------------------------------------
// A VM lives in a folder (its bundle) under $VZKIT_HOME/vms/NAME: its spec, the files it owns
// (disks, NVRAM, identifiers) and, while it runs, run/ (sockets, state.json, logs). One process
// at a time runs a VM: the one that holds the bundle's lock.

struct VmFile {
  std::string name;
  std::uint64_t bytes = 0;
};

struct VmInfo {
  std::string name;
  std::string dir;
  std::string engine;
  std::string spec_dir;   ///< where relative paths in its spec resolve
  std::string spec_file;  ///< the spec file whose runs (`vzkit run SPEC`) made it; "" when `vzkit create` did
  std::string state;      ///< stopped, starting, running, paused, stopping, error
  std::string holder;     ///< who runs it (pid, command), while it runs
  std::string run_json;   ///< run/state.json while it runs, "{}" otherwise
  std::string spec_json;  ///< its spec, "" when unreadable
  std::vector<VmFile> files;
};

struct CreateOptions {
  std::string name;
  std::string spec_file;  ///< copy this spec into the VM (its "name" becomes `name`), or:
  std::string installer;  ///< boot this installer image (EFI, read-only USB disk) ..., or:
  /// install macOS (vz engine, a Mac with Apple silicon): "latest" (downloaded, with progress, into
  /// $VZKIT_HOME/cache/ipsw and reused) or a local .ipsw file. The hardware model and machine
  /// identifier are made once and kept with the VM; CPUs and memory follow the image's needs.
  std::string macos;
  std::string disk_size;  ///< the new sparse system disk, e.g. "64GiB" (--iso: required; --macos: 64GiB;
                          ///< --image: the copy grows to it, default the image's own size)
  /// Boot a copy of this cloud disk image (raw: a bare ext4 root filesystem booted with its own
  /// kernel and initrd, or a partitioned disk booted through EFI), configured by cloud-init: a
  /// user, its SSH key, the host name, the guest agent and an SSH forward (docs/way-in.md).
  std::string image;
  /// With `image`: the OpenSSH public key (.pub) to authorize; default: a key made for this VM
  /// (ssh_key and ssh_key.pub in its folder, mode 0600).
  std::string ssh_key;
  /// With `image`: cloud-init user-data of your own (#cloud-config or a script), added before
  /// vzkit's part (which only appends users and keys).
  std::string user_data;
  std::string user = "vzkit";  ///< with `image`: the user cloud-init creates
  /// Told what creating does as it goes, one line each ("copying IMAGE into the VM", ...).
  std::function<void(const std::string&)> progress;
  int cpus = 2;           ///< with `installer`
  std::string memory = "4GiB";
  std::string engine;     ///< "" = default_engine()
};

struct Created {
  VmInfo vm;
  std::vector<Diagnostic> warnings;
};

struct RunOptions {
  /// A VM's name, or a spec file. A spec file runs as a VM of its own, named after the spec and
  /// made on its first run; later runs of the same file reuse it (its disks and NVRAM). A VM of
  /// that name that `vzkit create` or another spec file made is never changed: the run is refused.
  std::string target;
  std::string engine;          ///< "" = the VM's own; for a spec file, default_engine()
  std::string accel = "auto";  ///< qemu: auto (KVM if it really works here, else TCG), kvm, tcg
  std::string display = "none";  ///< none, window (the engine's own window), vnc (127.0.0.1)
  bool console_input = false;  ///< forward this terminal's input to the guest console
  bool quiet = false;          ///< the supervisor prints no state changes
  int stop_timeout = 10;       ///< seconds the guest gets to power off after Ctrl-C
  /// vz, macOS guests only: start up from macOS Recovery (VZMacOSVirtualMachineStartOptions);
  /// prepare_run() refuses it for another guest or engine.
  bool recovery = false;
  /// Asked (a yes/no question) before installing something the VM needs that the host lacks,
  /// such as Rosetta; unset, nothing is installed and prepare_run() says what is missing.
  std::function<bool(const std::string& question)> confirm;
  /// Boot afresh, discarding the state `vzkit suspend` saved (without it, a suspended VM resumes).
  bool fresh = false;
  /// The command that runs this program's supervising mode, which must pass the arguments
  /// vzkit appends to it on to supervise_main(); e.g. {"/proc/self/exe", "__supervise"}.
  std::vector<std::string> supervisor_command;
};

/// A VM that is checked, planned and locked, ready to hand to its supervising process.
class PreparedRun {
 public:
  struct Impl;
  explicit PreparedRun(std::unique_ptr<Impl> impl);
  PreparedRun(PreparedRun&&) noexcept;
  ~PreparedRun();
  const std::string& name() const;
  const std::string& dir() const;
  const std::string& accel() const;               ///< the accelerator chosen
  const std::string& accel_warning() const;       ///< why "auto" did not get KVM, if it did not
  const std::vector<Diagnostic>& warnings() const;
  /// When the VM resumes from a saved state rather than booting: what to tell the user
  /// ("resuming from the state saved at ... (512 MiB)"); "" when it boots.
  const std::string& resuming() const;
  /// Replaces this process with the supervisor, attached to this terminal. Returns only when
  /// that fails (std::runtime_error).
  [[noreturn]] void exec_attached();
  /// Starts the supervisor in the background (console to run/console.log) and waits until the
  /// VM runs. Returns the supervisor's pid; throws std::runtime_error when the VM does not start.
  int start_detached(std::chrono::seconds timeout = std::chrono::seconds(120));

 private:
  std::unique_ptr<Impl> m_impl;
};

/// The supervising mode: runs a prepared VM until it stops, with the arguments vzkit appended to
/// RunOptions::supervisor_command. Returns the exit status (0: the machine stopped in order).
int supervise_main(const std::vector<std::string>& args);

enum class StopOutcome {
  not_running,  ///< it was not running
  powered_off,  ///< the guest powered off when asked
  stopped,      ///< stopped by force (asked to, or the guest did not power off in time)
  killed,       ///< its process did not answer and was killed
};

/// The VMs under $VZKIT_HOME/vms. Needs no plugins. Throws std::runtime_error naming the VM and
/// what to do when an operation cannot be done.
class Library {
 public:
  std::string dir() const;
  std::vector<VmInfo> list() const;
  VmInfo inspect(const std::string& name) const;
  /// Deletes a stopped VM and all its files.
  void remove(const std::string& name) const;
  /// Asks the guest to power off (unless `force`), calling `on_asked` once it has been asked (the
  /// wait begins); after `timeout` stops it by force, calling `on_timeout` first. A VM with a guest
  /// agent that has not powered off after a third of `timeout` (at most 10 s) is asked again
  /// through its agent (guest-shutdown), calling `on_agent`: a guest ignoring the power button.
  StopOutcome stop(const std::string& name, bool force, std::chrono::seconds timeout,
                   const std::function<void()>& on_timeout = {}, const std::function<void()>& on_asked = {},
                   const std::function<void()>& on_agent = {}) const;
  /// Pauses (CPUs stop, memory is kept) or resumes a running VM; returns the state reached.
  std::string pause(const std::string& name) const;
  std::string resume(const std::string& name) const;
  /// The console log of the VM's current or last run (`previous` 0), or of the run `previous`
  /// runs before that (1 to 4; older logs are not kept). Throws saying which logs there are when
  /// that run wrote none.
  std::string console_log(const std::string& name, int previous = 0) const;
  /// Whether the VM runs now (its lock is held), for following a log.
  bool is_running(const std::string& name) const;
  /// Saves the VM's screen as PNG (written atomically).
  void screenshot(const std::string& name, const std::string& png_file) const;
};

class Host {
 public:
  explicit Host(const Options& options = {});
  ~Host();
  Host(Host&&) noexcept;
  Host& operator=(Host&&) noexcept;
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  const std::vector<PluginInfo>& plugins() const;
  const std::vector<LoadProblem>& load_problems() const;
  /// The JSON Schema of a whole spec (one alternative per plugin for "devices").
  std::string spec_schema() const;
  /// One plugin's settings schema; nullopt when no plugin has that name.
  std::optional<std::string> plugin_schema(const std::string& plugin) const;
  /// The spec reference (Markdown) for the loaded plugins, as in docs/spec.md.
  std::string spec_reference() const;
  /// Asks a plugin to describe something (a JSON request such as {"topic": "guest-setup", ...}).
  /// nullopt when the plugin is not loaded or has nothing to say about it.
  std::optional<std::string> describe(const std::string& plugin, const std::string& request_json) const;
  /// Loads one plugin file on its own and runs the conformance checks on it.
  static ConformanceReport check_plugin(const std::string& file);

  /// Validates spec text (JSON). `spec_dir` is where relative paths resolve; `engine` "" checks
  /// what does not depend on an engine.
  Validation validate(const std::string& spec_json, const std::string& spec_dir, const std::string& engine = "",
                      const std::string& file_name = "spec.json") const;
  /// Reads and validates a spec file, or a VM's spec (`file` is its name or its folder's spec.json;
  /// its paths resolve as when it runs, and `engine` "" means its own). Naming neither is a
  /// diagnostic too.
  Validation validate_file(const std::string& file, const std::string& engine = "") const;
  /// Validates then assembles. Throws PlanError.
  Plan plan(const std::string& spec_json, const std::string& spec_dir, const PlanOptions& options,
            const std::string& file_name = "spec.json") const;
  /// plan() for a spec file or a VM, as validate_file() reads them.
  Plan plan_file(const std::string& file, const PlanOptions& options) const;

  /// Creates a VM on disk (atomically: nothing is left when it fails). Throws InputError,
  /// PlanError or std::runtime_error.
  Created create_vm(const CreateOptions& options) const;
  /// Checks, plans (creating the files the VM owns) and locks a VM for running. Throws
  /// InputError, PlanError (invalid_input false when assembly failed) or std::runtime_error
  /// (the VM is already running: the message names who runs it).
  PreparedRun prepare_run(const RunOptions& options) const;

  /// A machine for a qemu plan, not started yet: call machine().start() and then run().
  /// Throws std::runtime_error for an engine this host cannot run (vz needs macOS).
  std::unique_ptr<Session> create_session(const Plan& plan, const SessionOptions& options) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace vzkit::host

// The way into a running guest; disk operations on kept VMs (clone, set, convert); suspend and snapshots.
#include <vzkit/host_access.hpp>
#include <vzkit/host_disks.hpp>
#include <vzkit/host_suspend.hpp>
// Images: pull, push, clone from an image.
#include <vzkit/host_images.hpp>
