// Contract tests of the VZ bridge.
//
// On Linux they run against vzkit's recording fake of Virtualization.framework (tests/vz_api):
// for every example spec that targets vz, the object graph the bridge builds (read back from the
// fake) equals the plan, class by class and property by property; validation errors map to the
// device's spec path and plugin; the lifecycle follows VZ's state rules. On a Mac they run against
// the real framework instead: every example is built and checked with validateWithError:.
#include <vzkit/bridge/vz/objc_bridge.h>
#include <vzkit/bridge/vz/vz_bridge.hpp>

#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/plugin_host.hpp>
#include <vzkit/kernel/spec.hpp>
#include <vzkit/kernel/supervisor.hpp>
#include <vzkit/kernel/validate.hpp>

#if !defined(__APPLE__)
#import <VZFake/VZFake.h>
#endif

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

std::string vzkit_test_control(const std::string& socket, const std::string& command);  // control_client.cpp

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace v = vzkit::vz;
using namespace vzkit::bridge::vz;
using vzkit::kernel::Diagnostic;
using vzkit::kernel::Diagnostics;

// ---- planning through the kernel, as the unit tests do ----------------------------------------

const vzkit::kernel::PluginHost& plugins() {
  static vzkit::kernel::PluginHost host = [] {
    vzkit::kernel::PluginHost h;
    h.load({{VZKIT_PLUGINS_DIR, "build tree"}});
    return h;
  }();
  return host;
}

fs::path data_dir() { return fs::path(VZKIT_SOURCE_DIR) / "tests" / "data"; }

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The vz plan of examples/NAME with tests/data as the spec folder; fails the test on errors.
v::Configuration plan_example(const std::string& name) {
  const std::string text = read_text(fs::path(VZKIT_SOURCE_DIR) / "examples" / name);
  auto parsed = vzkit::kernel::parse_spec(text, "spec.json", data_dir());
  if (!parsed.spec) {
    ADD_FAILURE() << name << ": " << vzkit::kernel::format(parsed.diagnostics);
    return {};
  }
  vzkit::kernel::ValidateOptions vo;
  vo.engine = "vz";
  auto d = vzkit::kernel::validate(*parsed.spec, plugins(), vo);
  if (vzkit::kernel::has_errors(d)) {
    ADD_FAILURE() << name << ": " << vzkit::kernel::format(d);
    return {};
  }
  vzkit::kernel::AssembleOptions ao;
  ao.engine = "vz";
  return json::value_to<v::Configuration>(vzkit::kernel::assemble(*parsed.spec, plugins(), ao).model);
}

/// A scratch folder for the files a Mac creates once per VM (hardware model, machine identifier)
/// and for stores the plan asks to create; the examples' folder does not have them.
struct Scratch {
  fs::path dir;
  Scratch() {
    dir = fs::temp_directory_path() / ("vzkit-vz-contract-" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name, std::size_t bytes) const {
    const auto path = dir / name;
    std::ofstream(path, std::ios::binary) << std::string(bytes, '\x5a');
    return path.string();
  }
};

/// Points the plan's per-VM identity files and to-be-created stores into `scratch`.
void relocate(v::Configuration& plan, const Scratch& scratch) {
  if (plan.platform) {
    std::visit(
        [&](auto& p) {
          using P = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<P, v::MacPlatform>) {
            p.hardware_model = scratch.file("hardware-model.bin", 128);
            p.machine_identifier = scratch.file("machine-id.bin", 64);
            if (p.auxiliary_storage.create) p.auxiliary_storage.url = (scratch.dir / "aux.img").string();
          } else if (p.machine_identifier) {
            p.machine_identifier = scratch.file("generic-machine-id.bin", 32);
          }
        },
        *plan.platform);
  }
  if (plan.boot_loader)
    if (auto* efi = std::get_if<v::EFIBootLoader>(&*plan.boot_loader))
      if (efi->variable_store && efi->variable_store->create)
        efi->variable_store->url = (scratch.dir / "efi-vars.fd").string();
}

std::string describe(const Diagnostics& d) {
  std::string out;
  for (const auto& x : d) out += "  " + x.path + " [" + x.code + "] (" + x.plugin + ") " + x.message + "\n";
  return out.empty() ? "  (none)\n" : out;
}

::testing::AssertionResult has_problem(const Diagnostics& d, const std::string& code, const std::string& path,
                                       const std::string& plugin) {
  for (const auto& x : d)
    if (x.code == code && x.path == path && x.plugin == plugin) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "no " << code << " at '" << path << "' (plugin '" << plugin << "'); got:\n"
                                       << describe(d);
}

const char* const kExamples[] = {"macos.json", "linux-installer.json", "linux-rosetta.json"};

#if !defined(__APPLE__)

// ---- the expected object graph, restated from the plan ----------------------------------------
// The same shape VZFakeSnapshot gives: {"class", "initializer", one key per ObjC property set};
// URLs as paths, NSData as {"bytes": n}, file handles as {"fd": n}, BOOLs as 0/1, enums as numbers.

const json::string kAny = "<any>";

json::object object_of(const char* cls, const char* initializer) { return {{"class", cls}, {"initializer", initializer}}; }

std::int64_t file_size(const std::string& path) { return static_cast<std::int64_t>(fs::file_size(path)); }

json::value expected_disk(const v::StorageAttachment& a) {
  const auto& d = std::get<v::DiskImageAttachment>(a);
  auto o = object_of("VZDiskImageStorageDeviceAttachment", "initWithURL:readOnly:cachingMode:synchronizationMode:error:");
  o["URL"] = d.url;
  o["readOnly"] = d.read_only ? 1 : 0;
  o["cachingMode"] = static_cast<int>(d.caching_mode);                // automatic 0, uncached 1, cached 2
  o["synchronizationMode"] = static_cast<int>(d.synchronization_mode) + 1;  // full 1, fsync 2, none 3
  return o;
}

json::value expected_serial_attachment(const v::FileSerialPortAttachment& a) {
  auto o = object_of("VZFileSerialPortAttachment", "initWithURL:append:error:");
  o["URL"] = a.url;
  o["append"] = a.append ? 1 : 0;
  return o;
}

json::value expected_serial_attachment(const v::FileHandleSerialPortAttachment& a) {
  auto o = object_of("VZFileHandleSerialPortAttachment", "initWithFileHandleForReading:fileHandleForWriting:");
  if (a.reading == "stdin") o["fileHandleForReading"] = {{"fd", 0}};
  if (a.writing == "stdout") o["fileHandleForWriting"] = {{"fd", 1}};
  return o;
}

json::value expected_serial_attachment(const v::SpiceAgentPortAttachment& a) {
  auto o = object_of("VZSpiceAgentPortAttachment", "init");
  o["sharesClipboard"] = a.shares_clipboard ? 1 : 0;
  return o;
}

json::value expected_shared_directory(const v::SharedDirectory& d) {
  auto o = object_of("VZSharedDirectory", "initWithURL:readOnly:");
  o["URL"] = d.url;
  o["readOnly"] = d.read_only ? 1 : 0;
  return o;
}

json::value expected_share(const v::DirectoryShare& s) {
  return std::visit(
      [](const auto& share) -> json::value {
        using S = std::decay_t<decltype(share)>;
        if constexpr (std::is_same_v<S, v::SingleDirectoryShare>) {
          auto o = object_of("VZSingleDirectoryShare", "initWithDirectory:");
          o["directory"] = expected_shared_directory(share.directory);
          return o;
        } else if constexpr (std::is_same_v<S, v::MultipleDirectoryShare>) {
          auto o = object_of("VZMultipleDirectoryShare", "initWithDirectories:");
          json::object dirs;
          for (const auto& [name, d] : share.directories) dirs[name] = expected_shared_directory(d);
          o["directories"] = dirs;
          return o;
        } else {
          auto o = object_of("VZLinuxRosettaDirectoryShare", "initWithError:");
          if (share.caching) {
            o["options"] = std::visit(
                [](const auto& c) -> json::value {
                  using C = std::decay_t<decltype(c)>;
                  if constexpr (std::is_same_v<C, v::LinuxRosettaUnixSocketCachingOptions>) {
                    auto x = object_of("VZLinuxRosettaUnixSocketCachingOptions", "initWithPath:error:");
                    x["path"] = c.path;
                    return x;
                  } else {
                    auto x = object_of("VZLinuxRosettaAbstractSocketCachingOptions", "initWithName:error:");
                    x["name"] = c.name;
                    return x;
                  }
                },
                *share.caching);
          }
          return o;
        }
      },
      s);
}

json::value expected_graph(const v::Configuration& plan) {
  auto config = object_of("VZVirtualMachineConfiguration", "init");
  config["CPUCount"] = plan.cpu_count ? static_cast<std::int64_t>(*plan.cpu_count) : 1;
  config["memorySize"] = plan.memory_size ? static_cast<std::int64_t>(*plan.memory_size) : (128ll << 20);
  config["platform"] = object_of("VZGenericPlatformConfiguration", "init");
  if (plan.platform) {
    config["platform"] = std::visit(
        [](const auto& p) -> json::value {
          using P = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<P, v::GenericPlatform>) {
            auto o = object_of("VZGenericPlatformConfiguration", "init");
            if (p.machine_identifier) {
              auto id = object_of("VZGenericMachineIdentifier", "initWithDataRepresentation:");
              id["dataRepresentation"] = {{"bytes", file_size(*p.machine_identifier)}};
              o["machineIdentifier"] = id;
            }
            if (p.nested_virtualization_enabled) o["nestedVirtualizationEnabled"] = *p.nested_virtualization_enabled ? 1 : 0;
            return o;
          } else {
            auto o = object_of("VZMacPlatformConfiguration", "init");
            auto model = object_of("VZMacHardwareModel", "initWithDataRepresentation:");
            model["dataRepresentation"] = {{"bytes", file_size(p.hardware_model)}};
            o["hardwareModel"] = model;
            auto id = object_of("VZMacMachineIdentifier", "initWithDataRepresentation:");
            id["dataRepresentation"] = {{"bytes", file_size(p.machine_identifier)}};
            o["machineIdentifier"] = id;
            auto aux = object_of("VZMacAuxiliaryStorage", p.auxiliary_storage.create
                                                              ? "initCreatingStorageAtURL:hardwareModel:options:error:"
                                                              : "initWithURL:");
            aux["URL"] = p.auxiliary_storage.url;
            o["auxiliaryStorage"] = aux;
            return o;
          }
        },
        *plan.platform);
  }
  if (plan.boot_loader) {
    config["bootLoader"] = std::visit(
        [](const auto& b) -> json::value {
          using B = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<B, v::LinuxBootLoader>) {
            auto o = object_of("VZLinuxBootLoader", "initWithKernelURL:");
            o["kernelURL"] = b.kernel_url;
            o["commandLine"] = b.command_line;
            if (b.initial_ramdisk_url) o["initialRamdiskURL"] = *b.initial_ramdisk_url;
            return o;
          } else if constexpr (std::is_same_v<B, v::EFIBootLoader>) {
            auto o = object_of("VZEFIBootLoader", "init");
            if (b.variable_store) {
              auto store = object_of("VZEFIVariableStore", b.variable_store->create
                                                                ? "initCreatingVariableStoreAtURL:options:error:"
                                                                : "initWithURL:");
              store["URL"] = b.variable_store->url;
              o["variableStore"] = store;
            }
            return o;
          } else {
            return object_of("VZMacOSBootLoader", "init");
          }
        },
        *plan.boot_loader);
  }

  json::array storage;
  for (const auto& d : plan.storage_devices) {
    storage.push_back(std::visit(
        [](const auto& s) -> json::value {
          using S = std::decay_t<decltype(s)>;
          json::object o;
          if constexpr (std::is_same_v<S, v::VirtioBlockDevice>) {
            o = object_of("VZVirtioBlockDeviceConfiguration", "initWithAttachment:");
            if (s.block_device_identifier) o["blockDeviceIdentifier"] = *s.block_device_identifier;
          } else if constexpr (std::is_same_v<S, v::USBMassStorageDevice>) {
            o = object_of("VZUSBMassStorageDeviceConfiguration", "initWithAttachment:");
          } else {
            o = object_of("VZNVMExpressControllerDeviceConfiguration", "initWithAttachment:");
          }
          o["attachment"] = expected_disk(s.attachment);
          return o;
        },
        d));
  }
  config["storageDevices"] = storage;

  json::array network;
  for (const auto& d : plan.network_devices) {
    const auto& n = std::get<v::VirtioNetworkDevice>(d);
    auto o = object_of("VZVirtioNetworkDeviceConfiguration", "init");
    o["MACAddress"] = n.mac_address ? json::value(*n.mac_address) : json::value(kAny);
    if (std::holds_alternative<v::NATNetworkAttachment>(n.attachment)) {
      o["attachment"] = object_of("VZNATNetworkDeviceAttachment", "init");
    } else {
      auto a = object_of("VZFileHandleNetworkDeviceAttachment", "initWithFileHandle:");
      a["fileHandle"] = kAny;
      const auto& f = std::get<v::FileHandleNetworkAttachment>(n.attachment);
      a["maximumTransmissionUnit"] = f.maximum_transmission_unit ? *f.maximum_transmission_unit : 1500;
      o["attachment"] = a;
    }
    network.push_back(o);
  }
  config["networkDevices"] = network;

  json::array serial;
  for (const auto& d : plan.serial_ports) {
    const auto& s = std::get<v::VirtioConsoleDeviceSerialPort>(d);
    auto o = object_of("VZVirtioConsoleDeviceSerialPortConfiguration", "init");
    if (s.attachment) o["attachment"] = std::visit([](const auto& a) { return expected_serial_attachment(a); }, *s.attachment);
    serial.push_back(o);
  }
  config["serialPorts"] = serial;

  auto plain = [](std::size_t n, const char* cls) {
    json::array out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(object_of(cls, "init"));
    return out;
  };
  config["entropyDevices"] = plain(plan.entropy_devices.size(), "VZVirtioEntropyDeviceConfiguration");
  config["memoryBalloonDevices"] =
      plain(plan.memory_balloon_devices.size(), "VZVirtioTraditionalMemoryBalloonDeviceConfiguration");
  config["socketDevices"] = plain(plan.socket_devices.size(), "VZVirtioSocketDeviceConfiguration");

  json::array sharing;
  for (const auto& d : plan.directory_sharing_devices) {
    const auto& f = std::get<v::VirtioFileSystemDevice>(d);
    auto o = object_of("VZVirtioFileSystemDeviceConfiguration", "initWithTag:");
    o["tag"] = f.use_macos_guest_automount_tag ? std_string([VZVirtioFileSystemDeviceConfiguration macOSGuestAutomountTag])
                                               : f.tag;
    if (f.share) o["share"] = expected_share(*f.share);
    sharing.push_back(o);
  }
  config["directorySharingDevices"] = sharing;

  json::array graphics;
  for (const auto& d : plan.graphics_devices) {
    if (const auto* g = std::get_if<v::VirtioGraphicsDevice>(&d)) {
      auto o = object_of("VZVirtioGraphicsDeviceConfiguration", "init");
      json::array scanouts;
      for (const auto& s : g->scanouts) {
        auto x = object_of("VZVirtioGraphicsScanoutConfiguration", "initWithWidthInPixels:heightInPixels:");
        x["widthInPixels"] = s.width_in_pixels;
        x["heightInPixels"] = s.height_in_pixels;
        scanouts.push_back(x);
      }
      o["scanouts"] = scanouts;
      graphics.push_back(o);
    } else {
      const auto& m = std::get<v::MacGraphicsDevice>(d);
      auto o = object_of("VZMacGraphicsDeviceConfiguration", "init");
      json::array displays;
      for (const auto& s : m.displays) {
        auto x = object_of("VZMacGraphicsDisplayConfiguration", "initWithWidthInPixels:heightInPixels:pixelsPerInch:");
        x["widthInPixels"] = s.width_in_pixels;
        x["heightInPixels"] = s.height_in_pixels;
        x["pixelsPerInch"] = s.pixels_per_inch;
        displays.push_back(x);
      }
      o["displays"] = displays;
      graphics.push_back(o);
    }
  }
  config["graphicsDevices"] = graphics;

  json::array keyboards;
  for (const auto& k : plan.keyboards)
    keyboards.push_back(object_of(std::holds_alternative<v::USBKeyboard>(k) ? "VZUSBKeyboardConfiguration"
                                                                             : "VZMacKeyboardConfiguration",
                                  "init"));
  config["keyboards"] = keyboards;

  json::array pointers;
  for (const auto& p : plan.pointing_devices)
    pointers.push_back(object_of(std::holds_alternative<v::USBScreenCoordinatePointingDevice>(p)
                                     ? "VZUSBScreenCoordinatePointingDeviceConfiguration"
                                     : "VZMacTrackpadConfiguration",
                                 "init"));
  config["pointingDevices"] = pointers;

  json::array audio;
  for (const auto& d : plan.audio_devices) {
    const auto& sound = std::get<v::VirtioSoundDevice>(d);
    auto o = object_of("VZVirtioSoundDeviceConfiguration", "init");
    json::array streams;
    for (const auto& s : sound.streams) {
      if (const auto* in = std::get_if<v::VirtioSoundInputStream>(&s)) {
        auto x = object_of("VZVirtioSoundDeviceInputStreamConfiguration", "init");
        if (in->host_source) x["source"] = object_of("VZHostAudioInputStreamSource", "init");
        streams.push_back(x);
      } else {
        auto x = object_of("VZVirtioSoundDeviceOutputStreamConfiguration", "init");
        if (std::get<v::VirtioSoundOutputStream>(s).host_sink) x["sink"] = object_of("VZHostAudioOutputStreamSink", "init");
        streams.push_back(x);
      }
    }
    o["streams"] = streams;
    audio.push_back(o);
  }
  config["audioDevices"] = audio;

  json::array consoles;
  for (const auto& d : plan.console_devices) {
    const auto& c = std::get<v::VirtioConsoleDevice>(d);
    auto o = object_of("VZVirtioConsoleDeviceConfiguration", "init");
    json::object ports;
    for (const auto& p : c.ports) {
      auto x = object_of("VZVirtioConsolePortConfiguration", "init");
      x["isConsole"] = p.is_console ? 1 : 0;
      if (p.use_spice_agent_port_name)
        x["name"] = std_string([VZSpiceAgentPortAttachment spiceAgentPortName]);
      else if (p.name)
        x["name"] = *p.name;
      if (p.attachment) x["attachment"] = std::visit([](const auto& a) { return expected_serial_attachment(a); }, *p.attachment);
      ports[std::to_string(p.index)] = x;
    }
    o["ports"] = {{"class", "VZVirtioConsolePortConfigurationArray"},
                  {"ports", ports},
                  {"maximumPortCount", static_cast<std::int64_t>(c.ports.size())}};
    consoles.push_back(o);
  }
  config["consoleDevices"] = consoles;

  json::array usb;
  for (const auto& c : plan.usb_controllers) {
    auto o = object_of("VZXHCIControllerConfiguration", "init");
    json::array devices;
    for (const auto& u : std::get<v::XHCIController>(c).usb_devices) {
      auto x = object_of("VZUSBMassStorageDeviceConfiguration", "initWithAttachment:");
      x["attachment"] = expected_disk(std::get<v::USBMassStorageDevice>(u).attachment);
      devices.push_back(x);
    }
    o["usbDevices"] = devices;
    usb.push_back(o);
  }
  config["usbControllers"] = usb;
  return config;
}

/// A snapshot from the fake (Foundation values) as JSON.
json::value to_json(id value) {
  if (!value || value == [NSNull null]) return nullptr;
  if ([value isKindOfClass:[NSString class]]) return json::string(std_string(value));
  if ([value isKindOfClass:[NSNumber class]]) return static_cast<std::int64_t>([(NSNumber*)value longLongValue]);
  if ([value isKindOfClass:[NSArray class]]) {
    json::array out;
    for (id element in (NSArray*)value) out.push_back(to_json(element));
    return out;
  }
  if ([value isKindOfClass:[NSDictionary class]]) {
    json::object out;
    for (id key in (NSDictionary*)value) out[std_string([key description])] = to_json([(NSDictionary*)value objectForKey:key]);
    return out;
  }
  return json::string(std_string([value description]));
}

/// Every difference between `expected` and `actual`, each as "path: expected X, got Y".
void compare(const json::value& expected, const json::value& actual, const std::string& path,
             std::vector<std::string>& out) {
  if (expected.is_string() && expected.get_string() == kAny) {
    if (actual.is_null()) out.push_back(path + ": expected a value, got none");
    return;
  }
  if (expected.is_object() && actual.is_object()) {
    const auto& e = expected.get_object();
    const auto& a = actual.get_object();
    for (const auto& [key, value] : e) {
      const auto* other = a.if_contains(key);
      if (!other)
        out.push_back(path + "." + std::string(key) + ": missing (expected " + json::serialize(value) + ")");
      else
        compare(value, *other, path + "." + std::string(key), out);
    }
    for (const auto& [key, value] : a)
      if (!e.contains(key)) out.push_back(path + "." + std::string(key) + ": unexpected " + json::serialize(value));
    return;
  }
  if (expected.is_array() && actual.is_array()) {
    const auto& e = expected.get_array();
    const auto& a = actual.get_array();
    if (e.size() != a.size()) {
      out.push_back(path + ": expected " + std::to_string(e.size()) + " elements, got " + std::to_string(a.size()));
      return;
    }
    for (std::size_t i = 0; i < e.size(); ++i) compare(e[i], a[i], path + "[" + std::to_string(i) + "]", out);
    return;
  }
  if (expected != actual) out.push_back(path + ": expected " + json::serialize(expected) + ", got " + json::serialize(actual));
}

class FakeFramework : public ::testing::Test {
 protected:
  // GNUstep (no ARC here) wants a pool for everything autoreleased on the test's thread.
  void SetUp() override {
    m_pool = [[NSAutoreleasePool alloc] init];
    VZFakeReset();
  }
  void TearDown() override {
    VZFakeReset();
    [m_pool drain];
  }
  Scratch scratch;

 private:
  NSAutoreleasePool* m_pool = nil;
};

// ---- the object graph equals the plan -----------------------------------------------------------

class ExampleGraph : public FakeFramework, public ::testing::WithParamInterface<const char*> {};

TEST_P(ExampleGraph, ObjectGraphEqualsThePlan) {
  @autoreleasepool {
    v::Configuration plan = plan_example(GetParam());
    relocate(plan, scratch);
    Built built = build(plan, {});
    ASSERT_TRUE(built.problems.empty()) << describe(built.problems);
    ASSERT_TRUE(built.configuration);

    const json::value actual = to_json(VZFakeSnapshot(built.configuration.get()));
    if (std::getenv("VZKIT_DUMP_GRAPH")) std::printf("%s\n", json::serialize(actual).c_str());
    std::vector<std::string> differences;
    compare(expected_graph(plan), actual, "configuration", differences);
    for (const auto& d : differences) ADD_FAILURE() << GetParam() << ": " << d;
    EXPECT_TRUE(differences.empty()) << "graph read back from the fake:\n" << json::serialize(actual);
  }
}

TEST_P(ExampleGraph, EveryDeviceObjectCarriesItsOrigin) {
  @autoreleasepool {
    v::Configuration plan = plan_example(GetParam());
    relocate(plan, scratch);
    Built built = build(plan, {});
    ASSERT_TRUE(built.configuration) << describe(built.problems);
    VZVirtualMachineConfiguration* config = built.configuration.get();

    auto check = [&](NSArray* objects, const auto& items, const char* key) {
      ASSERT_EQ([objects count], items.size()) << key;
      for (std::size_t i = 0; i < items.size(); ++i) {
        const auto* origin = built.origin_of([objects objectAtIndex:i]);
        ASSERT_NE(origin, nullptr) << key << "[" << i << "] has no origin";
        const auto& planned = v::origin_of(items[i]);
        ASSERT_TRUE(planned.has_value()) << key << "[" << i << "]";
        EXPECT_EQ(*origin, *planned) << key << "[" << i << "]";
        EXPECT_TRUE(origin->path.rfind("devices[", 0) == 0) << origin->path;
      }
    };
    check(config.storageDevices, plan.storage_devices, "storage_devices");
    check(config.networkDevices, plan.network_devices, "network_devices");
    check(config.serialPorts, plan.serial_ports, "serial_ports");
    check(config.entropyDevices, plan.entropy_devices, "entropy_devices");
    check(config.directorySharingDevices, plan.directory_sharing_devices, "directory_sharing_devices");
    check(config.graphicsDevices, plan.graphics_devices, "graphics_devices");
    check(config.keyboards, plan.keyboards, "keyboards");
    check(config.pointingDevices, plan.pointing_devices, "pointing_devices");
    check(config.audioDevices, plan.audio_devices, "audio_devices");
    check(config.consoleDevices, plan.console_devices, "console_devices");
    if (plan.boot_loader) {
      const auto* origin = built.origin_of(config.bootLoader);
      ASSERT_NE(origin, nullptr);
      EXPECT_EQ(*origin, *v::origin_of(*plan.boot_loader));
    }
  }
}

TEST_P(ExampleGraph, ValidatesAndNoAbstractClassIsInstantiated) {
  @autoreleasepool {
    v::Configuration plan = plan_example(GetParam());
    relocate(plan, scratch);
    const Diagnostics problems = validate(plan);
    EXPECT_TRUE(problems.empty()) << describe(problems);

    static const char* const abstract[] = {
        "VZPlatformConfiguration", "VZBootLoader", "VZStorageDeviceConfiguration", "VZStorageDeviceAttachment",
        "VZNetworkDeviceConfiguration", "VZNetworkDeviceAttachment", "VZSerialPortConfiguration",
        "VZSerialPortAttachment", "VZConsoleDeviceConfiguration", "VZConsolePortConfiguration",
        "VZEntropyDeviceConfiguration", "VZMemoryBalloonDeviceConfiguration", "VZSocketDeviceConfiguration",
        "VZDirectoryShare", "VZDirectorySharingDeviceConfiguration", "VZGraphicsDeviceConfiguration",
        "VZGraphicsDisplayConfiguration", "VZKeyboardConfiguration", "VZPointingDeviceConfiguration",
        "VZAudioDeviceConfiguration", "VZVirtioSoundDeviceStreamConfiguration", "VZAudioInputStreamSource",
        "VZAudioOutputStreamSink", "VZUSBControllerConfiguration", "VZLinuxRosettaCachingOptions"};
    NSArray* log = VZFakeCreationLog();
    EXPECT_GT([log count], 0u);
    for (NSDictionary* entry in log) {
      const std::string cls = std_string([entry objectForKey:@"class"]);
      for (const char* a : abstract) EXPECT_NE(cls, a) << "abstract class instantiated";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, ExampleGraph, ::testing::ValuesIn(kExamples),
                         [](const auto& info) {
                           std::string name = info.param;
                           name = name.substr(0, name.find('.'));
                           for (auto& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST_F(FakeFramework, CreatesTheEFIStoreOnlyWhenThePlanSaysSo) {
  @autoreleasepool {
    v::Configuration plan = plan_example("linux-installer.json");
    relocate(plan, scratch);
    auto& efi = std::get<v::EFIBootLoader>(*plan.boot_loader);
    ASSERT_TRUE(efi.variable_store && efi.variable_store->create);
    Built built = build(plan, {});
    ASSERT_TRUE(built.configuration) << describe(built.problems);
    bool created = false;
    for (NSDictionary* entry in VZFakeCreationLog())
      if ([[entry objectForKey:@"class"] isEqual:@"VZEFIVariableStore"]) {
        EXPECT_EQ(std_string([entry objectForKey:@"initializer"]), "initCreatingVariableStoreAtURL:options:error:");
        NSArray* arguments = [entry objectForKey:@"arguments"];
        EXPECT_EQ([[arguments objectAtIndex:1] unsignedIntegerValue], 0u) << "must never overwrite an existing store";
        created = true;
      }
    EXPECT_TRUE(created);
  }
}

// ---- validation errors map to the spec ------------------------------------------------------------

TEST_F(FakeFramework, TwoScanoutsPointAtTheVirtioGpuDevice) {
  v::Configuration plan = plan_example("linux-installer.json");
  relocate(plan, scratch);
  auto& gpu = std::get<v::VirtioGraphicsDevice>(plan.graphics_devices.at(0));
  gpu.scanouts.push_back(gpu.scanouts.front());
  const auto d = validate(plan);
  ASSERT_EQ(d.size(), 1u) << describe(d);
  EXPECT_TRUE(has_problem(d, "vz.invalid-configuration", "devices[3]", "virtio-gpu"));
  EXPECT_NE(d[0].message.find("More than one scanout is configured."), std::string::npos) << d[0].message;
}

TEST_F(FakeFramework, TwoMacDisplaysPointAtTheMacGraphicsDevice) {
  v::Configuration plan = plan_example("macos.json");
  relocate(plan, scratch);
  auto& mac = std::get<v::MacGraphicsDevice>(plan.graphics_devices.at(0));
  mac.displays.push_back(mac.displays.front());
  const auto d = validate(plan);
  EXPECT_TRUE(has_problem(d, "vz.invalid-configuration", "devices[2]", "mac-graphics"));
  ASSERT_FALSE(d.empty());
  EXPECT_NE(d[0].message.find("More than one display is configured."), std::string::npos) << d[0].message;
}

TEST_F(FakeFramework, ASecondPointerOnALinuxGuestPointsAtTheSecondOne) {
  v::Configuration plan = plan_example("linux-installer.json");
  relocate(plan, scratch);
  v::USBScreenCoordinatePointingDevice extra;
  extra.origin = v::Origin{"pointing", "devices[9]"};
  plan.pointing_devices.push_back(extra);
  EXPECT_TRUE(has_problem(validate(plan), "vz.invalid-configuration", "devices[9]", "pointing"));
}

TEST_F(FakeFramework, ALongTagPointsAtTheVirtiofsDevice) {
  v::Configuration plan = plan_example("linux-rosetta.json");
  relocate(plan, scratch);
  std::get<v::VirtioFileSystemDevice>(plan.directory_sharing_devices.at(0)).tag = std::string(36, 't');
  EXPECT_TRUE(has_problem(validate(plan), "vz.invalid-configuration", "devices[2]", "virtiofs"));
}

TEST_F(FakeFramework, ABadBlockIdentifierPointsAtTheDisk) {
  v::Configuration plan = plan_example("linux-rosetta.json");
  relocate(plan, scratch);
  std::get<v::VirtioBlockDevice>(plan.storage_devices.at(0)).block_device_identifier = std::string(21, 'x');
  EXPECT_TRUE(has_problem(validate(plan), "vz.invalid-configuration", "devices[1]", "virtio-blk"));
}

TEST_F(FakeFramework, TwoSocketDevicesPointAtTheSecond) {
  v::Configuration plan = plan_example("linux-rosetta.json");
  relocate(plan, scratch);
  plan.socket_devices.push_back(v::VirtioSocketDevice{v::Origin{"vsock", "devices[8]"}});
  plan.socket_devices.push_back(v::VirtioSocketDevice{v::Origin{"vsock", "devices[9]"}});
  EXPECT_TRUE(has_problem(validate(plan), "vz.invalid-configuration", "devices[9]", "vsock"));
}

TEST_F(FakeFramework, TwoBalloonsPointAtTheSecond) {
  v::Configuration plan = plan_example("linux-installer.json");
  relocate(plan, scratch);
  plan.memory_balloon_devices.push_back(v::VirtioTraditionalMemoryBalloonDevice{v::Origin{"balloon", "devices[9]"}});
  plan.memory_balloon_devices.push_back(v::VirtioTraditionalMemoryBalloonDevice{v::Origin{"balloon", "devices[10]"}});
  EXPECT_TRUE(has_problem(validate(plan), "vz.invalid-configuration", "devices[10]", "balloon"));
}

TEST_F(FakeFramework, ALinuxBootLoaderOnTheMacPlatformPointsAtTheBootLoader) {
  v::Configuration plan = plan_example("linux-rosetta.json");
  v::MacPlatform mac;
  mac.hardware_model = "x";
  mac.machine_identifier = "y";
  mac.auxiliary_storage.url = (scratch.dir / "aux.img").string();
  mac.origin = v::Origin{"mac-platform", "devices[8]"};
  plan.platform = mac;
  relocate(plan, scratch);
  EXPECT_TRUE(has_problem(validate(plan), "vz.invalid-configuration", "devices[0]", "linux-boot"));
}

TEST_F(FakeFramework, CpuAndMemoryOutsideTheHostBoundsPointAtTheSpecKeys) {
  v::Configuration plan = plan_example("linux-rosetta.json");
  relocate(plan, scratch);
  VZFakeSetHostCPUBounds(1, 2);
  EXPECT_TRUE(has_problem(validate(plan), "vz.invalid-configuration", "cpus", ""));
  VZFakeSetHostCPUBounds(1, 8);
  plan.memory_size = *plan.memory_size + 4096;
  EXPECT_TRUE(has_problem(validate(plan), "vz.invalid-configuration", "memory", ""));
}

TEST_F(FakeFramework, AnUnsupportedHardwareModelPointsAtTheMacPlatform) {
  v::Configuration plan = plan_example("macos.json");
  relocate(plan, scratch);
  VZFakeSetHardwareModelSupported(NO);
  EXPECT_TRUE(has_problem(validate(plan), "vz.invalid-configuration", "devices[0]", "mac-platform"));
}

TEST_F(FakeFramework, AnUnplaceableReasonIsReportedForTheWholeSpec) {
  v::Configuration plan = plan_example("linux-rosetta.json");
  relocate(plan, scratch);
  VZFakeSetVirtualizationSupported(NO);
  EXPECT_TRUE(has_problem(validate(plan), "vz.invalid-configuration", "", ""));
}

TEST_F(FakeFramework, InitializerErrorsPointAtTheDeviceBeingBuilt) {
  v::Configuration plan = plan_example("linux-rosetta.json");
  relocate(plan, scratch);
  std::get<v::DiskImageAttachment>(std::get<v::VirtioBlockDevice>(plan.storage_devices.at(0)).attachment).url =
      (scratch.dir / "missing.img").string();
  VZFakeSetRosettaAvailability(1);  // not installed
  const auto d = validate(plan);
  EXPECT_TRUE(has_problem(d, "vz.init-failed", "devices[1]", "virtio-blk"));
  EXPECT_TRUE(has_problem(d, "vz.init-failed", "devices[3]", "rosetta"));
}

TEST_F(FakeFramework, MissingIdentityFilesPointAtTheMacPlatform) {
  v::Configuration plan = plan_example("macos.json");  // tests/data has no hardware model file
  const auto d = validate(plan);
  EXPECT_TRUE(has_problem(d, "vz.unreadable-file", "devices[0]", "mac-platform"));
}

// ---- newer than macOS 13: run-time guard (the SDK guard is tested by vz_contract_tests_sdk13) -----

TEST_F(FakeFramework, ANewerClassOnAnOlderMacIsMacosTooOld) {
  v::Configuration plan = plan_example("macos.json");
  relocate(plan, scratch);
  VZFakeSetHostOperatingSystemVersion(13);
  const auto d = validate(plan);
  EXPECT_TRUE(has_problem(d, kMacosTooOld, "devices[5]", "keyboard"));  // VZMacKeyboardConfiguration is 14.0
  VZFakeSetHostOperatingSystemVersion(14);
  EXPECT_TRUE(validate(plan).empty());
}

TEST_F(FakeFramework, HostBoundsComeFromTheFramework) {
  VZFakeSetHostCPUBounds(2, 6);
  VZFakeSetHostMemoryBounds(256ull << 20, 16ull << 30);
  VZFakeSetHostOperatingSystemVersion(14);
  VZFakeSetRosettaAvailability(1);
  const std::string model = scratch.file("model.bin", 16);
  const auto bounds = json::parse(host_bounds_json(model)).as_object();
  EXPECT_EQ(bounds.at("cpu_count").at("min").to_number<int>(), 2);
  EXPECT_EQ(bounds.at("cpu_count").at("max").to_number<int>(), 6);
  EXPECT_EQ(bounds.at("memory_size").at("min").to_number<std::uint64_t>(), 256ull << 20);
  EXPECT_EQ(bounds.at("memory_size").at("max").to_number<std::uint64_t>(), 16ull << 30);
  EXPECT_EQ(bounds.at("macos_major").to_number<int>(), 14);
  EXPECT_EQ(bounds.at("rosetta").as_string(), "not-installed");
  EXPECT_EQ(bounds.at("hardware_model_supported").as_bool(), true);
  EXPECT_EQ(bounds.at("virtualization_supported").as_bool(), true);
}

// ---- the lifecycle follows VZ's state rules ------------------------------------------------------

/// Collects a machine's events and waits for operations to complete.
struct Driver {
  std::mutex lock;
  std::condition_variable changed;
  std::vector<vzkit::MachineEvent> events;
  std::vector<std::string> queue_labels;  // label of the queue each completion ran on

  explicit Driver(vzkit::Machine& m) : machine(m) {
    machine.set_event_handler([this](const vzkit::MachineEvent& e) {
      std::lock_guard<std::mutex> g(lock);
      events.push_back(e);
      changed.notify_all();
    });
  }

  /// Runs one operation and returns its completion's error text.
  std::string run(void (vzkit::Machine::*op)(vzkit::Completion)) {
    auto promise = std::make_shared<std::promise<std::string>>();
    auto future = promise->get_future();
    (machine.*op)([this, promise](const std::string& error) {
      {
        std::lock_guard<std::mutex> g(lock);
        queue_labels.push_back(dispatch_queue_get_label(DISPATCH_CURRENT_QUEUE_LABEL));
      }
      promise->set_value(error);
    });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return "timed out";
    return future.get();
  }

  bool wait_for(vzkit::MachineEvent::Kind kind, vzkit::MachineState state) {
    std::unique_lock<std::mutex> g(lock);
    return changed.wait_for(g, std::chrono::seconds(10), [&] {
      for (const auto& e : events)
        if (e.kind == kind && e.state == state) return true;
      return false;
    });
  }

  std::vector<vzkit::MachineState> states() {
    std::lock_guard<std::mutex> g(lock);
    std::vector<vzkit::MachineState> out;
    for (const auto& e : events)
      if (e.kind == vzkit::MachineEvent::Kind::state_changed) out.push_back(e.state);
    return out;
  }

  vzkit::Machine& machine;
};

std::unique_ptr<VzMachine> make_machine(const Scratch& scratch) {
  v::Configuration plan = plan_example("linux-installer.json");
  relocate(plan, scratch);
  Diagnostics problems;
  auto machine = VzMachine::create(plan, {}, problems);
  EXPECT_TRUE(machine) << describe(problems);
  return machine;
}

TEST_F(FakeFramework, LifecycleFollowsVZStateRules) {
  using S = vzkit::MachineState;
  using K = vzkit::MachineEvent::Kind;
  auto machine = make_machine(scratch);
  ASSERT_TRUE(machine);
  Driver driver(*machine);
  EXPECT_EQ(machine->state(), S::stopped);
  EXPECT_TRUE(machine->can_start());
  EXPECT_FALSE(machine->can_pause());

  // Pause, resume and stop before start are refused, as VZ refuses them.
  EXPECT_NE(driver.run(&vzkit::Machine::pause), "");
  EXPECT_NE(driver.run(&vzkit::Machine::resume), "");
  EXPECT_NE(driver.run(&vzkit::Machine::stop), "");
  EXPECT_NE(driver.run(&vzkit::Machine::request_stop), "");
  EXPECT_EQ(machine->state(), S::stopped);

  EXPECT_EQ(driver.run(&vzkit::Machine::start), "");
  EXPECT_EQ(machine->state(), S::running);
  EXPECT_TRUE(machine->can_pause() && machine->can_request_stop() && machine->can_stop());
  EXPECT_NE(driver.run(&vzkit::Machine::start), "") << "start while running must fail";

  EXPECT_EQ(driver.run(&vzkit::Machine::pause), "");
  EXPECT_EQ(machine->state(), S::paused);
  EXPECT_TRUE(machine->can_resume() && machine->can_stop());
  EXPECT_NE(driver.run(&vzkit::Machine::request_stop), "") << "requestStop needs a running guest";

  EXPECT_EQ(driver.run(&vzkit::Machine::resume), "");
  EXPECT_EQ(machine->state(), S::running);

  EXPECT_EQ(driver.run(&vzkit::Machine::request_stop), "");
  EXPECT_TRUE(driver.wait_for(K::guest_shutdown, S::running));
  EXPECT_TRUE(driver.wait_for(K::state_changed, S::stopped));
  EXPECT_EQ(machine->state(), S::stopped);

  const std::vector<S> expected = {S::starting, S::running, S::pausing, S::paused,
                                   S::resuming, S::running, S::stopped};
  EXPECT_EQ(driver.states(), expected);

  // Every completion ran on the machine's own queue.
  for (const auto& label : driver.queue_labels) EXPECT_EQ(label, "org.vzkit.machine");

  // The fake saw each call in the state it was made in (calls off the VM's queue would raise).
  NSArray* calls = VZFakeCallLog();
  ASSERT_GE([calls count], 4u);
  EXPECT_EQ(std_string([[calls objectAtIndex:0] objectForKey:@"selector"]), "pauseWithCompletionHandler:");
  EXPECT_EQ([[[calls objectAtIndex:0] objectForKey:@"state"] integerValue], VZVirtualMachineStateStopped);
}

TEST_F(FakeFramework, StopAndRestartAndAHypervisorFailure) {
  using S = vzkit::MachineState;
  using K = vzkit::MachineEvent::Kind;
  auto machine = make_machine(scratch);
  ASSERT_TRUE(machine);
  Driver driver(*machine);
  EXPECT_EQ(driver.run(&vzkit::Machine::start), "");
  EXPECT_EQ(driver.run(&vzkit::Machine::stop), "");
  EXPECT_EQ(machine->state(), S::stopped);
  EXPECT_EQ(driver.run(&vzkit::Machine::start), "") << "a stopped VM starts again";

  machine->run_on_queue([&] {
    VZFakeVirtualMachineFail(VZKIT_BRIDGE(id, machine->native_handle()),
                             [NSError errorWithDomain:VZErrorDomain code:VZErrorInternal userInfo:nil]);
  });
  EXPECT_TRUE(driver.wait_for(K::error, S::error));
  EXPECT_EQ(machine->state(), S::error);
  EXPECT_TRUE(machine->can_start());
  EXPECT_EQ(driver.run(&vzkit::Machine::start), "") << "start is allowed again from the error state";
  EXPECT_EQ(machine->state(), S::running);
}

TEST_F(FakeFramework, AGuestThatIgnoresTheRequestKeepsRunning) {
  auto machine = make_machine(scratch);
  ASSERT_TRUE(machine);
  Driver driver(*machine);
  VZFakeSetGuestIgnoresStopRequests(YES);
  EXPECT_EQ(driver.run(&vzkit::Machine::start), "");
  EXPECT_EQ(driver.run(&vzkit::Machine::request_stop), "") << "the request itself is delivered";
  machine->run_on_queue([] {});
  EXPECT_EQ(machine->state(), vzkit::MachineState::running);
  EXPECT_EQ(driver.run(&vzkit::Machine::stop), "");
  EXPECT_EQ(machine->state(), vzkit::MachineState::stopped);
}

TEST_F(FakeFramework, AnInvalidPlanMakesNoMachine) {
  v::Configuration plan = plan_example("linux-installer.json");
  relocate(plan, scratch);
  plan.memory_size = 1;
  Diagnostics problems;
  EXPECT_FALSE(VzMachine::create(plan, {}, problems));
  EXPECT_TRUE(has_problem(problems, "vz.invalid-configuration", "memory", ""));
}

#else  // __APPLE__: the real framework

// ---- validateWithError: on the real framework ----------------------------------------------------

class RealFramework : public ::testing::TestWithParam<const char*> {
 protected:
  Scratch scratch;
};

TEST_P(RealFramework, BuildsAndValidatesTheExample) {
  @autoreleasepool {
    v::Configuration plan = plan_example(GetParam());
    relocate(plan, scratch);
    const Diagnostics problems = validate(plan);
    std::printf("%s: VZVirtualMachine.supported=%d\n%s", GetParam(), static_cast<int>([VZVirtualMachine isSupported]),
                describe(problems).c_str());
    std::printf("host bounds: %s\n", host_bounds_json().c_str());
    for (const auto& p : problems) {
      // Stand-in identity files are not real hardware models: that, and nothing else, may fail.
      if (p.code == "vz.invalid-data") {
        EXPECT_EQ(p.path, "devices[0]");
        EXPECT_EQ(p.plugin, "mac-platform");
        continue;
      }
      // Rosetta may be absent on the runner; the error must still name the rosetta device.
      if (p.code == "vz.init-failed" && p.plugin == "rosetta") continue;
      // A host that cannot virtualize (a VM runner) refuses every configuration.
      if (![VZVirtualMachine isSupported] && p.code == "vz.invalid-configuration") continue;
      ADD_FAILURE() << GetParam() << ": " << p.path << " [" << p.code << "] " << p.message;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Examples, RealFramework, ::testing::ValuesIn(kExamples),
                         [](const auto& info) {
                           std::string name = info.param;
                           name = name.substr(0, name.find('.'));
                           for (auto& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(RealFrameworkErrors, TwoScanoutsPointAtTheVirtioGpuDevice) {
  Scratch scratch;
  v::Configuration plan = plan_example("linux-installer.json");
  relocate(plan, scratch);
  auto& gpu = std::get<v::VirtioGraphicsDevice>(plan.graphics_devices.at(0));
  gpu.scanouts.push_back(gpu.scanouts.front());
  const auto d = validate(plan);
  std::printf("%s", describe(d).c_str());
  ASSERT_FALSE(d.empty()) << "VZ accepted two scanouts";
  if ([VZVirtualMachine isSupported]) EXPECT_TRUE(has_problem(d, "vz.invalid-configuration", "devices[3]", "virtio-gpu"));
}

#endif

}  // namespace

// ---- supervising: what `vzkit run` does with a vz plan ------------------------------------------
#if !defined(__APPLE__)

// Waits until run/state.json reports `state` (or 10 s pass).
bool state_becomes(const fs::path& run_dir, const std::string& state) {
  for (int i = 0; i < 1000; ++i) {
    const auto st = vzkit::kernel::read_state(run_dir);
    if (const auto* s = st.if_contains("state"); s && s->is_string() && s->get_string() == state) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// The control commands, as `vzkit stop|pause|resume` send them (control_client.cpp).
std::string control(const fs::path& run_dir, const std::string& command) {
  return vzkit_test_control((run_dir / "ctl.sock").string(), command);
}

TEST_F(FakeFramework, SuperviseAnswersTheControlSocketAndRecordsEachState) {
  v::Configuration plan = plan_example("linux-installer.json");
  relocate(plan, scratch);
  SuperviseOptions o;
  o.run_dir = scratch.dir / "run";
  fs::create_directories(o.run_dir);
  o.console_to_stdout = false;
  o.report = false;
  o.facts = json::object{{"engine", "vz"}};
  std::vector<std::string> seen;  // what the client observed, checked after the run
  std::thread client([&] {
    seen.push_back(state_becomes(o.run_dir, "running") ? "running" : "never running");
    seen.push_back("stop:" + control(o.run_dir, "stop"));
    seen.push_back(state_becomes(o.run_dir, "paused") ? "paused" : "never paused");
    seen.push_back("cont:" + control(o.run_dir, "cont"));
    seen.push_back(state_becomes(o.run_dir, "running") ? "running" : "never running");
    seen.push_back("screendump:" + control(o.run_dir, "screendump"));
    seen.push_back("system_powerdown:" + control(o.run_dir, "system_powerdown"));
  });
  int rc = -1;
  @autoreleasepool {
    rc = supervise(plan, o);
  }
  client.join();
  EXPECT_EQ(rc, 0) << "the guest powered off when asked";
  const std::vector<std::string> expected = {
      "running", "stop:", "paused", "cont:", "running",
      "screendump:screendump: 'screendump' is not available for this engine", "system_powerdown:"};
  EXPECT_EQ(seen, expected);
  const auto st = vzkit::kernel::read_state(o.run_dir);
  EXPECT_EQ(st.at("state"), "stopped");
  EXPECT_EQ(st.at("engine"), "vz");
  EXPECT_EQ(st.at("supervisor_pid"), ::getpid());
  EXPECT_EQ(st.at("console_log"), json::value((o.run_dir / "console.log").string()));
  EXPECT_FALSE(fs::exists(o.run_dir / "ctl.sock")) << "the socket goes with the run";
}

TEST_F(FakeFramework, SuperviseStopsAGuestThatIgnoresThePowerOffAfterTheGracePeriod) {
  v::Configuration plan = plan_example("linux-installer.json");
  relocate(plan, scratch);
  SuperviseOptions o;
  o.run_dir = scratch.dir / "run";
  fs::create_directories(o.run_dir);
  o.console_to_stdout = false;
  o.report = false;
  o.stop_grace = std::chrono::milliseconds(300);
  VZFakeSetGuestIgnoresStopRequests(YES);
  std::string asked;
  std::thread client([&] {
    if (state_becomes(o.run_dir, "running")) ::kill(::getpid(), SIGTERM);  // as Ctrl-C or `kill` would
  });
  int rc = -1;
  @autoreleasepool {
    rc = supervise(plan, o);
  }
  client.join();
  EXPECT_EQ(rc, 0) << "a stop after the grace period is still an orderly end";
  EXPECT_EQ(vzkit::kernel::read_state(o.run_dir).at("state"), "stopped");
  NSArray* calls = VZFakeCallLog();
  std::vector<std::string> selectors;
  for (NSDictionary* c in calls) selectors.push_back(std_string([c objectForKey:@"selector"]));
  EXPECT_NE(std::find(selectors.begin(), selectors.end(), "requestStopWithError:"), selectors.end());
  EXPECT_NE(std::find(selectors.begin(), selectors.end(), "stopWithCompletionHandler:"), selectors.end());
}

TEST_F(FakeFramework, SuperviseRefusesAPlanVZRejectsAndRecordsTheError) {
  v::Configuration plan = plan_example("linux-installer.json");
  relocate(plan, scratch);
  plan.cpu_count = 100000;  // beyond the host's maximum
  SuperviseOptions o;
  o.run_dir = scratch.dir / "run";
  fs::create_directories(o.run_dir);
  o.report = false;
  int rc = -1;
  @autoreleasepool {
    rc = supervise(plan, o);
  }
  EXPECT_EQ(rc, 1);
  const auto st = vzkit::kernel::read_state(o.run_dir);
  EXPECT_EQ(st.at("state"), "error");
  EXPECT_FALSE(std::string(st.at("message").as_string()).empty());
}

// Writes `request` to the unix socket `path` and reads until the other end closes (5 s at most).
std::string exchange(const fs::path& path, const std::string& request) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "cannot connect: " + std::string(std::strerror(errno));
  }
  timeval five{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
  (void)!::write(fd, request.data(), request.size());
  std::string answer;
  char buf[256];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) answer.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return answer;
}

// The guest agent's channel on VZ: a client of run/qga.sock reaches the guest's vsock port through
// the runner (VZVirtioSocketDevice connectToPort: on the VM's queue), bytes flow both ways, and a
// port nobody listens on closes the client's connection.
TEST_F(FakeFramework, SuperviseBridgesASocketForwardToTheGuestsVsockPort) {
  v::Configuration plan = plan_example("linux-installer.json");
  relocate(plan, scratch);
  plan.socket_devices.push_back(v::VirtioSocketDevice{v::Origin{"guest-agent", "devices[9]"}});
  SuperviseOptions o;
  o.run_dir = scratch.dir / "run";
  fs::create_directories(o.run_dir);
  plan.socket_forwards.push_back({9001, (o.run_dir / "qga.sock").string(), v::Origin{"guest-agent", "devices[9]"}});
  plan.socket_forwards.push_back({9002, (o.run_dir / "nobody.sock").string(), std::nullopt});
  o.console_to_stdout = false;
  o.report = false;
  o.facts = json::object{{"engine", "vz"}};
  // The guest: qemu-ga answering one request on port 9001.
  VZFakeSetGuestSocketListener(9001, ^(int fd) {
    char buf[256];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    const std::string got = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    const std::string reply = got == "{\"execute\": \"guest-ping\"}\n" ? "{\"return\": {}}\n" : "{\"error\": {}}\n";
    (void)!::write(fd, reply.data(), reply.size());
    ::close(fd);
  });
  std::string answer, nobody;
  bool listening = false;
  std::thread client([&] {
    if (state_becomes(o.run_dir, "running")) {
      listening = fs::exists(o.run_dir / "qga.sock");
      answer = exchange(o.run_dir / "qga.sock", "{\"execute\": \"guest-ping\"}\n");
      nobody = exchange(o.run_dir / "nobody.sock", "hello\n");
    }
    control(o.run_dir, "system_powerdown");
  });
  int rc = -1;
  @autoreleasepool {
    rc = supervise(plan, o);
  }
  client.join();
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(listening) << "run/qga.sock exists while the VM runs";
  EXPECT_EQ(answer, "{\"return\": {}}\n") << "the request reached the guest and its reply came back";
  EXPECT_EQ(nobody, "") << "a port nobody listens on closes the client's connection";
  EXPECT_FALSE(fs::exists(o.run_dir / "qga.sock")) << "the socket goes with the run";
  int connects = 0;
  for (NSDictionary* call in VZFakeCallLog())
    if ([[call objectForKey:@"selector"] isEqual:@"connectToPort:completionHandler:"]) ++connects;
  EXPECT_EQ(connects, 2) << "one connectToPort: per client, on the VM's queue (the fake raises elsewhere)";
}

// The guest agent planned for VZ through its plugin: one Virtio socket device even beside the vsock
// plugin (VZ takes one), the forward of run/qga.sock to port 9001, and VZ accepts the configuration.
TEST_F(FakeFramework, TheGuestAgentPlansOneSocketDeviceAndAForwardThatValidate) {
  const std::string text = R"({"name": "agent", "cpus": 2, "memory": "2GiB", "devices": [
    {"plugin": "efi-boot"}, {"plugin": "vsock"}, {"plugin": "guest-agent", "vsock_port": 9001}]})";
  auto parsed = vzkit::kernel::parse_spec(text, "agent.json", scratch.dir);
  ASSERT_TRUE(parsed.spec) << vzkit::kernel::format(parsed.diagnostics);
  vzkit::kernel::ValidateOptions vo;
  vo.engine = "vz";
  vo.bundle_dir = scratch.dir.string();
  const auto d = vzkit::kernel::validate(*parsed.spec, plugins(), vo);
  ASSERT_FALSE(vzkit::kernel::has_errors(d)) << vzkit::kernel::format(d);
  vzkit::kernel::AssembleOptions ao;
  ao.engine = "vz";
  ao.bundle_dir = scratch.dir.string();
  auto plan = json::value_to<v::Configuration>(vzkit::kernel::assemble(*parsed.spec, plugins(), ao).model);
  ASSERT_EQ(plan.socket_devices.size(), 1u);
  ASSERT_EQ(plan.socket_forwards.size(), 1u);
  EXPECT_EQ(plan.socket_forwards[0].port, 9001u);
  EXPECT_EQ(plan.socket_forwards[0].socket_path, (scratch.dir / "run" / "qga.sock").string());
  relocate(plan, scratch);
  const auto problems = validate(plan);
  EXPECT_TRUE(problems.empty()) << vzkit::kernel::format(problems);
}

#endif

// ---- installing macOS: install_macos() against the fake's restore images and installer ----------
#if !defined(__APPLE__)

namespace {

/// Writes a stand-in restore image (the JSON format in VZFake.h) into `dir`; `changes` replace
/// the defaults (macOS 14, build 23A344, 2 CPUs and 4 GiB minimum, supported); `prefix` goes first.
fs::path stand_in_image(const fs::path& dir, const std::string& name, const json::object& changes = {},
                        const std::string& prefix = "") {
  json::object image{{"build_version", "23A344"}, {"os", json::array{14, 0, 0}}, {"min_cpus", 2},
                     {"min_memory", 4ull << 30}, {"supported", true}};
  for (const auto& [key, value] : changes) image[key] = value;
  fs::create_directories(dir);
  const fs::path path = dir / name;
  std::ofstream(path, std::ios::binary) << prefix << json::serialize(image);
  return path;
}

/// Collects the progress install_macos() reports (from any thread).
struct ProgressLog {
  std::mutex lock;
  std::vector<std::pair<std::string, double>> reports;

  std::function<void(const std::string&, double)> callback() {
    return [this](const std::string& phase, double fraction) {
      std::lock_guard<std::mutex> g(lock);
      reports.emplace_back(phase, fraction);
    };
  }
  std::vector<double> of(const std::string& phase) {
    std::lock_guard<std::mutex> g(lock);
    std::vector<double> out;
    for (const auto& [p, f] : reports)
      if (p == phase) out.push_back(f);
    return out;
  }
};

InstallOptions install_options(const Scratch& scratch, const std::string& source, const std::string& vm = "vm") {
  InstallOptions o;
  o.source = source;
  o.dir = scratch.dir / vm;
  o.download_dir = scratch.dir / "downloads";
  o.disk_bytes = 3ull << 30;
  return o;
}

InstallResult install(const InstallOptions& o) {
  @autoreleasepool {
    return install_macos(o);
  }
}

/// The recorded calls as (selector, queue label) pairs, in order.
std::vector<std::pair<std::string, std::string>> calls_with_queues() {
  std::vector<std::pair<std::string, std::string>> out;
  for (NSDictionary* call in VZFakeCallLog())
    out.emplace_back(std_string([call objectForKey:@"selector"]), std_string([call objectForKey:@"queue"]));
  return out;
}

bool contains_text(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_F(FakeFramework, InstallsMacOSFromALocalRestoreImage) {
  const fs::path ipsw = stand_in_image(scratch.dir / "images", "UniversalMac_14.0_23A344_Restore.ipsw");
  ProgressLog log;
  InstallOptions o = install_options(scratch, ipsw.string());
  o.progress = log.callback();
  const InstallResult r = install(o);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.build_version, "23A344");
  EXPECT_EQ(r.cpu_count, 4u) << "the image asks for 2: at least 4";
  EXPECT_EQ(r.memory_bytes, 8ull << 30) << "the image asks for 4 GiB: at least 8 GiB";

  // The VM's four files: the identity (the image's hardware model, a new machine identifier), the
  // auxiliary storage VZ created, and a sparse disk of the size asked for.
  EXPECT_EQ(read_text(o.dir / "hardware-model.bin"), "vzfake-hardware-model:23A344");
  EXPECT_EQ(fs::file_size(o.dir / "machine-id.bin"), 16u);
  EXPECT_TRUE(fs::exists(o.dir / "aux.img"));
  ASSERT_TRUE(fs::exists(o.dir / "disk.img"));
  EXPECT_EQ(fs::file_size(o.dir / "disk.img"), 3ull << 30);
  struct stat st {};
  ASSERT_EQ(::stat((o.dir / "disk.img").c_str(), &st), 0);
  EXPECT_LT(static_cast<std::uint64_t>(st.st_blocks) * 512, 1ull << 20) << "disk.img must be sparse";
  EXPECT_FALSE(fs::exists(o.download_dir)) << "a local image is used where it is";

  // The auxiliary storage was created (never overwriting) for the image's hardware model, then
  // opened by the installer's VM; the VM runs on the Mac platform with the plan's CPUs and memory.
  bool created = false, opened = false;
  id installer = nil;
  for (NSDictionary* entry in VZFakeCreationLog()) {
    const std::string cls = std_string([entry objectForKey:@"class"]);
    const std::string initializer = std_string([entry objectForKey:@"initializer"]);
    NSArray* arguments = [entry objectForKey:@"arguments"];
    if (cls == "VZMacAuxiliaryStorage" && initializer == "initCreatingStorageAtURL:hardwareModel:options:error:") {
      created = true;
      EXPECT_EQ(std_string([[arguments objectAtIndex:0] path]), (o.dir / "aux.img").string());
      EXPECT_TRUE([[[arguments objectAtIndex:1] dataRepresentation]
          isEqual:[@"vzfake-hardware-model:23A344" dataUsingEncoding:NSUTF8StringEncoding]]);
      EXPECT_EQ([[arguments objectAtIndex:2] unsignedIntegerValue], 0u) << "must never overwrite";
    }
    if (cls == "VZMacAuxiliaryStorage" && initializer == "initWithURL:") opened = true;
    if (cls == "VZVirtualMachine") {
      VZVirtualMachineConfiguration* config = [arguments objectAtIndex:0];
      EXPECT_TRUE([[config platform] isKindOfClass:[VZMacPlatformConfiguration class]]);
      EXPECT_EQ([config CPUCount], 4u);
      EXPECT_EQ([config memorySize], 8ull << 30);
    }
    if (cls == "VZMacOSInstaller") installer = [entry objectForKey:@"object"];
  }
  EXPECT_TRUE(created);
  EXPECT_TRUE(opened);

  // loadFileURL → installer init → install, the last two on the VM's queue, the VM stopped.
  const auto calls = calls_with_queues();
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"loadFileURL:completionHandler:", ""},
      {"initWithVirtualMachine:restoreImageURL:", "org.vzkit.machine"},
      {"installWithCompletionHandler:", "org.vzkit.machine"}};
  EXPECT_EQ(calls, expected);
  NSArray* call_log = VZFakeCallLog();
  ASSERT_EQ([call_log count], 3u);
  EXPECT_EQ(std_string([[[call_log objectAtIndex:0] objectForKey:@"object"] path]), ipsw.string());
  EXPECT_EQ([[[call_log objectAtIndex:2] objectForKey:@"state"] integerValue], VZVirtualMachineStateStopped);

  // Progress: the installer's own reached 1.0, and what was reported climbed to 1.0. The fake,
  // like VZ, refuses `progress` off the VM's queue, so the bridge fetched it there.
  ASSERT_NE(installer, nil);
  EXPECT_EQ([[VZFakeProperties(installer) objectForKey:@"progress"] fractionCompleted], 1.0);
  bool raised = false;
  @try {
    (void)[(VZMacOSInstaller*)installer progress];
  } @catch (NSException*) {
    raised = true;
  }
  EXPECT_TRUE(raised) << "-[VZMacOSInstaller progress] must be refused off the VM's queue";
  const auto reported = log.of("install");
  ASSERT_GE(reported.size(), 2u);
  EXPECT_EQ(reported.front(), 0.0);
  EXPECT_EQ(reported.back(), 1.0);
  EXPECT_TRUE(std::is_sorted(reported.begin(), reported.end()));
  EXPECT_TRUE(log.of("download").empty());
}

TEST_F(FakeFramework, InstallCpusAndMemoryFollowTheImageWithinTheHostBounds) {
  // An image asking for more than the floors gets what it asks.
  auto r = install(install_options(
      scratch, stand_in_image(scratch.dir, "big.ipsw", {{"min_cpus", 6}, {"min_memory", 12ull << 30}}).string(), "big"));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cpu_count, 6u);
  EXPECT_EQ(r.memory_bytes, 12ull << 30);

  // The floors (4 CPUs, 8 GiB) are clamped to the host's maximums, and memory to whole MiB.
  VZFakeSetHostCPUBounds(1, 2);
  VZFakeSetHostMemoryBounds(128ull << 20, (6ull << 30) + 12345);
  r = install(install_options(scratch, stand_in_image(scratch.dir, "small.ipsw").string(), "small"));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.cpu_count, 2u);
  EXPECT_EQ(r.memory_bytes, 6ull << 30);

  // An image that needs more than a VM may have here is refused before anything is written.
  const auto o = install_options(scratch, stand_in_image(scratch.dir, "huge.ipsw", {{"min_cpus", 3}}).string(), "huge");
  r = install(o);
  EXPECT_TRUE(contains_text(r.error, "this Mac cannot run the macOS in")) << r.error;
  EXPECT_TRUE(contains_text(r.error, "needs 3 CPUs")) << r.error;
  EXPECT_FALSE(fs::exists(o.dir / "hardware-model.bin"));
}

TEST_F(FakeFramework, InstallLatestDownloadsIntoTheDownloadFolderAndReusesIt) {
  const fs::path source = stand_in_image(scratch.dir / "catalog", "latest.ipsw");
  VZFakeSetLatestRestoreImageURL([NSURL fileURLWithPath:ns_string(source.string())]);
  ProgressLog first_log;
  InstallOptions o = install_options(scratch, "latest", "vm1");
  o.progress = first_log.callback();
  auto r = install(o);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.build_version, "23A344");
  const fs::path downloaded = o.download_dir / "macOS-23A344.ipsw";
  ASSERT_TRUE(fs::exists(downloaded));
  EXPECT_EQ(read_text(downloaded), read_text(source));
  EXPECT_FALSE(fs::exists(downloaded.string() + ".part"));
  EXPECT_FALSE(fs::exists(o.dir / "macOS-23A344.ipsw")) << "the image stays in the download folder";
  EXPECT_FALSE(first_log.of("download").empty());
  EXPECT_EQ(first_log.of("download").back(), 1.0);
  EXPECT_EQ(first_log.of("install").back(), 1.0);
  {
    const auto calls = calls_with_queues();
    ASSERT_GE(calls.size(), 2u);
    EXPECT_EQ(calls[0].first, "fetchLatestSupportedWithCompletionHandler:");
    EXPECT_EQ(calls[1].first, "loadFileURL:completionHandler:");
    EXPECT_EQ(std_string([[[VZFakeCallLog() objectAtIndex:1] objectForKey:@"object"] path]), downloaded.string())
        << "the downloaded copy is what gets loaded";
  }

  // A second VM reuses the complete download: nothing is copied again.
  const auto written = fs::last_write_time(downloaded);
  ProgressLog second_log;
  InstallOptions again = install_options(scratch, "latest", "vm2");
  again.progress = second_log.callback();
  r = install(again);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(second_log.of("download"), std::vector<double>{1.0});
  EXPECT_EQ(fs::last_write_time(downloaded), written);
  EXPECT_TRUE(fs::exists(again.dir / "disk.img"));

  // An interrupted download resumes from its .part file: the bytes there are kept, not fetched
  // again (here they differ from the source's, harmlessly: JSON ignores leading whitespace).
  const fs::path newer = stand_in_image(scratch.dir / "catalog", "newer.ipsw", {{"build_version", "23B74"}}, "    ");
  VZFakeSetLatestRestoreImageURL([NSURL fileURLWithPath:ns_string(newer.string())]);
  const fs::path part = o.download_dir / "macOS-23B74.ipsw.part";
  std::ofstream(part, std::ios::binary) << "\n\n\n\n";
  r = install(install_options(scratch, "latest", "vm3"));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.build_version, "23B74");
  const std::string resumed = read_text(o.download_dir / "macOS-23B74.ipsw");
  EXPECT_EQ(resumed, "\n\n\n\n" + read_text(newer).substr(4));
  EXPECT_FALSE(fs::exists(part));
}

TEST_F(FakeFramework, InstallRefusesAnImageThisMacCannotRun) {
  // No supported configuration in the image.
  const fs::path unsupported = stand_in_image(scratch.dir, "unsupported.ipsw", {{"supported", false}});
  InstallOptions o = install_options(scratch, unsupported.string(), "a");
  auto r = install(o);
  EXPECT_TRUE(contains_text(r.error, "this Mac cannot run the macOS in '" + unsupported.string() + "'")) << r.error;
  EXPECT_FALSE(fs::exists(o.dir / "hardware-model.bin")) << "nothing is written for an image that cannot run";
  EXPECT_FALSE(fs::exists(o.dir / "disk.img"));

  // A configuration whose hardware model this host does not support.
  VZFakeSetHardwareModelSupported(NO);
  o = install_options(scratch, stand_in_image(scratch.dir, "image.ipsw").string(), "b");
  r = install(o);
  EXPECT_TRUE(contains_text(r.error, "this Mac cannot run the macOS in")) << r.error;
  EXPECT_FALSE(fs::exists(o.dir / "hardware-model.bin"));
  VZFakeSetHardwareModelSupported(YES);

  // A macOS newer than the host's.
  VZFakeSetHostOperatingSystemVersion(13);
  r = install(install_options(scratch, stand_in_image(scratch.dir, "image.ipsw").string(), "c"));
  EXPECT_TRUE(contains_text(r.error, "newer than this Mac's macOS 13")) << r.error;

  bool installer_made = false;
  for (NSDictionary* call in VZFakeCallLog())
    installer_made |= std_string([call objectForKey:@"selector"]) == "initWithVirtualMachine:restoreImageURL:";
  EXPECT_FALSE(installer_made);
}

TEST_F(FakeFramework, InstallRefusesAMissingOrInvalidImage) {
  auto r = install(install_options(scratch, (scratch.dir / "missing.ipsw").string()));
  EXPECT_TRUE(contains_text(r.error, "missing.ipsw' does not exist")) << r.error;

  const fs::path junk = scratch.dir / "junk.ipsw";
  std::ofstream(junk) << "not a restore image";
  r = install(install_options(scratch, junk.string()));
  EXPECT_TRUE(contains_text(r.error, "cannot load the restore image '" + junk.string() + "'")) << r.error;
  EXPECT_TRUE(contains_text(r.error, "is not a valid restore image")) << r.error;

  r = install(install_options(scratch, "latest"));  // the catalog is unreachable
  EXPECT_TRUE(contains_text(r.error, "cannot find the latest macOS this Mac supports")) << r.error;

  r = install(install_options(scratch, ""));
  EXPECT_TRUE(contains_text(r.error, "no restore image given")) << r.error;

  InstallOptions odd = install_options(scratch, junk.string());
  odd.disk_bytes = 1000;
  r = install(odd);
  EXPECT_TRUE(contains_text(r.error, "multiple of 512")) << r.error;

  // "latest" somewhere only NSURLSession can fetch from (not on Linux).
  VZFakeSetLatestRestoreImageURL([NSURL URLWithString:@"https://updates.cdn-apple.com/fake/UniversalMac_Restore.ipsw"]);
  r = install(install_options(scratch, "latest"));
  EXPECT_TRUE(contains_text(r.error, "cannot download macOS 23A344 from https://")) << r.error;
  EXPECT_TRUE(contains_text(r.error, "needs macOS")) << r.error;
}

TEST_F(FakeFramework, InstallNeverRegeneratesAnExistingIdentity) {
  const fs::path ipsw = stand_in_image(scratch.dir, "image.ipsw");
  InstallOptions o = install_options(scratch, ipsw.string());
  fs::create_directories(o.dir);
  std::ofstream(o.dir / "hardware-model.bin") << "the original";
  auto r = install(o);
  EXPECT_TRUE(contains_text(r.error, "hardware-model.bin' already exists")) << r.error;
  EXPECT_TRUE(contains_text(r.error, "never regenerated")) << r.error;
  EXPECT_EQ(read_text(o.dir / "hardware-model.bin"), "the original");
  EXPECT_FALSE(fs::exists(o.dir / "machine-id.bin"));
  EXPECT_FALSE(fs::exists(o.dir / "disk.img"));
  EXPECT_EQ([VZFakeCallLog() count], 0u) << "refused before the image is even loaded";

  // Installing twice into one folder: the second run finds the first one's identity.
  o = install_options(scratch, ipsw.string(), "twice");
  ASSERT_EQ(install(o).error, "");
  const std::string machine_id = read_text(o.dir / "machine-id.bin");
  r = install(o);
  EXPECT_TRUE(contains_text(r.error, "already exists")) << r.error;
  EXPECT_EQ(read_text(o.dir / "machine-id.bin"), machine_id);
}

TEST_F(FakeFramework, InstallReportsAFailedInstallation) {
  VZFakeSetInstallFailure([NSError errorWithDomain:VZErrorDomain
                                              code:VZErrorInstallationFailed
                                          userInfo:[NSDictionary dictionaryWithObject:@"The installation failed (fake)."
                                                                               forKey:NSLocalizedFailureReasonErrorKey]]);
  ProgressLog log;
  InstallOptions o = install_options(scratch, stand_in_image(scratch.dir, "image.ipsw").string());
  o.progress = log.callback();
  const auto r = install(o);
  EXPECT_TRUE(contains_text(r.error, "installing macOS 23A344 failed (The installation failed (fake).)")) << r.error;
  EXPECT_EQ(r.cpu_count, 0u);
  const auto reported = log.of("install");
  ASSERT_FALSE(reported.empty());
  EXPECT_LT(reported.back(), 1.0);
  const auto calls = calls_with_queues();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back().first, "installWithCompletionHandler:");
}

TEST_F(FakeFramework, TheFakeInstallerKeepsVZRules) {
  // What install_macos() relies on, as the headers state it: the installer raises for a VM that
  // is not a Mac and on a second start, and refuses a VM that is not stopped.
  const fs::path ipsw = stand_in_image(scratch.dir, "image.ipsw");
  NSURL* url = [NSURL fileURLWithPath:ns_string(ipsw.string())];
  auto linux_vm = make_machine(scratch);
  ASSERT_TRUE(linux_vm);
  std::string raised;
  linux_vm->run_on_queue([&] {
    @try {
      [[[VZMacOSInstaller alloc] initWithVirtualMachine:VZKIT_BRIDGE(VZVirtualMachine*, linux_vm->native_handle())
                                        restoreImageURL:url] release];
    } @catch (NSException* e) {
      raised = std_string([e name]);
    }
  });
  EXPECT_EQ(raised, "NSInvalidArgumentException");

  const auto o = install_options(scratch, ipsw.string());
  ASSERT_EQ(install(o).error, "");
  v::Configuration plan;
  plan.cpu_count = 4;
  plan.memory_size = 8ull << 30;
  v::MacPlatform mac;
  mac.hardware_model = (o.dir / "hardware-model.bin").string();
  mac.machine_identifier = (o.dir / "machine-id.bin").string();
  mac.auxiliary_storage.url = (o.dir / "aux.img").string();
  plan.platform = mac;
  plan.boot_loader = v::MacOSBootLoader{};
  Diagnostics problems;
  auto mac_vm = VzMachine::create(plan, {}, problems);
  ASSERT_TRUE(mac_vm) << describe(problems);
  Driver driver(*mac_vm);
  ASSERT_EQ(driver.run(&vzkit::Machine::start), "");

  auto outcome = std::make_shared<std::promise<std::string>>();
  raised.clear();
  mac_vm->run_on_queue([&] {
    VZMacOSInstaller* installer =
        [[VZMacOSInstaller alloc] initWithVirtualMachine:VZKIT_BRIDGE(VZVirtualMachine*, mac_vm->native_handle())
                                         restoreImageURL:url];
    [installer installWithCompletionHandler:^(NSError* error) {
      outcome->set_value(error ? reason_of(error) : std::string());
    }];
    @try {
      [installer installWithCompletionHandler:^(NSError*) {}];
    } @catch (NSException* e) {
      raised = std_string([e name]);
    }
    [installer release];
  });
  EXPECT_EQ(raised, "NSInternalInconsistencyException");
  auto future = outcome->get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(contains_text(future.get(), "must be stopped")) << "a running VM is not installed over";
  EXPECT_EQ(driver.run(&vzkit::Machine::stop), "");
}

#endif

// ---- saving and restoring a machine's state (macOS 14) ----------------------------------------

#if !defined(__APPLE__)

#include <vzkit/kernel/saved_state.hpp>

std::string vzkit_test_save(const std::string& socket, const std::string& dir, const std::string& then);  // state_client.cpp

namespace {

/// linux-installer.json without its entropy device, which the fake's save validation refuses.
v::Configuration saveable_plan(const Scratch& scratch) {
  v::Configuration plan = plan_example("linux-installer.json");
  relocate(plan, scratch);
  plan.entropy_devices.clear();
  return plan;
}

/// Runs a save/restore operation and returns its completion's error text.
std::string await(const std::function<void(vzkit::Completion)>& op) {
  auto promise = std::make_shared<std::promise<std::string>>();
  auto future = promise->get_future();
  op([promise](const std::string& error) { promise->set_value(error); });
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return "timed out";
  return future.get();
}

std::vector<vzkit::Machine::SaveBlocker> blockers_of(vzkit::Machine& m, std::string* error = nullptr) {
  auto promise = std::make_shared<std::promise<std::vector<vzkit::Machine::SaveBlocker>>>();
  auto future = promise->get_future();
  std::string err;
  m.check_save([promise, &err](const std::string& e, const std::vector<vzkit::Machine::SaveBlocker>& b) {
    err = e;
    promise->set_value(b);
  });
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return {{"", "timed out"}};
  auto out = future.get();
  if (error) *error = err;
  return out;
}

/// The selectors the fake saw, in order, with the VM state each was called in.
std::vector<std::string> calls_seen() {
  std::vector<std::string> out;
  for (NSDictionary* c in VZFakeCallLog())
    out.push_back(std_string([c objectForKey:@"selector"]) + "@" +
                  std::string(vzkit::to_string(static_cast<vzkit::MachineState>([[c objectForKey:@"state"] integerValue]))));
  return out;
}

}  // namespace

TEST_F(FakeFramework, SaveThenRestoreResumesTheMachine) {
  using S = vzkit::MachineState;
  Diagnostics problems;
  auto machine = VzMachine::create(saveable_plan(scratch), {}, problems);
  ASSERT_TRUE(machine) << describe(problems);
  Driver driver(*machine);
  ASSERT_EQ(driver.run(&vzkit::Machine::start), "");
  EXPECT_TRUE(blockers_of(*machine).empty()) << "validateSaveRestoreSupportWithError: accepts it";

  const std::string file = (scratch.dir / "machine.state").string();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> progress;
  EXPECT_EQ(await([&](vzkit::Completion done) {
              machine->save_state(file, [&](std::uint64_t d, std::uint64_t t) { progress.emplace_back(d, t); }, done);
            }),
            "");
  EXPECT_EQ(machine->state(), S::paused) << "a saved VM stays paused";
  EXPECT_TRUE(fs::is_regular_file(file));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().first, progress.back().second) << "the end of the save is reported";
  auto calls = calls_seen();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls[calls.size() - 2], "pauseWithCompletionHandler:@running") << "a running VM is paused first";
  EXPECT_EQ(calls.back(), "saveMachineStateToURL:completionHandler:@paused") << "VZ saves only a paused VM";
  const auto first_states = driver.states();
  EXPECT_NE(std::find(first_states.begin(), first_states.end(), S::saving), first_states.end())
      << "the Saving state is seen";
  EXPECT_EQ(driver.run(&vzkit::Machine::stop), "");

  // A new machine of the same plan resumes from the file.
  auto again = VzMachine::create(saveable_plan(scratch), {}, problems);
  ASSERT_TRUE(again);
  Driver second(*again);
  EXPECT_EQ(await([&](vzkit::Completion done) { again->restore_state(file, done); }), "");
  EXPECT_EQ(again->state(), S::running) << "restored, then resumed";
  calls = calls_seen();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[calls.size() - 2], "restoreMachineStateFromURL:completionHandler:@stopped");
  EXPECT_EQ(calls.back(), "resumeWithCompletionHandler:@paused") << "restore leaves it paused; resume runs it";
  const auto states = second.states();
  EXPECT_NE(std::find(states.begin(), states.end(), S::restoring), states.end());
  EXPECT_EQ(std::find(states.begin(), states.end(), S::starting), states.end()) << "a restore does not boot";
}

TEST_F(FakeFramework, RestoreRefusesAnIncompatibleOrMissingState) {
  Diagnostics problems;
  auto machine = VzMachine::create(saveable_plan(scratch), {}, problems);
  ASSERT_TRUE(machine);
  Driver driver(*machine);
  ASSERT_EQ(driver.run(&vzkit::Machine::start), "");
  const std::string file = (scratch.dir / "machine.state").string();
  ASSERT_EQ(await([&](vzkit::Completion done) { machine->save_state(file, nullptr, done); }), "");
  EXPECT_NE(await([&](vzkit::Completion done) { machine->restore_state(file, done); }), "")
      << "a paused VM cannot be restored into";
  EXPECT_EQ(driver.run(&vzkit::Machine::stop), "");

  v::Configuration bigger = saveable_plan(scratch);
  bigger.memory_size = *bigger.memory_size * 2;
  auto other = VzMachine::create(bigger, {}, problems);
  ASSERT_TRUE(other);
  const std::string err = await([&](vzkit::Completion done) { other->restore_state(file, done); });
  EXPECT_TRUE(contains_text(err, "not compatible")) << err;
  EXPECT_EQ(other->state(), vzkit::MachineState::stopped);
  const std::string missing = await([&](vzkit::Completion done) {
    other->restore_state((scratch.dir / "none.state").string(), done);
  });
  EXPECT_TRUE(contains_text(missing, "not restored")) << missing;
}

TEST_F(FakeFramework, SaveValidationErrorsNameTheDevice) {
  // linux-installer.json has an entropy device (devices[7]), which the fake refuses to save.
  auto machine = make_machine(scratch);
  ASSERT_TRUE(machine);
  Driver driver(*machine);
  ASSERT_EQ(driver.run(&vzkit::Machine::start), "");
  std::string error;
  const auto blockers = blockers_of(*machine, &error);
  EXPECT_EQ(error, "");
  ASSERT_EQ(blockers.size(), 1u);
  EXPECT_EQ(blockers[0].path, "devices[7]") << blockers[0].reason;
  EXPECT_TRUE(contains_text(blockers[0].reason, "entropy")) << blockers[0].reason;
  EXPECT_EQ(machine->state(), vzkit::MachineState::running) << "checking touches nothing";
  // Saving anyway fails with VZErrorSave and leaves the VM paused, as VZ does.
  const std::string file = (scratch.dir / "machine.state").string();
  const std::string err = await([&](vzkit::Completion done) { machine->save_state(file, nullptr, done); });
  EXPECT_TRUE(contains_text(err, "entropy")) << err;
  EXPECT_EQ(machine->state(), vzkit::MachineState::paused);
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(FakeFramework, SaveAndRestoreAreRefusedOnMacOS13) {
  VZFakeSetHostOperatingSystemVersion(13);
  Diagnostics problems;
  auto machine = VzMachine::create(saveable_plan(scratch), {}, problems);
  ASSERT_TRUE(machine) << describe(problems);
  Driver driver(*machine);
  ASSERT_EQ(driver.run(&vzkit::Machine::start), "");
  // The fake raises for a call macOS 13 does not have: these completing at all shows the bridge
  // never made one.
  const auto blockers = blockers_of(*machine);
  ASSERT_EQ(blockers.size(), 1u);
  EXPECT_EQ(blockers[0].path, "");
  EXPECT_TRUE(contains_text(blockers[0].reason, "needs macOS 14")) << blockers[0].reason;
  const std::string file = (scratch.dir / "machine.state").string();
  EXPECT_TRUE(contains_text(await([&](vzkit::Completion d) { machine->save_state(file, nullptr, d); }), "macOS 14"));
  EXPECT_EQ(machine->state(), vzkit::MachineState::running) << "a refused save leaves the guest running";
  EXPECT_EQ(driver.run(&vzkit::Machine::stop), "");
  EXPECT_TRUE(contains_text(await([&](vzkit::Completion d) { machine->restore_state(file, d); }), "macOS 14"));
  for (const auto& c : calls_seen()) EXPECT_EQ(c.find("MachineState"), std::string::npos) << c;
}

TEST_F(FakeFramework, SuperviseSavesIntoAFolderThenResumesFromIt) {
  const v::Configuration plan = saveable_plan(scratch);
  SuperviseOptions o;
  o.run_dir = scratch.dir / "run";
  fs::create_directories(o.run_dir);
  o.console_to_stdout = false;
  o.report = false;
  const fs::path saved = scratch.dir / "suspended";
  std::string answer;
  std::thread client([&] {
    if (!state_becomes(o.run_dir, "running")) return;
    answer = vzkit_test_save((o.run_dir / "ctl.sock").string(), saved.string(), "stop");
  });
  int rc = -1;
  @autoreleasepool {
    rc = supervise(plan, o);
  }
  client.join();
  EXPECT_EQ(answer, "");
  EXPECT_EQ(rc, 0) << "the machine stopped in order after the save";
  const auto meta = vzkit::kernel::read_saved_state(saved);
  ASSERT_TRUE(meta) << "a complete state in " << saved;
  EXPECT_EQ(meta->at("engine"), "vz");
  EXPECT_EQ(meta->at("state_bytes").to_number<std::uint64_t>(), fs::file_size(saved / vzkit::kernel::kStateFile));

  // The next run resumes from it (no boot: restoreMachineStateFromURL:), then the folder goes.
  VZFakeReset();
  o.restore_from = saved;
  std::string powered;
  std::thread second([&] {
    if (!state_becomes(o.run_dir, "running")) return;
    powered = control(o.run_dir, "system_powerdown");
  });
  @autoreleasepool {
    rc = supervise(plan, o);
  }
  second.join();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(powered, "");
  const auto calls = calls_seen();
  EXPECT_NE(std::find(calls.begin(), calls.end(), "restoreMachineStateFromURL:completionHandler:@stopped"), calls.end());
  EXPECT_EQ(std::find(calls.begin(), calls.end(), "startWithCompletionHandler:@stopped"), calls.end());
  EXPECT_FALSE(fs::exists(saved)) << "a used state is removed once the guest runs";
}

#endif
