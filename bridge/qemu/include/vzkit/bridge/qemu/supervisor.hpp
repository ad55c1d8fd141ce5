// The supervising process of one VM run by QEMU: kernel::supervise (signals, grace period,
// run/state.json) around a QemuMachine, which relays the console and serves ctl.sock (QEMU's own
// second QMP monitor).
#pragma once

#include <vzkit/bridge/qemu/qemu_machine.hpp>
#include <vzkit/kernel/supervisor.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace vzkit::bridge::qemu {

struct SuperviseOptions {
  RunOptions run;
  /// After a stop request (signal or `vzkit stop`), how long the guest gets to power off before
  /// it is stopped by force.
  std::chrono::milliseconds stop_grace{10000};
  /// Print state changes to stderr ("vzkit: running", ...).
  bool report = true;
  /// Extra facts recorded in state.json (accelerator, bundle, ...).
  boost::json::object facts;
  /// Resume from this saved state instead of booting; `on_restored` runs once the guest runs.
  std::filesystem::path restore_from;
  std::function<void()> on_restored;
};

/// The socket where the supervisor itself answers vzkit's control commands (those QEMU's own
/// monitor at run/ctl.sock does not know: saving the machine's state, state_commands.hpp).
inline std::filesystem::path supervisor_socket(const std::filesystem::path& run_dir) { return run_dir / "vzkit.sock"; }

/// Runs `plan` until it stops. Returns 0 when the machine stopped in order (the guest powered
/// off, or a stop was requested), 1 when it failed.
int supervise(const vzkit::qemu::Machine& plan, const SuperviseOptions& options);

}  // namespace vzkit::bridge::qemu
