// One lifecycle for every engine, modelled on Virtualization.framework's VZVirtualMachine:
// the same states, the same can* rules, the same operations. bridge/qemu implements it over QMP;
// bridge/vz over VZVirtualMachine.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>
#include <string_view>

namespace vzkit {

/// VZVirtualMachineState, value for value.
enum class MachineState {
  stopped = 0,   ///< initial; also after the guest powered off or the machine was stopped
  running = 1,
  paused = 2,
  error = 3,     ///< the engine or a helper failed; start() may be tried again
  starting = 4,
  pausing = 5,
  resuming = 6,
  stopping = 7,
  saving = 8,     ///< its state is being written to a file (from paused, back to paused)
  restoring = 9,  ///< its state is being read from a file (from stopped, to paused)
};

inline std::string_view to_string(MachineState s) {
  switch (s) {
    case MachineState::stopped: return "stopped";
    case MachineState::running: return "running";
    case MachineState::paused: return "paused";
    case MachineState::error: return "error";
    case MachineState::starting: return "starting";
    case MachineState::pausing: return "pausing";
    case MachineState::resuming: return "resuming";
    case MachineState::stopping: return "stopping";
    case MachineState::saving: return "saving";
    case MachineState::restoring: return "restoring";
  }
  return "unknown";
}

/// What a machine reports to its observer.
struct MachineEvent {
  enum class Kind {
    state_changed,   ///< `state` is the new state
    guest_shutdown,  ///< the guest powered itself off (VZ: guestDidStopVirtualMachine:)
    error,           ///< `message` says what failed (VZ: virtualMachine:didStopWithError:)
  };
  Kind kind = Kind::state_changed;
  MachineState state = MachineState::stopped;
  std::string message;
};

/// Completion of an operation: empty on success, else the reason it failed.
using Completion = std::function<void(const std::string& error)>;
using EventHandler = std::function<void(const MachineEvent&)>;

/// A machine built from a plan. Operations complete asynchronously on the engine's event loop
/// (callbacks and events arrive there too); calling one the state does not allow completes
/// with an error, as VZ does (VZErrorInvalidVirtualMachineStateTransition).
class Machine {
 public:
  virtual ~Machine() = default;

  virtual MachineState state() const = 0;
  bool can_start() const { return state() == MachineState::stopped || state() == MachineState::error; }
  bool can_pause() const { return state() == MachineState::running; }
  bool can_resume() const { return state() == MachineState::paused; }
  bool can_request_stop() const { return state() == MachineState::running; }
  bool can_stop() const { return state() == MachineState::running || state() == MachineState::paused; }

  /// Called for every event, on the engine's event loop.
  virtual void set_event_handler(EventHandler handler) = 0;

  virtual void start(Completion done) = 0;
  virtual void pause(Completion done) = 0;
  virtual void resume(Completion done) = 0;
  /// Asks the guest to power off (ACPI power button). Completion means the request was
  /// delivered; the guest_shutdown event follows if the guest obeys.
  virtual void request_stop(Completion done) = 0;
  /// Powers off at once; the guest gets no chance to shut down.
  virtual void stop(Completion done) = 0;

  // ---- saving and restoring (VZ: macOS 14; QEMU: migration to a file) ----
  // An engine that cannot save completes each of these with an error saying so.

  /// Why this machine's state cannot be saved: one entry per device that blocks it (the plan
  /// entry's origin path, e.g. "devices[2]", "" when the engine cannot say which) and the
  /// engine's reason. Empty when it can be saved. Touches nothing.
  struct SaveBlocker {
    std::string path;
    std::string reason;
  };
  using SaveCheck = std::function<void(const std::string& error, const std::vector<SaveBlocker>& blockers)>;
  virtual void check_save(SaveCheck done) { done("this engine cannot save a machine's state", {}); }

  /// Bytes of state written so far and the total expected (0 when unknown).
  using SaveProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;
  /// Pauses the machine (if it runs) and writes its state (CPUs, memory, devices) to `file`,
  /// which must not exist; the machine stays paused, and may be resumed or stopped after. The
  /// file is complete and flushed when `done` reports success. On failure the machine is left
  /// paused and the caller removes the file.
  virtual void save_state(const std::string& file, SaveProgress progress, Completion done) {
    (void)file;
    (void)progress;
    done("this engine cannot save a machine's state");
  }
  /// Starts a stopped machine from a state saved by save_state() (with the same plan) instead
  /// of booting it; it ends running.
  virtual void restore_state(const std::string& file, Completion done) {
    (void)file;
    done("this engine cannot restore a machine's state");
  }
};

}  // namespace vzkit
