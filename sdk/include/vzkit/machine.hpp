// One lifecycle for every engine, modelled on Virtualization.framework's VZVirtualMachine:
// the same states, the same can* rules, the same operations. bridge/qemu implements it over QMP;
// bridge/vz over VZVirtualMachine.
#pragma once

#include <functional>
#include <string>
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
};

}  // namespace vzkit
