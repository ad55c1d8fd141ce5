// Plan → VZ objects. One function per vz:: type; every device-level object is remembered with
// its origin so that validation errors can be traced back to the spec. Everything newer than
// macOS 13 (the minimum) is guarded twice: VZKIT_SDK_AT_LEAST at compile time and
// VZKIT_OS_AT_LEAST at run time, reported as two different errors.
#include <vzkit/bridge/vz/objc_bridge.h>

#include <string>
#include <variant>

namespace vzkit::bridge::vz {

namespace v = vzkit::vz;

NSString* ns_string(const std::string& text) { return [NSString stringWithUTF8String:text.c_str()]; }

std::string std_string(NSString* text) {
  const char* utf8 = [text UTF8String];
  return utf8 ? std::string(utf8) : std::string();
}

std::string reason_of(NSError* error) {
  if (!error) return "unknown error";
  NSString* reason = [[error userInfo] objectForKey:NSLocalizedFailureReasonErrorKey];
  return std_string(reason ? reason : [error localizedDescription]);
}

const v::Origin* Built::origin_of(id object) const {
  for (const auto& [candidate, origin] : origins)
    if (candidate.get() == object) return &origin;
  return nullptr;
}

namespace {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

/// Builds one configuration; `where` is the device currently being made.
class Builder {
 public:
  Builder(const BuildOptions& options, Built& out) : m_options(options), m_out(out) {}

  VZVirtualMachineConfiguration* configuration(const v::Configuration& plan);

 private:
  // ---- where we are, and problems ------------------------------------------------------------
  void enter(const std::optional<v::Origin>& origin, std::string fallback_path) {
    m_where = origin ? *origin : v::Origin{"", std::move(fallback_path)};
  }
  void problem(std::string code, std::string message, std::string hint = {}) {
    kernel::Diagnostic d;
    d.code = std::move(code);
    d.path = m_where.path;
    d.plugin = m_where.plugin;
    d.message = std::move(message);
    d.hint = std::move(hint);
    m_out.problems.push_back(std::move(d));
  }
  void init_failed(const char* class_name, NSError* error) {
    problem("vz.init-failed", std::string(class_name) + " refused its arguments: '" + reason_of(error) + "'");
  }
  void too_old(const char* what, int major) {
    problem(kMacosTooOld, "'" + std::string(what) + "' needs macOS " + std::to_string(major) + " or later",
            "run this VM on a Mac with macOS " + std::to_string(major) + " or later, or remove the device");
  }
  void sdk_too_old(const char* what, int major) {
    problem(kSdkTooOld,
            "this vzkit was built with a macOS SDK older than " + std::to_string(major) + ", which lacks '" + what + "'",
            "rebuild vzkit with Xcode's macOS " + std::to_string(major) + " SDK or later");
  }
  void intel_mac(const char* what) {
    problem("vz.intel-mac", "'" + std::string(what) + "' exists only on Macs with Apple silicon");
  }
  void remember(id object) {
    if (object) m_out.origins.emplace_back(ObjcPtr<NSObject>(object), m_where);
  }

  // ---- helpers --------------------------------------------------------------------------------
  static NSURL* url(const std::string& path) { return [NSURL fileURLWithPath:ns_string(path)]; }
  NSData* read_file(const std::string& path, const char* what) {
    NSData* data = [NSData dataWithContentsOfFile:ns_string(path)];
    if (!data)
      problem("vz.unreadable-file", "cannot read the " + std::string(what) + " file '" + path + "'",
              "the file is written once when the VM is created; restore it from the VM's bundle");
    return data;
  }
  NSFileHandle* handle(int fd) {
    return VZKIT_AUTORELEASE([[NSFileHandle alloc] initWithFileDescriptor:fd closeOnDealloc:NO]);
  }

  // ---- one function per plan type ------------------------------------------------------------
  VZPlatformConfiguration* platform(const v::Platform& p);
  VZBootLoader* boot_loader(const v::BootLoader& b);
  VZStorageDeviceAttachment* storage_attachment(const v::StorageAttachment& a);
  VZStorageDeviceConfiguration* storage_device(const v::StorageDevice& d);
  VZNetworkDeviceConfiguration* network_device(const v::NetworkDevice& d, std::size_t index);
  VZSerialPortAttachment* serial_attachment(const v::FileSerialPortAttachment& a);
  VZSerialPortAttachment* serial_attachment(const v::FileHandleSerialPortAttachment& a);
  VZSerialPortConfiguration* serial_port(const v::SerialPort& p);
  VZConsoleDeviceConfiguration* console_device(const v::ConsoleDevice& d);
  VZDirectoryShare* directory_share(const v::DirectoryShare& s);
  VZDirectorySharingDeviceConfiguration* directory_sharing_device(const v::DirectorySharingDevice& d);
  VZGraphicsDeviceConfiguration* graphics_device(const v::GraphicsDevice& d);
  VZKeyboardConfiguration* keyboard(const v::Keyboard& k);
  VZPointingDeviceConfiguration* pointing_device(const v::PointingDevice& p);
  VZAudioDeviceConfiguration* audio_device(const v::AudioDevice& d);

  const BuildOptions& m_options;
  Built& m_out;
  v::Origin m_where;
};

// ---- platform -----------------------------------------------------------------------------------

VZPlatformConfiguration* Builder::platform(const v::Platform& p) {
  return std::visit(
      Overloaded{
          [&](const v::GenericPlatform& g) -> VZPlatformConfiguration* {
            VZGenericPlatformConfiguration* out = VZKIT_AUTORELEASE([[VZGenericPlatformConfiguration alloc] init]);
            if (g.machine_identifier) {
              if (NSData* data = read_file(*g.machine_identifier, "machine identifier")) {
                VZGenericMachineIdentifier* id_ =
                    VZKIT_AUTORELEASE([[VZGenericMachineIdentifier alloc] initWithDataRepresentation:data]);
                if (id_)
                  out.machineIdentifier = id_;
                else
                  problem("vz.invalid-data", "'" + *g.machine_identifier + "' does not hold a VZGenericMachineIdentifier");
              }
            }
            if (g.nested_virtualization_enabled) {
#if VZKIT_SDK_AT_LEAST(15)
              if (VZKIT_OS_AT_LEAST(15)) {
                out.nestedVirtualizationEnabled = *g.nested_virtualization_enabled;
              } else {
                too_old("VZGenericPlatformConfiguration.nestedVirtualizationEnabled", 15);
              }
#else
              sdk_too_old("VZGenericPlatformConfiguration.nestedVirtualizationEnabled", 15);
#endif
            }
            return out;
          },
          [&](const v::MacPlatform& m) -> VZPlatformConfiguration* {
#if VZKIT_HAS_MAC_GUESTS
            VZMacPlatformConfiguration* out = VZKIT_AUTORELEASE([[VZMacPlatformConfiguration alloc] init]);
            VZMacHardwareModel* model = nil;
            if (NSData* data = read_file(m.hardware_model, "hardware model")) {
              model = VZKIT_AUTORELEASE([[VZMacHardwareModel alloc] initWithDataRepresentation:data]);
              if (model)
                out.hardwareModel = model;
              else
                problem("vz.invalid-data", "'" + m.hardware_model + "' does not hold a VZMacHardwareModel");
            }
            if (NSData* data = read_file(m.machine_identifier, "machine identifier")) {
              VZMacMachineIdentifier* id_ =
                  VZKIT_AUTORELEASE([[VZMacMachineIdentifier alloc] initWithDataRepresentation:data]);
              if (id_)
                out.machineIdentifier = id_;
              else
                problem("vz.invalid-data", "'" + m.machine_identifier + "' does not hold a VZMacMachineIdentifier");
            }
            if (m.auxiliary_storage.create) {
              if (model) {
                NSError* error = nil;
                VZMacAuxiliaryStorage* storage = VZKIT_AUTORELEASE([[VZMacAuxiliaryStorage alloc]
                    initCreatingStorageAtURL:url(m.auxiliary_storage.url)
                               hardwareModel:model
                                     options:0
                                       error:&error]);
                if (storage)
                  out.auxiliaryStorage = storage;
                else
                  init_failed("VZMacAuxiliaryStorage", error);
              }
            } else {
              out.auxiliaryStorage =
                  VZKIT_AUTORELEASE([[VZMacAuxiliaryStorage alloc] initWithURL:url(m.auxiliary_storage.url)]);
            }
            return out;
#else
            intel_mac("VZMacPlatformConfiguration");
            return nil;
#endif
          },
      },
      p);
}

// ---- boot loaders -------------------------------------------------------------------------------

VZBootLoader* Builder::boot_loader(const v::BootLoader& b) {
  return std::visit(
      Overloaded{
          [&](const v::LinuxBootLoader& l) -> VZBootLoader* {
            VZLinuxBootLoader* out = VZKIT_AUTORELEASE([[VZLinuxBootLoader alloc] initWithKernelURL:url(l.kernel_url)]);
            if (l.initial_ramdisk_url) out.initialRamdiskURL = url(*l.initial_ramdisk_url);
            out.commandLine = ns_string(l.command_line);
            return out;
          },
          [&](const v::EFIBootLoader& e) -> VZBootLoader* {
            VZEFIBootLoader* out = VZKIT_AUTORELEASE([[VZEFIBootLoader alloc] init]);
            if (e.variable_store) {
              if (e.variable_store->create) {
                NSError* error = nil;
                VZEFIVariableStore* store = VZKIT_AUTORELEASE([[VZEFIVariableStore alloc]
                    initCreatingVariableStoreAtURL:url(e.variable_store->url)
                                           options:0
                                             error:&error]);
                if (store)
                  out.variableStore = store;
                else
                  init_failed("VZEFIVariableStore", error);
              } else {
                out.variableStore = VZKIT_AUTORELEASE([[VZEFIVariableStore alloc] initWithURL:url(e.variable_store->url)]);
              }
            }
            return out;
          },
          [&](const v::MacOSBootLoader&) -> VZBootLoader* {
#if VZKIT_HAS_MAC_GUESTS
            return VZKIT_AUTORELEASE([[VZMacOSBootLoader alloc] init]);
#else
            intel_mac("VZMacOSBootLoader");
            return nil;
#endif
          },
      },
      b);
}

// ---- storage ------------------------------------------------------------------------------------

VZDiskImageCachingMode caching_mode(v::CachingMode m) {
  switch (m) {
    case v::CachingMode::automatic: return VZDiskImageCachingModeAutomatic;
    case v::CachingMode::uncached: return VZDiskImageCachingModeUncached;
    case v::CachingMode::cached: return VZDiskImageCachingModeCached;
  }
  return VZDiskImageCachingModeAutomatic;
}

VZDiskImageSynchronizationMode synchronization_mode(v::SynchronizationMode m) {
  switch (m) {
    case v::SynchronizationMode::full: return VZDiskImageSynchronizationModeFull;
    case v::SynchronizationMode::fsync: return VZDiskImageSynchronizationModeFsync;
    case v::SynchronizationMode::none: return VZDiskImageSynchronizationModeNone;
  }
  return VZDiskImageSynchronizationModeFull;
}

VZStorageDeviceAttachment* Builder::storage_attachment(const v::StorageAttachment& a) {
  const auto& disk = std::get<v::DiskImageAttachment>(a);
  NSError* error = nil;
  VZDiskImageStorageDeviceAttachment* out = VZKIT_AUTORELEASE([[VZDiskImageStorageDeviceAttachment alloc]
              initWithURL:url(disk.url)
                 readOnly:disk.read_only
              cachingMode:caching_mode(disk.caching_mode)
      synchronizationMode:synchronization_mode(disk.synchronization_mode)
                    error:&error]);
  if (!out) init_failed("VZDiskImageStorageDeviceAttachment", error);
  return out;
}

VZStorageDeviceConfiguration* Builder::storage_device(const v::StorageDevice& d) {
  return std::visit(
      Overloaded{
          [&](const v::VirtioBlockDevice& b) -> VZStorageDeviceConfiguration* {
            VZStorageDeviceAttachment* attachment = storage_attachment(b.attachment);
            if (!attachment) return nil;
            VZVirtioBlockDeviceConfiguration* out =
                VZKIT_AUTORELEASE([[VZVirtioBlockDeviceConfiguration alloc] initWithAttachment:attachment]);
            if (b.block_device_identifier) out.blockDeviceIdentifier = ns_string(*b.block_device_identifier);
            return out;
          },
          [&](const v::USBMassStorageDevice& u) -> VZStorageDeviceConfiguration* {
            VZStorageDeviceAttachment* attachment = storage_attachment(u.attachment);
            if (!attachment) return nil;
            return VZKIT_AUTORELEASE([[VZUSBMassStorageDeviceConfiguration alloc] initWithAttachment:attachment]);
          },
          [&](const v::NVMExpressControllerDevice& n) -> VZStorageDeviceConfiguration* {
#if VZKIT_SDK_AT_LEAST(14)
            if (VZKIT_OS_AT_LEAST(14)) {
              VZStorageDeviceAttachment* attachment = storage_attachment(n.attachment);
              if (!attachment) return nil;
              return VZKIT_AUTORELEASE([[VZNVMExpressControllerDeviceConfiguration alloc] initWithAttachment:attachment]);
            }
            too_old("VZNVMExpressControllerDeviceConfiguration", 14);
            return nil;
#else
            (void)n;
            sdk_too_old("VZNVMExpressControllerDeviceConfiguration", 14);
            return nil;
#endif
          },
      },
      d);
}

// ---- network ------------------------------------------------------------------------------------

VZNetworkDeviceConfiguration* Builder::network_device(const v::NetworkDevice& d, std::size_t index) {
  const auto& n = std::get<v::VirtioNetworkDevice>(d);
  VZVirtioNetworkDeviceConfiguration* out = VZKIT_AUTORELEASE([[VZVirtioNetworkDeviceConfiguration alloc] init]);
  if (n.mac_address) {
    VZMACAddress* address = VZKIT_AUTORELEASE([[VZMACAddress alloc] initWithString:ns_string(*n.mac_address)]);
    if (address)
      out.MACAddress = address;
    else
      problem("vz.invalid-value", "'" + *n.mac_address + "' is not a MAC address VZ accepts",
              "write six hex bytes separated by colons, such as 02:00:00:00:00:01");
  }
  std::visit(Overloaded{
                 [&](const v::NATNetworkAttachment&) {
                   out.attachment = VZKIT_AUTORELEASE([[VZNATNetworkDeviceAttachment alloc] init]);
                 },
                 [&](const v::FileHandleNetworkAttachment& f) {
                   auto fd = m_options.network_fds.find(index);
                   if (fd == m_options.network_fds.end()) {
                     problem("vz.missing-file-handle",
                             "network device " + std::to_string(index) + " needs a connected datagram socket",
                             "the program that runs the VM must supply it (BuildOptions::network_fds)");
                     return;
                   }
                   VZFileHandleNetworkDeviceAttachment* attachment = VZKIT_AUTORELEASE(
                       [[VZFileHandleNetworkDeviceAttachment alloc] initWithFileHandle:handle(fd->second)]);
                   if (f.maximum_transmission_unit)
                     attachment.maximumTransmissionUnit = static_cast<NSInteger>(*f.maximum_transmission_unit);
                   out.attachment = attachment;
                 },
             },
             n.attachment);
  return out;
}

// ---- serial ports and consoles --------------------------------------------------------------------

VZSerialPortAttachment* Builder::serial_attachment(const v::FileSerialPortAttachment& a) {
  NSError* error = nil;
  VZFileSerialPortAttachment* out =
      VZKIT_AUTORELEASE([[VZFileSerialPortAttachment alloc] initWithURL:url(a.url) append:a.append error:&error]);
  if (!out) init_failed("VZFileSerialPortAttachment", error);
  return out;
}

VZSerialPortAttachment* Builder::serial_attachment(const v::FileHandleSerialPortAttachment& a) {
  NSFileHandle* reading = a.reading == "stdin" ? handle(m_options.console_input_fd) : nil;
  NSFileHandle* writing = a.writing == "stdout" ? handle(m_options.console_output_fd) : nil;
  return VZKIT_AUTORELEASE([[VZFileHandleSerialPortAttachment alloc] initWithFileHandleForReading:reading
                                                                             fileHandleForWriting:writing]);
}

VZSerialPortConfiguration* Builder::serial_port(const v::SerialPort& p) {
  const auto& s = std::get<v::VirtioConsoleDeviceSerialPort>(p);
  VZVirtioConsoleDeviceSerialPortConfiguration* out =
      VZKIT_AUTORELEASE([[VZVirtioConsoleDeviceSerialPortConfiguration alloc] init]);
  if (s.attachment)
    out.attachment = std::visit([&](const auto& a) { return serial_attachment(a); }, *s.attachment);
  return out;
}

VZConsoleDeviceConfiguration* Builder::console_device(const v::ConsoleDevice& d) {
  const auto& c = std::get<v::VirtioConsoleDevice>(d);
  VZVirtioConsoleDeviceConfiguration* out = VZKIT_AUTORELEASE([[VZVirtioConsoleDeviceConfiguration alloc] init]);
  for (const auto& p : c.ports) {
    VZVirtioConsolePortConfiguration* port = VZKIT_AUTORELEASE([[VZVirtioConsolePortConfiguration alloc] init]);
    if (p.use_spice_agent_port_name)
      port.name = [VZSpiceAgentPortAttachment spiceAgentPortName];
    else if (p.name)
      port.name = ns_string(*p.name);
    port.isConsole = p.is_console;
    if (p.attachment)
      port.attachment = std::visit(Overloaded{
                                       [&](const v::SpiceAgentPortAttachment& s) -> VZSerialPortAttachment* {
                                         VZSpiceAgentPortAttachment* spice =
                                             VZKIT_AUTORELEASE([[VZSpiceAgentPortAttachment alloc] init]);
                                         spice.sharesClipboard = s.shares_clipboard;
                                         return spice;
                                       },
                                       [&](const auto& a) { return serial_attachment(a); },
                                   },
                                   *p.attachment);
    [out.ports setObject:port atIndexedSubscript:p.index];
  }
  return out;
}

// ---- directory sharing ----------------------------------------------------------------------------

VZDirectoryShare* Builder::directory_share(const v::DirectoryShare& s) {
  auto shared = [&](const v::SharedDirectory& d) {
    return VZKIT_AUTORELEASE([[VZSharedDirectory alloc] initWithURL:url(d.url) readOnly:d.read_only]);
  };
  return std::visit(
      Overloaded{
          [&](const v::SingleDirectoryShare& single) -> VZDirectoryShare* {
            return VZKIT_AUTORELEASE([[VZSingleDirectoryShare alloc] initWithDirectory:shared(single.directory)]);
          },
          [&](const v::MultipleDirectoryShare& multiple) -> VZDirectoryShare* {
            NSMutableDictionary* directories = [NSMutableDictionary dictionary];
            for (const auto& [name, directory] : multiple.directories) {
              // An invalid name raises inside VZ; check it first so it becomes a diagnostic.
              NSError* error = nil;
              if (![VZMultipleDirectoryShare validateName:ns_string(name) error:&error]) {
                problem("vz.invalid-value", "'" + name + "' cannot name a shared directory: '" + reason_of(error) + "'");
                return nil;
              }
              [directories setObject:shared(directory) forKey:ns_string(name)];
            }
            return VZKIT_AUTORELEASE([[VZMultipleDirectoryShare alloc] initWithDirectories:directories]);
          },
          [&](const v::LinuxRosettaDirectoryShare& rosetta) -> VZDirectoryShare* {
#if VZKIT_HAS_MAC_GUESTS
            NSError* error = nil;
            VZLinuxRosettaDirectoryShare* out = VZKIT_AUTORELEASE([[VZLinuxRosettaDirectoryShare alloc] initWithError:&error]);
            if (!out) {
              init_failed("VZLinuxRosettaDirectoryShare", error);
              return nil;
            }
            if (rosetta.caching) {
#if VZKIT_SDK_AT_LEAST(14)
              if (VZKIT_OS_AT_LEAST(14)) {
                // No lambdas here: clang checks @available guards per function body.
                VZLinuxRosettaCachingOptions* options = nil;
                NSError* e = nil;
                if (const auto* u = std::get_if<v::LinuxRosettaUnixSocketCachingOptions>(&*rosetta.caching)) {
                  options = VZKIT_AUTORELEASE(
                      [[VZLinuxRosettaUnixSocketCachingOptions alloc] initWithPath:ns_string(u->path) error:&e]);
                  if (!options) init_failed("VZLinuxRosettaUnixSocketCachingOptions", e);
                } else {
                  const auto& a = std::get<v::LinuxRosettaAbstractSocketCachingOptions>(*rosetta.caching);
                  options = VZKIT_AUTORELEASE(
                      [[VZLinuxRosettaAbstractSocketCachingOptions alloc] initWithName:ns_string(a.name) error:&e]);
                  if (!options) init_failed("VZLinuxRosettaAbstractSocketCachingOptions", e);
                }
                if (!options) return nil;
                out.options = options;
              } else {
                too_old("VZLinuxRosettaCachingOptions", 14);
              }
#else
              sdk_too_old("VZLinuxRosettaCachingOptions", 14);
#endif
            }
            return out;
#else
            (void)rosetta;
            intel_mac("VZLinuxRosettaDirectoryShare");
            return nil;
#endif
          },
      },
      s);
}

VZDirectorySharingDeviceConfiguration* Builder::directory_sharing_device(const v::DirectorySharingDevice& d) {
  const auto& fs = std::get<v::VirtioFileSystemDevice>(d);
  NSString* tag = fs.use_macos_guest_automount_tag ? [VZVirtioFileSystemDeviceConfiguration macOSGuestAutomountTag]
                                                    : ns_string(fs.tag);
  VZVirtioFileSystemDeviceConfiguration* out =
      VZKIT_AUTORELEASE([[VZVirtioFileSystemDeviceConfiguration alloc] initWithTag:tag]);
  if (fs.share) {
    VZDirectoryShare* share = directory_share(*fs.share);
    if (!share) return nil;
    out.share = share;
  }
  return out;
}

// ---- graphics, input, audio ---------------------------------------------------------------------

VZGraphicsDeviceConfiguration* Builder::graphics_device(const v::GraphicsDevice& d) {
  return std::visit(
      Overloaded{
          [&](const v::VirtioGraphicsDevice& g) -> VZGraphicsDeviceConfiguration* {
            VZVirtioGraphicsDeviceConfiguration* out = VZKIT_AUTORELEASE([[VZVirtioGraphicsDeviceConfiguration alloc] init]);
            NSMutableArray* scanouts = [NSMutableArray array];
            for (const auto& s : g.scanouts)
              [scanouts addObject:VZKIT_AUTORELEASE([[VZVirtioGraphicsScanoutConfiguration alloc]
                                      initWithWidthInPixels:static_cast<NSInteger>(s.width_in_pixels)
                                             heightInPixels:static_cast<NSInteger>(s.height_in_pixels)])];
            out.scanouts = scanouts;
            return out;
          },
          [&](const v::MacGraphicsDevice& g) -> VZGraphicsDeviceConfiguration* {
            VZMacGraphicsDeviceConfiguration* out = VZKIT_AUTORELEASE([[VZMacGraphicsDeviceConfiguration alloc] init]);
            NSMutableArray* displays = [NSMutableArray array];
            for (const auto& s : g.displays)
              [displays addObject:VZKIT_AUTORELEASE([[VZMacGraphicsDisplayConfiguration alloc]
                                      initWithWidthInPixels:static_cast<NSInteger>(s.width_in_pixels)
                                             heightInPixels:static_cast<NSInteger>(s.height_in_pixels)
                                              pixelsPerInch:static_cast<NSInteger>(s.pixels_per_inch)])];
            out.displays = displays;
            return out;
          },
      },
      d);
}

VZKeyboardConfiguration* Builder::keyboard(const v::Keyboard& k) {
  return std::visit(Overloaded{
                        [&](const v::USBKeyboard&) -> VZKeyboardConfiguration* {
                          return VZKIT_AUTORELEASE([[VZUSBKeyboardConfiguration alloc] init]);
                        },
                        [&](const v::MacKeyboard&) -> VZKeyboardConfiguration* {
#if VZKIT_HAS_MAC_GUESTS
#if VZKIT_SDK_AT_LEAST(14)
                          if (VZKIT_OS_AT_LEAST(14)) {
                            return VZKIT_AUTORELEASE([[VZMacKeyboardConfiguration alloc] init]);
                          }
                          too_old("VZMacKeyboardConfiguration", 14);
                          return nil;
#else
                          sdk_too_old("VZMacKeyboardConfiguration", 14);
                          return nil;
#endif
#else
                          intel_mac("VZMacKeyboardConfiguration");
                          return nil;
#endif
                        },
                    },
                    k);
}

VZPointingDeviceConfiguration* Builder::pointing_device(const v::PointingDevice& p) {
  return std::visit(Overloaded{
                        [&](const v::USBScreenCoordinatePointingDevice&) -> VZPointingDeviceConfiguration* {
                          return VZKIT_AUTORELEASE([[VZUSBScreenCoordinatePointingDeviceConfiguration alloc] init]);
                        },
                        [&](const v::MacTrackpad&) -> VZPointingDeviceConfiguration* {
#if VZKIT_HAS_MAC_GUESTS
                          return VZKIT_AUTORELEASE([[VZMacTrackpadConfiguration alloc] init]);
#else
                          intel_mac("VZMacTrackpadConfiguration");
                          return nil;
#endif
                        },
                    },
                    p);
}

VZAudioDeviceConfiguration* Builder::audio_device(const v::AudioDevice& d) {
  const auto& sound = std::get<v::VirtioSoundDevice>(d);
  VZVirtioSoundDeviceConfiguration* out = VZKIT_AUTORELEASE([[VZVirtioSoundDeviceConfiguration alloc] init]);
  NSMutableArray* streams = [NSMutableArray array];
  for (const auto& s : sound.streams) {
    std::visit(Overloaded{
                   [&](const v::VirtioSoundInputStream& in) {
                     VZVirtioSoundDeviceInputStreamConfiguration* stream =
                         VZKIT_AUTORELEASE([[VZVirtioSoundDeviceInputStreamConfiguration alloc] init]);
                     if (in.host_source) stream.source = VZKIT_AUTORELEASE([[VZHostAudioInputStreamSource alloc] init]);
                     [streams addObject:stream];
                   },
                   [&](const v::VirtioSoundOutputStream& o) {
                     VZVirtioSoundDeviceOutputStreamConfiguration* stream =
                         VZKIT_AUTORELEASE([[VZVirtioSoundDeviceOutputStreamConfiguration alloc] init]);
                     if (o.host_sink) stream.sink = VZKIT_AUTORELEASE([[VZHostAudioOutputStreamSink alloc] init]);
                     [streams addObject:stream];
                   },
               },
               s);
  }
  out.streams = streams;
  return out;
}

// ---- the whole configuration --------------------------------------------------------------------

VZVirtualMachineConfiguration* Builder::configuration(const v::Configuration& plan) {
  VZVirtualMachineConfiguration* config = VZKIT_AUTORELEASE([[VZVirtualMachineConfiguration alloc] init]);
  if (plan.cpu_count) config.CPUCount = static_cast<NSUInteger>(*plan.cpu_count);
  if (plan.memory_size) config.memorySize = *plan.memory_size;

  if (plan.platform) {
    enter(v::origin_of(*plan.platform), "platform");
    if (VZPlatformConfiguration* p = platform(*plan.platform)) {
      config.platform = p;
      remember(p);
    }
  }
  if (plan.boot_loader) {
    enter(v::origin_of(*plan.boot_loader), "boot_loader");
    if (VZBootLoader* b = boot_loader(*plan.boot_loader)) {
      config.bootLoader = b;
      remember(b);
    }
  }

  // Each array: build every element with its origin, then set the array once.
  auto each = [&](const auto& items, const char* key, auto&& make) {
    NSMutableArray* out = [NSMutableArray array];
    for (std::size_t i = 0; i < items.size(); ++i) {
      enter(v::origin_of(items[i]), std::string(key) + "[" + std::to_string(i) + "]");
      id object = make(items[i], i);
      if (!object) continue;
      remember(object);
      [out addObject:object];
    }
    return out;
  };

  config.storageDevices = each(plan.storage_devices, "storage_devices",
                               [&](const auto& d, std::size_t) { return storage_device(d); });
  config.networkDevices = each(plan.network_devices, "network_devices",
                               [&](const auto& d, std::size_t i) { return network_device(d, i); });
  config.serialPorts = each(plan.serial_ports, "serial_ports", [&](const auto& d, std::size_t) { return serial_port(d); });
  config.entropyDevices = each(plan.entropy_devices, "entropy_devices", [&](const auto&, std::size_t) {
    return VZKIT_AUTORELEASE([[VZVirtioEntropyDeviceConfiguration alloc] init]);
  });
  config.memoryBalloonDevices = each(plan.memory_balloon_devices, "memory_balloon_devices", [&](const auto&, std::size_t) {
    return VZKIT_AUTORELEASE([[VZVirtioTraditionalMemoryBalloonDeviceConfiguration alloc] init]);
  });
  config.socketDevices = each(plan.socket_devices, "socket_devices", [&](const auto&, std::size_t) {
    return VZKIT_AUTORELEASE([[VZVirtioSocketDeviceConfiguration alloc] init]);
  });
  config.directorySharingDevices = each(plan.directory_sharing_devices, "directory_sharing_devices",
                                        [&](const auto& d, std::size_t) { return directory_sharing_device(d); });
  config.graphicsDevices = each(plan.graphics_devices, "graphics_devices",
                                [&](const auto& d, std::size_t) { return graphics_device(d); });
  config.keyboards = each(plan.keyboards, "keyboards", [&](const auto& d, std::size_t) { return keyboard(d); });
  config.pointingDevices = each(plan.pointing_devices, "pointing_devices",
                                [&](const auto& d, std::size_t) { return pointing_device(d); });
  config.audioDevices = each(plan.audio_devices, "audio_devices", [&](const auto& d, std::size_t) { return audio_device(d); });
  config.consoleDevices = each(plan.console_devices, "console_devices",
                               [&](const auto& d, std::size_t) { return console_device(d); });

  if (!plan.usb_controllers.empty()) {
#if VZKIT_SDK_AT_LEAST(15)
    if (VZKIT_OS_AT_LEAST(15)) {
      NSMutableArray* controllers = [NSMutableArray array];
      for (std::size_t i = 0; i < plan.usb_controllers.size(); ++i) {
        const auto& xhci = std::get<v::XHCIController>(plan.usb_controllers[i]);
        enter(xhci.origin, "usb_controllers[" + std::to_string(i) + "]");
        VZXHCIControllerConfiguration* controller = VZKIT_AUTORELEASE([[VZXHCIControllerConfiguration alloc] init]);
        NSMutableArray* devices = [NSMutableArray array];
        for (const auto& u : xhci.usb_devices) {
          const auto& storage = std::get<v::USBMassStorageDevice>(u);
          if (VZStorageDeviceAttachment* attachment = storage_attachment(storage.attachment))
            [devices addObject:VZKIT_AUTORELEASE([[VZUSBMassStorageDeviceConfiguration alloc] initWithAttachment:attachment])];
        }
        controller.usbDevices = devices;
        remember(controller);
        [controllers addObject:controller];
      }
      config.usbControllers = controllers;
    } else {
      enter(v::origin_of(plan.usb_controllers.front()), "usb_controllers[0]");
      too_old("VZXHCIControllerConfiguration", 15);
    }
#else
    enter(v::origin_of(plan.usb_controllers.front()), "usb_controllers[0]");
    sdk_too_old("VZXHCIControllerConfiguration", 15);
#endif
  }
  return config;
}

}  // namespace

Built build(const v::Configuration& plan, const BuildOptions& options) {
  Built out;
  Builder builder(options, out);
  VZVirtualMachineConfiguration* config = builder.configuration(plan);
  if (out.problems.empty()) out.configuration = config;
  return out;
}

}  // namespace vzkit::bridge::vz
