// validateWithError: and its errors mapped back to the spec, and the host's bounds.
//
// VZ's validation errors do not say which object is wrong, only why (NSLocalizedFailureReason).
// The reason names the kind of device ("display", "pointing devices", "tag", ...): that picks the
// configuration array, the rule picks the offending element in it, and the element's recorded
// origin gives the spec path and plugin. A reason we cannot place is reported for the whole spec.
#include <vzkit/bridge/vz/objc_bridge.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <future>
#include <memory>
#include <string>

namespace vzkit::bridge::vz {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool contains(const std::string& haystack, const char* needle) { return haystack.find(needle) != std::string::npos; }

/// Where in the configuration a reason points.
enum class Target { cpus, memory, platform, boot_loader, array, spec };

/// Picks the offending element of an array: its index, or -1 when the rule cannot tell.
using Picker = NSInteger (*)(NSArray* devices);

struct ReasonRule {
  const char* needle;  ///< lower-case text looked for in the failure reason
  Target target;
  NSArray* (*array)(VZVirtualMachineConfiguration* config) = nullptr;
  Picker pick = nullptr;
  const char* hint = "";
};

NSInteger second(NSArray* devices) { return [devices count] > 1 ? 1 : -1; }

template <class Test>
NSInteger first_where(NSArray* devices, Test test) {
  for (NSUInteger i = 0; i < [devices count]; ++i)
    if (test([devices objectAtIndex:i])) return static_cast<NSInteger>(i);
  return -1;
}

NSInteger too_many_scanouts(NSArray* devices) {
  return first_where(devices, [](id d) {
    return [d isKindOfClass:[VZVirtioGraphicsDeviceConfiguration class]] &&
           [[(VZVirtioGraphicsDeviceConfiguration*)d scanouts] count] > 1;
  });
}

NSInteger too_many_displays(NSArray* devices) {
  return first_where(devices, [](id d) {
    return [d isKindOfClass:[VZMacGraphicsDeviceConfiguration class]] &&
           [[(VZMacGraphicsDeviceConfiguration*)d displays] count] > 1;
  });
}

NSInteger bad_tag(NSArray* devices) {
  return first_where(devices, [](id d) {
    if (![d isKindOfClass:[VZVirtioFileSystemDeviceConfiguration class]]) return false;
    NSString* tag = [(VZVirtioFileSystemDeviceConfiguration*)d tag];
    const auto bytes = [[tag dataUsingEncoding:NSUTF8StringEncoding] length];
    return bytes == 0 || bytes >= 36;
  });
}

NSInteger bad_block_identifier(NSArray* devices) {
  return first_where(devices, [](id d) {
    if (![d isKindOfClass:[VZVirtioBlockDeviceConfiguration class]]) return false;
    NSString* identifier = [(VZVirtioBlockDeviceConfiguration*)d blockDeviceIdentifier];
    if (!identifier) return false;
    NSData* ascii = [identifier dataUsingEncoding:NSASCIIStringEncoding allowLossyConversion:NO];
    return ascii == nil || [ascii length] > 20;
  });
}

// Classes are looked up before the lambdas: clang checks @available guards per function body.
NSInteger first_of_class(NSArray* devices, Class cls) {
  return first_where(devices, [cls](id d) { return static_cast<bool>([d isKindOfClass:cls]); });
}

NSInteger nvme(NSArray* devices) {
#if VZKIT_SDK_AT_LEAST(14)
  if (VZKIT_OS_AT_LEAST(14)) {
    return first_of_class(devices, [VZNVMExpressControllerDeviceConfiguration class]);
  }
#endif
  (void)devices;
  return -1;
}

NSInteger mac_only_input(NSArray* devices) {
#if VZKIT_HAS_MAC_GUESTS
  const NSInteger trackpad = first_of_class(devices, [VZMacTrackpadConfiguration class]);
  if (trackpad >= 0) return trackpad;
#if VZKIT_SDK_AT_LEAST(14)
  if (VZKIT_OS_AT_LEAST(14)) {
    return first_of_class(devices, [VZMacKeyboardConfiguration class]);
  }
#endif
#endif
  (void)devices;
  return -1;
}

NSInteger network_without_attachment(NSArray* devices) {
  return first_where(devices, [](id d) { return [(VZNetworkDeviceConfiguration*)d attachment] == nil; });
}

NSInteger bad_mac_address(NSArray* devices) {
  return first_where(devices, [](id d) { return ![[(VZNetworkDeviceConfiguration*)d MACAddress] isUnicastAddress]; });
}

#define ARRAY(property) [](VZVirtualMachineConfiguration* c) -> NSArray* { return c.property; }

// Ordered: the first rule whose text appears in the reason wins.
const ReasonRule kRules[] = {
    {"entitlement", Target::spec, nullptr, nullptr,
     "sign the binary with the com.apple.security.virtualization entitlement (see docs/vz.md)"},
    {"scanout", Target::array, ARRAY(graphicsDevices), too_many_scanouts},
    {"display", Target::array, ARRAY(graphicsDevices), too_many_displays},
    {"graphics", Target::array, ARRAY(graphicsDevices), second},
    {"pointing device", Target::array, ARRAY(pointingDevices), second,
     "a Linux guest takes one pointing device; only macOS guests take a USB pointer and a trackpad together"},
    {"trackpad", Target::array, ARRAY(pointingDevices), mac_only_input},
    {"keyboard", Target::array, ARRAY(keyboards), mac_only_input},
    {"socket device", Target::array, ARRAY(socketDevices), second},
    {"memory balloon", Target::array, ARRAY(memoryBalloonDevices), second},
    {"tag", Target::array, ARRAY(directorySharingDevices), bad_tag},
    {"directory", Target::array, ARRAY(directorySharingDevices), nullptr},
    {"block device identifier", Target::array, ARRAY(storageDevices),
     bad_block_identifier},
    {"nvme", Target::array, ARRAY(storageDevices), nvme},
    {"storage", Target::array, ARRAY(storageDevices), nullptr},
    {"disk", Target::array, ARRAY(storageDevices), nullptr},
    {"mac address", Target::array, ARRAY(networkDevices), bad_mac_address},
    {"network", Target::array, ARRAY(networkDevices),
     network_without_attachment},
    {"transmission unit", Target::array, ARRAY(networkDevices), nullptr},
    {"console", Target::array, ARRAY(consoleDevices), nullptr},
    {"spice", Target::array, ARRAY(consoleDevices), nullptr},
    {"serial", Target::array, ARRAY(serialPorts), nullptr},
    {"audio", Target::array, ARRAY(audioDevices), nullptr},
    {"sound", Target::array, ARRAY(audioDevices), nullptr},
    {"entropy", Target::array, ARRAY(entropyDevices), nullptr},
    {"boot loader", Target::boot_loader},
    {"hardware model", Target::platform, nullptr, nullptr,
     "a macOS VM runs only on a Mac that supports the hardware model it was installed with"},
    {"machine identifier", Target::platform},
    {"auxiliary storage", Target::platform},
    {"nested virtualization", Target::platform},
    {"platform", Target::platform},
    {"memory", Target::memory},
    {"cpu", Target::cpus},
};

#undef ARRAY

}  // namespace

kernel::Diagnostic map_validation_error(NSError* error, const Built& built) {
  kernel::Diagnostic d;
  d.code = "vz.invalid-configuration";
  const std::string reason = reason_of(error);
  d.message = "Virtualization.framework refused the configuration: '" + reason + "'";
  VZVirtualMachineConfiguration* config = built.configuration.get();
  const std::string text = lower(reason);
  for (const auto& rule : kRules) {
    if (!contains(text, rule.needle)) continue;
    d.hint = rule.hint;
    auto place = [&](id object) {
      if (const auto* origin = built.origin_of(object)) {
        d.path = origin->path;
        d.plugin = origin->plugin;
      }
    };
    switch (rule.target) {
      case Target::cpus: d.path = "cpus"; break;
      case Target::memory: d.path = "memory"; break;
      case Target::platform: place(config.platform); break;
      case Target::boot_loader: place(config.bootLoader); break;
      case Target::spec: break;
      case Target::array: {
        NSArray* devices = rule.array(config);
        NSInteger index = rule.pick ? rule.pick(devices) : -1;
        if (index < 0 && [devices count] == 1) index = 0;
        if (index >= 0) place([devices objectAtIndex:static_cast<NSUInteger>(index)]);
        break;
      }
    }
    return d;
  }
  return d;  // the whole spec
}

kernel::Diagnostics validate_built(const Built& built) {
  if (!built.configuration) return built.problems;
  NSError* error = nil;
  if ([built.configuration.get() validateWithError:&error]) return {};
  return {map_validation_error(error, built)};
}

kernel::Diagnostics validate(const vzkit::vz::Configuration& plan, const BuildOptions& options) {
  @autoreleasepool {
    Built built = build(plan, options);
    if (!built.problems.empty()) return built.problems;
    return validate_built(built);
  }
}

namespace {

int macos_major() {
#if defined(__APPLE__)
  return static_cast<int>([[NSProcessInfo processInfo] operatingSystemVersion].majorVersion);
#else
  int major = 0;
  for (int v = 11; v <= 40; ++v)
    if (VZModelOperatingSystemAtLeast(v)) major = v;
  return major;
#endif
}

}  // namespace

std::string host_bounds_json(const std::string& hardware_model_file) {
  @autoreleasepool {
    boost::json::object out;
    out["engine"] = "vz";
    out["virtualization_supported"] = static_cast<bool>([VZVirtualMachine isSupported]);
    out["macos_major"] = macos_major();
    out["sdk"] = __MAC_OS_X_VERSION_MAX_ALLOWED;
    out["cpu_count"] = {{"min", static_cast<std::uint64_t>([VZVirtualMachineConfiguration minimumAllowedCPUCount])},
                        {"max", static_cast<std::uint64_t>([VZVirtualMachineConfiguration maximumAllowedCPUCount])}};
    out["memory_size"] = {{"min", static_cast<std::uint64_t>([VZVirtualMachineConfiguration minimumAllowedMemorySize])},
                          {"max", static_cast<std::uint64_t>([VZVirtualMachineConfiguration maximumAllowedMemorySize])}};
#if VZKIT_HAS_MAC_GUESTS
    switch ([VZLinuxRosettaDirectoryShare availability]) {
      case VZLinuxRosettaAvailabilityInstalled: out["rosetta"] = "installed"; break;
      case VZLinuxRosettaAvailabilityNotInstalled: out["rosetta"] = "not-installed"; break;
      default: out["rosetta"] = "not-supported"; break;
    }
#else
    out["rosetta"] = "not-supported";
#endif
    bool nested = false;
#if VZKIT_SDK_AT_LEAST(15)
    if (VZKIT_OS_AT_LEAST(15)) {
      nested = [VZGenericPlatformConfiguration isNestedVirtualizationSupported];
    }
#endif
    out["nested_virtualization_supported"] = nested;
#if VZKIT_HAS_MAC_GUESTS
    if (!hardware_model_file.empty()) {
      if (NSData* data = [NSData dataWithContentsOfFile:ns_string(hardware_model_file)]) {
        VZMacHardwareModel* model = VZKIT_AUTORELEASE([[VZMacHardwareModel alloc] initWithDataRepresentation:data]);
        out["hardware_model_supported"] = model != nil && [model isSupported];
      }
    }
#else
    (void)hardware_model_file;
#endif
    return boost::json::serialize(out);
  }
}

std::string install_rosetta() {
#if VZKIT_HAS_MAC_GUESTS
  @autoreleasepool {
    switch ([VZLinuxRosettaDirectoryShare availability]) {
      case VZLinuxRosettaAvailabilityInstalled: return "";
      case VZLinuxRosettaAvailabilityNotInstalled: break;
      default: return "Rosetta for Linux is not supported on this Mac (it needs Apple silicon and macOS 13 or later)";
    }
    // macOS shows its own dialog (Apple's license) and downloads Rosetta; the handler may run on
    // any queue.
    auto result = std::make_shared<std::promise<std::string>>();
    [VZLinuxRosettaDirectoryShare installRosettaWithCompletionHandler:^(NSError* error) {
      result->set_value(error ? reason_of(error) : std::string());
    }];
    return result->get_future().get();
  }
#else
  return "this vzkit was built with a macOS SDK without Rosetta for Linux";
#endif
}

}  // namespace vzkit::bridge::vz
