// The Mac platform, Mac graphics, trackpad, keyboard and pointing plugins: schema examples,
// golden plans per engine, and one spec per rule that must be refused.
#include "test_support.hpp"

#include <vzkit/kernel/json_text.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using vzkit::kernel::has_errors;
using vzkit::test::expect_diag;
using vzkit::test::plan_text;
using vzkit::test::validate_text;

constexpr const char* kLinuxBoot = R"({"plugin": "linux-boot", "kernel": "vmlinuz"})";
constexpr const char* kMacPlatform = R"({"plugin": "mac-platform"})";

/// A spec named "vm" with these device entries (JSON object texts). A macOS guest needs its one
/// display, so a spec with mac-platform and no mac-graphics gets a default one appended.
std::string spec(std::initializer_list<std::string> devices, const std::string& extra = "") {
  std::string s = R"({"name": "vm", )" + extra + R"("devices": [)";
  bool first = true, mac = false, graphics = false;
  for (const auto& d : devices) {
    s += (first ? "" : ", ") + d;
    first = false;
    mac = mac || d.find("\"mac-platform\"") != std::string::npos;
    graphics = graphics || d.find("\"mac-graphics\"") != std::string::npos;
  }
  if (mac && !graphics) s += R"(, {"plugin": "mac-graphics"})";
  return s + "]}";
}

using vzkit::test::entry;

const json::array& schema_examples(const std::string& plugin) {
  const auto* p = vzkit::test::builtin_plugins().find(plugin);
  static const json::array none;
  if (!p) {
    ADD_FAILURE() << "plugin '" << plugin << "' is not loaded";
    return none;
  }
  const auto* ex = p->manifest().schema.as_object().if_contains("examples");
  EXPECT_TRUE(ex && ex->is_array() && !ex->get_array().empty()) << plugin << " has no schema examples";
  return ex && ex->is_array() ? ex->get_array() : none;
}

void expect_plan_golden(const std::string& name, const std::string& text, const std::string& engine) {
  auto plan = plan_text(text, engine);
  ASSERT_FALSE(plan.is_null());
  vzkit::test::expect_golden(name, vzkit::kernel::pretty_json(plan));
}

std::size_t count_driver(const json::value& plan, const std::string& driver) {
  std::size_t n = 0;
  for (const auto& d : plan.at("devices").as_array())
    if (d.at("driver").as_string() == driver) ++n;
  return n;
}

/// A scratch folder (a VM bundle) removed at the end of the test.
struct TempDir {
  fs::path path = fs::temp_directory_path() / ("vzkit-macinput-" + std::to_string(::getpid()) + "-" +
                                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path / name, std::ios::binary) << bytes;
  }
};

// ---- mac-platform ----

TEST(MacInputPlatform, SchemaExamplesValidate) {
  for (const auto& ex : schema_examples("mac-platform")) {
    auto d = validate_text(spec({entry("mac-platform", ex.as_object())}), "vz");
    EXPECT_FALSE(has_errors(d)) << json::serialize(ex) << "\n" << vzkit::kernel::format(d);
  }
}

TEST(MacInputPlatform, NeedsItsDisplay) {
  auto d = validate_text(R"({"name": "vm", "devices": [{"plugin": "mac-platform"}]})", "vz");
  EXPECT_TRUE(expect_diag(d, "cross.requires", "devices[0]", "mac-platform"));
}

TEST(MacInputPlatform, GoldenVz) { expect_plan_golden("mac-platform.vz.json", spec({kMacPlatform}), "vz"); }

TEST(MacInputPlatform, MissingFilesAreWarningsNamingTheCreateCommand) {
  TempDir bundle;
  auto d = validate_text(spec({kMacPlatform}), "vz", bundle.path);
  EXPECT_FALSE(has_errors(d)) << vzkit::kernel::format(d);
  for (const char* key : {"hardware_model", "machine_identifier", "auxiliary_storage"})
    EXPECT_TRUE(expect_diag(d, "mac-platform.not-created-yet", std::string("devices[0].") + key, "mac-platform"));
  bool names_command = false;
  for (const auto& x : d)
    names_command = names_command || x.hint.find("vzkit create vm --macos latest") != std::string::npos;
  EXPECT_TRUE(names_command) << vzkit::kernel::format(d);
}

TEST(MacInputPlatform, CreatedBundleIsClean) {
  TempDir bundle;
  bundle.write("hardware-model.bin", "bplist00-model");
  bundle.write("machine-id.bin", "bplist00-ecid");
  bundle.write("aux.img", std::string(512, '\0'));
  auto d = validate_text(spec({kMacPlatform}), "vz", bundle.path);
  EXPECT_TRUE(d.empty()) << vzkit::kernel::format(d);
}

TEST(MacInputPlatform, EmptyFileIsAnError) {
  TempDir bundle;
  bundle.write("hardware-model.bin", "bplist00-model");
  bundle.write("machine-id.bin", "");
  bundle.write("aux.img", std::string(512, '\0'));
  auto d = validate_text(spec({kMacPlatform}), "vz", bundle.path);
  EXPECT_TRUE(expect_diag(d, "mac-platform.empty-file", "devices[0].machine_identifier", "mac-platform"));
}

TEST(MacInputPlatform, DirectoryInsteadOfFileIsAnError) {
  TempDir bundle;
  fs::create_directories(bundle.path / "aux.img");
  auto d = validate_text(spec({kMacPlatform}), "vz", bundle.path);
  EXPECT_TRUE(expect_diag(d, "mac-platform.not-a-file", "devices[0].auxiliary_storage", "mac-platform"));
}

TEST(MacInputPlatform, TwoKeysNamingOneFileAreRefused) {
  auto d = validate_text(spec({R"({"plugin": "mac-platform", "auxiliary_storage": "machine-id.bin"})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "mac-platform.same-file", "devices[0].auxiliary_storage", "mac-platform"));
}

TEST(MacInputPlatform, IntelGuestIsRefused) {
  auto d = validate_text(spec({kMacPlatform}, R"("arch": "x86_64", )"), "vz");
  EXPECT_TRUE(expect_diag(d, "mac-platform.not-arm64", "devices[0]", "mac-platform"));
}

TEST(MacInputPlatform, RefusedOnQemu) {
  auto d = validate_text(spec({kMacPlatform}), "qemu");
  EXPECT_TRUE(expect_diag(d, "engine.unsupported", "devices[0]", "mac-platform"));
}

TEST(MacInputPlatform, TakesTheBootLoaderSlotFromLinuxBoot) {
  auto d = validate_text(spec({kMacPlatform, kLinuxBoot}), "vz");
  EXPECT_TRUE(expect_diag(d, "cross.slot-taken", "devices[1]", "linux-boot"));
}

TEST(MacInputPlatform, EmptyPathIsASchemaError) {
  auto d = validate_text(spec({R"({"plugin": "mac-platform", "hardware_model": ""})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "schema.min-length", "devices[0].hardware_model", "mac-platform"));
}

TEST(MacInputPlatform, AbsolutePathsStayAndRelativeOnesAreInTheBundle) {
  auto plan = plan_text(spec({R"({"plugin": "mac-platform", "hardware_model": "/vms/m/hw.bin"})"}), "vz");
  ASSERT_FALSE(plan.is_null());
  const auto& p = plan.at("platform");
  EXPECT_EQ(p.at("class"), "VZMacPlatformConfiguration");
  EXPECT_EQ(p.at("hardware_model"), "/vms/m/hw.bin");
  EXPECT_EQ(p.at("machine_identifier").as_string(), (vzkit::test::data_dir() / "machine-id.bin").lexically_normal().string());
  EXPECT_EQ(p.at("auxiliary_storage").at("create"), false);
  EXPECT_EQ(plan.at("boot_loader").at("class"), "VZMacOSBootLoader");
}

// ---- mac-graphics ----

TEST(MacInputGraphics, SchemaExamplesValidate) {
  for (const auto& ex : schema_examples("mac-graphics")) {
    auto d = validate_text(spec({kMacPlatform, entry("mac-graphics", ex.as_object())}), "vz");
    EXPECT_FALSE(has_errors(d)) << json::serialize(ex) << "\n" << vzkit::kernel::format(d);
  }
}

TEST(MacInputGraphics, GoldenVz) {
  expect_plan_golden("mac-graphics.vz.json", spec({kMacPlatform, R"({"plugin": "mac-graphics"})"}), "vz");
}

TEST(MacInputGraphics, DisplayTakesTheConfiguredSize) {
  auto plan = plan_text(
      spec({kMacPlatform, R"({"plugin": "mac-graphics", "width": 2560, "height": 1600, "pixels_per_inch": 220})"}), "vz");
  ASSERT_FALSE(plan.is_null());
  const auto& displays = plan.at("graphics_devices").at(0).at("displays").as_array();
  ASSERT_EQ(displays.size(), 1u);
  EXPECT_EQ(displays[0].at("width_in_pixels"), 2560);
  EXPECT_EQ(displays[0].at("height_in_pixels"), 1600);
  EXPECT_EQ(displays[0].at("pixels_per_inch"), 220);
}

TEST(MacInputGraphics, RequiresMacPlatform) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "mac-graphics"})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "cross.requires", "devices[1]", "mac-graphics"));
}

TEST(MacInputGraphics, SecondDeviceIsTooMany) {
  auto d = validate_text(spec({kMacPlatform, R"({"plugin": "mac-graphics"})", R"({"plugin": "mac-graphics"})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "cross.too-many", "devices[2]", "mac-graphics"));
}

TEST(MacInputGraphics, SizesOutOfRangeAreRefused) {
  auto d = validate_text(spec({kMacPlatform, R"({"plugin": "mac-graphics", "width": 320})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "schema.range", "devices[1].width", "mac-graphics"));
  d = validate_text(spec({kMacPlatform, R"({"plugin": "mac-graphics", "height": 10000})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "schema.range", "devices[1].height", "mac-graphics"));
  d = validate_text(spec({kMacPlatform, R"({"plugin": "mac-graphics", "pixels_per_inch": 0})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "schema.range", "devices[1].pixels_per_inch", "mac-graphics"));
  d = validate_text(spec({kMacPlatform, R"({"plugin": "mac-graphics", "width": 1920.5})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "schema.type", "devices[1].width", "mac-graphics"));
}

TEST(MacInputGraphics, UnknownKeyIsRefused) {
  auto d = validate_text(spec({kMacPlatform, R"({"plugin": "mac-graphics", "displays": 2})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "schema.unknown-key", "devices[1].displays", "mac-graphics"));
}

TEST(MacInputGraphics, RefusedOnQemu) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "mac-graphics"})"}), "qemu");
  EXPECT_TRUE(expect_diag(d, "engine.unsupported", "devices[1]", "mac-graphics"));
}

// ---- trackpad ----

TEST(MacInputTrackpad, SchemaExamplesValidate) {
  for (const auto& ex : schema_examples("trackpad")) {
    auto d = validate_text(spec({kMacPlatform, entry("trackpad", ex.as_object())}), "vz");
    EXPECT_FALSE(has_errors(d)) << json::serialize(ex) << "\n" << vzkit::kernel::format(d);
  }
}

TEST(MacInputTrackpad, GoldenVz) {
  expect_plan_golden("trackpad.vz.json", spec({kMacPlatform, R"({"plugin": "trackpad"})"}), "vz");
}

TEST(MacInputTrackpad, RequiresMacPlatform) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "trackpad"})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "cross.requires", "devices[1]", "trackpad"));
}

TEST(MacInputTrackpad, SecondTrackpadIsTooMany) {
  auto d = validate_text(spec({kMacPlatform, R"({"plugin": "trackpad"})", R"({"plugin": "trackpad"})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "cross.too-many", "devices[2]", "trackpad"));
}

TEST(MacInputTrackpad, TakesNoKeys) {
  auto d = validate_text(spec({kMacPlatform, R"({"plugin": "trackpad", "gestures": true})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "schema.unknown-key", "devices[1].gestures", "trackpad"));
}

TEST(MacInputTrackpad, RefusedOnQemu) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "trackpad"})"}), "qemu");
  EXPECT_TRUE(expect_diag(d, "engine.unsupported", "devices[1]", "trackpad"));
}

TEST(MacInputTrackpad, MacVmMayHaveTrackpadAndUsbPointer) {
  auto plan = plan_text(spec({kMacPlatform, R"({"plugin": "pointing"})", R"({"plugin": "trackpad"})"}), "vz");
  ASSERT_FALSE(plan.is_null());
  const auto& pointers = plan.at("pointing_devices").as_array();
  ASSERT_EQ(pointers.size(), 2u);
  EXPECT_EQ(pointers[0].at("class"), "VZUSBScreenCoordinatePointingDeviceConfiguration");
  EXPECT_EQ(pointers[1].at("class"), "VZMacTrackpadConfiguration");
}

// ---- keyboard ----

TEST(MacInputKeyboard, SchemaExamplesValidate) {
  for (const auto& ex : schema_examples("keyboard")) {
    const bool mac = ex.as_object().contains("type") && ex.at("type") == "mac";
    auto d = validate_text(spec({mac ? kMacPlatform : kLinuxBoot, entry("keyboard", ex.as_object())}), "vz");
    EXPECT_FALSE(has_errors(d)) << json::serialize(ex) << "\n" << vzkit::kernel::format(d);
    if (mac) continue;
    d = validate_text(spec({kLinuxBoot, entry("keyboard", ex.as_object())}), "qemu");
    EXPECT_FALSE(has_errors(d)) << json::serialize(ex) << " on qemu\n" << vzkit::kernel::format(d);
  }
}

TEST(MacInputKeyboard, GoldenVz) {
  expect_plan_golden("keyboard.vz.json", spec({kLinuxBoot, R"({"plugin": "keyboard"})"}), "vz");
}

TEST(MacInputKeyboard, GoldenQemu) {
  expect_plan_golden("keyboard.qemu.json", spec({kLinuxBoot, R"({"plugin": "keyboard"})"}, R"("arch": "x86_64", )"),
                     "qemu");
}

TEST(MacInputKeyboard, MacKeyboardBesideUsbKeyboardOnAMacVm) {
  auto plan = plan_text(
      spec({kMacPlatform, R"({"plugin": "keyboard", "type": "mac"})", R"({"plugin": "keyboard", "type": "usb"})"}), "vz");
  ASSERT_FALSE(plan.is_null());
  const auto& keyboards = plan.at("keyboards").as_array();
  ASSERT_EQ(keyboards.size(), 2u);
  EXPECT_EQ(keyboards[0].at("class"), "VZMacKeyboardConfiguration");
  EXPECT_EQ(keyboards[1].at("class"), "VZUSBKeyboardConfiguration");
}

TEST(MacInputKeyboard, MacKeyboardRequiresMacPlatform) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "keyboard", "type": "mac"})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "cross.requires", "devices[1]", "keyboard"));
}

TEST(MacInputKeyboard, UsbKeyboardNeedsNoMacPlatform) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "keyboard", "type": "usb"})"}), "vz");
  EXPECT_TRUE(d.empty()) << vzkit::kernel::format(d);
}

TEST(MacInputKeyboard, MacKeyboardOnQemuIsRefused) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "keyboard", "type": "mac"})"}), "qemu");
  EXPECT_TRUE(expect_diag(d, "keyboard.mac-on-qemu", "devices[1].type", "keyboard"));
}

TEST(MacInputKeyboard, TwoOfOneTypeAreRefused) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "keyboard"})", R"({"plugin": "keyboard", "type": "usb"})"}), "vz");
  EXPECT_TRUE(expect_diag(d, "cross.duplicate", "devices[2].type", "keyboard"));
}

TEST(MacInputKeyboard, ThirdKeyboardIsTooMany) {
  auto d = validate_text(spec({kMacPlatform, R"({"plugin": "keyboard"})", R"({"plugin": "keyboard", "type": "mac"})",
                               R"({"plugin": "keyboard"})"}),
                         "vz");
  EXPECT_TRUE(expect_diag(d, "cross.too-many", "devices[3]", "keyboard"));
}

TEST(MacInputKeyboard, UnknownTypeIsRefused) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "keyboard", "type": "ps2"})"}), "qemu");
  EXPECT_TRUE(expect_diag(d, "schema.enum", "devices[1].type", "keyboard"));
}

// ---- pointing ----

TEST(MacInputPointing, SchemaExamplesValidate) {
  for (const auto& ex : schema_examples("pointing"))
    for (const char* engine : {"vz", "qemu"}) {
      auto d = validate_text(spec({kLinuxBoot, entry("pointing", ex.as_object())}), engine);
      EXPECT_FALSE(has_errors(d)) << json::serialize(ex) << " on " << engine << "\n" << vzkit::kernel::format(d);
    }
}

TEST(MacInputPointing, GoldenVz) {
  expect_plan_golden("pointing.vz.json", spec({kLinuxBoot, R"({"plugin": "pointing"})"}), "vz");
}

TEST(MacInputPointing, GoldenQemu) {
  expect_plan_golden("pointing.qemu.json", spec({kLinuxBoot, R"({"plugin": "pointing"})"}, R"("arch": "x86_64", )"),
                     "qemu");
}

TEST(MacInputPointing, SecondPointerIsTooMany) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "pointing"})", R"({"plugin": "pointing"})"}), "qemu");
  EXPECT_TRUE(expect_diag(d, "cross.too-many", "devices[2]", "pointing"));
}

TEST(MacInputPointing, TakesNoKeys) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "pointing", "relative": true})"}), "qemu");
  EXPECT_TRUE(expect_diag(d, "schema.unknown-key", "devices[1].relative", "pointing"));
}

TEST(MacInputPointing, KeyboardAndPointerShareOneXhciController) {
  for (const char* arch : {"x86_64", "aarch64"}) {
    auto plan = plan_text(spec({kLinuxBoot, R"({"plugin": "keyboard"})", R"({"plugin": "pointing"})"},
                               std::string(R"("arch": ")") + arch + R"(", )"),
                          "qemu");
    ASSERT_FALSE(plan.is_null());
    EXPECT_EQ(count_driver(plan, "qemu-xhci"), 1u) << arch;
    EXPECT_EQ(count_driver(plan, "usb-kbd"), 1u) << arch;
    EXPECT_EQ(count_driver(plan, "usb-tablet"), 1u) << arch;
    // The controller comes first so the USB devices' bus exists when QEMU creates them.
    EXPECT_EQ(plan.at("devices").at(0).at("driver"), "qemu-xhci") << arch;
  }
}

}  // namespace
