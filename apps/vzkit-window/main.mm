// vzkit-window: runs one VM from a vz plan and shows its display in a window.
//
//   vzkit plan SPEC --engine vz > plan.json     (planning: loads plugins, no entitlement needed)
//   vzkit-window plan.json [--title NAME] [--headless]
//   vzkit-window plan.json --title NAME --run-dir DIR [--stop-timeout S] [--recovery]
//                                                   (what `vzkit run NAME --gui [--recovery]` execs)
//
// This process loads no plugins: it reads the plan as data, builds the VZ objects through
// bridge/vz and runs them. It is the binary signed with com.apple.security.virtualization.
// Closing the window asks the guest to power off, then stops it after a timeout.
// Built on Apple only (AppKit, ARC).
#import <AppKit/AppKit.h>
#import <Virtualization/Virtualization.h>

#import "view.h"

#include <vzkit/bridge/vz/objc_bridge.h>
#include <vzkit/bridge/vz/vz_bridge.hpp>
#include <vzkit/kernel/supervisor.hpp>
#include <vzkit/vz/configuration.hpp>

#include <boost/asio/io_context.hpp>

#include <boost/json.hpp>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <fcntl.h>

namespace vzb = vzkit::bridge::vz;

// Declared before the machine: completions the machine's queue posts must find it alive.
static boost::asio::io_context g_io;
static std::unique_ptr<vzb::VzMachine> g_machine;
static int g_exit_code = 0;
// With --run-dir, the VM is supervised as `vzkit run` supervises it (run/state.json, run/ctl.sock
// for `vzkit stop|pause|resume`, signals) on a thread of its own, while AppKit has the main thread.
static std::string g_run_dir;
static int g_stop_timeout = 15;
static bool g_report = true;
static std::atomic<bool> g_supervised_done{false};
static id g_app_delegate;  // NSApplication.delegate is weak: keep the delegate alive here

[[noreturn]] static void fail(const std::string& message) {
  std::fprintf(stderr, "vzkit-window: %s\n", message.c_str());
  std::exit(2);
}

@interface VzkitWindowApp : NSObject <NSApplicationDelegate, NSWindowDelegate>
@property(strong) NSWindow* window;
@property(copy) NSString* title;
@property BOOL headless;
@end

@implementation VzkitWindowApp

- (void)applicationDidFinishLaunching:(NSNotification*)notification {
  if (!self.headless) {
    NSRect frame = NSMakeRect(0, 0, 1280, 800);
    self.window = [[NSWindow alloc] initWithContentRect:frame
                                              styleMask:NSWindowStyleMaskTitled | NSWindowStyleMaskClosable |
                                                        NSWindowStyleMaskMiniaturizable | NSWindowStyleMaskResizable
                                                backing:NSBackingStoreBuffered
                                                  defer:NO];
    self.window.title = self.title;
    self.window.delegate = self;
    VZVirtualMachineView* view = [[VZVirtualMachineView alloc] initWithFrame:frame];
    // System keys to the guest; the guest display follows the window's size (macOS 14): view.mm.
    vzkit_window_configure_view(view, (__bridge VZVirtualMachine*)g_machine->native_handle());
    self.window.contentView = view;
    [self.window center];
    [self.window makeKeyAndOrderFront:nil];
    [self.window makeFirstResponder:view];
#if VZKIT_SDK_AT_LEAST(14)
    if (@available(macOS 14, *)) {
      [NSApp activate];  // activateIgnoringOtherApps: is deprecated from the macOS 14 SDK on
    } else {
      [NSApp activateIgnoringOtherApps:YES];
    }
#else
    [NSApp activateIgnoringOtherApps:YES];
#endif
  }

  if (!g_run_dir.empty()) {
    std::thread([] {
      try {
        vzkit::kernel::ControlServer control(g_io, std::filesystem::path(g_run_dir) / "ctl.sock", *g_machine);
        vzkit::kernel::SuperviseOptions o;
        o.run_dir = g_run_dir;
        o.stop_grace = std::chrono::seconds(g_stop_timeout);
        o.report = g_report;
        o.facts = boost::json::object{{"engine", "vz"}, {"window", true}};
        g_exit_code = vzkit::kernel::supervise(g_io, *g_machine, o);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "vzkit-window: %s\n", e.what());
        g_exit_code = 1;
      }
      g_supervised_done = true;
      dispatch_async(dispatch_get_main_queue(), ^{
        [NSApp terminate:nil];
      });
    }).detach();
    return;
  }
  g_machine->set_event_handler([](const vzkit::MachineEvent& event) {
    if (event.kind == vzkit::MachineEvent::Kind::error) {
      std::fprintf(stderr, "vzkit-window: %s\n", event.message.c_str());
      g_exit_code = 1;
    }
    if (event.kind == vzkit::MachineEvent::Kind::state_changed &&
        (event.state == vzkit::MachineState::stopped || event.state == vzkit::MachineState::error)) {
      dispatch_async(dispatch_get_main_queue(), ^{
        [NSApp terminate:nil];
      });
    }
  });
  g_machine->start([](const std::string& error) {
    if (!error.empty()) {
      std::fprintf(stderr, "vzkit-window: the VM did not start: %s\n", error.c_str());
      g_exit_code = 1;
      dispatch_async(dispatch_get_main_queue(), ^{
        [NSApp terminate:nil];
      });
    }
  });
}

- (BOOL)windowShouldClose:(NSWindow*)sender {
  if (!g_machine->can_request_stop()) return YES;
  // Ask the guest first; force it off if it has not stopped in time (--stop-timeout, 15 s by default).
  g_machine->request_stop([](const std::string& error) {
    if (!error.empty()) g_machine->stop({});
  });
  dispatch_after(dispatch_time(DISPATCH_TIME_NOW, g_stop_timeout * NSEC_PER_SEC), dispatch_get_main_queue(), ^{
    if (g_machine && g_machine->can_stop()) g_machine->stop({});
  });
  return NO;
}

- (NSApplicationTerminateReply)applicationShouldTerminate:(NSApplication*)sender {
  if (!g_run_dir.empty()) {
    // The supervising thread owns the end: ask the machine to stop, quit once that thread is done.
    if (g_supervised_done) return NSTerminateNow;
    if (g_machine && g_machine->can_stop()) g_machine->stop([](const std::string&) {});
    return NSTerminateCancel;
  }
  if (g_machine && g_machine->can_stop()) {
    g_machine->stop([](const std::string&) {});
    return NSTerminateCancel;  // terminate again once the stopped event arrives
  }
  return NSTerminateNow;
}

- (void)applicationWillTerminate:(NSNotification*)notification {
  g_machine.reset();
  std::exit(g_exit_code);
}

@end

static NSMenu* main_menu(NSString* name) {
  NSMenu* bar = [[NSMenu alloc] init];
  NSMenuItem* app_item = [[NSMenuItem alloc] init];
  [bar addItem:app_item];
  NSMenu* app_menu = [[NSMenu alloc] init];
  [app_menu addItemWithTitle:[@"Quit " stringByAppendingString:name] action:@selector(terminate:) keyEquivalent:@"q"];
  app_item.submenu = app_menu;
  return bar;
}

int main(int argc, const char* argv[]) {
  @autoreleasepool {
    std::string plan_file, title = "vzkit";
    bool headless = false, console_input = false, console_log = false, recovery = false;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--headless") headless = true;
      else if (arg == "--title" && i + 1 < argc) title = argv[++i];
      else if (arg == "--run-dir" && i + 1 < argc) g_run_dir = argv[++i];
      else if (arg == "--stop-timeout" && i + 1 < argc) g_stop_timeout = std::atoi(argv[++i]);
      else if (arg == "--quiet") g_report = false;
      else if (arg == "--console-input") console_input = true;
      else if (arg == "--console-log") console_log = true;
      else if (arg == "--recovery") recovery = true;
      else if (arg == "-h" || arg == "--help") {
        std::printf("usage: vzkit-window PLAN.json [--title NAME] [--headless] [--console-input] [--quiet] [--recovery]\n"
                    "                    [--run-dir DIR [--stop-timeout S] [--console-log]]\n"
                    "  --recovery: start a macOS guest from macOS Recovery\n"
                    "  PLAN.json: the output of `vzkit plan SPEC --engine vz`\n"
                    "  --run-dir: supervise the VM as `vzkit run --gui` does (DIR/state.json, DIR/ctl.sock)\n");
        return 0;
      } else if (plan_file.empty()) plan_file = arg;
      else fail("unexpected argument '" + arg + "'");
    }
    if (plan_file.empty()) fail("no plan given; run `vzkit plan SPEC --engine vz > plan.json` first");

    std::string error;
    const auto read = vzb::read_plan(plan_file, error);
    if (!read) fail(error);
    const vzkit::vz::Configuration& plan = *read;

    vzb::BuildOptions options;
    options.use_main_queue = true;  // VZVirtualMachineView works with VMs on the main queue
    options.macos_recovery = recovery;
    // The guest console reads this terminal only when asked (`vzkit run --gui --console`).
    if (!console_input) options.console_input_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    // A detached run (`vzkit run --gui --detach`) keeps the console in DIR/console.log.
    if (console_log && !g_run_dir.empty()) {
      const auto log = std::filesystem::path(g_run_dir) / "console.log";
      options.console_output_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (options.console_output_fd < 0) fail("cannot write " + log.string());
    }
    vzkit::kernel::Diagnostics problems;
    g_machine = vzb::VzMachine::create(plan, options, problems);
    if (!g_machine) {
      for (const auto& p : problems)
        std::fprintf(stderr, "%s: error: %s [%s]%s%s\n%s%s", p.path.empty() ? plan_file.c_str() : p.path.c_str(),
                     p.message.c_str(), p.code.c_str(), p.plugin.empty() ? "" : " plugin ", p.plugin.c_str(),
                     p.hint.empty() ? "" : "  hint: ", p.hint.empty() ? "" : (p.hint + "\n").c_str());
      if (!g_run_dir.empty())
        vzkit::kernel::record_failure(g_run_dir, boost::json::object{{"engine", "vz"}, {"window", true}},
                                      problems.empty() ? "VZ refused the configuration" : problems.front().message);
      return 1;
    }

    NSApplication* app = [NSApplication sharedApplication];
    [app setActivationPolicy:headless ? NSApplicationActivationPolicyProhibited : NSApplicationActivationPolicyRegular];
    VzkitWindowApp* delegate = [[VzkitWindowApp alloc] init];
    g_app_delegate = delegate;
    delegate.title = [NSString stringWithUTF8String:title.c_str()];
    delegate.headless = headless;
    app.delegate = delegate;
    app.mainMenu = main_menu(delegate.title);
    [app run];
  }
  return g_exit_code;
}
