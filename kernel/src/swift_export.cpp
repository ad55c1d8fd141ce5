#include <vzkit/kernel/swift_export.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace vzkit::kernel {
namespace {

template <class... Fs>
struct Overloaded : Fs... {
    using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

std::string hex(std::uint32_t value)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    do {
        out.insert(out.begin(), digits[value % 16]);
        value /= 16;
    } while (value != 0);
    return out;
}

// Length of the valid UTF-8 sequence starting at text[i] and its code point, or 0 if invalid.
std::pair<std::size_t, std::uint32_t> decode_utf8(std::string_view text, std::size_t i)
{
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        code = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        code = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        code = lead & 0x07;
    } else {
        return {0, 0};
    }
    if (i + length > text.size())
        return {0, 0};
    for (std::size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80)
            return {0, 0};
        code = (code << 6) | (byte(i + k) & 0x3F);
    }
    const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
    const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
    if (overlong || surrogate || code > 0x10FFFF)
        return {0, 0};
    return {length, code};
}

// Characters that are valid but would hide or reorder source text (line/paragraph separators,
// bidi controls, BOM): always escaped.
bool is_invisible_control(std::uint32_t code)
{
    return code == 0x2028 || code == 0x2029 || (code >= 0x202A && code <= 0x202E) ||
           (code >= 0x2066 && code <= 0x2069) || code == 0xFEFF;
}

// Body of a Swift string literal (without the quotes). Also used for comment text, where it keeps
// user data on one line.
std::string escape_swift(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\0': out += "\\0"; break;
            default:
                if (c < 0x20 || c == 0x7F)
                    out += "\\u{" + hex(c) + "}";
                else
                    out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        const auto [length, code] = decode_utf8(text, i);
        if (length == 0) {
            out += "\\u{FFFD}"; // invalid UTF-8 byte
            ++i;
        } else {
            if (is_invisible_control(code))
                out += "\\u{" + hex(code) + "}";
            else
                out.append(text.substr(i, length));
            i += length;
        }
    }
    return out;
}

std::string swift_string(std::string_view text)
{
    return "\"" + escape_swift(text) + "\"";
}

std::string file_url(std::string_view path)
{
    return "URL(fileURLWithPath: " + swift_string(path) + ")";
}

std::string swift_bool(bool value)
{
    return value ? "true" : "false";
}

std::string memory_expression(std::uint64_t bytes)
{
    constexpr std::uint64_t mib = 1024 * 1024;
    constexpr std::uint64_t gib = 1024 * mib;
    if (bytes != 0 && bytes % gib == 0)
        return std::to_string(bytes / gib) + " * 1024 * 1024 * 1024";
    if (bytes != 0 && bytes % mib == 0)
        return std::to_string(bytes / mib) + " * 1024 * 1024";
    return std::to_string(bytes);
}

std::string_view swift_case(vz::CachingMode mode)
{
    switch (mode) {
    case vz::CachingMode::automatic: return ".automatic";
    case vz::CachingMode::uncached: return ".uncached";
    case vz::CachingMode::cached: return ".cached";
    }
    return ".automatic";
}

std::string_view swift_case(vz::SynchronizationMode mode)
{
    switch (mode) {
    case vz::SynchronizationMode::full: return ".full";
    case vz::SynchronizationMode::fsync: return ".fsync";
    case vz::SynchronizationMode::none: return ".none";
    }
    return ".full";
}

// Hands out variable names. The exporter runs twice: the first run only counts how often each
// base name is asked for; in the second, a base used once stays bare ("networkDevice") and the
// others get an index ("blockDevice0", "blockDevice1").
class Namer {
public:
    explicit Namer(const std::map<std::string, int, std::less<>>* totals) : m_totals(totals) {}

    std::string take(std::string_view base)
    {
        const int index = m_used[std::string(base)]++;
        if (m_totals != nullptr) {
            const auto it = m_totals->find(base);
            if (it != m_totals->end() && it->second == 1)
                return std::string(base);
        }
        return std::string(base) + std::to_string(index);
    }

    const std::map<std::string, int, std::less<>>& used() const { return m_used; }

private:
    const std::map<std::string, int, std::less<>>* m_totals;
    std::map<std::string, int, std::less<>> m_used;
};

class SwiftExporter {
public:
    explicit SwiftExporter(Namer& namer) : m_namer(namer) {}

    std::string run(const vz::Configuration& cfg, std::string_view vm_name)
    {
        m_out.clear();
        raw("import Foundation");
        raw("import Virtualization");
        raw("");
        raw("// Virtual machine \"" + escape_swift(vm_name) + "\", exported by vzkit.");
        raw("// Builds the same VZVirtualMachineConfiguration that vzkit uses; paths are those of the");
        raw("// host that exported it.");
        raw("func createVirtualMachineConfiguration() throws -> VZVirtualMachineConfiguration {");
        m_indent = 1;
        line("let configuration = VZVirtualMachineConfiguration()");
        if (cfg.cpu_count)
            line("configuration.cpuCount = " + std::to_string(*cfg.cpu_count));
        if (cfg.memory_size)
            line("configuration.memorySize = " + memory_expression(*cfg.memory_size));

        if (cfg.platform) {
            section();
            std::visit([&](const auto& platform) { emit_platform(platform); }, *cfg.platform);
            line("configuration.platform = platform");
        }
        if (cfg.boot_loader) {
            section();
            std::visit([&](const auto& loader) { emit_boot_loader(loader); }, *cfg.boot_loader);
            line("configuration.bootLoader = bootLoader");
        }

        devices("storageDevices", cfg.storage_devices, [&](const auto& d) { return emit_storage(d); });
        devices("networkDevices", cfg.network_devices, [&](const auto& d) { return emit_network(d); });
        devices("serialPorts", cfg.serial_ports, [&](const auto& d) { return emit_serial(d); });
        devices("consoleDevices", cfg.console_devices, [&](const auto& d) { return emit_console(d); });
        devices("directorySharingDevices", cfg.directory_sharing_devices,
                [&](const auto& d) { return emit_file_system(d); });
        devices("graphicsDevices", cfg.graphics_devices, [&](const auto& d) { return emit_graphics(d); });
        devices("keyboards", cfg.keyboards, [&](const auto& d) { return emit_simple(d, "keyboard"); });
        devices("pointingDevices", cfg.pointing_devices,
                [&](const auto& d) { return emit_simple(d, "pointingDevice"); });
        devices("audioDevices", cfg.audio_devices, [&](const auto& d) { return emit_sound(d); });
        devices("entropyDevices", cfg.entropy_devices, [&](const auto& d) { return emit_simple(d, "entropyDevice"); });
        devices("memoryBalloonDevices", cfg.memory_balloon_devices,
                [&](const auto& d) { return emit_simple(d, "memoryBalloonDevice"); });
        devices("socketDevices", cfg.socket_devices, [&](const auto& d) { return emit_simple(d, "socketDevice"); });
        devices("usbControllers", cfg.usb_controllers, [&](const auto& d) { return emit_usb_controller(d); });
        for (const auto& f : cfg.socket_forwards)
            line("// vzkit's runner connects the unix socket " + f.socket_path + " to vsock port " +
                 std::to_string(f.port) + " in the guest: socketDevices.first.connect(toPort: " +
                 std::to_string(f.port) + ") per client, once the VM runs");

        section();
        line("try configuration.validate()");
        line("return configuration");
        m_indent = 0;
        raw("}");
        return std::move(m_out);
    }

private:
    // ---- output

    void raw(std::string_view text)
    {
        m_out.append(text);
        m_out += '\n';
    }

    void line(std::string_view text)
    {
        m_out.append(static_cast<std::size_t>(m_indent) * 4, ' ');
        raw(text);
    }

    void section() { raw(""); }

    void origin_comment(const std::optional<vz::Origin>& origin)
    {
        if (origin)
            line("// From plugin \"" + escape_swift(origin->plugin) + "\", spec path " + escape_swift(origin->path));
    }

    // Emits every element of one configuration array, then assigns the array.
    template <class Device, class Emit>
    void devices(std::string_view property, const std::vector<Device>& list, Emit emit)
    {
        if (list.empty())
            return;
        section();
        std::vector<std::string> names;
        for (const auto& device : list) {
            origin_comment(vz::origin_of(device));
            names.push_back(std::visit([&](const auto& alternative) { return emit(alternative); }, device));
        }
        line("configuration." + std::string(property) + " = " + array_literal(names));
    }

    static std::string array_literal(const std::vector<std::string>& names)
    {
        std::string out = "[";
        for (std::size_t i = 0; i < names.size(); ++i)
            out += (i == 0 ? "" : ", ") + names[i];
        return out + "]";
    }

    // Binds a freshly named variable to `expression` and returns the name.
    std::string let(std::string_view base, const std::string& expression)
    {
        std::string name = m_namer.take(base);
        line("let " + name + " = " + expression);
        return name;
    }

    // Loads an opaque dataRepresentation object, failing the way Apple's samples do.
    void load_data_representation(std::string_view name, std::string_view swift_class, const std::string& path,
                                  std::string_view what)
    {
        line("guard let " + std::string(name) + " = " + std::string(swift_class) +
             "(dataRepresentation: try Data(contentsOf: " + file_url(path) + ")) else {");
        line("    fatalError(\"Failed to create the " + std::string(what) + ".\")");
        line("}");
    }

    // ---- platform and boot loader

    void emit_platform(const vz::GenericPlatform& platform)
    {
        origin_comment(platform.origin);
        line("let platform = VZGenericPlatformConfiguration()");
        if (platform.machine_identifier) {
            load_data_representation("machineIdentifier", "VZGenericMachineIdentifier", *platform.machine_identifier,
                                     "machine identifier");
            line("platform.machineIdentifier = machineIdentifier");
        }
        if (platform.nested_virtualization_enabled)
            line("platform.isNestedVirtualizationEnabled = " + swift_bool(*platform.nested_virtualization_enabled));
    }

    void emit_platform(const vz::MacPlatform& platform)
    {
        origin_comment(platform.origin);
        line("let platform = VZMacPlatformConfiguration()");
        load_data_representation("hardwareModel", "VZMacHardwareModel", platform.hardware_model, "hardware model");
        line("if !hardwareModel.isSupported {");
        line("    fatalError(\"The hardware model isn't supported on the current host.\")");
        line("}");
        line("platform.hardwareModel = hardwareModel");
        load_data_representation("machineIdentifier", "VZMacMachineIdentifier", platform.machine_identifier,
                                 "machine identifier");
        line("platform.machineIdentifier = machineIdentifier");
        const auto& storage = platform.auxiliary_storage;
        if (storage.create)
            line("platform.auxiliaryStorage = try VZMacAuxiliaryStorage(creatingStorageAt: " + file_url(storage.url) +
                 ", hardwareModel: hardwareModel, options: [])");
        else
            line("platform.auxiliaryStorage = VZMacAuxiliaryStorage(url: " + file_url(storage.url) + ")");
    }

    void emit_boot_loader(const vz::LinuxBootLoader& loader)
    {
        origin_comment(loader.origin);
        line("let bootLoader = VZLinuxBootLoader(kernelURL: " + file_url(loader.kernel_url) + ")");
        if (loader.initial_ramdisk_url)
            line("bootLoader.initialRamdiskURL = " + file_url(*loader.initial_ramdisk_url));
        if (!loader.command_line.empty())
            line("bootLoader.commandLine = " + swift_string(loader.command_line));
    }

    void emit_boot_loader(const vz::EFIBootLoader& loader)
    {
        origin_comment(loader.origin);
        line("let bootLoader = VZEFIBootLoader()");
        if (const auto& store = loader.variable_store) {
            if (store->create)
                line("bootLoader.variableStore = try VZEFIVariableStore(creatingVariableStoreAt: " + file_url(store->url) +
                     ")");
            else
                line("bootLoader.variableStore = VZEFIVariableStore(url: " + file_url(store->url) + ")");
        }
    }

    void emit_boot_loader(const vz::MacOSBootLoader& loader)
    {
        origin_comment(loader.origin);
        line("let bootLoader = VZMacOSBootLoader()");
    }

    // ---- storage

    std::string emit_attachment(const vz::StorageAttachment& attachment)
    {
        return std::visit(
            Overloaded{[&](const vz::DiskImageAttachment& disk) {
                return let("diskImageAttachment",
                           "try VZDiskImageStorageDeviceAttachment(url: " + file_url(disk.url) +
                               ", readOnly: " + swift_bool(disk.read_only) +
                               ", cachingMode: " + std::string(swift_case(disk.caching_mode)) +
                               ", synchronizationMode: " + std::string(swift_case(disk.synchronization_mode)) + ")");
            }},
            attachment);
    }

    std::string emit_storage(const vz::VirtioBlockDevice& device)
    {
        const std::string attachment = emit_attachment(device.attachment);
        const std::string name = let("blockDevice", "VZVirtioBlockDeviceConfiguration(attachment: " + attachment + ")");
        if (device.block_device_identifier)
            line(name + ".blockDeviceIdentifier = " + swift_string(*device.block_device_identifier));
        return name;
    }

    std::string emit_storage(const vz::USBMassStorageDevice& device)
    {
        const std::string attachment = emit_attachment(device.attachment);
        return let("usbMassStorageDevice", "VZUSBMassStorageDeviceConfiguration(attachment: " + attachment + ")");
    }

    std::string emit_storage(const vz::NVMExpressControllerDevice& device)
    {
        const std::string attachment = emit_attachment(device.attachment);
        return let("nvmeDevice", "VZNVMExpressControllerDeviceConfiguration(attachment: " + attachment + ")");
    }

    // ---- network

    std::string emit_network(const vz::VirtioNetworkDevice& device)
    {
        const std::string name = let("networkDevice", "VZVirtioNetworkDeviceConfiguration()");
        std::visit(Overloaded{
                       [&](const vz::NATNetworkAttachment&) {
                           line(name + ".attachment = VZNATNetworkDeviceAttachment()");
                       },
                       [&](const vz::FileHandleNetworkAttachment& attachment) {
                           line("// vzkit passes a connected datagram socket carrying raw Ethernet frames here.");
                           const std::string handle =
                               let("networkAttachment",
                                   "VZFileHandleNetworkDeviceAttachment(fileHandle: FileHandle.nullDevice)");
                           if (attachment.maximum_transmission_unit)
                               line(handle + ".maximumTransmissionUnit = " +
                                    std::to_string(*attachment.maximum_transmission_unit));
                           line(name + ".attachment = " + handle);
                       },
                   },
                   device.attachment);
        if (device.mac_address)
            line(name + ".macAddress = VZMACAddress(string: " + swift_string(*device.mac_address) + ")!");
        return name;
    }

    // ---- serial ports and consoles

    static std::string attachment_expression(const vz::FileSerialPortAttachment& attachment)
    {
        return "try VZFileSerialPortAttachment(url: " + file_url(attachment.url) +
               ", append: " + swift_bool(attachment.append) + ")";
    }

    static std::string attachment_expression(const vz::FileHandleSerialPortAttachment& attachment)
    {
        const std::string reading = attachment.reading == "stdin" ? "FileHandle.standardInput" : "nil";
        const std::string writing = attachment.writing == "stdout" ? "FileHandle.standardOutput" : "nil";
        return "VZFileHandleSerialPortAttachment(fileHandleForReading: " + reading +
               ", fileHandleForWriting: " + writing + ")";
    }

    std::string attachment_expression(const vz::SpiceAgentPortAttachment& attachment)
    {
        const std::string name = let("spiceAgentAttachment", "VZSpiceAgentPortAttachment()");
        line(name + ".sharesClipboard = " + swift_bool(attachment.shares_clipboard));
        return name;
    }

    std::string emit_serial(const vz::VirtioConsoleDeviceSerialPort& port)
    {
        const std::string name = let("serialPort", "VZVirtioConsoleDeviceSerialPortConfiguration()");
        if (port.attachment) {
            const std::string attachment =
                std::visit([&](const auto& a) { return attachment_expression(a); }, *port.attachment);
            line(name + ".attachment = " + attachment);
        }
        return name;
    }

    std::string emit_console(const vz::VirtioConsoleDevice& device)
    {
        const std::string name = let("consoleDevice", "VZVirtioConsoleDeviceConfiguration()");
        for (const auto& port : device.ports) {
            const std::string port_name = let("consolePort", "VZVirtioConsolePortConfiguration()");
            if (port.use_spice_agent_port_name)
                line(port_name + ".name = VZSpiceAgentPortAttachment.spiceAgentPortName");
            else if (port.name)
                line(port_name + ".name = " + swift_string(*port.name));
            if (port.is_console)
                line(port_name + ".isConsole = true");
            if (port.attachment) {
                const std::string attachment =
                    std::visit([&](const auto& a) { return attachment_expression(a); }, *port.attachment);
                line(port_name + ".attachment = " + attachment);
            }
            line(name + ".ports[" + std::to_string(port.index) + "] = " + port_name);
        }
        return name;
    }

    // ---- directory sharing

    static std::string shared_directory(const vz::SharedDirectory& directory)
    {
        return "VZSharedDirectory(url: " + file_url(directory.url) + ", readOnly: " + swift_bool(directory.read_only) +
               ")";
    }

    void emit_share(const std::string& device, const vz::SingleDirectoryShare& share)
    {
        line(device + ".share = VZSingleDirectoryShare(directory: " + shared_directory(share.directory) + ")");
    }

    void emit_share(const std::string& device, const vz::MultipleDirectoryShare& share)
    {
        if (share.directories.empty()) {
            line(device + ".share = VZMultipleDirectoryShare()");
            return;
        }
        line(device + ".share = VZMultipleDirectoryShare(directories: [");
        for (const auto& [directory_name, directory] : share.directories)
            line("    " + swift_string(directory_name) + ": " + shared_directory(directory) + ",");
        line("])");
    }

    void emit_share(const std::string& device, const vz::LinuxRosettaDirectoryShare& share)
    {
        const std::string name = let("rosettaShare", "try VZLinuxRosettaDirectoryShare()");
        if (share.caching) {
            std::visit(Overloaded{
                           [&](const vz::LinuxRosettaUnixSocketCachingOptions& options) {
                               line("try " + name + ".setCachingOptions(.unixSocket(" + swift_string(options.path) +
                                    "))");
                           },
                           [&](const vz::LinuxRosettaAbstractSocketCachingOptions& options) {
                               line("try " + name + ".setCachingOptions(.abstractSocket(" +
                                    swift_string(options.name) + "))");
                           },
                       },
                       *share.caching);
        }
        line(device + ".share = " + name);
    }

    std::string emit_file_system(const vz::VirtioFileSystemDevice& device)
    {
        const std::string tag = device.use_macos_guest_automount_tag
                                    ? "VZVirtioFileSystemDeviceConfiguration.macOSGuestAutomountTag"
                                    : swift_string(device.tag);
        const std::string name = let("fileSystemDevice", "VZVirtioFileSystemDeviceConfiguration(tag: " + tag + ")");
        if (device.share)
            std::visit([&](const auto& share) { emit_share(name, share); }, *device.share);
        return name;
    }

    // ---- graphics, input, sound

    std::string emit_graphics(const vz::VirtioGraphicsDevice& device)
    {
        const std::string name = let("graphicsDevice", "VZVirtioGraphicsDeviceConfiguration()");
        std::vector<std::string> scanouts;
        for (const auto& scanout : device.scanouts)
            scanouts.push_back("VZVirtioGraphicsScanoutConfiguration(widthInPixels: " +
                               std::to_string(scanout.width_in_pixels) +
                               ", heightInPixels: " + std::to_string(scanout.height_in_pixels) + ")");
        if (!scanouts.empty())
            line(name + ".scanouts = " + array_literal(scanouts));
        return name;
    }

    std::string emit_graphics(const vz::MacGraphicsDevice& device)
    {
        const std::string name = let("graphicsDevice", "VZMacGraphicsDeviceConfiguration()");
        std::vector<std::string> displays;
        for (const auto& display : device.displays)
            displays.push_back("VZMacGraphicsDisplayConfiguration(widthInPixels: " +
                               std::to_string(display.width_in_pixels) +
                               ", heightInPixels: " + std::to_string(display.height_in_pixels) +
                               ", pixelsPerInch: " + std::to_string(display.pixels_per_inch) + ")");
        if (!displays.empty())
            line(name + ".displays = " + array_literal(displays));
        return name;
    }

    // Devices without properties: a plain `let x = VZ...()`.
    template <class Device>
    std::string emit_simple(const Device&, std::string_view base)
    {
        return let(base, std::string(Device::class_name) + "()");
    }

    std::string emit_sound(const vz::VirtioSoundDevice& device)
    {
        const std::string name = let("soundDevice", "VZVirtioSoundDeviceConfiguration()");
        std::vector<std::string> streams;
        for (const auto& stream : device.streams) {
            std::visit(Overloaded{
                           [&](const vz::VirtioSoundInputStream& input) {
                               const std::string s = let("inputStream", "VZVirtioSoundDeviceInputStreamConfiguration()");
                               if (input.host_source)
                                   line(s + ".source = VZHostAudioInputStreamSource()");
                               streams.push_back(s);
                           },
                           [&](const vz::VirtioSoundOutputStream& output) {
                               const std::string s =
                                   let("outputStream", "VZVirtioSoundDeviceOutputStreamConfiguration()");
                               if (output.host_sink)
                                   line(s + ".sink = VZHostAudioOutputStreamSink()");
                               streams.push_back(s);
                           },
                       },
                       stream);
        }
        if (!streams.empty())
            line(name + ".streams = " + array_literal(streams));
        return name;
    }

    // ---- USB

    std::string emit_usb_controller(const vz::XHCIController& controller)
    {
        const std::string name = let("usbController", "VZXHCIControllerConfiguration()");
        std::vector<std::string> usb_devices;
        for (const auto& device : controller.usb_devices) {
            origin_comment(vz::origin_of(device));
            usb_devices.push_back(std::visit([&](const auto& d) { return emit_storage(d); }, device));
        }
        if (!usb_devices.empty())
            line(name + ".usbDevices = " + array_literal(usb_devices));
        return name;
    }

    Namer& m_namer;
    std::string m_out;
    int m_indent = 0;
};

} // namespace

std::string to_swift(const vz::Configuration& cfg, std::string_view vm_name)
{
    Namer counting(nullptr);
    SwiftExporter(counting).run(cfg, vm_name);
    Namer naming(&counting.used());
    return SwiftExporter(naming).run(cfg, vm_name);
}

} // namespace vzkit::kernel
