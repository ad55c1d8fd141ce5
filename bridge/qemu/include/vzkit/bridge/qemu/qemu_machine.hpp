// The QEMU engine: runs a qemu::Machine plan as a QEMU process (plus its helper processes) and
// drives it over QMP with the engine-neutral lifecycle of <vzkit/machine.hpp>.
#pragma once

#include <vzkit/bridge/qemu/start_failure.hpp>
#include <vzkit/machine.hpp>
#include <vzkit/qemu/machine.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vzkit::bridge::qemu {

struct RunOptions {
  std::string name;                 ///< shown in QEMU's window title and process list
  std::filesystem::path run_dir;    ///< sockets, logs and state of this run (created if absent)
  /// "none" (headless), "gtk" (QEMU's own window), "vnc" (VNC on 127.0.0.1 only).
  std::string display = "none";
  /// Relay the guest console (chardevs of type stdio in the plan) to this process's stdout.
  bool console_to_stdout = true;
  /// Also forward this process's stdin to the guest console.
  bool console_from_stdin = false;
  /// Where relayed console output goes; unset: this process's stdout.
  std::function<void(const char* data, std::size_t size)> console_output;
  /// How long QEMU may take to exit after `quit` before it is killed.
  std::chrono::milliseconds kill_after{3000};
  /// How long a helper's socket may take to appear.
  std::chrono::milliseconds helper_timeout{10000};
  /// Names the key of the spec a failing value sits at, for the message when QEMU does not start
  /// (the host port of a forward, a disk image); unset: the device's path.
  SpecPathOf spec_path_of;
  /// Start QEMU waiting for an incoming migration (`-incoming defer`), as restore_state() does.
  bool incoming = false;
};

/// The command line QEMU runs with: the plan's argv plus the engine's run-time options (QMP
/// sockets, display, start paused). Console chardevs of type stdio become unix sockets with a
/// log file in run_dir, so output is never lost and the console can be relayed.
std::vector<std::string> runtime_argv(const vzkit::qemu::Machine& plan, const RunOptions& options);

/// Paths inside a run folder.
struct RunFiles {
  explicit RunFiles(std::filesystem::path dir) : dir(std::move(dir)) {}
  std::filesystem::path dir;
  std::filesystem::path qmp() const { return dir / "qmp.sock"; }
  std::filesystem::path control() const { return dir / "ctl.sock"; }
  std::filesystem::path console_socket() const { return dir / "console.sock"; }
  std::filesystem::path console_log() const { return dir / "console.log"; }
  std::filesystem::path qemu_log() const { return dir / "qemu.log"; }
};

/// A port forward of user-mode networking as QEMU set it up (a host port of 0 in the plan is the
/// free port QEMU chose), read over QMP before the CPUs start.
struct Forward {
  std::string protocol;  ///< "tcp" or "udp"
  std::string host_address;
  int host_port = 0;
  int guest_port = 0;
};

/// The forwards listed by QEMU's `info usernet` (HMP) output.
std::vector<Forward> parse_usernet(const std::string& info_usernet);

class QemuMachine final : public vzkit::Machine {
 public:
  QemuMachine(boost::asio::io_context& io, vzkit::qemu::Machine plan, RunOptions options);
  ~QemuMachine() override;

  MachineState state() const override { return m_state; }
  void set_event_handler(EventHandler handler) override { m_on_event = std::move(handler); }
  void start(Completion done) override;
  void pause(Completion done) override;
  void resume(Completion done) override;
  void request_stop(Completion done) override;
  void stop(Completion done) override;
  /// Migration blockers from QEMU (query-migrate "blocked-reasons"), mapped to the plan's devices.
  void check_save(SaveCheck done) override;
  /// Migration to the file (migration.hpp); the machine is paused first and stays paused.
  void save_state(const std::string& file, SaveProgress progress, Completion done) override;
  /// Starts QEMU with `-incoming defer`, loads the file, then runs the CPUs.
  void restore_state(const std::string& file, Completion done) override;

  /// Process id of QEMU while it runs, else -1.
  int qemu_pid() const;
  const std::vector<std::string>& argv() const { return m_argv; }
  /// The port forwards of the running machine (empty before it runs, or without any).
  const std::vector<Forward>& forwards() const { return m_forwards; }

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  MachineState m_state = MachineState::stopped;
  EventHandler m_on_event;
  std::vector<std::string> m_argv;
  std::vector<Forward> m_forwards;
  friend struct Impl;
};

}  // namespace vzkit::bridge::qemu
