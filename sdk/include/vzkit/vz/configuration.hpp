// Typed C++ mirror of the Virtualization.framework (VZ) configuration tree, with a lossless JSON
// mapping through Boost.JSON.
//
// Header-only. Plugins fill these values in, the kernel merges the JSON of several plugins and
// parses the result back, and the macOS bridge turns it into real VZ objects.
//
// JSON rules (see JsonSchema below for the per-class key lists):
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

#include <boost/json.hpp>

#include <array>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
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
// JSON: per-class key tables
// =================================================================================================

/// One JSON key of a mirrored struct. Required keys must be present when parsing; the others
/// keep the member's default when absent.
template <class S, class M>
struct JsonField {
    std::string_view key;
    M S::*member;
    bool required;
};

template <class S, class M>
constexpr JsonField<S, M> required_key(std::string_view key, M S::*member)
{
    return {key, member, true};
}

template <class S, class M>
constexpr JsonField<S, M> optional_key(std::string_view key, M S::*member)
{
    return {key, member, false};
}

/// JSON layout of a mirrored struct: `fields` (a tuple of JsonField, in output order), and
/// optionally `label` (name used in messages when the type has no class_name), `emit_class`
/// (false to not write "class") and `check(value)` (extra checks after parsing).
template <class T>
struct JsonSchema {};

template <>
struct JsonSchema<Origin> {
    static constexpr std::string_view label = "origin";
    static constexpr auto fields = std::tuple{
        required_key("plugin", &Origin::plugin),
        required_key("path", &Origin::path),
    };
};

template <>
struct JsonSchema<GenericPlatform> {
    static constexpr auto fields = std::tuple{
        optional_key("machine_identifier", &GenericPlatform::machine_identifier),
        optional_key("nested_virtualization_enabled", &GenericPlatform::nested_virtualization_enabled),
        optional_key("origin", &GenericPlatform::origin),
    };
};

template <>
struct JsonSchema<MacAuxiliaryStorage> {
    static constexpr auto fields = std::tuple{
        required_key("url", &MacAuxiliaryStorage::url),
        optional_key("create", &MacAuxiliaryStorage::create),
    };
};

template <>
struct JsonSchema<MacPlatform> {
    static constexpr auto fields = std::tuple{
        required_key("hardware_model", &MacPlatform::hardware_model),
        required_key("machine_identifier", &MacPlatform::machine_identifier),
        required_key("auxiliary_storage", &MacPlatform::auxiliary_storage),
        optional_key("origin", &MacPlatform::origin),
    };
};

template <>
struct JsonSchema<LinuxBootLoader> {
    static constexpr auto fields = std::tuple{
        required_key("kernel_url", &LinuxBootLoader::kernel_url),
        optional_key("initial_ramdisk_url", &LinuxBootLoader::initial_ramdisk_url),
        optional_key("command_line", &LinuxBootLoader::command_line),
        optional_key("origin", &LinuxBootLoader::origin),
    };
};

template <>
struct JsonSchema<EFIVariableStore> {
    static constexpr auto fields = std::tuple{
        required_key("url", &EFIVariableStore::url),
        optional_key("create", &EFIVariableStore::create),
    };
};

template <>
struct JsonSchema<EFIBootLoader> {
    static constexpr auto fields = std::tuple{
        optional_key("variable_store", &EFIBootLoader::variable_store),
        optional_key("origin", &EFIBootLoader::origin),
    };
};

template <>
struct JsonSchema<MacOSBootLoader> {
    static constexpr auto fields = std::tuple{optional_key("origin", &MacOSBootLoader::origin)};
};

template <>
struct JsonSchema<DiskImageAttachment> {
    static constexpr auto fields = std::tuple{
        required_key("url", &DiskImageAttachment::url),
        optional_key("read_only", &DiskImageAttachment::read_only),
        optional_key("caching_mode", &DiskImageAttachment::caching_mode),
        optional_key("synchronization_mode", &DiskImageAttachment::synchronization_mode),
    };
};

template <>
struct JsonSchema<VirtioBlockDevice> {
    static constexpr auto fields = std::tuple{
        required_key("attachment", &VirtioBlockDevice::attachment),
        optional_key("block_device_identifier", &VirtioBlockDevice::block_device_identifier),
        optional_key("origin", &VirtioBlockDevice::origin),
    };
};

template <>
struct JsonSchema<USBMassStorageDevice> {
    static constexpr auto fields = std::tuple{
        required_key("attachment", &USBMassStorageDevice::attachment),
        optional_key("origin", &USBMassStorageDevice::origin),
    };
};

template <>
struct JsonSchema<NVMExpressControllerDevice> {
    static constexpr auto fields = std::tuple{
        required_key("attachment", &NVMExpressControllerDevice::attachment),
        optional_key("origin", &NVMExpressControllerDevice::origin),
    };
};

template <>
struct JsonSchema<NATNetworkAttachment> {
    static constexpr auto fields = std::tuple{};
};

template <>
struct JsonSchema<FileHandleNetworkAttachment> {
    static constexpr auto fields = std::tuple{
        optional_key("maximum_transmission_unit", &FileHandleNetworkAttachment::maximum_transmission_unit),
    };
};

template <>
struct JsonSchema<VirtioNetworkDevice> {
    static constexpr auto fields = std::tuple{
        optional_key("mac_address", &VirtioNetworkDevice::mac_address),
        required_key("attachment", &VirtioNetworkDevice::attachment),
        optional_key("origin", &VirtioNetworkDevice::origin),
    };
};

template <>
struct JsonSchema<FileSerialPortAttachment> {
    static constexpr auto fields = std::tuple{
        required_key("url", &FileSerialPortAttachment::url),
        optional_key("append", &FileSerialPortAttachment::append),
    };
};

template <>
struct JsonSchema<FileHandleSerialPortAttachment> {
    static constexpr auto fields = std::tuple{
        required_key("reading", &FileHandleSerialPortAttachment::reading),
        required_key("writing", &FileHandleSerialPortAttachment::writing),
    };

    static void check(const FileHandleSerialPortAttachment& value)
    {
        if (value.reading != "stdin" && value.reading != "none")
            throw ParseError("reading", "unknown handle '" + value.reading + "'; expected one of stdin, none");
        if (value.writing != "stdout" && value.writing != "none")
            throw ParseError("writing", "unknown handle '" + value.writing + "'; expected one of stdout, none");
    }
};

template <>
struct JsonSchema<SpiceAgentPortAttachment> {
    static constexpr auto fields = std::tuple{
        optional_key("shares_clipboard", &SpiceAgentPortAttachment::shares_clipboard),
    };
};

template <>
struct JsonSchema<VirtioConsoleDeviceSerialPort> {
    static constexpr auto fields = std::tuple{
        optional_key("attachment", &VirtioConsoleDeviceSerialPort::attachment),
        optional_key("origin", &VirtioConsoleDeviceSerialPort::origin),
    };
};

template <>
struct JsonSchema<VirtioConsolePort> {
    static constexpr auto fields = std::tuple{
        required_key("index", &VirtioConsolePort::index),
        optional_key("name", &VirtioConsolePort::name),
        optional_key("use_spice_agent_port_name", &VirtioConsolePort::use_spice_agent_port_name),
        optional_key("is_console", &VirtioConsolePort::is_console),
        optional_key("attachment", &VirtioConsolePort::attachment),
    };
};

template <>
struct JsonSchema<VirtioConsoleDevice> {
    static constexpr auto fields = std::tuple{
        optional_key("ports", &VirtioConsoleDevice::ports),
        optional_key("origin", &VirtioConsoleDevice::origin),
    };
};

template <>
struct JsonSchema<VirtioEntropyDevice> {
    static constexpr auto fields = std::tuple{optional_key("origin", &VirtioEntropyDevice::origin)};
};

template <>
struct JsonSchema<VirtioTraditionalMemoryBalloonDevice> {
    static constexpr auto fields = std::tuple{optional_key("origin", &VirtioTraditionalMemoryBalloonDevice::origin)};
};

template <>
struct JsonSchema<VirtioSocketDevice> {
    static constexpr auto fields = std::tuple{optional_key("origin", &VirtioSocketDevice::origin)};
};

template <>
struct JsonSchema<SharedDirectory> {
    static constexpr auto fields = std::tuple{
        required_key("url", &SharedDirectory::url),
        optional_key("read_only", &SharedDirectory::read_only),
    };
};

template <>
struct JsonSchema<SingleDirectoryShare> {
    static constexpr auto fields = std::tuple{required_key("directory", &SingleDirectoryShare::directory)};
};

template <>
struct JsonSchema<MultipleDirectoryShare> {
    static constexpr auto fields = std::tuple{optional_key("directories", &MultipleDirectoryShare::directories)};
};

template <>
struct JsonSchema<LinuxRosettaUnixSocketCachingOptions> {
    static constexpr auto fields = std::tuple{required_key("path", &LinuxRosettaUnixSocketCachingOptions::path)};
};

template <>
struct JsonSchema<LinuxRosettaAbstractSocketCachingOptions> {
    static constexpr auto fields = std::tuple{required_key("name", &LinuxRosettaAbstractSocketCachingOptions::name)};
};

template <>
struct JsonSchema<LinuxRosettaDirectoryShare> {
    static constexpr auto fields = std::tuple{optional_key("caching", &LinuxRosettaDirectoryShare::caching)};
};

template <>
struct JsonSchema<VirtioFileSystemDevice> {
    static constexpr auto fields = std::tuple{
        required_key("tag", &VirtioFileSystemDevice::tag),
        optional_key("use_macos_guest_automount_tag", &VirtioFileSystemDevice::use_macos_guest_automount_tag),
        optional_key("share", &VirtioFileSystemDevice::share),
        optional_key("origin", &VirtioFileSystemDevice::origin),
    };
};

template <>
struct JsonSchema<VirtioGraphicsScanout> {
    static constexpr auto fields = std::tuple{
        required_key("width_in_pixels", &VirtioGraphicsScanout::width_in_pixels),
        required_key("height_in_pixels", &VirtioGraphicsScanout::height_in_pixels),
    };
};

template <>
struct JsonSchema<VirtioGraphicsDevice> {
    static constexpr auto fields = std::tuple{
        optional_key("scanouts", &VirtioGraphicsDevice::scanouts),
        optional_key("origin", &VirtioGraphicsDevice::origin),
    };
};

template <>
struct JsonSchema<MacGraphicsDisplay> {
    static constexpr auto fields = std::tuple{
        required_key("width_in_pixels", &MacGraphicsDisplay::width_in_pixels),
        required_key("height_in_pixels", &MacGraphicsDisplay::height_in_pixels),
        required_key("pixels_per_inch", &MacGraphicsDisplay::pixels_per_inch),
    };
};

template <>
struct JsonSchema<MacGraphicsDevice> {
    static constexpr auto fields = std::tuple{
        optional_key("displays", &MacGraphicsDevice::displays),
        optional_key("origin", &MacGraphicsDevice::origin),
    };
};

template <>
struct JsonSchema<USBKeyboard> {
    static constexpr auto fields = std::tuple{optional_key("origin", &USBKeyboard::origin)};
};

template <>
struct JsonSchema<MacKeyboard> {
    static constexpr auto fields = std::tuple{optional_key("origin", &MacKeyboard::origin)};
};

template <>
struct JsonSchema<USBScreenCoordinatePointingDevice> {
    static constexpr auto fields = std::tuple{optional_key("origin", &USBScreenCoordinatePointingDevice::origin)};
};

template <>
struct JsonSchema<MacTrackpad> {
    static constexpr auto fields = std::tuple{optional_key("origin", &MacTrackpad::origin)};
};

template <>
struct JsonSchema<VirtioSoundInputStream> {
    static constexpr auto fields = std::tuple{optional_key("host_source", &VirtioSoundInputStream::host_source)};
};

template <>
struct JsonSchema<VirtioSoundOutputStream> {
    static constexpr auto fields = std::tuple{optional_key("host_sink", &VirtioSoundOutputStream::host_sink)};
};

template <>
struct JsonSchema<VirtioSoundDevice> {
    static constexpr auto fields = std::tuple{
        optional_key("streams", &VirtioSoundDevice::streams),
        optional_key("origin", &VirtioSoundDevice::origin),
    };
};

template <>
struct JsonSchema<XHCIController> {
    static constexpr auto fields = std::tuple{
        optional_key("usb_devices", &XHCIController::usb_devices),
        optional_key("origin", &XHCIController::origin),
    };
};

template <>
struct JsonSchema<Configuration> {
    static constexpr bool emit_class = false;
    static constexpr auto fields = std::tuple{
        optional_key("cpu_count", &Configuration::cpu_count),
        optional_key("memory_size", &Configuration::memory_size),
        optional_key("platform", &Configuration::platform),
        optional_key("boot_loader", &Configuration::boot_loader),
        optional_key("storage_devices", &Configuration::storage_devices),
        optional_key("network_devices", &Configuration::network_devices),
        optional_key("serial_ports", &Configuration::serial_ports),
        optional_key("entropy_devices", &Configuration::entropy_devices),
        optional_key("memory_balloon_devices", &Configuration::memory_balloon_devices),
        optional_key("socket_devices", &Configuration::socket_devices),
        optional_key("directory_sharing_devices", &Configuration::directory_sharing_devices),
        optional_key("graphics_devices", &Configuration::graphics_devices),
        optional_key("keyboards", &Configuration::keyboards),
        optional_key("pointing_devices", &Configuration::pointing_devices),
        optional_key("audio_devices", &Configuration::audio_devices),
        optional_key("console_devices", &Configuration::console_devices),
        optional_key("usb_controllers", &Configuration::usb_controllers),
    };
};

/// A struct with a JSON layout in JsonSchema.
template <class T>
concept JsonMirrored = requires { JsonSchema<T>::fields; };

// =================================================================================================
// JSON: Boost.JSON conversions (found by ADL from boost::json::value_from / value_to)
// =================================================================================================

template <JsonMirrored T>
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, const T& value);
template <JsonMirrored T>
T tag_invoke(const boost::json::value_to_tag<T>&, const boost::json::value& jv);

// Variants are written by Boost.JSON's own std::variant support (each alternative writes its
// "class"); reading dispatches on "class" instead of Boost's try-each-alternative. Use value_to,
// not try_value_to, for variants.
template <VzClass... Ts>
std::variant<Ts...> tag_invoke(const boost::json::value_to_tag<std::variant<Ts...>>&, const boost::json::value& jv);

template <NamedEnum E>
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, E value);
template <NamedEnum E>
E tag_invoke(const boost::json::value_to_tag<E>&, const boost::json::value& jv);

namespace detail {

template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;

template <class T>
inline constexpr bool is_vector = false;
template <class T>
inline constexpr bool is_vector<std::vector<T>> = true;

template <class T>
inline constexpr bool is_string_map = false;
template <class T>
inline constexpr bool is_string_map<std::map<std::string, T>> = true;

template <class T>
constexpr std::string_view type_label()
{
    if constexpr (VzClass<T>)
        return T::class_name;
    else
        return JsonSchema<T>::label;
}

template <class T>
constexpr bool emits_class()
{
    if constexpr (requires { JsonSchema<T>::emit_class; })
        return JsonSchema<T>::emit_class;
    else
        return VzClass<T>;
}

inline std::string_view kind_name(const boost::json::value& jv) noexcept
{
    switch (jv.kind()) {
    case boost::json::kind::null: return "null";
    case boost::json::kind::bool_: return "boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64: return "integer";
    case boost::json::kind::double_: return "number";
    case boost::json::kind::string: return "string";
    case boost::json::kind::array: return "array";
    case boost::json::kind::object: return "object";
    }
    return "unknown";
}

inline ParseError type_error(std::string_view expected, const boost::json::value& got)
{
    return ParseError({}, "expected " + std::string(expected) + ", got " + std::string(kind_name(got)));
}

inline std::string join(std::initializer_list<std::string_view> items)
{
    std::string out;
    for (std::string_view item : items) {
        if (!out.empty())
            out += ", ";
        out += item;
    }
    return out;
}

inline const boost::json::object& as_object(const boost::json::value& jv, std::string_view what)
{
    if (!jv.is_object())
        throw type_error("object (" + std::string(what) + ")", jv);
    return jv.get_object();
}

template <std::integral I>
I read_integer(const boost::json::value& jv)
{
    auto out_of_range = [](auto value) {
        return ParseError({}, "integer " + std::to_string(value) + " out of range [" +
                                  std::to_string(std::numeric_limits<I>::min()) + ", " +
                                  std::to_string(std::numeric_limits<I>::max()) + "]");
    };
    if (jv.is_int64()) {
        const std::int64_t value = jv.get_int64();
        if (!std::in_range<I>(value))
            throw out_of_range(value);
        return static_cast<I>(value);
    }
    if (jv.is_uint64()) {
        const std::uint64_t value = jv.get_uint64();
        if (!std::in_range<I>(value))
            throw out_of_range(value);
        return static_cast<I>(value);
    }
    throw type_error("integer", jv);
}

/// Parses `jv` into `out`; errors carry the path below `jv`.
template <class T>
void read_value(const boost::json::value& jv, T& out)
{
    if constexpr (std::is_same_v<T, bool>) {
        if (!jv.is_bool())
            throw type_error("boolean", jv);
        out = jv.get_bool();
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (!jv.is_string())
            throw type_error("string", jv);
        out = std::string(jv.get_string());
    } else if constexpr (std::is_integral_v<T>) {
        out = read_integer<T>(jv);
    } else if constexpr (is_optional<T>) {
        if (jv.is_null()) {
            out.reset();
        } else {
            read_value(jv, out.emplace());
        }
    } else if constexpr (is_vector<T>) {
        if (!jv.is_array())
            throw type_error("array", jv);
        const auto& array = jv.get_array();
        out.clear();
        out.reserve(array.size());
        for (std::size_t i = 0; i < array.size(); ++i) {
            try {
                read_value(array[i], out.emplace_back());
            } catch (const ParseError& e) {
                throw e.nested_in("[" + std::to_string(i) + "]");
            }
        }
    } else if constexpr (is_string_map<T>) {
        if (!jv.is_object())
            throw type_error("object", jv);
        out.clear();
        for (const auto& entry : jv.get_object()) {
            std::string key(entry.key());
            try {
                read_value(entry.value(), out[key]);
            } catch (const ParseError& e) {
                throw e.nested_in("[\"" + key + "\"]");
            }
        }
    } else {
        out = boost::json::value_to<T>(jv);
    }
}

/// JSON for one member value (containers element by element, so nested errors keep paths).
template <class T>
boost::json::value write_value(const T& value, const boost::json::storage_ptr& sp)
{
    if constexpr (is_optional<T>) {
        return write_value(*value, sp);
    } else if constexpr (is_vector<T>) {
        boost::json::array array(sp);
        array.reserve(value.size());
        for (const auto& element : value)
            array.push_back(write_value(element, sp));
        return array;
    } else if constexpr (is_string_map<T>) {
        boost::json::object object(sp);
        for (const auto& [key, element] : value)
            object[key] = write_value(element, sp);
        return object;
    } else {
        return boost::json::value_from(value, sp);
    }
}

/// Whether a member is left out of the JSON: unset optionals and empty arrays/maps.
template <class T>
bool is_omitted(const T& value)
{
    if constexpr (is_optional<T>)
        return !value.has_value();
    else if constexpr (is_vector<T> || is_string_map<T>)
        return value.empty();
    else
        return false;
}

/// Reads the keys of one JSON object that mirrors a struct.
class ObjectReader {
public:
    ObjectReader(const boost::json::value& jv, std::string_view label)
        : m_object(as_object(jv, label)), m_label(label)
    {
    }

    /// Rejects keys not in `known`. "class" is accepted when `class_name` is non-empty and must
    /// then equal it.
    void check_keys(std::initializer_list<std::string_view> known, std::string_view class_name) const
    {
        for (const auto& entry : m_object) {
            const std::string_view key = entry.key();
            if (!class_name.empty() && key == "class") {
                check_class(entry.value(), class_name);
                continue;
            }
            bool found = false;
            for (std::string_view candidate : known)
                found = found || candidate == key;
            if (!found) {
                std::string reason = "unknown key '" + std::string(key) + "' in " + std::string(m_label);
                reason += known.size() == 0 ? std::string("; it takes no keys") : "; known keys: " + join(known);
                throw ParseError({}, std::move(reason));
            }
        }
    }

    template <class M>
    void read(std::string_view key, M& out, bool required) const
    {
        const auto* value = m_object.if_contains(key);
        if (value == nullptr) {
            if (required)
                throw ParseError({}, "missing key '" + std::string(key) + "' in " + std::string(m_label));
            return;
        }
        try {
            read_value(*value, out);
        } catch (const ParseError& e) {
            throw e.nested_in(key);
        }
    }

private:
    static void check_class(const boost::json::value& jv, std::string_view class_name)
    {
        if (!jv.is_string())
            throw type_error("string", jv).nested_in("class");
        if (jv.get_string() != class_name)
            throw ParseError("class", "unknown class '" + std::string(jv.get_string()) + "'; expected " +
                                          std::string(class_name));
    }

    const boost::json::object& m_object;
    std::string_view m_label;
};

} // namespace detail

template <JsonMirrored T>
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, const T& value)
{
    // Built in jv's own storage (an arena, when the caller passes one), so nothing is copied over.
    boost::json::object& object = jv.emplace_object();
    object.reserve(std::tuple_size_v<std::decay_t<decltype(JsonSchema<T>::fields)>> + 1);
    if constexpr (detail::emits_class<T>())
        object["class"] = T::class_name;
    std::apply(
        [&](const auto&... f) {
            ((detail::is_omitted(value.*f.member)
                  ? void()
                  : void(object[f.key] = detail::write_value(value.*f.member, object.storage()))),
             ...);
        },
        JsonSchema<T>::fields);
}

template <JsonMirrored T>
T tag_invoke(const boost::json::value_to_tag<T>&, const boost::json::value& jv)
{
    constexpr std::string_view label = detail::type_label<T>();
    const detail::ObjectReader reader(jv, label);
    std::string_view accepted_class;
    if constexpr (VzClass<T>)
        accepted_class = T::class_name;
    std::apply([&](const auto&... f) { reader.check_keys({f.key...}, accepted_class); }, JsonSchema<T>::fields);

    T out{};
    std::apply([&](const auto&... f) { (reader.read(f.key, out.*f.member, f.required), ...); },
               JsonSchema<T>::fields);
    if constexpr (requires { JsonSchema<T>::check(out); })
        JsonSchema<T>::check(out);
    return out;
}

template <VzClass... Ts>
std::variant<Ts...> tag_invoke(const boost::json::value_to_tag<std::variant<Ts...>>&, const boost::json::value& jv)
{
    const auto expected = [] { return detail::join({Ts::class_name...}); };
    const auto& object = detail::as_object(jv, "one of " + expected());
    const auto* tag = object.if_contains("class");
    if (tag == nullptr)
        throw ParseError({}, "missing key 'class'; expected one of " + expected());
    if (!tag->is_string())
        throw detail::type_error("string", *tag).nested_in("class");
    const std::string_view name = tag->get_string();

    std::optional<std::variant<Ts...>> out;
    (void)((Ts::class_name == name ? (out.emplace(std::in_place_type<Ts>, boost::json::value_to<Ts>(jv)), true)
                                   : false) ||
           ...);
    if (!out)
        throw ParseError("class", "unknown class '" + std::string(name) + "'; expected one of " + expected());
    return std::move(*out);
}

template <NamedEnum E>
void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, E value)
{
    jv = to_string(value);
}

template <NamedEnum E>
E tag_invoke(const boost::json::value_to_tag<E>&, const boost::json::value& jv)
{
    if (!jv.is_string())
        throw detail::type_error("string", jv);
    if (auto value = enum_from_string<E>(jv.get_string()))
        return *value;
    std::string names;
    for (const auto& [enumerator, name] : EnumNames<E>::values)
        names += (names.empty() ? "" : ", ") + std::string(name);
    throw ParseError({}, "unknown value '" + std::string(jv.get_string()) + "'; expected one of " + names);
}

} // namespace vzkit::vz
