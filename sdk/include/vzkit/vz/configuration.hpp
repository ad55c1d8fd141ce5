// Typed C++ mirror of the Virtualization.framework (VZ) configuration tree, with a lossless JSON
// mapping through Boost.JSON.
//
// Plugins fill these values in, the kernel merges the JSON of several plugins and parses the
// result back, and the macOS bridge turns it into real VZ objects. The types are declared here;
// their JSON mapping is compiled once into the SDK library (sdk/src/vz_json.cpp, libvzkit_sdk.a),
// so a plugin that includes this header compiles no conversion templates of its own.
//
// JSON rules (the per-class key lists are in sdk/src/vz_json.cpp):
// - Every object that mirrors a VZ class carries `"class": "<exact VZ class name>"`. For a
//   polymorphic slot (a std::variant) the key is required and picks the alternative; for a slot
//   with one fixed type it is optional on input but must match when present. The top-level
//   Configuration does not emit it. Origin has no class.
// - Keys are the snake_case of the ObjC property. Enums are strings. Paths are plain strings.
// - Serialising omits unset std::optional members and empty arrays/maps; every other member is
//   always written. Parsing fills absent keys with the C++ default, except keys marked required
//   (VZ initializer arguments with no natural default, such as `url`), which must be present.
// - Parsing rejects unknown keys, a wrong "class" and wrong JSON types by throwing ParseError
//   (a std::invalid_argument) whose message starts with the path of the offending value.
//
// Usage:
//   boost::json::value jv = boost::json::value_from(configuration);
//   auto cfg = boost::json::value_to<vzkit::vz::Configuration>(jv);
#pragma once

#include <boost/json/fwd.hpp>

#include <array>
#include <concepts>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace vzkit::vz {

// =================================================================================================
// Common
// =================================================================================================

/// Where a device-level object came from: the plugin that produced it and the path of its source
/// in the VM spec (e.g. `devices[2]`). Stamped by the kernel after the plugins ran; used to map
/// VZ validation errors back to the spec. Not a VZ class.
struct Origin {
    std::string plugin;
    std::string path;
    bool operator==(const Origin&) const = default;
};

/// VZDiskImageCachingMode (macOS 12.0). JSON: "automatic" | "uncached" | "cached".
enum class CachingMode { automatic, uncached, cached };

/// VZDiskImageSynchronizationMode (macOS 12.0). JSON: "full" | "fsync" | "none".
enum class SynchronizationMode { full, fsync, none };

/// Value of VZVirtioFileSystemDeviceConfiguration.macOSGuestAutomountTag as documented by third
/// parties (tart). The bridge reads the class property instead; this is for display/validation.
inline constexpr std::string_view macos_guest_automount_tag = "com.apple.virtio-fs.automount";

// =================================================================================================
// Platform
// =================================================================================================

/// VZGenericPlatformConfiguration (macOS 12.0): platform for Linux and other non-macOS guests.
struct GenericPlatform {
    static constexpr std::string_view class_name = "VZGenericPlatformConfiguration";
    /// Path of a file holding VZGenericMachineIdentifier.dataRepresentation (macOS 13.0).
    std::optional<std::string> machine_identifier;
    /// isNestedVirtualizationEnabled (macOS 15.0); unset keeps the VZ default (off).
    std::optional<bool> nested_virtualization_enabled;
    std::optional<Origin> origin;
    bool operator==(const GenericPlatform&) const = default;
};

/// VZMacAuxiliaryStorage (macOS 12.0, arm64). `create` selects
/// initCreatingStorageAtURL:hardwareModel:options:error: instead of initWithURL: (13.0).
struct MacAuxiliaryStorage {
    static constexpr std::string_view class_name = "VZMacAuxiliaryStorage";
    std::string url;
    bool create = false;
    bool operator==(const MacAuxiliaryStorage&) const = default;
};

/// VZMacPlatformConfiguration (macOS 12.0, arm64): platform for macOS guests.
struct MacPlatform {
    static constexpr std::string_view class_name = "VZMacPlatformConfiguration";
    /// Path of a file holding VZMacHardwareModel.dataRepresentation.
    std::string hardware_model;
    /// Path of a file holding VZMacMachineIdentifier.dataRepresentation.
    std::string machine_identifier;
    MacAuxiliaryStorage auxiliary_storage;
    std::optional<Origin> origin;
    bool operator==(const MacPlatform&) const = default;
};

/// VZPlatformConfiguration (macOS 12.0).
using Platform = std::variant<GenericPlatform, MacPlatform>;

// =================================================================================================
// Boot loaders
// =================================================================================================

/// VZLinuxBootLoader (macOS 11.0): direct kernel boot.
struct LinuxBootLoader {
    static constexpr std::string_view class_name = "VZLinuxBootLoader";
    std::string kernel_url;
    std::optional<std::string> initial_ramdisk_url;
    std::string command_line;
    std::optional<Origin> origin;
    bool operator==(const LinuxBootLoader&) const = default;
};

/// VZEFIVariableStore (macOS 13.0). `create` selects
/// initCreatingVariableStoreAtURL:options:error: instead of initWithURL:.
struct EFIVariableStore {
    static constexpr std::string_view class_name = "VZEFIVariableStore";
    std::string url;
    bool create = false;
    bool operator==(const EFIVariableStore&) const = default;
};

/// VZEFIBootLoader (macOS 13.0).
struct EFIBootLoader {
    static constexpr std::string_view class_name = "VZEFIBootLoader";
    std::optional<EFIVariableStore> variable_store;
    std::optional<Origin> origin;
    bool operator==(const EFIBootLoader&) const = default;
};

/// VZMacOSBootLoader (macOS 12.0, arm64).
struct MacOSBootLoader {
    static constexpr std::string_view class_name = "VZMacOSBootLoader";
    std::optional<Origin> origin;
    bool operator==(const MacOSBootLoader&) const = default;
};

/// VZBootLoader (macOS 11.0).
using BootLoader = std::variant<LinuxBootLoader, EFIBootLoader, MacOSBootLoader>;

// =================================================================================================
// Storage
// =================================================================================================

/// VZDiskImageStorageDeviceAttachment (macOS 11.0; caching/synchronization modes 12.0).
struct DiskImageAttachment {
    static constexpr std::string_view class_name = "VZDiskImageStorageDeviceAttachment";
    std::string url;
    bool read_only = false;
    CachingMode caching_mode = CachingMode::automatic;
    SynchronizationMode synchronization_mode = SynchronizationMode::full;
    bool operator==(const DiskImageAttachment&) const = default;
};

/// VZStorageDeviceAttachment (macOS 11.0). One alternative today; block-device and NBD
/// attachments (14.0) can be added without changing the JSON of existing configurations.
using StorageAttachment = std::variant<DiskImageAttachment>;

/// VZVirtioBlockDeviceConfiguration (macOS 11.0; block_device_identifier 12.3).
struct VirtioBlockDevice {
    static constexpr std::string_view class_name = "VZVirtioBlockDeviceConfiguration";
    StorageAttachment attachment;
    std::optional<std::string> block_device_identifier;
    std::optional<Origin> origin;
    bool operator==(const VirtioBlockDevice&) const = default;
};

/// VZUSBMassStorageDeviceConfiguration (macOS 13.0).
struct USBMassStorageDevice {
    static constexpr std::string_view class_name = "VZUSBMassStorageDeviceConfiguration";
    StorageAttachment attachment;
    std::optional<Origin> origin;
    bool operator==(const USBMassStorageDevice&) const = default;
};

/// VZNVMExpressControllerDeviceConfiguration (macOS 14.0; generic platform only).
struct NVMExpressControllerDevice {
    static constexpr std::string_view class_name = "VZNVMExpressControllerDeviceConfiguration";
    StorageAttachment attachment;
    std::optional<Origin> origin;
    bool operator==(const NVMExpressControllerDevice&) const = default;
};

/// VZStorageDeviceConfiguration (macOS 11.0).
using StorageDevice = std::variant<VirtioBlockDevice, USBMassStorageDevice, NVMExpressControllerDevice>;

// =================================================================================================
// Network
// =================================================================================================

/// VZNATNetworkDeviceAttachment (macOS 11.0).
struct NATNetworkAttachment {
    static constexpr std::string_view class_name = "VZNATNetworkDeviceAttachment";
    bool operator==(const NATNetworkAttachment&) const = default;
};

/// VZFileHandleNetworkDeviceAttachment (macOS 11.0; maximum_transmission_unit 13.0). The file
/// handle itself is supplied at run time by the bridge.
struct FileHandleNetworkAttachment {
    static constexpr std::string_view class_name = "VZFileHandleNetworkDeviceAttachment";
    std::optional<std::int64_t> maximum_transmission_unit;
    bool operator==(const FileHandleNetworkAttachment&) const = default;
};

/// VZNetworkDeviceAttachment (macOS 11.0).
using NetworkAttachment = std::variant<NATNetworkAttachment, FileHandleNetworkAttachment>;

/// VZVirtioNetworkDeviceConfiguration (macOS 11.0).
struct VirtioNetworkDevice {
    static constexpr std::string_view class_name = "VZVirtioNetworkDeviceConfiguration";
    /// "aa:bb:cc:dd:ee:ff"; unset lets VZ pick a random locally administered address.
    std::optional<std::string> mac_address;
    NetworkAttachment attachment;
    std::optional<Origin> origin;
    bool operator==(const VirtioNetworkDevice&) const = default;
};

/// VZNetworkDeviceConfiguration (macOS 11.0).
using NetworkDevice = std::variant<VirtioNetworkDevice>;

// =================================================================================================
// Serial ports and consoles
// =================================================================================================

/// VZFileSerialPortAttachment (macOS 11.0): guest output goes to a file.
struct FileSerialPortAttachment {
    static constexpr std::string_view class_name = "VZFileSerialPortAttachment";
    std::string url;
    bool append = false;
    bool operator==(const FileSerialPortAttachment&) const = default;
};

/// VZFileHandleSerialPortAttachment (macOS 11.0). The handles are named, not passed:
/// `reading` is "stdin" or "none" (nil), `writing` is "stdout" or "none" (nil).
struct FileHandleSerialPortAttachment {
    static constexpr std::string_view class_name = "VZFileHandleSerialPortAttachment";
    std::string reading = "stdin";
    std::string writing = "stdout";
    bool operator==(const FileHandleSerialPortAttachment&) const = default;
};

/// VZSpiceAgentPortAttachment (macOS 13.0): clipboard sharing through spice-vdagent.
struct SpiceAgentPortAttachment {
    static constexpr std::string_view class_name = "VZSpiceAgentPortAttachment";
    bool shares_clipboard = true;
    bool operator==(const SpiceAgentPortAttachment&) const = default;
};

/// VZSerialPortAttachment (macOS 11.0) as used on serial ports.
using SerialPortAttachment = std::variant<FileSerialPortAttachment, FileHandleSerialPortAttachment>;

/// VZSerialPortAttachment as used on console ports: adds the Spice agent.
using ConsolePortAttachment =
    std::variant<FileSerialPortAttachment, FileHandleSerialPortAttachment, SpiceAgentPortAttachment>;

/// VZVirtioConsoleDeviceSerialPortConfiguration (macOS 11.0): a one-port Virtio console (hvc0).
struct VirtioConsoleDeviceSerialPort {
    static constexpr std::string_view class_name = "VZVirtioConsoleDeviceSerialPortConfiguration";
    std::optional<SerialPortAttachment> attachment;
    std::optional<Origin> origin;
    bool operator==(const VirtioConsoleDeviceSerialPort&) const = default;
};

/// VZSerialPortConfiguration (macOS 11.0).
using SerialPort = std::variant<VirtioConsoleDeviceSerialPort>;

/// VZVirtioConsolePortConfiguration (macOS 13.0). `index` is the guest port number (the
/// subscript in VZVirtioConsolePortConfigurationArray). `use_spice_agent_port_name` makes the
/// bridge use VZSpiceAgentPortAttachment.spiceAgentPortName instead of `name`.
struct VirtioConsolePort {
    static constexpr std::string_view class_name = "VZVirtioConsolePortConfiguration";
    std::uint32_t index = 0;
    std::optional<std::string> name;
    bool use_spice_agent_port_name = false;
    bool is_console = false;
    std::optional<ConsolePortAttachment> attachment;
    bool operator==(const VirtioConsolePort&) const = default;
};

/// VZVirtioConsoleDeviceConfiguration (macOS 13.0).
struct VirtioConsoleDevice {
    static constexpr std::string_view class_name = "VZVirtioConsoleDeviceConfiguration";
    std::vector<VirtioConsolePort> ports;
    std::optional<Origin> origin;
    bool operator==(const VirtioConsoleDevice&) const = default;
};

/// VZConsoleDeviceConfiguration (macOS 13.0).
using ConsoleDevice = std::variant<VirtioConsoleDevice>;

// =================================================================================================
// Entropy, memory balloon, socket
// =================================================================================================

/// VZVirtioEntropyDeviceConfiguration (macOS 11.0).
struct VirtioEntropyDevice {
    static constexpr std::string_view class_name = "VZVirtioEntropyDeviceConfiguration";
    std::optional<Origin> origin;
    bool operator==(const VirtioEntropyDevice&) const = default;
};

/// VZEntropyDeviceConfiguration (macOS 11.0).
using EntropyDevice = std::variant<VirtioEntropyDevice>;

/// VZVirtioTraditionalMemoryBalloonDeviceConfiguration (macOS 11.0).
struct VirtioTraditionalMemoryBalloonDevice {
    static constexpr std::string_view class_name = "VZVirtioTraditionalMemoryBalloonDeviceConfiguration";
    std::optional<Origin> origin;
    bool operator==(const VirtioTraditionalMemoryBalloonDevice&) const = default;
};

/// VZMemoryBalloonDeviceConfiguration (macOS 11.0).
using MemoryBalloonDevice = std::variant<VirtioTraditionalMemoryBalloonDevice>;

/// VZVirtioSocketDeviceConfiguration (macOS 11.0).
struct VirtioSocketDevice {
    static constexpr std::string_view class_name = "VZVirtioSocketDeviceConfiguration";
    std::optional<Origin> origin;
    bool operator==(const VirtioSocketDevice&) const = default;
};

/// VZSocketDeviceConfiguration (macOS 11.0).
using SocketDevice = std::variant<VirtioSocketDevice>;

/// Not a VZ class: a unix socket on the host that the VZ runner listens on while the VM runs,
/// connecting each client to `port` in the guest through the VM's VZVirtioSocketDevice
/// (connectToPort:completionHandler:) and relaying bytes both ways. The plan must have a socket
/// device. This is how the guest agent's vsock channel reaches `vzkit exec` (docs/way-in.md).
struct SocketForward {
    /// The guest's vsock port (a program in the guest listens on it).
    std::uint32_t port = 0;
    /// The unix socket the runner creates (at most 103 bytes on macOS).
    std::string socket_path;
    std::optional<Origin> origin;
    bool operator==(const SocketForward&) const = default;
};

// =================================================================================================
// Directory sharing
// =================================================================================================

/// VZSharedDirectory (macOS 12.0).
struct SharedDirectory {
    static constexpr std::string_view class_name = "VZSharedDirectory";
    std::string url;
    bool read_only = false;
    bool operator==(const SharedDirectory&) const = default;
};

/// VZSingleDirectoryShare (macOS 12.0).
struct SingleDirectoryShare {
    static constexpr std::string_view class_name = "VZSingleDirectoryShare";
    SharedDirectory directory;
    bool operator==(const SingleDirectoryShare&) const = default;
};

/// VZMultipleDirectoryShare (macOS 12.0). Keys are the directory names seen by the guest.
struct MultipleDirectoryShare {
    static constexpr std::string_view class_name = "VZMultipleDirectoryShare";
    std::map<std::string, SharedDirectory> directories;
    bool operator==(const MultipleDirectoryShare&) const = default;
};

/// VZLinuxRosettaUnixSocketCachingOptions (macOS 14.0, arm64).
struct LinuxRosettaUnixSocketCachingOptions {
    static constexpr std::string_view class_name = "VZLinuxRosettaUnixSocketCachingOptions";
    std::string path;
    bool operator==(const LinuxRosettaUnixSocketCachingOptions&) const = default;
};

/// VZLinuxRosettaAbstractSocketCachingOptions (macOS 14.0, arm64).
struct LinuxRosettaAbstractSocketCachingOptions {
    static constexpr std::string_view class_name = "VZLinuxRosettaAbstractSocketCachingOptions";
    std::string name;
    bool operator==(const LinuxRosettaAbstractSocketCachingOptions&) const = default;
};

/// VZLinuxRosettaCachingOptions (macOS 14.0, arm64).
using LinuxRosettaCachingOptions =
    std::variant<LinuxRosettaUnixSocketCachingOptions, LinuxRosettaAbstractSocketCachingOptions>;

/// VZLinuxRosettaDirectoryShare (macOS 13.0, arm64; caching options 14.0).
struct LinuxRosettaDirectoryShare {
    static constexpr std::string_view class_name = "VZLinuxRosettaDirectoryShare";
    std::optional<LinuxRosettaCachingOptions> caching;
    bool operator==(const LinuxRosettaDirectoryShare&) const = default;
};

/// VZDirectoryShare (macOS 12.0).
using DirectoryShare = std::variant<SingleDirectoryShare, MultipleDirectoryShare, LinuxRosettaDirectoryShare>;

/// VZVirtioFileSystemDeviceConfiguration (macOS 12.0). With use_macos_guest_automount_tag the
/// bridge uses the class property macOSGuestAutomountTag (13.0) instead of `tag`; `tag` should
/// then hold macos_guest_automount_tag so validation sees the expected value.
struct VirtioFileSystemDevice {
    static constexpr std::string_view class_name = "VZVirtioFileSystemDeviceConfiguration";
    std::string tag;
    bool use_macos_guest_automount_tag = false;
    std::optional<DirectoryShare> share;
    std::optional<Origin> origin;
    bool operator==(const VirtioFileSystemDevice&) const = default;
};

/// VZDirectorySharingDeviceConfiguration (macOS 12.0).
using DirectorySharingDevice = std::variant<VirtioFileSystemDevice>;

// =================================================================================================
// Graphics
// =================================================================================================

/// VZVirtioGraphicsScanoutConfiguration (macOS 13.0).
struct VirtioGraphicsScanout {
    static constexpr std::string_view class_name = "VZVirtioGraphicsScanoutConfiguration";
    std::int64_t width_in_pixels = 0;
    std::int64_t height_in_pixels = 0;
    bool operator==(const VirtioGraphicsScanout&) const = default;
};

/// VZVirtioGraphicsDeviceConfiguration (macOS 13.0).
struct VirtioGraphicsDevice {
    static constexpr std::string_view class_name = "VZVirtioGraphicsDeviceConfiguration";
    std::vector<VirtioGraphicsScanout> scanouts;
    std::optional<Origin> origin;
    bool operator==(const VirtioGraphicsDevice&) const = default;
};

/// VZMacGraphicsDisplayConfiguration (macOS 12.0).
struct MacGraphicsDisplay {
    static constexpr std::string_view class_name = "VZMacGraphicsDisplayConfiguration";
    std::int64_t width_in_pixels = 0;
    std::int64_t height_in_pixels = 0;
    std::int64_t pixels_per_inch = 0;
    bool operator==(const MacGraphicsDisplay&) const = default;
};

/// VZMacGraphicsDeviceConfiguration (macOS 12.0).
struct MacGraphicsDevice {
    static constexpr std::string_view class_name = "VZMacGraphicsDeviceConfiguration";
    std::vector<MacGraphicsDisplay> displays;
    std::optional<Origin> origin;
    bool operator==(const MacGraphicsDevice&) const = default;
};

/// VZGraphicsDeviceConfiguration (macOS 12.0).
using GraphicsDevice = std::variant<VirtioGraphicsDevice, MacGraphicsDevice>;

// =================================================================================================
// Keyboards and pointing devices
// =================================================================================================

/// VZUSBKeyboardConfiguration (macOS 12.0).
struct USBKeyboard {
    static constexpr std::string_view class_name = "VZUSBKeyboardConfiguration";
    std::optional<Origin> origin;
    bool operator==(const USBKeyboard&) const = default;
};

/// VZMacKeyboardConfiguration (macOS 14.0, arm64).
struct MacKeyboard {
    static constexpr std::string_view class_name = "VZMacKeyboardConfiguration";
    std::optional<Origin> origin;
    bool operator==(const MacKeyboard&) const = default;
};

/// VZKeyboardConfiguration (macOS 12.0).
using Keyboard = std::variant<USBKeyboard, MacKeyboard>;

/// VZUSBScreenCoordinatePointingDeviceConfiguration (macOS 12.0).
struct USBScreenCoordinatePointingDevice {
    static constexpr std::string_view class_name = "VZUSBScreenCoordinatePointingDeviceConfiguration";
    std::optional<Origin> origin;
    bool operator==(const USBScreenCoordinatePointingDevice&) const = default;
};

/// VZMacTrackpadConfiguration (macOS 13.0, arm64).
struct MacTrackpad {
    static constexpr std::string_view class_name = "VZMacTrackpadConfiguration";
    std::optional<Origin> origin;
    bool operator==(const MacTrackpad&) const = default;
};

/// VZPointingDeviceConfiguration (macOS 12.0).
using PointingDevice = std::variant<USBScreenCoordinatePointingDevice, MacTrackpad>;

// =================================================================================================
// Audio
// =================================================================================================

/// VZVirtioSoundDeviceInputStreamConfiguration (macOS 12.0). `host_source` sets the source to
/// VZHostAudioInputStreamSource; otherwise the guest records silence.
struct VirtioSoundInputStream {
    static constexpr std::string_view class_name = "VZVirtioSoundDeviceInputStreamConfiguration";
    bool host_source = false;
    bool operator==(const VirtioSoundInputStream&) const = default;
};

/// VZVirtioSoundDeviceOutputStreamConfiguration (macOS 12.0). `host_sink` sets the sink to
/// VZHostAudioOutputStreamSink; otherwise the output is discarded.
struct VirtioSoundOutputStream {
    static constexpr std::string_view class_name = "VZVirtioSoundDeviceOutputStreamConfiguration";
    bool host_sink = false;
    bool operator==(const VirtioSoundOutputStream&) const = default;
};

/// VZVirtioSoundDeviceStreamConfiguration (macOS 12.0).
using VirtioSoundStream = std::variant<VirtioSoundInputStream, VirtioSoundOutputStream>;

/// VZVirtioSoundDeviceConfiguration (macOS 12.0).
struct VirtioSoundDevice {
    static constexpr std::string_view class_name = "VZVirtioSoundDeviceConfiguration";
    std::vector<VirtioSoundStream> streams;
    std::optional<Origin> origin;
    bool operator==(const VirtioSoundDevice&) const = default;
};

/// VZAudioDeviceConfiguration (macOS 12.0).
using AudioDevice = std::variant<VirtioSoundDevice>;

// =================================================================================================
// USB controllers
// =================================================================================================

/// id<VZUSBDeviceConfiguration> (macOS 15.0).
using USBDevice = std::variant<USBMassStorageDevice>;

/// VZXHCIControllerConfiguration (macOS 15.0).
struct XHCIController {
    static constexpr std::string_view class_name = "VZXHCIControllerConfiguration";
    std::vector<USBDevice> usb_devices;
    std::optional<Origin> origin;
    bool operator==(const XHCIController&) const = default;
};

/// VZUSBControllerConfiguration (macOS 15.0).
using USBController = std::variant<XHCIController>;

// =================================================================================================
// Virtual machine
// =================================================================================================

/// VZVirtualMachineConfiguration (macOS 11.0). Unset scalars keep the VZ defaults.
struct Configuration {
    static constexpr std::string_view class_name = "VZVirtualMachineConfiguration";
    std::optional<std::uint64_t> cpu_count;
    /// Bytes.
    std::optional<std::uint64_t> memory_size;
    std::optional<Platform> platform;
    std::optional<BootLoader> boot_loader;
    std::vector<StorageDevice> storage_devices;
    std::vector<NetworkDevice> network_devices;
    std::vector<SerialPort> serial_ports;
    std::vector<EntropyDevice> entropy_devices;
    std::vector<MemoryBalloonDevice> memory_balloon_devices;
    std::vector<SocketDevice> socket_devices;
    std::vector<DirectorySharingDevice> directory_sharing_devices;
    std::vector<GraphicsDevice> graphics_devices;
    std::vector<Keyboard> keyboards;
    std::vector<PointingDevice> pointing_devices;
    std::vector<AudioDevice> audio_devices;
    std::vector<ConsoleDevice> console_devices;
    std::vector<USBController> usb_controllers;
    /// vzkit's own: unix sockets the runner bridges to guest vsock ports (no VZ class).
    std::vector<SocketForward> socket_forwards;
    bool operator==(const Configuration&) const = default;
};

// =================================================================================================
// Generic helpers
// =================================================================================================

/// A type that names the VZ class it mirrors.
template <class T>
concept VzClass = requires {
    { T::class_name } -> std::convertible_to<std::string_view>;
};

/// The VZ class name of a mirrored value.
template <VzClass T>
constexpr std::string_view class_name_of(const T&) noexcept
{
    return T::class_name;
}

/// The VZ class name of the alternative a variant currently holds.
template <VzClass... Ts>
constexpr std::string_view class_name_of(const std::variant<Ts...>& value) noexcept
{
    return std::visit([](const auto& alternative) { return class_name_of(alternative); }, value);
}

/// A device-level object: every top-level array element, the platform and the boot loader.
template <class T>
concept DeviceLevel = requires(T& t) {
    { t.origin } -> std::same_as<std::optional<Origin>&>;
};

template <DeviceLevel... Ts>
std::optional<Origin>& origin_of(std::variant<Ts...>& value) noexcept
{
    return std::visit([](auto& alternative) -> std::optional<Origin>& { return alternative.origin; }, value);
}

template <DeviceLevel... Ts>
const std::optional<Origin>& origin_of(const std::variant<Ts...>& value) noexcept
{
    return std::visit([](const auto& alternative) -> const std::optional<Origin>& { return alternative.origin; },
                      value);
}

// =================================================================================================
// JSON: errors
// =================================================================================================

/// Thrown when JSON does not describe a valid value. what() is "<path>: <reason>" (or just the
/// reason at the root), e.g. "storage_devices[0].attachment: unknown key 'x' in
/// VZDiskImageStorageDeviceAttachment".
class ParseError : public std::invalid_argument {
public:
    ParseError(std::string path, std::string reason)
        : std::invalid_argument(path.empty() ? reason : path + ": " + reason),
          m_path(std::move(path)),
          m_reason(std::move(reason))
    {
    }

    /// Path of the offending value relative to the value being parsed; empty at the root.
    const std::string& path() const noexcept { return m_path; }
    /// What is wrong, without the path.
    const std::string& reason() const noexcept { return m_reason; }

    /// The same error seen from one level up: `segment` is a key or "[index]".
    ParseError nested_in(std::string_view segment) const
    {
        std::string path(segment);
        if (!m_path.empty()) {
            if (m_path.front() != '[')
                path += '.';
            path += m_path;
        }
        return ParseError(std::move(path), m_reason);
    }

private:
    std::string m_path;
    std::string m_reason;
};

// =================================================================================================
// JSON: enum names
// =================================================================================================

/// JSON spelling of each enumerator; specialised per enum.
template <class E>
struct EnumNames {};

template <>
struct EnumNames<CachingMode> {
    static constexpr std::array<std::pair<CachingMode, std::string_view>, 3> values{{
        {CachingMode::automatic, "automatic"},
        {CachingMode::uncached, "uncached"},
        {CachingMode::cached, "cached"},
    }};
};

template <>
struct EnumNames<SynchronizationMode> {
    static constexpr std::array<std::pair<SynchronizationMode, std::string_view>, 3> values{{
        {SynchronizationMode::full, "full"},
        {SynchronizationMode::fsync, "fsync"},
        {SynchronizationMode::none, "none"},
    }};
};

template <class E>
concept NamedEnum = std::is_enum_v<E> && requires { EnumNames<E>::values; };

/// JSON spelling of an enumerator ("automatic", "fsync", ...).
template <NamedEnum E>
constexpr std::string_view to_string(E value) noexcept
{
    for (const auto& [enumerator, name] : EnumNames<E>::values)
        if (enumerator == value)
            return name;
    return "<invalid>";
}

/// Enumerator for a JSON spelling, or nullopt.
template <NamedEnum E>
constexpr std::optional<E> enum_from_string(std::string_view name) noexcept
{
    for (const auto& [enumerator, spelling] : EnumNames<E>::values)
        if (spelling == name)
            return enumerator;
    return std::nullopt;
}

// =================================================================================================
// JSON: Boost.JSON conversions of the whole tree (found by ADL from boost::json::value_from /
// value_to; defined in the SDK library)
// =================================================================================================

/// Writes `value` into `jv`, in jv's own storage (an arena, when the caller passes one).
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, const Configuration& value);
/// Parses a Configuration. Throws ParseError naming the offending value's path.
Configuration tag_invoke(const boost::json::value_to_tag<Configuration>&, const boost::json::value& jv);

} // namespace vzkit::vz
