// The supervising process of one running VM, whatever its engine: starts the machine, turns
// SIGINT/SIGTERM/SIGHUP into an orderly stop (the guest gets a grace period to power off), records
// the machine's state in run/state.json, and returns when the machine has stopped.
//
// The engines differ in where their events come from (QEMU's on the io_context's thread, VZ's on
// its dispatch queue); every event and completion is posted to `io`, so the supervisor's state
// is touched by one thread only.
#pragma once

#include <vzkit/machine.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

namespace vzkit::kernel {

struct SuperviseOptions {
  std::filesystem::path run_dir;  ///< where state.json is written
  /// After a stop request (a signal, or `vzkit stop`), how long the guest gets to power off
  /// before it is stopped by force.
  std::chrono::milliseconds stop_grace{10000};
  /// Print state changes to stderr ("vzkit: running", ...).
  bool report = true;
  /// Facts recorded in state.json besides the state (engine, accelerator, bundle, console log...).
  boost::json::object facts;
  /// Engine-specific facts read at each state change (e.g. the QEMU process id).
  std::function<void(boost::json::object&)> more_facts;
  /// Start the machine from the saved state in this folder (saved_state.hpp) instead of booting
  /// it. Once it runs again the folder is removed (the guest's disks move on), the guest's clock
  /// is set through run/qga.sock when there is one, and `on_restored` is called.
  std::filesystem::path restore_from;
  std::function<void()> on_restored;
};

/// Runs `machine` (not started yet) on `io` until it stops. Returns 0 when it stopped in order
/// (the guest powered off, or a stop was requested), 1 when it failed.
int supervise(boost::asio::io_context& io, Machine& machine, const SuperviseOptions& options);

/// Records in run/state.json that a run failed before its machine could start (state "error",
/// this process's id, `message`), so `vzkit list` and `vzkit run --detach` can say why.
void record_failure(const std::filesystem::path& run_dir, boost::json::object facts, const std::string& message);

/// run/state.json of a run folder, or an empty object.
boost::json::object read_state(const std::filesystem::path& run_dir);

/// A control socket speaking the subset of QMP that vzkit's commands use, for an engine that has
/// no monitor of its own (VZ): the greeting, qmp_capabilities, query-status, system_powerdown
/// (request_stop), quit (stop), stop (pause) and cont (resume), and the commands of
/// state_commands.hpp that save the machine's state (vzkit-check-save, vzkit-save); anything else is answered with a
/// GenericError naming the command. One JSON object per line, replies carry the request's "id".
class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, const std::filesystem::path& socket_path, Machine& machine);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  struct Impl;

 private:
  std::shared_ptr<Impl> m_impl;
};

}  // namespace vzkit::kernel
