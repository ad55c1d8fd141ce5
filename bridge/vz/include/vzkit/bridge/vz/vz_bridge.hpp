// The VZ engine: turns a vz::Configuration plan into Virtualization.framework objects, checks it
// with validateWithError: (errors mapped back to the spec), and runs it as a vzkit::Machine.
//
// Plain C++: callable from code built by any C++ compiler. The Objective-C++ side is in
// objc_bridge.h. On Linux the same code runs against vzkit's API model and recording fake of the
// framework (tests/vz_api), which is how it is tested without a Mac.
#pragma once

#include <vzkit/kernel/diagnostic.hpp>
#include <vzkit/machine.hpp>
#include <vzkit/vz/configuration.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace vzkit::bridge::vz {

/// What the bridge needs besides the plan to make the VZ objects.
struct BuildOptions {
  /// Connected SOCK_DGRAM sockets for VZFileHandleNetworkDeviceAttachment, by index in
  /// plan.network_devices. The bridge does not close them.
  std::map<std::size_t, int> network_fds;
  /// What "stdin" and "stdout" mean for VZFileHandleSerialPortAttachment (a front-end that
  /// detaches passes a log file or a pty here).
  int console_input_fd = 0;
  int console_output_fd = 1;
  /// Run the VM on the main dispatch queue instead of a queue of its own. VZVirtualMachineView
  /// needs that (UNCONFIRMED whether it is required or only recommended); the program must then
  /// run the main run loop, and must not call VzMachine::run_on_queue from the main thread.
  bool use_main_queue = false;
  /// Start a macOS guest from its Recovery system (VZMacOSVirtualMachineStartOptions
  /// .startUpFromMacOSRecovery, macOS 13): every start of the machine then boots into Recovery.
  /// A plan whose platform is not the Mac platform is refused (vz.recovery-not-macos).
  bool macos_recovery = false;
};

/// Diagnostic codes the bridge reports (path and plugin from the object's origin):
///   vz.invalid-configuration  validateWithError: refused the configuration (Apple's reason quoted)
///   vz.init-failed            a VZ initializer refused its arguments (Apple's reason quoted)
///   vz.unreadable-file        a data file named by the plan cannot be read
///   vz.invalid-data           a data file does not hold what VZ expects
///   vz.invalid-value          a value VZ cannot take (MAC address, share name)
///   vz.missing-file-handle    a network device needs a socket the front-end did not supply
///   vz.macos-too-old          the host's macOS is older than the class or property needs
///   vz.sdk-too-old            this vzkit was built with a macOS SDK that lacks the class or property
///   vz.intel-mac              the class exists only on Apple silicon
///   vz.recovery-not-macos     BuildOptions::macos_recovery for a guest that is not macOS
inline constexpr const char* kMacosTooOld = "vz.macos-too-old";
inline constexpr const char* kSdkTooOld = "vz.sdk-too-old";

/// Builds the VZ objects for `plan` and runs validateWithError:. Empty when VZ accepts it.
kernel::Diagnostics validate(const vzkit::vz::Configuration& plan, const BuildOptions& options = {});

/// The host's limits as JSON, for validation before a plan is run:
/// {"engine": "vz", "virtualization_supported": bool, "macos_major": int, "sdk": int (e.g. 150000),
///  "cpu_count": {"min": n, "max": n}, "memory_size": {"min": bytes, "max": bytes},
///  "rosetta": "installed" | "not-installed" | "not-supported",
///  "nested_virtualization_supported": bool,
///  "hardware_model_supported": bool (only when `hardware_model_file` is given and readable)}.
std::string host_bounds_json(const std::string& hardware_model_file = {});

/// Installs Rosetta for Linux guests when it is not installed (macOS asks the user to accept
/// Apple's license and downloads it). Returns "" when Rosetta is installed, else why not.
std::string install_rosetta();

/// A VM on Virtualization.framework. Every operation and event runs on the VM's own serial
/// dispatch queue (the "event loop" of <vzkit/machine.hpp>); completions and events arrive there.
class VzMachine final : public vzkit::Machine {
 public:
  /// Builds and validates `plan`; returns null and fills `problems` when VZ refuses it.
  static std::unique_ptr<VzMachine> create(const vzkit::vz::Configuration& plan, const BuildOptions& options,
                                           kernel::Diagnostics& problems);
  ~VzMachine() override;

  MachineState state() const override;
  void set_event_handler(EventHandler handler) override;
  void start(Completion done) override;
  void pause(Completion done) override;
  void resume(Completion done) override;
  void request_stop(Completion done) override;
  void stop(Completion done) override;
  /// validateSaveRestoreSupportWithError:, its error mapped to the device's spec path (as
  /// validation errors are). On macOS 13 (or a build with the macOS 13 SDK) one blocker with an
  /// empty path says that saving needs macOS 14.
  void check_save(SaveCheck done) override;
  /// Pauses a running VM, then saveMachineStateToURL:; the VM stays paused. VZ reports no
  /// progress: `progress` hears of the start (0 of the memory size) and the end.
  void save_state(const std::string& file, SaveProgress progress, Completion done) override;
  /// restoreMachineStateFromURL: on the stopped VM, then resume.
  void restore_state(const std::string& file, Completion done) override;

  /// The VZVirtualMachine, as an unretained pointer (for VZVirtualMachineView in the window app).
  void* native_handle() const;
  /// Runs `fn` on the VM's queue and waits for it. Never call it from that queue.
  void run_on_queue(const std::function<void()>& fn) const;
  /// Connects to vsock `port` in the guest through the VM's VZVirtioSocketDevice. `done` runs on
  /// the VM's queue with a descriptor this side owns, or -1 and why (no socket device, nothing
  /// listens on the port, the VM is not running).
  void connect_to_guest(std::uint32_t port, std::function<void(int fd, const std::string& error)> done) const;

  struct Impl;

 private:
  explicit VzMachine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

/// A plan's socket forward (vz::SocketForward) while the VM runs: listens on the unix socket and,
/// for each client, connects to the guest's vsock port and relays bytes both ways until either
/// side closes. A port nobody listens on closes the client's connection. Lives on `io` (the
/// supervisor's loop); the socket file is removed with it.
class SocketForwarder {
 public:
  /// Throws std::runtime_error when the socket cannot be made (a path too long for the system).
  SocketForwarder(boost::asio::io_context& io, const VzMachine& machine, const vzkit::vz::SocketForward& forward);
  ~SocketForwarder();
  SocketForwarder(const SocketForwarder&) = delete;
  SocketForwarder& operator=(const SocketForwarder&) = delete;
  struct Impl;

 private:
  std::shared_ptr<Impl> m_impl;
};

/// Reads a vz plan file (`vzkit plan SPEC --engine vz`, run/plan.json). On failure returns
/// nullopt and sets `error` ("cannot read 'F'" or "F: not a vz plan: ..."). Throws nothing, so
/// Objective-C++ callers need no C++ handler.
std::optional<vzkit::vz::Configuration> read_plan(const std::string& file, std::string& error);

/// How `vzkit run` supervises a VZ machine (see supervise()).
struct SuperviseOptions {
  std::filesystem::path run_dir;    ///< state.json, ctl.sock and (detached) console.log go here
  bool console_to_stdout = true;    ///< false: the serial console goes to run/console.log
  bool console_from_stdin = false;  ///< forward this terminal's input to the guest
  std::chrono::milliseconds stop_grace{10000};
  bool report = true;               ///< print state changes to stderr
  boost::json::object facts;        ///< recorded in state.json
  BuildOptions build;               ///< sockets for file-handle network devices
  /// Resume from the saved state in this folder instead of booting (kernel::SuperviseOptions).
  std::filesystem::path restore_from;
};

/// Runs `plan` until it stops, as the QEMU engine's supervisor does: signals stop it in order,
/// run/state.json follows its state, and run/ctl.sock answers the control commands `vzkit stop`,
/// `pause` and `resume` send (kernel::ControlServer). Returns 0 when it stopped in order, 1 when
/// it failed or VZ refused the plan (the diagnostics are printed).
int supervise(const vzkit::vz::Configuration& plan, const SuperviseOptions& options);

/// What install_macos() installs, and where.
struct InstallOptions {
  std::string source;                  // "latest" or a local .ipsw path
  std::filesystem::path dir;           // the VM's folder: identity files, aux.img, disk.img are created here
  std::filesystem::path download_dir;  // where "latest" is downloaded (kept and reused across VMs)
  std::uint64_t disk_bytes = 64ull << 30;
  /// Progress: phase "download" or "install", fraction 0..1; called from any thread, often.
  std::function<void(const std::string& phase, double fraction)> progress;
};

struct InstallResult {
  std::string error;                 // "" on success; else one sentence saying what to do
  std::string build_version;         // of the installed macOS
  std::uint64_t cpu_count = 0;       // what the VM should get: the image's minimum, at least 4, within the host's bounds
  std::uint64_t memory_bytes = 0;    // likewise: at least 8 GiB, within bounds, a multiple of 1 MiB
};

/// Makes a macOS VM in `options.dir` and installs macOS into it:
///  1. the restore image: "latest" asks Apple for the newest macOS this Mac supports and downloads
///     it into download_dir as macOS-BUILD.ipsw (reused when complete; an interrupted download
///     resumes from DEST.part / DEST.resume and is checked against the expected size), or a local
///     .ipsw is loaded as it is;
///  2. refuses when no hardware model in the image runs on this Mac, or when the folder already
///     holds a VM's files (hardware-model.bin, machine-id.bin, aux.img, disk.img are never
///     regenerated);
///  3. writes hardware-model.bin and machine-id.bin once, creates aux.img and a sparse disk.img of
///     disk_bytes (a multiple of 512), picks CPUs and memory (result), and runs Apple's installer on
///     a VM of its own, reporting progress.
/// Blocks until done. Files made before a failure are left in place: build in a temporary folder
/// and delete it when the result has an error.
InstallResult install_macos(const InstallOptions& options);

}  // namespace vzkit::bridge::vz
