// Contract tests of the Mac features and of the framework's own behaviour, against the recording
// fake (Linux): macOS Recovery boot, nested virtualization, NVMe disks, the entitlement failure and
// a missing Rosetta as the framework reports them. Specs are planned through the real plugins,
// validated with the fake host's facts (host_bounds_json(), as `vzkit validate` gets them from
// vzkit-vz), and built and run through the bridge.
#include <vzkit/bridge/vz/objc_bridge.h>
#include <vzkit/bridge/vz/vz_bridge.hpp>

#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/plugin_host.hpp>
#include <vzkit/kernel/spec.hpp>
#include <vzkit/kernel/validate.hpp>

#if !defined(__APPLE__)
#import <VZFake/VZFake.h>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include <unistd.h>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace kernel = vzkit::kernel;
namespace v = vzkit::vz;
using namespace vzkit::bridge::vz;

const kernel::PluginHost& plugins() {
  static kernel::PluginHost host = [] {
    kernel::PluginHost h;
    h.load({{VZKIT_PLUGINS_DIR, "build tree"}});
    return h;
  }();
  return host;
}

fs::path data_dir() { return fs::path(VZKIT_SOURCE_DIR) / "tests" / "data"; }

std::string describe(const kernel::Diagnostics& d) { return d.empty() ? "(none)" : kernel::format(d); }

bool has(const kernel::Diagnostics& d, const std::string& code, const std::string& path, const std::string& plugin) {
  for (const auto& x : d)
    if (x.code == code && x.path == path && x.plugin == plugin) return true;
  return false;
}

class MacPath : public ::testing::Test {
 protected:
  void SetUp() override {
    m_pool = [[NSAutoreleasePool alloc] init];
    VZFakeReset();
    dir = fs::temp_directory_path() / ("vzkit-vz-mac-path-" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override {
    VZFakeReset();
    std::error_code ec;
    fs::remove_all(dir, ec);
    [m_pool drain];
  }

  /// Validates `spec` for vz with the fake host's facts, as `vzkit validate --engine vz` does;
  /// `completed` receives the spec validation completed (what assembly takes).
  kernel::Diagnostics validate(const std::string& spec, std::optional<kernel::Spec>* completed = nullptr) {
    auto parsed = kernel::parse_spec(spec, "spec.json", data_dir());
    if (!parsed.spec) return parsed.diagnostics;
    kernel::ValidateOptions o;
    o.engine = "vz";
    o.host_bounds = json::parse(host_bounds_json()).as_object();
    auto d = kernel::validate(*parsed.spec, plugins(), o);
    if (completed) *completed = std::move(parsed.spec);
    return d;
  }

  /// The vz plan of `spec` (validated as above); fails the test on errors.
  v::Configuration plan(const std::string& spec) {
    std::optional<kernel::Spec> completed;
    auto d = validate(spec, &completed);
    if (kernel::has_errors(d) || !completed) {
      ADD_FAILURE() << describe(d);
      return {};
    }
    kernel::AssembleOptions ao;
    ao.engine = "vz";
    return json::value_to<v::Configuration>(kernel::assemble(*completed, plugins(), ao).model);
  }

  /// The plan of examples/macos.json with stand-ins for the files a Mac writes once per VM.
  v::Configuration macos_plan() {
    std::ifstream in(fs::path(VZKIT_SOURCE_DIR) / "examples" / "macos.json");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    v::Configuration p = plan(text);
    auto& mac = std::get<v::MacPlatform>(*p.platform);
    mac.hardware_model = file("hardware-model.bin");
    mac.machine_identifier = file("machine-id.bin");
    mac.auxiliary_storage = v::MacAuxiliaryStorage{(dir / "aux.img").string(), true};
    return p;
  }

  std::string file(const std::string& name) {
    std::ofstream(dir / name) << std::string(64, 'z');
    return (dir / name).string();
  }

  fs::path dir;

 private:
  NSAutoreleasePool* m_pool = nil;
};

const char* const kLinux = R"({"name": "lin", "cpus": 2, "memory": "2GiB", "devices": [
  {"plugin": "linux-boot", "kernel": "Image", "initrd": "initrd.img", "command_line": "console=hvc0"},
  {"plugin": "serial-console"}%s]})";

std::string linux_spec(const std::string& extra_devices) {
  std::string s = kLinux;
  s.replace(s.find("%s"), 2, extra_devices);
  return s;
}

/// Starts `machine` and waits for the completion; returns its error text.
std::string start(VzMachine& machine) {
  auto done = std::make_shared<std::promise<std::string>>();
  auto result = done->get_future();
  machine.start([done](const std::string& error) { done->set_value(error); });
  if (result.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return "timed out";
  return result.get();
}

/// The calls the fake's VMs received, by selector.
std::vector<std::string> vm_calls() {
  std::vector<std::string> out;
  for (NSDictionary* call in VZFakeCallLog()) out.push_back(std_string([call objectForKey:@"selector"]));
  return out;
}

// ---- the framework's own errors ------------------------------------------------------------------

TEST_F(MacPath, AProcessWithoutTheEntitlementGetsTheSigningHint) {
  VZFakeSetVirtualizationEntitlement(NO);
  const v::Configuration p = plan(linux_spec(""));
  const auto d = vzkit::bridge::vz::validate(p);
  ASSERT_EQ(d.size(), 1u) << describe(d);
  EXPECT_EQ(d[0].code, "vz.invalid-configuration");
  EXPECT_EQ(d[0].path, "") << "the whole process, not a device";
  // Apple's wording, typographic quotes included, reaches the user, with how to sign.
  EXPECT_NE(d[0].message.find("The process doesn\xE2\x80\x99t have the \xE2\x80\x9C"
                              "com.apple.security.virtualization\xE2\x80\x9D entitlement."),
            std::string::npos)
      << d[0].message;
  EXPECT_NE(d[0].hint.find("sign the binary with the com.apple.security.virtualization entitlement"), std::string::npos)
      << d[0].hint;
}

TEST_F(MacPath, ValidationErrorsCarryTheFrameworksFailureAndReason) {
  // A macOS boot loader on the generic platform: "Invalid virtual machine configuration. The boot
  // loader is invalid.", as VZ puts it (NSLocalizedFailure + NSLocalizedFailureReason).
  VZVirtualMachineConfiguration* config = VZKIT_AUTORELEASE([[VZVirtualMachineConfiguration alloc] init]);
  config.CPUCount = 2;
  config.memorySize = 1ull << 30;
  config.bootLoader = VZKIT_AUTORELEASE([[VZMacOSBootLoader alloc] init]);
  NSError* error = nil;
  ASSERT_FALSE([config validateWithError:&error]);
  EXPECT_EQ([error code], VZErrorInvalidVirtualMachineConfiguration);
  EXPECT_EQ(std_string([error localizedDescription]), "Invalid virtual machine configuration. The boot loader is invalid.");
  EXPECT_EQ(std_string([[error userInfo] objectForKey:@"NSLocalizedFailure"]), "Invalid virtual machine configuration.");
  EXPECT_EQ(reason_of(error), "The boot loader is invalid.");
}

TEST_F(MacPath, AMissingRosettaIsAnInvalidConfigurationAtTheRosettaDevice) {
  VZFakeSetRosettaAvailability(VZLinuxRosettaAvailabilityNotInstalled);
  NSError* error = nil;
  EXPECT_EQ([[VZLinuxRosettaDirectoryShare alloc] initWithError:&error], nil);
  EXPECT_EQ([error code], VZErrorInvalidVirtualMachineConfiguration) << "as Apple's sample catches it";
  const v::Configuration p =
      plan(linux_spec(R"(, {"plugin": "virtio-blk", "path": "disk.img"}, {"plugin": "rosetta", "tag": "rosetta"})"));
  const auto d = vzkit::bridge::vz::validate(p);
  EXPECT_TRUE(has(d, "vz.init-failed", "devices[3]", "rosetta")) << describe(d);
}

// ---- macOS Recovery --------------------------------------------------------------------------------

TEST_F(MacPath, RecoveryStartsTheMacOSGuestWithStartOptions) {
  BuildOptions o;
  o.macos_recovery = true;
  kernel::Diagnostics problems;
  auto machine = VzMachine::create(macos_plan(), o, problems);
  ASSERT_TRUE(machine) << describe(problems);
  ASSERT_EQ(start(*machine), "");
  EXPECT_EQ(machine->state(), vzkit::MachineState::running);
  // One start, with VZMacOSVirtualMachineStartOptions asking for Recovery, on the VM's queue.
  const auto calls = vm_calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "startWithOptions:completionHandler:"), 1) << calls.size();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "startWithCompletionHandler:"), 0);
  id options = nil;
  machine->run_on_queue([&] {
    options = [VZFakeProperties(VZKIT_BRIDGE(id, machine->native_handle())) objectForKey:@"startOptions"];
  });
  ASSERT_NE(options, nil);
  EXPECT_TRUE([options isKindOfClass:[VZMacOSVirtualMachineStartOptions class]]);
  EXPECT_TRUE([(VZMacOSVirtualMachineStartOptions*)options startUpFromMacOSRecovery]);
  for (NSDictionary* call in VZFakeCallLog())
    if (std_string([call objectForKey:@"selector"]) == "startWithOptions:completionHandler:")
      EXPECT_EQ(std_string([call objectForKey:@"queue"]), "org.vzkit.machine");
}

TEST_F(MacPath, WithoutRecoveryTheMacOSGuestStartsAsUsual) {
  kernel::Diagnostics problems;
  auto machine = VzMachine::create(macos_plan(), {}, problems);
  ASSERT_TRUE(machine) << describe(problems);
  ASSERT_EQ(start(*machine), "");
  const auto calls = vm_calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "startWithCompletionHandler:"), 1);
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "startWithOptions:completionHandler:"), 0);
}

TEST_F(MacPath, RecoveryIsRefusedForALinuxGuest) {
  BuildOptions o;
  o.macos_recovery = true;
  kernel::Diagnostics problems;
  EXPECT_FALSE(VzMachine::create(plan(linux_spec("")), o, problems));
  ASSERT_EQ(problems.size(), 1u) << describe(problems);
  EXPECT_EQ(problems[0].code, "vz.recovery-not-macos");
  EXPECT_NE(problems[0].hint.find("without --recovery"), std::string::npos);
  EXPECT_EQ([VZFakeCallLog() count], 0u) << "no VM was made or started";
}

// ---- nested virtualization ---------------------------------------------------------------------------

const char* const kNested = R"(, {"plugin": "generic-platform", "nested_virtualization": true})";

TEST_F(MacPath, NestedVirtualizationReachesTheGenericPlatform) {
  VZFakeSetNestedVirtualizationSupported(YES);
  const v::Configuration p = plan(linux_spec(kNested));
  ASSERT_TRUE(p.platform);
  const auto& generic = std::get<v::GenericPlatform>(*p.platform);
  EXPECT_EQ(generic.nested_virtualization_enabled, std::optional<bool>(true));
  @autoreleasepool {
    Built built = build(p, {});
    ASSERT_TRUE(built.problems.empty()) << describe(built.problems);
    VZPlatformConfiguration* platform = built.configuration.get().platform;
    ASSERT_TRUE([platform isKindOfClass:[VZGenericPlatformConfiguration class]]);
    EXPECT_TRUE([(VZGenericPlatformConfiguration*)platform isNestedVirtualizationEnabled]);
    const auto* origin = built.origin_of(platform);
    ASSERT_NE(origin, nullptr);
    EXPECT_EQ(origin->plugin, "generic-platform");
    EXPECT_EQ(origin->path, "devices[2]");
    EXPECT_TRUE(validate_built(built).empty()) << describe(validate_built(built));
  }
}

TEST_F(MacPath, NestedVirtualizationNamesWhatTheMacLacks) {
  // A Mac whose chip lacks it (the fake's default: an M1 or M2 on macOS 15).
  auto d = validate(linux_spec(kNested));
  EXPECT_TRUE(has(d, "generic-platform.nested-unsupported", "devices[2].nested_virtualization", "generic-platform"))
      << describe(d);
  // macOS 14: the version is named.
  VZFakeSetNestedVirtualizationSupported(YES);
  VZFakeSetHostOperatingSystemVersion(14);
  d = validate(linux_spec(kNested));
  ASSERT_TRUE(has(d, "generic-platform.nested-needs-macos-15", "devices[2].nested_virtualization", "generic-platform"))
      << describe(d);
  for (const auto& x : d)
    if (x.code == "generic-platform.nested-needs-macos-15")
      EXPECT_NE(x.message.find("this Mac runs macOS 14"), std::string::npos) << x.message;
  // The framework refuses it too, should a plan get past validation: at the platform's device.
  VZFakeSetHostOperatingSystemVersion(15);
  VZFakeSetNestedVirtualizationSupported(NO);
  v::Configuration p = plan(linux_spec(R"(, {"plugin": "generic-platform"})"));
  std::get<v::GenericPlatform>(*p.platform).nested_virtualization_enabled = true;
  const auto refused = vzkit::bridge::vz::validate(p);
  EXPECT_TRUE(has(refused, "vz.invalid-configuration", "devices[2]", "generic-platform")) << describe(refused);
}

TEST_F(MacPath, NestedVirtualizationIsNotForMacOSGuests) {
  std::ifstream in(fs::path(VZKIT_SOURCE_DIR) / "examples" / "macos.json");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.insert(text.rfind(']'), std::string(kNested));
  const auto d = validate(text);
  EXPECT_TRUE(kernel::has_errors(d)) << "the Mac platform and the generic platform fill one slot";
  bool named = false;
  for (const auto& x : d) named = named || (x.plugin == "generic-platform" || x.plugin == "mac-platform");
  EXPECT_TRUE(named) << describe(d);
}

// ---- NVMe ------------------------------------------------------------------------------------------

const char* const kNvme = R"(, {"plugin": "virtio-blk", "path": "disk.img", "bus": "nvme"})";

TEST_F(MacPath, AnNvmeDiskIsAnNVMeControllerWithItsAttachment) {
  const v::Configuration p = plan(linux_spec(kNvme));
  ASSERT_EQ(p.storage_devices.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<v::NVMExpressControllerDevice>(p.storage_devices[0]));
  @autoreleasepool {
    Built built = build(p, {});
    ASSERT_TRUE(built.problems.empty()) << describe(built.problems);
    NSArray* storage = built.configuration.get().storageDevices;
    ASSERT_EQ([storage count], 1u);
    id nvme = [storage objectAtIndex:0];
    EXPECT_TRUE([nvme isKindOfClass:[VZNVMExpressControllerDeviceConfiguration class]]);
    VZDiskImageStorageDeviceAttachment* disk = (VZDiskImageStorageDeviceAttachment*)[nvme attachment];
    EXPECT_EQ(std_string([[disk URL] path]), (data_dir() / "disk.img").string());
    const auto* origin = built.origin_of(nvme);
    ASSERT_NE(origin, nullptr);
    EXPECT_EQ(origin->plugin, "virtio-blk");
    EXPECT_EQ(origin->path, "devices[2]");
    EXPECT_TRUE(validate_built(built).empty());
  }
}

TEST_F(MacPath, AnNvmeDiskNeedsMacOS14) {
  VZFakeSetHostOperatingSystemVersion(13);
  const auto d = validate(linux_spec(kNvme));
  ASSERT_TRUE(has(d, "virtio-blk.nvme-needs-macos-14", "devices[2].bus", "virtio-blk")) << describe(d);
  for (const auto& x : d)
    if (x.code == "virtio-blk.nvme-needs-macos-14")
      EXPECT_NE(x.message.find("this Mac runs macOS 13"), std::string::npos) << x.message;
  // The bridge's own guard, for a plan made elsewhere.
  VZFakeSetHostOperatingSystemVersion(15);
  const v::Configuration p = plan(linux_spec(kNvme));
  VZFakeSetHostOperatingSystemVersion(13);
  const auto built = vzkit::bridge::vz::validate(p);
  EXPECT_TRUE(has(built, kMacosTooOld, "devices[2]", "virtio-blk")) << describe(built);
}

TEST_F(MacPath, AnNvmeDiskIsNotForMacOSGuests) {
  std::ifstream in(fs::path(VZKIT_SOURCE_DIR) / "examples" / "macos.json");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  text.insert(text.rfind(']'), R"(, {"plugin": "virtio-blk", "path": "disk.img", "bus": "nvme"})");
  const auto d = validate(text);
  bool conflict = false;
  for (const auto& x : d) conflict = conflict || (x.code == "cross.conflicts" && x.plugin == "virtio-blk");
  EXPECT_TRUE(conflict) << describe(d);
}

}  // namespace

#endif  // !__APPLE__

// ---- the window's view -----------------------------------------------------------------------------

#if !defined(__APPLE__)
#import "view.h"

namespace {

TEST_F(MacPath, TheWindowsViewFollowsTheWindowSizeOnMacOS14) {
  kernel::Diagnostics problems;
  auto machine = VzMachine::create(macos_plan(), {}, problems);
  ASSERT_TRUE(machine) << describe(problems);
  VZVirtualMachine* vm = VZKIT_BRIDGE(VZVirtualMachine*, machine->native_handle());
  VZVirtualMachineView* view = VZKIT_AUTORELEASE([[VZVirtualMachineView alloc] init]);
  vzkit_window_configure_view(view, vm);
  EXPECT_EQ(view.virtualMachine, vm);
  EXPECT_TRUE(view.capturesSystemKeys);
  EXPECT_TRUE(view.automaticallyReconfiguresDisplay) << "macOS 14 and later: the guest display follows the window";

  VZFakeSetHostOperatingSystemVersion(13);
  VZVirtualMachineView* old = VZKIT_AUTORELEASE([[VZVirtualMachineView alloc] init]);
  vzkit_window_configure_view(old, vm);
  EXPECT_TRUE(old.capturesSystemKeys);
  EXPECT_EQ([VZFakeProperties(old) objectForKey:@"automaticallyReconfiguresDisplay"], nil) << "not set at all on macOS 13, where it is absent";
}

}  // namespace
#endif
