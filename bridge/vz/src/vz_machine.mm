// VzMachine: vzkit::Machine over VZVirtualMachine on its own serial dispatch queue.
//
// Every VZVirtualMachine call is made on that queue (VZ requires it); completions and delegate
// callbacks arrive there and become MachineEvents. VZ's state is read back after each call and
// callback, and a state_changed event is sent whenever it differs from the last one seen.
#include <vzkit/bridge/vz/objc_bridge.h>

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

@class VzkitMachineDelegate;

namespace vzkit::bridge::vz {

struct VzMachine::Impl {
  dispatch_queue_t queue = nullptr;
  Built built;
  ObjcPtr<VZVirtualMachine> vm;
  ObjcPtr<VzkitMachineDelegate> delegate;
  std::atomic<MachineState> state{MachineState::stopped};
  std::mutex handler_lock;
  EventHandler on_event;
  bool macos_recovery = false;  // start with VZMacOSVirtualMachineStartOptions.startUpFromMacOSRecovery

  void emit(const MachineEvent& event) {
    EventHandler handler;
    {
      std::lock_guard<std::mutex> lock(handler_lock);
      handler = on_event;
    }
    if (handler) handler(event);
  }

  /// On the queue: publish VZ's current state if it changed.
  void sync_state() {
    const auto now = static_cast<MachineState>([vm.get() state]);
    if (state.exchange(now) != now) emit({MachineEvent::Kind::state_changed, now, {}});
  }

  static std::string message_of(NSError* error) { return error ? reason_of(error) : std::string(); }

  void guest_did_stop() {
    emit({MachineEvent::Kind::guest_shutdown, state.load(), "the guest powered off"});
    sync_state();
  }

  void did_stop_with_error(NSError* error) {
    sync_state();
    emit({MachineEvent::Kind::error, state.load(), "the virtual machine stopped: " + message_of(error)});
  }
};

}  // namespace vzkit::bridge::vz

/// The VZVirtualMachineDelegate: forwards to the machine that owns it (cleared before it goes).
@interface VzkitMachineDelegate : NSObject <VZVirtualMachineDelegate> {
 @public
  vzkit::bridge::vz::VzMachine::Impl* owner;
}
@end

@implementation VzkitMachineDelegate
- (void)guestDidStopVirtualMachine:(VZVirtualMachine*)virtualMachine {
  if (owner) owner->guest_did_stop();
}
- (void)virtualMachine:(VZVirtualMachine*)virtualMachine didStopWithError:(NSError*)error {
  if (owner) owner->did_stop_with_error(error);
}
- (void)virtualMachine:(VZVirtualMachine*)virtualMachine
                 networkDevice:(VZNetworkDevice*)networkDevice
    attachmentWasDisconnectedWithError:(NSError*)error {
  // The guest keeps running without network; nothing in the Machine interface reports it yet.
}
@end

namespace vzkit::bridge::vz {

namespace {

/// dispatch_sync, except that work for the main queue already on the main thread runs inline.
void run_sync(dispatch_queue_t queue, dispatch_block_t block) {
  if (queue == dispatch_get_main_queue() && [NSThread isMainThread])
    block();
  else
    dispatch_sync(queue, block);
}

}  // namespace

std::unique_ptr<VzMachine> VzMachine::create(const vzkit::vz::Configuration& plan, const BuildOptions& options,
                                             kernel::Diagnostics& problems) {
  @autoreleasepool {
    auto impl = std::make_unique<Impl>();
    if (options.macos_recovery && !(plan.platform && std::holds_alternative<vzkit::vz::MacPlatform>(*plan.platform))) {
      kernel::Diagnostic d;
      d.code = "vz.recovery-not-macos";
      d.message = "only a macOS guest starts up from macOS Recovery, and this VM has no Mac platform";
      d.hint = "run it without --recovery (a Linux guest's recovery is its own boot menu)";
      problems = {d};
      return nullptr;
    }
    impl->macos_recovery = options.macos_recovery;
    impl->built = build(plan, options);
    problems = validate_built(impl->built);
    if (!problems.empty()) return nullptr;
    if (options.use_main_queue) {
      impl->queue = dispatch_get_main_queue();
#if !__has_feature(objc_arc)
      dispatch_retain(impl->queue);
#endif
    } else {
      impl->queue = dispatch_queue_create("org.vzkit.machine", DISPATCH_QUEUE_SERIAL);
    }
    VzkitMachineDelegate* delegate = VZKIT_AUTORELEASE([[VzkitMachineDelegate alloc] init]);
    delegate->owner = impl.get();
    impl->delegate = delegate;
    Impl* raw = impl.get();
    run_sync(raw->queue, ^{
      raw->vm = VZKIT_AUTORELEASE([[VZVirtualMachine alloc] initWithConfiguration:raw->built.configuration.get()
                                                                           queue:raw->queue]);
      [raw->vm.get() setDelegate:delegate];
      raw->state = static_cast<MachineState>([raw->vm.get() state]);
    });
    return std::unique_ptr<VzMachine>(new VzMachine(std::move(impl)));
  }
}

VzMachine::VzMachine(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

VzMachine::~VzMachine() {
  Impl* raw = m_impl.get();
  // Detach on the queue, then let everything already queued run before the objects go.
  run_sync(raw->queue, ^{
    raw->delegate.get()->owner = nullptr;
    [raw->vm.get() setDelegate:nil];
  });
  run_sync(raw->queue, ^{
    raw->vm = ObjcPtr<VZVirtualMachine>();
  });
  VZKIT_DISPATCH_RELEASE(raw->queue);
}

MachineState VzMachine::state() const { return m_impl->state.load(); }

void VzMachine::set_event_handler(EventHandler handler) {
  std::lock_guard<std::mutex> lock(m_impl->handler_lock);
  m_impl->on_event = std::move(handler);
}

void* VzMachine::native_handle() const { return VZKIT_BRIDGE(void*, m_impl->vm.get()); }

void VzMachine::run_on_queue(const std::function<void()>& fn) const {
  run_sync(m_impl->queue, ^{
    fn();
  });
}

namespace {

/// Finishes an operation on the queue: publish the state, then tell the caller.
void finish(VzMachine::Impl* impl, const Completion& done, NSError* error) {
  impl->sync_state();
  if (done) done(error ? VzMachine::Impl::message_of(error) : std::string());
}

}  // namespace

void VzMachine::start(Completion done) {
  Impl* impl = m_impl.get();
  dispatch_async(impl->queue, ^{
    void (^completion)(NSError*) = ^(NSError* error) {
      finish(impl, done, error);
    };
#if VZKIT_HAS_MAC_GUESTS
    if (impl->macos_recovery) {
      // macOS 13, the minimum: no run-time guard needed.
      VZMacOSVirtualMachineStartOptions* options = VZKIT_AUTORELEASE([[VZMacOSVirtualMachineStartOptions alloc] init]);
      options.startUpFromMacOSRecovery = YES;
      [impl->vm.get() startWithOptions:options completionHandler:completion];
      impl->sync_state();
      return;
    }
#endif
    [impl->vm.get() startWithCompletionHandler:completion];
    impl->sync_state();
  });
}

void VzMachine::pause(Completion done) {
  Impl* impl = m_impl.get();
  dispatch_async(impl->queue, ^{
    [impl->vm.get() pauseWithCompletionHandler:^(NSError* error) {
      finish(impl, done, error);
    }];
    impl->sync_state();
  });
}

void VzMachine::resume(Completion done) {
  Impl* impl = m_impl.get();
  dispatch_async(impl->queue, ^{
    [impl->vm.get() resumeWithCompletionHandler:^(NSError* error) {
      finish(impl, done, error);
    }];
    impl->sync_state();
  });
}

void VzMachine::stop(Completion done) {
  Impl* impl = m_impl.get();
  dispatch_async(impl->queue, ^{
    [impl->vm.get() stopWithCompletionHandler:^(NSError* error) {
      finish(impl, done, error);
    }];
    impl->sync_state();
  });
}

void VzMachine::connect_to_guest(std::uint32_t port, std::function<void(int, const std::string&)> done) const {
  Impl* impl = m_impl.get();
  auto handler = std::make_shared<std::function<void(int, const std::string&)>>(std::move(done));
  dispatch_async(impl->queue, ^{
    VZVirtioSocketDevice* device = nil;
    for (id d in [impl->vm.get() socketDevices])
      if ([d isKindOfClass:[VZVirtioSocketDevice class]]) {
        device = d;
        break;
      }
    if (!device) {
      (*handler)(-1, "the virtual machine has no Virtio socket device");
      return;
    }
    [device connectToPort:port
        completionHandler:^(VZVirtioSocketConnection* connection, NSError* error) {
          if (!connection) {
            (*handler)(-1, "nothing answers on vsock port " + std::to_string(port) + " in the guest (" +
                               Impl::message_of(error) + ")");
            return;
          }
          // The connection closes its descriptor when it goes: keep a copy of our own.
          const int fd = ::dup([connection fileDescriptor]);
          const int err = errno;
          [connection close];
          (*handler)(fd, fd < 0 ? std::string("dup: ") + std::strerror(err) : std::string());
        }];
  });
}

void VzMachine::request_stop(Completion done) {
  Impl* impl = m_impl.get();
  dispatch_async(impl->queue, ^{
    NSError* error = nil;
    const bool delivered = [impl->vm.get() requestStopWithError:&error];
    finish(impl, done, delivered ? nil : error);
  });
}

// ---- saving and restoring (macOS 14) ----

namespace {

const char* kNeeds14 = "saving and restoring a VM's state needs macOS 14 or later";

/// Why this host or build cannot save at all, "" when it can.
std::string save_unavailable() {
#if VZKIT_HAS_MAC_GUESTS && VZKIT_SDK_AT_LEAST(14)
  if (VZKIT_OS_AT_LEAST(14)) return {};
  return std::string(kNeeds14) + "; this Mac runs an older macOS";
#else
  return std::string(kNeeds14) + " and Apple silicon; this vzkit was built without that API (macOS 13 SDK or Intel)";
#endif
}

NSURL* file_url(const std::string& file) { return [NSURL fileURLWithPath:ns_string(file)]; }

/// Completes `done` with why saving is unavailable here; false when it is available.
bool refused_here(const Completion& done) {
  const std::string why = save_unavailable();
  if (why.empty()) return false;
  done(why);
  return true;
}

}  // namespace

void VzMachine::check_save(SaveCheck done) {
  Impl* impl = m_impl.get();
  dispatch_async(impl->queue, ^{
    const std::string unavailable = save_unavailable();
    if (!unavailable.empty()) {
      done("", {{"", unavailable}});
      return;
    }
#if VZKIT_HAS_MAC_GUESTS && VZKIT_SDK_AT_LEAST(14)
    if (VZKIT_OS_AT_LEAST(14)) {
      NSError* error = nil;
      if ([impl->built.configuration.get() validateSaveRestoreSupportWithError:&error]) {
        done("", {});
        return;
      }
      const auto d = map_validation_error(error, impl->built);
      done("", {{d.path, reason_of(error)}});
    }
#endif
  });
}

void VzMachine::save_state(const std::string& file_name, SaveProgress progress, Completion done) {
  Impl* impl = m_impl.get();
  const std::string file = file_name;  // a copy: the block runs after the caller returns
  const std::uint64_t memory = [impl->built.configuration.get() memorySize];
  dispatch_async(impl->queue, ^{
    if (refused_here(done)) return;
#if VZKIT_HAS_MAC_GUESTS && VZKIT_SDK_AT_LEAST(14)
    if (VZKIT_OS_AT_LEAST(14)) {
      VZVirtualMachine* vm = impl->vm.get();
      // No lambdas inside the guard: clang checks @available per function body.
      void (^save)(void) = ^{
        if (progress) progress(0, memory);
        [vm saveMachineStateToURL:file_url(file)
                completionHandler:^(NSError* error) {
                  if (!error && progress) progress(memory, memory);
                  finish(impl, done, error);
                }];
        impl->sync_state();
      };
      if ([vm state] == VZVirtualMachineStateRunning) {
        [vm pauseWithCompletionHandler:^(NSError* error) {
          impl->sync_state();
          if (error) {
            done("cannot pause the machine: " + Impl::message_of(error));
            return;
          }
          save();
        }];
        impl->sync_state();
        return;
      }
      save();
    }
#endif
  });
}

void VzMachine::restore_state(const std::string& file_name, Completion done) {
  Impl* impl = m_impl.get();
  const std::string file = file_name;  // a copy: the block runs after the caller returns
  dispatch_async(impl->queue, ^{
    if (refused_here(done)) return;
#if VZKIT_HAS_MAC_GUESTS && VZKIT_SDK_AT_LEAST(14)
    if (VZKIT_OS_AT_LEAST(14)) {
      VZVirtualMachine* vm = impl->vm.get();
      [vm restoreMachineStateFromURL:file_url(file)
                   completionHandler:^(NSError* error) {
                     impl->sync_state();
                     if (error) {
                       done("the saved state was not restored: " + Impl::message_of(error));
                       return;
                     }
                     [vm resumeWithCompletionHandler:^(NSError* e) {
                       finish(impl, done, e);
                     }];
                     impl->sync_state();
                   }];
      impl->sync_state();
    }
#endif
  });
}

}  // namespace vzkit::bridge::vz
