#include <vzkit/kernel/swift_export.hpp>
#include <vzkit/vz/configuration.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>

namespace {

namespace json = boost::json;
using namespace vzkit::vz;

Origin from(std::string plugin, std::string path)
{
    return Origin{std::move(plugin), std::move(path)};
}

DiskImageAttachment disk(std::string url)
{
    DiskImageAttachment attachment;
    attachment.url = std::move(url);
    return attachment;
}

// A generic-platform configuration that uses every class the model has except the Mac platform,
// the Linux and macOS boot loaders (see mac_configuration / linux_configuration).
Configuration full_configuration()
{
    Configuration cfg;
    cfg.cpu_count = 4;
    cfg.memory_size = 8ull << 30;

    GenericPlatform platform;
    platform.machine_identifier = "/vm/machine-id.bin";
    platform.nested_virtualization_enabled = true;
    platform.origin = from("generic-platform", "platform");
    cfg.platform = platform;

    EFIBootLoader efi;
    efi.variable_store = EFIVariableStore{"/vm/efi-vars.bin", true};
    efi.origin = from("efi", "boot");
    cfg.boot_loader = efi;

    DiskImageAttachment tuned = disk("/vm/data.img");
    tuned.read_only = true;
    tuned.caching_mode = CachingMode::cached;
    tuned.synchronization_mode = SynchronizationMode::fsync;
    VirtioBlockDevice block;
    block.attachment = tuned;
    block.block_device_identifier = "data";
    block.origin = from("virtio-blk", "devices[0]");
    cfg.storage_devices.push_back(block);
    cfg.storage_devices.push_back(USBMassStorageDevice{disk("/vm/installer.iso"), from("usb-storage", "devices[1]")});
    DiskImageAttachment uncached = disk("/vm/nvme.img");
    uncached.caching_mode = CachingMode::uncached;
    uncached.synchronization_mode = SynchronizationMode::none;
    cfg.storage_devices.push_back(NVMExpressControllerDevice{uncached, std::nullopt});

    cfg.network_devices.push_back(VirtioNetworkDevice{"52:54:00:12:34:56", NATNetworkAttachment{}, from("net", "net[0]")});
    cfg.network_devices.push_back(VirtioNetworkDevice{std::nullopt, FileHandleNetworkAttachment{9000}, std::nullopt});

    cfg.serial_ports.push_back(VirtioConsoleDeviceSerialPort{FileHandleSerialPortAttachment{}, from("console", "serial")});
    cfg.serial_ports.push_back(VirtioConsoleDeviceSerialPort{FileSerialPortAttachment{"/vm/serial.log", true}, {}});
    cfg.serial_ports.push_back(VirtioConsoleDeviceSerialPort{});

    cfg.entropy_devices.push_back(VirtioEntropyDevice{from("rng", "rng")});
    cfg.memory_balloon_devices.push_back(VirtioTraditionalMemoryBalloonDevice{});
    cfg.socket_devices.push_back(VirtioSocketDevice{});

    VirtioFileSystemDevice single;
    single.tag = "home";
    single.share = SingleDirectoryShare{SharedDirectory{"/Users/me", false}};
    cfg.directory_sharing_devices.push_back(single);
    VirtioFileSystemDevice multiple;
    multiple.tag = macos_guest_automount_tag;
    multiple.use_macos_guest_automount_tag = true;
    multiple.share = MultipleDirectoryShare{{{"docs", {"/Users/me/Documents", true}}, {"src", {"/src", false}}}};
    cfg.directory_sharing_devices.push_back(multiple);
    VirtioFileSystemDevice rosetta_unix;
    rosetta_unix.tag = "rosetta";
    rosetta_unix.share = LinuxRosettaDirectoryShare{LinuxRosettaUnixSocketCachingOptions{"/run/rosettad/rosetta.sock"}};
    cfg.directory_sharing_devices.push_back(rosetta_unix);
    VirtioFileSystemDevice rosetta_abstract;
    rosetta_abstract.tag = "rosetta2";
    rosetta_abstract.share = LinuxRosettaDirectoryShare{LinuxRosettaAbstractSocketCachingOptions{"rosettad"}};
    cfg.directory_sharing_devices.push_back(rosetta_abstract);
    VirtioFileSystemDevice rosetta_plain;
    rosetta_plain.tag = "rosetta3";
    rosetta_plain.share = LinuxRosettaDirectoryShare{};
    cfg.directory_sharing_devices.push_back(rosetta_plain);
    VirtioFileSystemDevice unshared;
    unshared.tag = "empty";
    cfg.directory_sharing_devices.push_back(unshared);

    cfg.graphics_devices.push_back(VirtioGraphicsDevice{{VirtioGraphicsScanout{1280, 720}}, from("gpu", "display")});
    cfg.graphics_devices.push_back(MacGraphicsDevice{{MacGraphicsDisplay{1920, 1200, 80}}, {}});

    cfg.keyboards = {USBKeyboard{}, MacKeyboard{from("input", "keyboard")}};
    cfg.pointing_devices = {USBScreenCoordinatePointingDevice{}, MacTrackpad{}};

    cfg.audio_devices.push_back(
        VirtioSoundDevice{{VirtioSoundInputStream{true}, VirtioSoundOutputStream{true}, VirtioSoundOutputStream{}}, {}});

    VirtioConsoleDevice console;
    VirtioConsolePort spice;
    spice.index = 0;
    spice.use_spice_agent_port_name = true;
    spice.attachment = SpiceAgentPortAttachment{false};
    VirtioConsolePort named;
    named.index = 1;
    named.name = "org.example.log";
    named.is_console = true;
    named.attachment = FileSerialPortAttachment{"/vm/port1.log", false};
    VirtioConsolePort handles;
    handles.index = 2;
    handles.attachment = FileHandleSerialPortAttachment{"none", "stdout"};
    console.ports = {spice, named, handles};
    console.origin = from("clipboard", "clipboard");
    cfg.console_devices.push_back(console);

    cfg.usb_controllers.push_back(
        XHCIController{{USBMassStorageDevice{disk("/vm/usb.img"), from("usb", "usb[0]")}}, from("usb", "usb")});
    return cfg;
}

Configuration mac_configuration()
{
    Configuration cfg;
    cfg.cpu_count = 4;
    cfg.memory_size = 1536ull << 20;
    cfg.platform = MacPlatform{"/vm/hardware-model.bin", "/vm/machine-id.bin", MacAuxiliaryStorage{"/vm/aux.img", true},
                               from("macos", "platform")};
    cfg.boot_loader = MacOSBootLoader{from("macos", "boot")};
    cfg.storage_devices.push_back(VirtioBlockDevice{disk("/vm/disk.img"), std::nullopt, from("disk", "disks[0]")});
    cfg.graphics_devices.push_back(MacGraphicsDevice{{MacGraphicsDisplay{1920, 1200, 80}}, {}});
    cfg.keyboards = {USBKeyboard{}, MacKeyboard{}};
    cfg.pointing_devices = {USBScreenCoordinatePointingDevice{}, MacTrackpad{}};
    VirtioFileSystemDevice share;
    share.tag = macos_guest_automount_tag;
    share.use_macos_guest_automount_tag = true;
    share.share = SingleDirectoryShare{SharedDirectory{"/Users/me/Shared", true}};
    cfg.directory_sharing_devices.push_back(share);
    cfg.network_devices.push_back(VirtioNetworkDevice{std::nullopt, NATNetworkAttachment{}, std::nullopt});
    return cfg;
}

Configuration linux_configuration()
{
    Configuration cfg;
    cfg.cpu_count = 2;
    cfg.memory_size = 4ull << 30;
    cfg.platform = GenericPlatform{};
    cfg.boot_loader = LinuxBootLoader{"/vm/Image", "/vm/initrd", "console=hvc0 root=/dev/vda", from("kernel", "boot")};
    cfg.storage_devices.push_back(VirtioBlockDevice{disk("/vm/root.img"), std::nullopt, std::nullopt});
    cfg.serial_ports.push_back(VirtioConsoleDeviceSerialPort{FileHandleSerialPortAttachment{}, std::nullopt});
    return cfg;
}

Configuration round_trip(const Configuration& cfg)
{
    const std::string text = json::serialize(json::value_from(cfg));
    return json::value_to<Configuration>(json::parse(text));
}

void collect_classes(const json::value& jv, std::set<std::string>& out)
{
    if (jv.is_object()) {
        for (const auto& entry : jv.get_object()) {
            if (entry.key() == "class" && entry.value().is_string())
                out.insert(std::string(entry.value().get_string()));
            collect_classes(entry.value(), out);
        }
    } else if (jv.is_array()) {
        for (const auto& element : jv.get_array())
            collect_classes(element, out);
    }
}

// Parses `text` as a Configuration and returns the error message (fails if parsing succeeds).
std::string parse_error(std::string_view text)
{
    try {
        (void)json::value_to<Configuration>(json::parse(text));
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    ADD_FAILURE() << "parsing succeeded: " << text;
    return {};
}

bool contains(const std::string& haystack, std::string_view needle)
{
    return haystack.find(needle) != std::string::npos;
}

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_TRUE(contains((haystack), (needle))) << "missing: " << (needle) << "\nin:\n" << (haystack)

// ---- JSON round trip

TEST(VzModel, FullConfigurationRoundTrips)
{
    for (const Configuration& cfg : {full_configuration(), mac_configuration(), linux_configuration(), Configuration{}})
        EXPECT_EQ(round_trip(cfg), cfg);
}

TEST(VzModel, JsonCarriesEveryClassName)
{
    std::set<std::string> seen;
    for (const Configuration& cfg : {full_configuration(), mac_configuration(), linux_configuration()})
        collect_classes(json::value_from(cfg), seen);
    const std::set<std::string> expected = {
        "VZGenericPlatformConfiguration",
        "VZMacPlatformConfiguration",
        "VZMacAuxiliaryStorage",
        "VZLinuxBootLoader",
        "VZEFIBootLoader",
        "VZEFIVariableStore",
        "VZMacOSBootLoader",
        "VZDiskImageStorageDeviceAttachment",
        "VZVirtioBlockDeviceConfiguration",
        "VZUSBMassStorageDeviceConfiguration",
        "VZNVMExpressControllerDeviceConfiguration",
        "VZVirtioNetworkDeviceConfiguration",
        "VZNATNetworkDeviceAttachment",
        "VZFileHandleNetworkDeviceAttachment",
        "VZVirtioConsoleDeviceSerialPortConfiguration",
        "VZFileSerialPortAttachment",
        "VZFileHandleSerialPortAttachment",
        "VZVirtioEntropyDeviceConfiguration",
        "VZVirtioTraditionalMemoryBalloonDeviceConfiguration",
        "VZVirtioSocketDeviceConfiguration",
        "VZVirtioFileSystemDeviceConfiguration",
        "VZSharedDirectory",
        "VZSingleDirectoryShare",
        "VZMultipleDirectoryShare",
        "VZLinuxRosettaDirectoryShare",
        "VZLinuxRosettaUnixSocketCachingOptions",
        "VZLinuxRosettaAbstractSocketCachingOptions",
        "VZVirtioGraphicsDeviceConfiguration",
        "VZVirtioGraphicsScanoutConfiguration",
        "VZMacGraphicsDeviceConfiguration",
        "VZMacGraphicsDisplayConfiguration",
        "VZUSBKeyboardConfiguration",
        "VZMacKeyboardConfiguration",
        "VZUSBScreenCoordinatePointingDeviceConfiguration",
        "VZMacTrackpadConfiguration",
        "VZVirtioSoundDeviceConfiguration",
        "VZVirtioSoundDeviceInputStreamConfiguration",
        "VZVirtioSoundDeviceOutputStreamConfiguration",
        "VZVirtioConsoleDeviceConfiguration",
        "VZVirtioConsolePortConfiguration",
        "VZSpiceAgentPortAttachment",
        "VZXHCIControllerConfiguration",
    };
    EXPECT_EQ(seen, expected);
}

TEST(VzModel, JsonLayoutOfADisk)
{
    Configuration cfg;
    cfg.storage_devices.push_back(
        VirtioBlockDevice{disk("/vm/disk.img"), "boot", from("virtio-blk", "devices[2]")});
    const json::value expected = json::parse(R"({
        "storage_devices": [{
            "class": "VZVirtioBlockDeviceConfiguration",
            "attachment": {
                "class": "VZDiskImageStorageDeviceAttachment",
                "url": "/vm/disk.img",
                "read_only": false,
                "caching_mode": "automatic",
                "synchronization_mode": "full"
            },
            "block_device_identifier": "boot",
            "origin": {"plugin": "virtio-blk", "path": "devices[2]"}
        }]
    })");
    EXPECT_EQ(json::value_from(cfg), expected);
}

TEST(VzModel, UnsetOptionalsAndEmptyArraysAreOmitted)
{
    EXPECT_EQ(json::value_from(Configuration{}), json::object{});

    Configuration cfg;
    cfg.storage_devices.push_back(VirtioBlockDevice{disk("/d.img"), std::nullopt, std::nullopt});
    cfg.boot_loader = EFIBootLoader{};
    cfg.graphics_devices.push_back(VirtioGraphicsDevice{});
    cfg.serial_ports.push_back(VirtioConsoleDeviceSerialPort{});
    const json::object jv = json::value_from(cfg).as_object();

    EXPECT_FALSE(jv.contains("cpu_count"));
    EXPECT_FALSE(jv.contains("memory_size"));
    EXPECT_FALSE(jv.contains("platform"));
    EXPECT_FALSE(jv.contains("network_devices"));
    EXPECT_FALSE(jv.contains("usb_controllers"));
    EXPECT_EQ(jv.at("boot_loader"), json::parse(R"({"class": "VZEFIBootLoader"})"));
    EXPECT_EQ(jv.at("graphics_devices"), json::parse(R"([{"class": "VZVirtioGraphicsDeviceConfiguration"}])"));
    EXPECT_EQ(jv.at("serial_ports"), json::parse(R"([{"class": "VZVirtioConsoleDeviceSerialPortConfiguration"}])"));
    const json::object& block = jv.at("storage_devices").as_array().at(0).as_object();
    EXPECT_FALSE(block.contains("block_device_identifier"));
    EXPECT_FALSE(block.contains("origin"));
    // Non-optional members are always written, even at their default.
    EXPECT_EQ(block.at("attachment").at("read_only"), json::value(false));
}

TEST(VzModel, MissingKeysTakeTheirDefault)
{
    const auto cfg = json::value_to<Configuration>(json::parse(R"({
        "storage_devices": [{"class": "VZVirtioBlockDeviceConfiguration",
                             "attachment": {"class": "VZDiskImageStorageDeviceAttachment", "url": "/d.img"}}],
        "console_devices": [{"class": "VZVirtioConsoleDeviceConfiguration",
                             "ports": [{"index": 3, "attachment": {"class": "VZSpiceAgentPortAttachment"}}]}],
        "directory_sharing_devices": [{"class": "VZVirtioFileSystemDeviceConfiguration", "tag": "t",
                                       "share": {"directory": {"url": "/x"}, "class": "VZSingleDirectoryShare"}}]
    })"));
    const auto& block = std::get<VirtioBlockDevice>(cfg.storage_devices.at(0));
    EXPECT_EQ(std::get<DiskImageAttachment>(block.attachment), disk("/d.img"));
    EXPECT_FALSE(block.block_device_identifier);
    const auto& port = std::get<VirtioConsoleDevice>(cfg.console_devices.at(0)).ports.at(0);
    EXPECT_EQ(port.index, 3u);
    EXPECT_FALSE(port.is_console);
    EXPECT_TRUE(std::get<SpiceAgentPortAttachment>(*port.attachment).shares_clipboard);
    const auto& fs = std::get<VirtioFileSystemDevice>(cfg.directory_sharing_devices.at(0));
    EXPECT_EQ(std::get<SingleDirectoryShare>(*fs.share).directory, (SharedDirectory{"/x", false}));
}

// ---- JSON errors

TEST(VzModel, UnknownKeyIsRejectedWithKeyClassAndPath)
{
    const std::string message = parse_error(R"({"storage_devices": [{
        "class": "VZVirtioBlockDeviceConfiguration",
        "attachment": {"class": "VZDiskImageStorageDeviceAttachment", "url": "/d.img"},
        "bootable": true}]})");
    EXPECT_CONTAINS(message, "unknown key 'bootable' in VZVirtioBlockDeviceConfiguration");
    EXPECT_CONTAINS(message, "storage_devices[0]");

    EXPECT_CONTAINS(parse_error(R"({"cpus": 2})"), "unknown key 'cpus' in VZVirtualMachineConfiguration");
    EXPECT_CONTAINS(parse_error(R"({"boot_loader": {"class": "VZMacOSBootLoader", "origin": {"plugin": "p", "path": "q", "x": 1}}})"),
                    "boot_loader.origin: unknown key 'x' in origin");
}

TEST(VzModel, BadClassIsRejectedNamingValueAndAlternatives)
{
    const std::string message = parse_error(R"({"storage_devices": [{"class": "VZVirtioDiskConfiguration"}]})");
    EXPECT_CONTAINS(message, "storage_devices[0].class");
    EXPECT_CONTAINS(message, "'VZVirtioDiskConfiguration'");
    EXPECT_CONTAINS(message, "VZVirtioBlockDeviceConfiguration, VZUSBMassStorageDeviceConfiguration, "
                             "VZNVMExpressControllerDeviceConfiguration");

    // A class that exists but does not fit the slot.
    EXPECT_CONTAINS(parse_error(R"({"keyboards": [{"class": "VZMacTrackpadConfiguration"}]})"),
                    "unknown class 'VZMacTrackpadConfiguration'");
    // Fixed-type members may omit "class" but must not contradict it.
    EXPECT_CONTAINS(parse_error(R"({"boot_loader": {"class": "VZEFIBootLoader",
                                   "variable_store": {"class": "VZMacAuxiliaryStorage", "url": "/v"}}})"),
                    "boot_loader.variable_store.class: unknown class 'VZMacAuxiliaryStorage'; expected VZEFIVariableStore");
    EXPECT_CONTAINS(parse_error(R"({"platform": {}})"), "platform: missing key 'class'");
    EXPECT_CONTAINS(parse_error(R"({"platform": {"class": 7}})"), "platform.class: expected string, got integer");
}

TEST(VzModel, WrongTypesAndValuesAreRejectedWithTheKey)
{
    EXPECT_CONTAINS(parse_error(R"({"cpu_count": "2"})"), "cpu_count: expected integer, got string");
    EXPECT_CONTAINS(parse_error(R"({"cpu_count": -1})"), "cpu_count: integer -1 out of range");
    EXPECT_CONTAINS(parse_error(R"({"memory_size": 1.5})"), "memory_size: expected integer, got number");
    EXPECT_CONTAINS(parse_error(R"({"keyboards": {}})"), "keyboards: expected array, got object");
    EXPECT_CONTAINS(parse_error(R"({"storage_devices": [{"class": "VZUSBMassStorageDeviceConfiguration",
                                   "attachment": {"class": "VZDiskImageStorageDeviceAttachment", "url": "/d",
                                                  "read_only": "yes"}}]})"),
                    "storage_devices[0].attachment.read_only: expected boolean, got string");
    EXPECT_CONTAINS(parse_error(R"({"storage_devices": [{"class": "VZUSBMassStorageDeviceConfiguration",
                                   "attachment": {"class": "VZDiskImageStorageDeviceAttachment", "url": "/d",
                                                  "caching_mode": "fast"}}]})"),
                    "caching_mode: unknown value 'fast'; expected one of automatic, uncached, cached");
    EXPECT_CONTAINS(parse_error(R"({"storage_devices": [{"class": "VZUSBMassStorageDeviceConfiguration",
                                   "attachment": {"class": "VZDiskImageStorageDeviceAttachment"}}]})"),
                    "storage_devices[0].attachment: missing key 'url' in VZDiskImageStorageDeviceAttachment");
    EXPECT_CONTAINS(parse_error(R"({"serial_ports": [{"class": "VZVirtioConsoleDeviceSerialPortConfiguration",
                                   "attachment": {"class": "VZFileHandleSerialPortAttachment",
                                                  "reading": "stdout", "writing": "stdout"}}]})"),
                    "serial_ports[0].attachment.reading: unknown handle 'stdout'");
    EXPECT_CONTAINS(parse_error(R"({"directory_sharing_devices": [{"class": "VZVirtioFileSystemDeviceConfiguration",
                                   "tag": "t", "share": {"class": "VZMultipleDirectoryShare",
                                   "directories": {"docs": {"url": 1}}}}]})"),
                    "directory_sharing_devices[0].share.directories[\"docs\"].url: expected string, got integer");
    EXPECT_CONTAINS(parse_error(R"([1, 2])"), "expected object");
}

TEST(VzModel, ParseErrorExposesPathAndReason)
{
    try {
        (void)json::value_to<Configuration>(json::parse(R"({"graphics_devices": [{"class":
            "VZVirtioGraphicsDeviceConfiguration", "scanouts": [{"width_in_pixels": 10}]}]})"));
        FAIL() << "expected ParseError";
    } catch (const ParseError& e) {
        EXPECT_EQ(e.path(), "graphics_devices[0].scanouts[0]");
        EXPECT_EQ(e.reason(), "missing key 'height_in_pixels' in VZVirtioGraphicsScanoutConfiguration");
    }
}

TEST(VzModel, ClassNameAndOriginHelpers)
{
    const StorageDevice device = USBMassStorageDevice{disk("/d"), from("usb", "devices[1]")};
    EXPECT_EQ(class_name_of(device), "VZUSBMassStorageDeviceConfiguration");
    EXPECT_EQ(class_name_of(DiskImageAttachment{}), "VZDiskImageStorageDeviceAttachment");
    EXPECT_EQ(VirtioBlockDevice::class_name, "VZVirtioBlockDeviceConfiguration");
    EXPECT_EQ(origin_of(device), from("usb", "devices[1]"));

    Platform platform = GenericPlatform{};
    origin_of(platform) = from("kernel", "platform");
    EXPECT_EQ(std::get<GenericPlatform>(platform).origin, from("kernel", "platform"));
    EXPECT_EQ(to_string(SynchronizationMode::fsync), "fsync");
    EXPECT_EQ(enum_from_string<CachingMode>("uncached"), CachingMode::uncached);
}

// ---- Swift export

TEST(VzModel, SwiftForLinuxEfi)
{
    Configuration cfg;
    cfg.cpu_count = 2;
    cfg.memory_size = 4ull << 30;
    GenericPlatform platform;
    platform.machine_identifier = "/vm/machine-id.bin";
    cfg.platform = platform;
    cfg.boot_loader = EFIBootLoader{EFIVariableStore{"/vm/efi-vars.bin", true}, from("efi", "boot")};
    cfg.storage_devices.push_back(VirtioBlockDevice{disk("/vm/root.img"), "root", from("virtio-blk", "devices[0]")});
    cfg.storage_devices.push_back(VirtioBlockDevice{disk("/vm/data.img"), std::nullopt, std::nullopt});
    cfg.network_devices.push_back(VirtioNetworkDevice{"52:54:00:aa:bb:cc", NATNetworkAttachment{}, std::nullopt});
    cfg.serial_ports.push_back(VirtioConsoleDeviceSerialPort{FileHandleSerialPortAttachment{}, std::nullopt});
    cfg.graphics_devices.push_back(VirtioGraphicsDevice{{VirtioGraphicsScanout{1280, 800}}, std::nullopt});
    cfg.entropy_devices.push_back(VirtioEntropyDevice{});
    VirtioFileSystemDevice rosetta;
    rosetta.tag = "rosetta";
    rosetta.share = LinuxRosettaDirectoryShare{LinuxRosettaUnixSocketCachingOptions{"/run/rosettad/rosetta.sock"}};
    cfg.directory_sharing_devices.push_back(rosetta);
    VirtioConsoleDevice console;
    VirtioConsolePort port;
    port.use_spice_agent_port_name = true;
    port.attachment = SpiceAgentPortAttachment{};
    console.ports.push_back(port);
    cfg.console_devices.push_back(console);

    const std::string swift = vzkit::kernel::to_swift(cfg, "debian");
    EXPECT_EQ(swift.rfind("import Foundation\nimport Virtualization\n", 0), 0u) << swift;
    EXPECT_CONTAINS(swift, "func createVirtualMachineConfiguration() throws -> VZVirtualMachineConfiguration {\n");
    EXPECT_CONTAINS(swift, "    let configuration = VZVirtualMachineConfiguration()\n");
    EXPECT_CONTAINS(swift, "    configuration.cpuCount = 2\n");
    EXPECT_CONTAINS(swift, "    configuration.memorySize = 4 * 1024 * 1024 * 1024\n");
    EXPECT_CONTAINS(swift, "let platform = VZGenericPlatformConfiguration()");
    EXPECT_CONTAINS(swift, "VZGenericMachineIdentifier(dataRepresentation: try Data(contentsOf: "
                           "URL(fileURLWithPath: \"/vm/machine-id.bin\")))");
    EXPECT_CONTAINS(swift, "configuration.platform = platform\n");
    EXPECT_CONTAINS(swift, "    // From plugin \"efi\", spec path boot\n    let bootLoader = VZEFIBootLoader()\n");
    EXPECT_CONTAINS(swift, "bootLoader.variableStore = try VZEFIVariableStore(creatingVariableStoreAt: "
                           "URL(fileURLWithPath: \"/vm/efi-vars.bin\"))");
    EXPECT_CONTAINS(swift, "configuration.bootLoader = bootLoader\n");
    EXPECT_CONTAINS(swift, "    // From plugin \"virtio-blk\", spec path devices[0]\n"
                           "    let diskImageAttachment0 = try VZDiskImageStorageDeviceAttachment(url: "
                           "URL(fileURLWithPath: \"/vm/root.img\"), readOnly: false, cachingMode: .automatic, "
                           "synchronizationMode: .full)\n");
    EXPECT_CONTAINS(swift, "let blockDevice0 = VZVirtioBlockDeviceConfiguration(attachment: diskImageAttachment0)");
    EXPECT_CONTAINS(swift, "blockDevice0.blockDeviceIdentifier = \"root\"");
    EXPECT_CONTAINS(swift, "configuration.storageDevices = [blockDevice0, blockDevice1]");
    EXPECT_CONTAINS(swift, "let networkDevice = VZVirtioNetworkDeviceConfiguration()");
    EXPECT_CONTAINS(swift, "networkDevice.attachment = VZNATNetworkDeviceAttachment()");
    EXPECT_CONTAINS(swift, "networkDevice.macAddress = VZMACAddress(string: \"52:54:00:aa:bb:cc\")!");
    EXPECT_CONTAINS(swift, "configuration.networkDevices = [networkDevice]");
    EXPECT_CONTAINS(swift, "serialPort.attachment = VZFileHandleSerialPortAttachment(fileHandleForReading: "
                           "FileHandle.standardInput, fileHandleForWriting: FileHandle.standardOutput)");
    EXPECT_CONTAINS(swift, "configuration.serialPorts = [serialPort]");
    EXPECT_CONTAINS(swift, "graphicsDevice.scanouts = [VZVirtioGraphicsScanoutConfiguration(widthInPixels: 1280, "
                           "heightInPixels: 800)]");
    EXPECT_CONTAINS(swift, "let entropyDevice = VZVirtioEntropyDeviceConfiguration()");
    EXPECT_CONTAINS(swift, "let fileSystemDevice = VZVirtioFileSystemDeviceConfiguration(tag: \"rosetta\")");
    EXPECT_CONTAINS(swift, "let rosettaShare = try VZLinuxRosettaDirectoryShare()");
    EXPECT_CONTAINS(swift, "try rosettaShare.setCachingOptions(.unixSocket(\"/run/rosettad/rosetta.sock\"))");
    EXPECT_CONTAINS(swift, "consolePort.name = VZSpiceAgentPortAttachment.spiceAgentPortName");
    EXPECT_CONTAINS(swift, "spiceAgentAttachment.sharesClipboard = true");
    EXPECT_CONTAINS(swift, "consoleDevice.ports[0] = consolePort");
    EXPECT_CONTAINS(swift, "configuration.consoleDevices = [consoleDevice]");
    EXPECT_CONTAINS(swift, "    try configuration.validate()\n    return configuration\n}\n");
    for (char c : swift)
        ASSERT_LT(static_cast<unsigned char>(c), 0x80) << "non-ASCII output";
}

TEST(VzModel, SwiftForMacOS)
{
    const std::string swift = vzkit::kernel::to_swift(mac_configuration(), "macOS");
    EXPECT_CONTAINS(swift, "configuration.cpuCount = 4\n");
    EXPECT_CONTAINS(swift, "configuration.memorySize = 1536 * 1024 * 1024\n");
    EXPECT_CONTAINS(swift, "let platform = VZMacPlatformConfiguration()");
    EXPECT_CONTAINS(swift, "guard let hardwareModel = VZMacHardwareModel(dataRepresentation: try Data(contentsOf: "
                           "URL(fileURLWithPath: \"/vm/hardware-model.bin\"))) else {");
    EXPECT_CONTAINS(swift, "if !hardwareModel.isSupported {");
    EXPECT_CONTAINS(swift, "VZMacMachineIdentifier(dataRepresentation: try Data(contentsOf: "
                           "URL(fileURLWithPath: \"/vm/machine-id.bin\")))");
    EXPECT_CONTAINS(swift, "platform.auxiliaryStorage = try VZMacAuxiliaryStorage(creatingStorageAt: "
                           "URL(fileURLWithPath: \"/vm/aux.img\"), hardwareModel: hardwareModel, options: [])");
    EXPECT_CONTAINS(swift, "let bootLoader = VZMacOSBootLoader()");
    EXPECT_CONTAINS(swift, "graphicsDevice.displays = [VZMacGraphicsDisplayConfiguration(widthInPixels: 1920, "
                           "heightInPixels: 1200, pixelsPerInch: 80)]");
    EXPECT_CONTAINS(swift, "configuration.keyboards = [keyboard0, keyboard1]");
    EXPECT_CONTAINS(swift, "let keyboard1 = VZMacKeyboardConfiguration()");
    EXPECT_CONTAINS(swift, "let pointingDevice1 = VZMacTrackpadConfiguration()");
    EXPECT_CONTAINS(swift, "VZVirtioFileSystemDeviceConfiguration(tag: "
                           "VZVirtioFileSystemDeviceConfiguration.macOSGuestAutomountTag)");
    EXPECT_CONTAINS(swift, "fileSystemDevice.share = VZSingleDirectoryShare(directory: VZSharedDirectory(url: "
                           "URL(fileURLWithPath: \"/Users/me/Shared\"), readOnly: true))");

    MacPlatform existing = std::get<MacPlatform>(*mac_configuration().platform);
    existing.auxiliary_storage.create = false;
    Configuration cfg;
    cfg.platform = existing;
    cfg.memory_size = 3000000;
    const std::string reopened = vzkit::kernel::to_swift(cfg, "m");
    EXPECT_CONTAINS(reopened, "platform.auxiliaryStorage = VZMacAuxiliaryStorage(url: "
                              "URL(fileURLWithPath: \"/vm/aux.img\"))");
    EXPECT_CONTAINS(reopened, "configuration.memorySize = 3000000\n");
}

TEST(VzModel, SwiftForEveryClass)
{
    const std::string swift = vzkit::kernel::to_swift(full_configuration(), "everything");
    for (const char* property : {"storageDevices", "networkDevices", "serialPorts", "entropyDevices",
                                 "memoryBalloonDevices", "socketDevices", "directorySharingDevices", "graphicsDevices",
                                 "keyboards", "pointingDevices", "audioDevices", "consoleDevices", "usbControllers"})
        EXPECT_CONTAINS(swift, std::string("configuration.") + property + " = [");
    EXPECT_CONTAINS(swift, "platform.isNestedVirtualizationEnabled = true");
    EXPECT_CONTAINS(swift, "readOnly: true, cachingMode: .cached, synchronizationMode: .fsync)");
    EXPECT_CONTAINS(swift, "cachingMode: .uncached, synchronizationMode: .none)");
    EXPECT_CONTAINS(swift, "VZUSBMassStorageDeviceConfiguration(attachment: ");
    EXPECT_CONTAINS(swift, "VZNVMExpressControllerDeviceConfiguration(attachment: ");
    EXPECT_CONTAINS(swift, "VZFileHandleNetworkDeviceAttachment(fileHandle: ");
    EXPECT_CONTAINS(swift, ".maximumTransmissionUnit = 9000");
    EXPECT_CONTAINS(swift, "try VZFileSerialPortAttachment(url: URL(fileURLWithPath: \"/vm/serial.log\"), append: true)");
    EXPECT_CONTAINS(swift, "\"docs\": VZSharedDirectory(url: URL(fileURLWithPath: \"/Users/me/Documents\"), readOnly: true),");
    EXPECT_CONTAINS(swift, ".setCachingOptions(.abstractSocket(\"rosettad\"))");
    EXPECT_CONTAINS(swift, ".source = VZHostAudioInputStreamSource()");
    EXPECT_CONTAINS(swift, ".sink = VZHostAudioOutputStreamSink()");
    EXPECT_CONTAINS(swift, "spiceAgentAttachment.sharesClipboard = false");
    EXPECT_CONTAINS(swift, ".name = \"org.example.log\"");
    EXPECT_CONTAINS(swift, ".isConsole = true");
    EXPECT_CONTAINS(swift, "VZFileHandleSerialPortAttachment(fileHandleForReading: nil, fileHandleForWriting: "
                           "FileHandle.standardOutput)");
    EXPECT_CONTAINS(swift, "consoleDevice.ports[2] = consolePort2");
    EXPECT_CONTAINS(swift, "let usbController = VZXHCIControllerConfiguration()");
    EXPECT_CONTAINS(swift, "usbController.usbDevices = [usbMassStorageDevice1]");
    EXPECT_CONTAINS(swift, "configuration.storageDevices = [blockDevice, usbMassStorageDevice0, nvmeDevice]");
}

TEST(VzModel, SwiftStringsAreEscaped)
{
    Configuration cfg;
    cfg.boot_loader = LinuxBootLoader{"/vm/a \"quoted\" \\dir\\/Image", std::nullopt,
                                      "console=hvc0\n\t\x01 \\(injected) caf\xC3\xA9 \xFF\xE2\x80\xAE", std::nullopt};
    VirtioFileSystemDevice fs;
    fs.tag = "tag\"";
    cfg.directory_sharing_devices.push_back(fs);
    cfg.entropy_devices.push_back(VirtioEntropyDevice{from("evil\nplugin", "devices[0]\r// x")});
    const std::string swift = vzkit::kernel::to_swift(cfg, "name \"with\" quotes\n");

    EXPECT_CONTAINS(swift, "VZLinuxBootLoader(kernelURL: URL(fileURLWithPath: \"/vm/a \\\"quoted\\\" \\\\dir\\\\/Image\"))");
    EXPECT_CONTAINS(swift, "bootLoader.commandLine = \"console=hvc0\\n\\t\\u{1} \\\\(injected) caf\xC3\xA9 "
                           "\\u{FFFD}\\u{202E}\"\n");
    EXPECT_CONTAINS(swift, "VZVirtioFileSystemDeviceConfiguration(tag: \"tag\\\"\")");
    EXPECT_CONTAINS(swift, "    // From plugin \"evil\\nplugin\", spec path devices[0]\\r// x\n");
    EXPECT_CONTAINS(swift, "// Virtual machine \"name \\\"with\\\" quotes\\n\", exported by vzkit.\n");
}

} // namespace
