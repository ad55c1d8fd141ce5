// The boot, storage and media plugins (efi-boot, virtio-blk, usb-storage, virtio-gpu, sound):
// schema examples, golden plans per engine, one spec per rule that must be refused, and the
// files a plugin creates when a VM is materialized.
#include "test_support.hpp"

#include <vzkit/kernel/json_text.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace kernel = vzkit::kernel;
using kernel::has_errors;
using vzkit::test::builtin_plugins;
using vzkit::test::data_dir;
using vzkit::test::expect_diag;
using vzkit::test::plan_text;
using vzkit::test::validate_text;

constexpr const char* kLinuxBoot = R"({"plugin": "linux-boot", "kernel": "vmlinuz"})";
constexpr const char* kOvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.fd";
constexpr const char* kAavmfCode = "/usr/share/AAVMF/AAVMF_CODE.fd";

std::string spec(std::initializer_list<std::string> devices, const std::string& extra = "") {
  return vzkit::test::make_spec(devices, extra);
}

using vzkit::test::entry;

/// QEMU's default guest architecture is the host's: golden specs pin it.
constexpr const char* kX86 = R"("arch": "x86_64", )";

const json::array& schema_examples(const std::string& plugin) {
  static const json::array none;
  const auto* p = builtin_plugins().find(plugin);
  if (!p) {
    ADD_FAILURE() << "plugin '" << plugin << "' is not loaded";
    return none;
  }
  const auto* ex = p->manifest().schema.as_object().if_contains("examples");
  EXPECT_TRUE(ex && ex->is_array() && !ex->get_array().empty()) << plugin << " has no schema examples";
  return ex && ex->is_array() ? ex->get_array() : none;
}

/// Validates without an engine (so host checks tied to one engine, such as installed QEMU
/// firmware, do not run) and assembles for `engine`: pins a plan's shape on any host.
json::value plan_on_any_host(const std::string& text, const std::string& engine) {
  return plan_text(text, engine, data_dir(), /*check_engine=*/false);
}

void expect_golden_plan(const std::string& name, const json::value& plan) {
  ASSERT_FALSE(plan.is_null());
  vzkit::test::expect_golden(name, kernel::pretty_json(plan));
}

// ---- examples ----------------------------------------------------------------------------------

TEST(StorageExamples, EverySchemaExampleValidatesOnEveryEngine) {
  for (const std::string plugin : {"efi-boot", "virtio-blk", "usb-storage", "virtio-gpu", "sound"}) {
    const auto* p = builtin_plugins().find(plugin);
    ASSERT_NE(p, nullptr) << plugin;
    std::vector<std::string> engines{""};
    for (const auto& e : p->manifest().engines) engines.push_back(e);
    for (const auto& example : schema_examples(plugin)) {
      json::object config = example.as_object();
      const std::string device = entry(plugin, config);
      // efi-boot is the boot loader itself; every other device needs one beside it.
      const std::string text = plugin == "efi-boot" ? spec({device}, kX86) : spec({kLinuxBoot, device}, kX86);
      for (const auto& engine : engines) {
        if (plugin == "efi-boot" && engine == "qemu" && !fs::exists(kOvmfCode)) continue;  // no OVMF here
        auto d = validate_text(text, engine);
        EXPECT_FALSE(has_errors(d)) << plugin << " example " << json::serialize(example) << " on '" << engine
                                    << "':\n"
                                    << kernel::format(d);
      }
    }
  }
}

// ---- efi-boot ----------------------------------------------------------------------------------

TEST(StorageEfiBoot, GoldenVz) {
  expect_golden_plan("efi-boot.vz.json", plan_text(spec({entry("efi-boot")}), "vz"));
}

TEST(StorageEfiBoot, GoldenQemuX86) {
  expect_golden_plan("efi-boot.qemu.json", plan_on_any_host(spec({entry("efi-boot")}, kX86), "qemu"));
}

TEST(StorageEfiBoot, GoldenQemuAarch64) {
  expect_golden_plan("efi-boot.qemu.aarch64.json",
                     plan_on_any_host(spec({entry("efi-boot")}, R"("arch": "aarch64", )"), "qemu"));
}

TEST(StorageEfiBoot, ValidatesOnQemuWhenOvmfIsInstalled) {
  if (!fs::exists(kOvmfCode)) GTEST_SKIP() << "package ovmf is not installed";
  auto d = validate_text(spec({entry("efi-boot")}, kX86), "qemu");
  EXPECT_FALSE(has_errors(d)) << kernel::format(d);
}

TEST(StorageEfiBoot, LinuxBootTakesTheSameSlot) {
  auto d = validate_text(spec({kLinuxBoot, entry("efi-boot")}));
  EXPECT_TRUE(expect_diag(d, "cross.slot-taken", "devices[1]", "efi-boot"));
}

TEST(StorageEfiBoot, ConflictsWithMacPlatform) {
  if (!builtin_plugins().find("mac-platform")) GTEST_SKIP() << "mac-platform is not built";
  auto d = validate_text(spec({entry("efi-boot"), entry("mac-platform")}));
  EXPECT_TRUE(expect_diag(d, "cross.conflicts", "devices[0]", "efi-boot"));
}

TEST(StorageEfiBoot, OpeningAStoreThatDoesNotExistIsRefused) {
  auto d = validate_text(spec({entry("efi-boot", {{"variable_store", "no-such-vars.fd"}, {"create", false}})}), "vz");
  EXPECT_TRUE(expect_diag(d, "efi-boot.variable-store-missing", "devices[0].variable_store", "efi-boot"));
}

TEST(StorageEfiBoot, MissingFirmwareIsRefusedOnQemuOnly) {
  const std::string text = spec({entry("efi-boot", {{"firmware_code", "/nonexistent/OVMF_CODE_4M.fd"},
                                                    {"firmware_vars_template", "/nonexistent/OVMF_VARS_4M.fd"}})},
                                kX86);
  auto q = validate_text(text, "qemu");
  EXPECT_TRUE(expect_diag(q, "efi-boot.firmware-missing", "devices[0].firmware_code", "efi-boot"));
  EXPECT_TRUE(expect_diag(q, "efi-boot.firmware-missing", "devices[0].firmware_vars_template", "efi-boot"));
  EXPECT_FALSE(has_errors(validate_text(text, "vz")));
  EXPECT_FALSE(has_errors(validate_text(text)));
}

TEST(StorageEfiBoot, MissingDefaultFirmwareNamesThePackage) {
  if (fs::exists(kAavmfCode)) GTEST_SKIP() << "AAVMF is installed";
  auto d = validate_text(spec({entry("efi-boot")}, R"("arch": "aarch64", )"), "qemu");
  ASSERT_TRUE(expect_diag(d, "efi-boot.firmware-missing", "devices[0].firmware_code", "efi-boot"));
  bool named = false;
  for (const auto& x : d) named = named || x.hint.find("apt-get install qemu-efi-aarch64") != std::string::npos;
  EXPECT_TRUE(named) << kernel::format(d);
}

TEST(StorageEfiBoot, CodeAndTemplateOfDifferentSizeFamiliesAreRefused) {
  auto d = validate_text(spec({entry("efi-boot", {{"firmware_code", "/usr/share/OVMF/OVMF_CODE_4M.fd"},
                                                  {"firmware_vars_template", "/usr/share/OVMF/OVMF_VARS.fd"}})}));
  EXPECT_TRUE(expect_diag(d, "efi-boot.firmware-mismatch", "devices[0].firmware_vars_template", "efi-boot"));
}

// ---- virtio-blk --------------------------------------------------------------------------------

TEST(StorageVirtioBlk, GoldenQemu) {
  const std::string text = spec(
      {kLinuxBoot,
       entry("virtio-blk", {{"path", "disk.img"}, {"caching", "uncached"}, {"sync", "none"}, {"identifier", "root"},
                            {"discard", true}}),
       entry("virtio-blk", {{"path", "installer.iso"}, {"read_only", true}})},
      kX86);
  expect_golden_plan("virtio-blk.qemu.json", plan_text(text, "qemu"));
}

TEST(StorageVirtioBlk, GoldenVz) {
  const std::string text = spec(
      {kLinuxBoot, entry("virtio-blk", {{"path", "disk.img"}, {"read_only", true}, {"caching", "cached"},
                                        {"sync", "fsync"}, {"identifier", "root"}})});
  expect_golden_plan("virtio-blk.vz.json", plan_text(text, "vz"));
}

TEST(StorageVirtioBlk, IdentifierLongerThan20BytesIsRefusedBySchema) {
  auto d = validate_text(spec({kLinuxBoot, entry("virtio-blk", {{"path", "disk.img"}, {"identifier", std::string(21, 'x')}})}));
  EXPECT_TRUE(expect_diag(d, "schema.max-length", "devices[1].identifier", "virtio-blk"));
}

TEST(StorageVirtioBlk, NonAsciiIdentifierIsRefusedBySchema) {
  auto d = validate_text(spec({kLinuxBoot, entry("virtio-blk", {{"path", "disk.img"}, {"identifier", "d\xC3\xAEsk"}})}));
  EXPECT_TRUE(expect_diag(d, "schema.pattern", "devices[1].identifier", "virtio-blk"));
}

TEST(StorageVirtioBlk, ValidateChecksIdentifierBytesToo) {
  // The schema stops these first; the plugin's own check is what a caller without the schema gets.
  const auto* p = builtin_plugins().find("virtio-blk");
  ASSERT_NE(p, nullptr);
  auto codes = [&](const std::string& id) {
    json::object request{{"config", {{"path", "disk.img"}, {"identifier", id}}},
                         {"context", {{"spec_dir", data_dir().string()}, {"path", "devices[1]"}}}};
    std::string all;
    for (const auto& x : p->validate(request)) all += std::string(x.at("code").as_string()) + " ";
    return all;
  };
  EXPECT_EQ(codes(std::string(21, 'x')), "virtio-blk.identifier-too-long ");
  EXPECT_EQ(codes("\xC3\xA9t\xC3\xA9"), "virtio-blk.identifier-not-ascii ");
  EXPECT_EQ(codes(std::string(20, 'x')), "");
}

TEST(StorageVirtioBlk, DuplicateIdentifierIsRefused) {
  auto d = validate_text(spec({kLinuxBoot, entry("virtio-blk", {{"path", "disk.img"}, {"identifier", "root"}}),
                               entry("virtio-blk", {{"path", "installer.iso"}, {"identifier", "root"}})}));
  EXPECT_TRUE(expect_diag(d, "cross.duplicate", "devices[2].identifier", "virtio-blk"));
}

TEST(StorageVirtioBlk, MissingImageIsRefused) {
  auto d = validate_text(spec({kLinuxBoot, entry("virtio-blk", {{"path", "no-such-disk.img"}})}));
  EXPECT_TRUE(expect_diag(d, "virtio-blk.image-missing", "devices[1].path", "virtio-blk"));
}

TEST(StorageVirtioBlk, FolderIsNotAnImage) {
  auto d = validate_text(spec({kLinuxBoot, entry("virtio-blk", {{"path", "share"}})}));
  EXPECT_TRUE(expect_diag(d, "virtio-blk.image-not-a-file", "devices[1].path", "virtio-blk"));
}

TEST(StorageVirtioBlk, SizeNotMultipleOf512IsRefused) {
  auto d = validate_text(spec({kLinuxBoot, entry("virtio-blk", {{"path", "odd-size.img"}})}));
  EXPECT_TRUE(expect_diag(d, "virtio-blk.size-not-multiple-of-512", "devices[1].path", "virtio-blk"));
}

TEST(StorageVirtioBlk, MissingImageWithCreateSizeIsFineAndPlanCreatesNothing) {
  const std::string text =
      spec({kLinuxBoot, entry("virtio-blk", {{"path", "never-created.img"}, {"create_size", "64GiB"}})}, kX86);
  auto d = validate_text(text);
  EXPECT_FALSE(has_errors(d)) << kernel::format(d);
  EXPECT_FALSE(plan_text(text, "qemu").is_null());
  EXPECT_FALSE(plan_text(text, "vz").is_null());
  EXPECT_FALSE(fs::exists(data_dir() / "never-created.img"));
}

TEST(StorageVirtioBlk, ASizeWithoutAUnitSuggestsOne) {
  auto hint_of = [](const std::string& size, const std::string& code) {
    for (const auto& d : validate_text(spec({kLinuxBoot, entry("virtio-blk", {{"path", "new.img"}, {"create_size", size}})})))
      if (d.code == code) return d.hint;
    return std::string("(no " + code + ")");
  };
  EXPECT_EQ(hint_of("8", "virtio-blk.create-size-not-multiple-of-512"),
            "disk images are made of 512-byte sectors; try \"8GiB\"");
  EXPECT_EQ(hint_of("512", "virtio-blk.create-size-tiny"), "did you mean \"512GiB\"?");
  EXPECT_EQ(hint_of("64MiB", "virtio-blk.create-size-tiny"), "(no virtio-blk.create-size-tiny)");  // a unit: meant
  EXPECT_EQ(hint_of("10KB", "virtio-blk.create-size-not-multiple-of-512"),
            "disk images are made of 512-byte sectors; try \"10KiB\"");
}

TEST(StorageVirtioBlk, CreateSizeRules) {
  auto with = [](const json::object& config) { return validate_text(spec({kLinuxBoot, entry("virtio-blk", config)})); };
  EXPECT_TRUE(expect_diag(with({{"path", "new.img"}, {"create_size", "1000"}}),
                          "virtio-blk.create-size-not-multiple-of-512", "devices[1].create_size", "virtio-blk"));
  EXPECT_TRUE(expect_diag(with({{"path", "new.img"}, {"create_size", "0"}}), "virtio-blk.create-size-invalid",
                          "devices[1].create_size", "virtio-blk"));
  EXPECT_TRUE(expect_diag(with({{"path", "new.img"}, {"create_size", "1.5B"}}), "virtio-blk.create-size-invalid",
                          "devices[1].create_size", "virtio-blk"));
  EXPECT_TRUE(expect_diag(with({{"path", "new.img"}, {"create_size", "lots"}}), "schema.pattern",
                          "devices[1].create_size", "virtio-blk"));
  EXPECT_TRUE(expect_diag(with({{"path", "new.img"}, {"create_size", "1GiB"}, {"read_only", true}}),
                          "virtio-blk.read-only-create", "devices[1].create_size", "virtio-blk"));
  EXPECT_FALSE(has_errors(with({{"path", "new.img"}, {"create_size", "1.5GiB"}})));
}

TEST(StorageVirtioBlk, DiscardIsOnlyAWarningOnVz) {
  auto d = validate_text(spec({kLinuxBoot, entry("virtio-blk", {{"path", "disk.img"}, {"discard", true}})}), "vz");
  EXPECT_FALSE(has_errors(d)) << kernel::format(d);
  EXPECT_TRUE(expect_diag(d, "virtio-blk.discard-ignored", "devices[1].discard", "virtio-blk"));
}

// ---- image formats (virtio-blk, usb-storage) ------------------------------------------------------

// A folder with a small qcow2 image made by qemu-img (qemu-utils), when it is installed.
struct Qcow2Dir {
  fs::path dir = fs::temp_directory_path() / ("vzkit-qcow2-" + std::to_string(::getpid()));
  bool made = false;
  Qcow2Dir() {
    fs::create_directories(dir);
    fs::copy_file(data_dir() / "vmlinuz", dir / "vmlinuz", fs::copy_options::overwrite_existing);
    fs::copy_file(data_dir() / "disk.img", dir / "disk.img", fs::copy_options::overwrite_existing);
    const std::string cmd = "qemu-img create -q -f qcow2 '" + (dir / "disk.qcow2").string() + "' 64M >/dev/null 2>&1";
    made = std::system(cmd.c_str()) == 0;
  }
  ~Qcow2Dir() { fs::remove_all(dir); }
};

TEST(StorageFormats, Qcow2IsReadFromTheHeaderAndPlannedForQemu) {
  Qcow2Dir q;
  if (!q.made) GTEST_SKIP() << "qemu-img is not installed";
  for (const std::string plugin : {"virtio-blk", "usb-storage"}) {
    const std::string text = spec({kLinuxBoot, entry(plugin, {{"path", "disk.qcow2"}})}, kX86);
    auto d = validate_text(text, "qemu", q.dir);
    EXPECT_FALSE(has_errors(d)) << plugin << ": " << kernel::format(d);
    const auto plan = plan_text(text, "qemu", q.dir);
    ASSERT_FALSE(plan.is_null());
    std::vector<std::string> drivers;
    for (const auto& b : plan.at("blockdevs").as_array()) drivers.push_back(std::string(b.at("type").as_string()));
    EXPECT_EQ(drivers, (std::vector<std::string>{"file", "qcow2"})) << plugin;
    // A raw image stays raw.
    const auto raw = plan_text(spec({kLinuxBoot, entry(plugin, {{"path", "disk.img"}})}, kX86), "qemu", q.dir);
    ASSERT_FALSE(raw.is_null());
    EXPECT_EQ(raw.at("blockdevs").as_array().at(1).at("type"), "raw") << plugin;
  }
}

TEST(StorageFormats, VzTakesRawImagesOnlyAndSaysHowToConvert) {
  Qcow2Dir q;
  if (!q.made) GTEST_SKIP() << "qemu-img is not installed";
  for (const std::string plugin : {"virtio-blk", "usb-storage"}) {
    auto d = validate_text(spec({kLinuxBoot, entry(plugin, {{"path", "disk.qcow2"}})}), "vz", q.dir);
    ASSERT_TRUE(expect_diag(d, plugin + ".qcow2-not-on-vz", "devices[1].path", plugin)) << kernel::format(d);
    for (const auto& x : d)
      if (x.code == plugin + ".qcow2-not-on-vz")
        EXPECT_NE(x.hint.find("vzkit convert vm --format raw"), std::string::npos) << x.hint;
    // Named explicitly, the diagnostic points at the setting.
    d = validate_text(spec({kLinuxBoot, entry(plugin, {{"path", "disk.qcow2"}, {"format", "qcow2"}})}), "vz", q.dir);
    EXPECT_TRUE(expect_diag(d, plugin + ".qcow2-not-on-vz", "devices[1].format", plugin)) << kernel::format(d);
  }
}

TEST(StorageFormats, AFormatThatContradictsTheHeaderIsRefused) {
  Qcow2Dir q;
  if (!q.made) GTEST_SKIP() << "qemu-img is not installed";
  auto d = validate_text(spec({kLinuxBoot, entry("virtio-blk", {{"path", "disk.qcow2"}, {"format", "raw"}})}), "qemu",
                         q.dir);
  EXPECT_TRUE(expect_diag(d, "virtio-blk.format-mismatch", "devices[1].format", "virtio-blk")) << kernel::format(d);
  d = validate_text(spec({kLinuxBoot, entry("usb-storage", {{"path", "disk.img"}, {"format", "qcow2"}})}), "qemu",
                    q.dir);
  EXPECT_TRUE(expect_diag(d, "usb-storage.format-mismatch", "devices[1].format", "usb-storage")) << kernel::format(d);
  d = validate_text(spec({kLinuxBoot, entry("virtio-blk", {{"path", "new.img"}, {"create_size", "1GiB"},
                                                           {"format", "qcow2"}})}),
                    "qemu", q.dir);
  EXPECT_TRUE(expect_diag(d, "virtio-blk.create-size-raw-only", "devices[1].create_size", "virtio-blk"))
      << kernel::format(d);
}

// ---- usb-storage -------------------------------------------------------------------------------

TEST(StorageUsbStorage, GoldenQemu) {
  // Two sticks: the xHCI controller each one asks for appears once.
  const std::string text = spec({kLinuxBoot, entry("usb-storage", {{"path", "installer.iso"}}),
                                 entry("usb-storage", {{"path", "disk.img"}, {"read_only", false}})},
                                kX86);
  auto plan = plan_text(text, "qemu");
  ASSERT_FALSE(plan.is_null());
  int controllers = 0;
  for (const auto& dev : plan.at("devices").as_array()) controllers += dev.at("driver") == "qemu-xhci";
  EXPECT_EQ(controllers, 1);
  expect_golden_plan("usb-storage.qemu.json", plan);
}

TEST(StorageUsbStorage, GoldenVz) {
  const std::string text = spec({kLinuxBoot, entry("usb-storage", {{"path", "installer.iso"}})});
  expect_golden_plan("usb-storage.vz.json", plan_text(text, "vz"));
}

TEST(StorageUsbStorage, MissingImageIsRefused) {
  auto d = validate_text(spec({kLinuxBoot, entry("usb-storage", {{"path", "no-such.iso"}})}));
  EXPECT_TRUE(expect_diag(d, "usb-storage.image-missing", "devices[1].path", "usb-storage"));
}

TEST(StorageUsbStorage, SizeNotMultipleOf512IsRefused) {
  auto d = validate_text(spec({kLinuxBoot, entry("usb-storage", {{"path", "odd-size.img"}})}));
  EXPECT_TRUE(expect_diag(d, "usb-storage.size-not-multiple-of-512", "devices[1].path", "usb-storage"));
}

// ---- virtio-gpu --------------------------------------------------------------------------------

TEST(StorageVirtioGpu, GoldenQemu) {
  const std::string text = spec({kLinuxBoot, entry("virtio-gpu", {{"width", 1920}, {"height", 1080}})}, kX86);
  expect_golden_plan("virtio-gpu.qemu.json", plan_text(text, "qemu"));
}

TEST(StorageVirtioGpu, GoldenVz) {
  expect_golden_plan("virtio-gpu.vz.json", plan_text(spec({kLinuxBoot, entry("virtio-gpu")}), "vz"));
}

TEST(StorageVirtioGpu, SizeOutOfRangeIsRefused) {
  auto d = validate_text(spec({kLinuxBoot, entry("virtio-gpu", {{"width", 0}, {"height", 10000}})}));
  EXPECT_TRUE(expect_diag(d, "schema.range", "devices[1].width", "virtio-gpu"));
  EXPECT_TRUE(expect_diag(d, "schema.range", "devices[1].height", "virtio-gpu"));
}

TEST(StorageVirtioGpu, ModelVgaIsVirtioVgaOnQemuX86AndRefusedElsewhere) {
  const std::string vga = spec({kLinuxBoot, entry("virtio-gpu", {{"model", "vga"}})}, kX86);
  auto plan = plan_text(vga, "qemu");
  ASSERT_FALSE(plan.is_null());
  EXPECT_EQ(plan.at("devices").at(0).at("driver"), "virtio-vga");
  EXPECT_EQ(plan.at("devices").at(0).at("properties").at("xres"), "1280");
  EXPECT_EQ(plan_text(spec({kLinuxBoot, entry("virtio-gpu")}, kX86), "qemu").at("devices").at(0).at("driver"),
            "virtio-gpu-pci");
  auto d = validate_text(vga, "vz");
  EXPECT_TRUE(expect_diag(d, "virtio-gpu.vga-on-vz", "devices[1].model", "virtio-gpu"));
  for (const auto& x : d)
    if (x.code == "virtio-gpu.vga-on-vz") EXPECT_NE(x.message.find("VZVirtioGraphicsDeviceConfiguration"), std::string::npos);
  d = validate_text(spec({kLinuxBoot, entry("virtio-gpu", {{"model", "vga"}})}, R"("arch": "aarch64", )"), "qemu");
  EXPECT_TRUE(expect_diag(d, "virtio-gpu.vga-needs-x86", "devices[1].model", "virtio-gpu"));
  EXPECT_FALSE(has_errors(validate_text(vga)));  // without an engine, nothing to say
}

TEST(StorageVirtioGpu, OnlyOnePerVm) {
  auto d = validate_text(spec({kLinuxBoot, entry("virtio-gpu"), entry("virtio-gpu")}));
  EXPECT_TRUE(expect_diag(d, "cross.too-many", "devices[2]", "virtio-gpu"));
}

// ---- sound -------------------------------------------------------------------------------------

TEST(StorageSound, GoldenVz) {
  expect_golden_plan("sound.vz.json", plan_text(spec({kLinuxBoot, entry("sound", {{"input", true}})}), "vz"));
}

TEST(StorageSound, SilentCardKeepsOneSinklessOutputStream) {
  auto plan = plan_text(spec({kLinuxBoot, entry("sound", {{"output", false}})}), "vz");
  ASSERT_FALSE(plan.is_null());
  const auto& streams = plan.at("audio_devices").at(0).at("streams").as_array();
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams[0].at("class"), "VZVirtioSoundDeviceOutputStreamConfiguration");
  EXPECT_EQ(streams[0].at("host_sink"), false);
}

TEST(StorageSound, IsRefusedOnQemuWithTheReason) {
  auto d = validate_text(spec({kLinuxBoot, entry("sound")}), "qemu");
  ASSERT_TRUE(expect_diag(d, "engine.unsupported", "devices[1]", "sound"));
  bool explained = false;
  for (const auto& x : d) explained = explained || x.message.find("no Virtio sound device") != std::string::npos;
  EXPECT_TRUE(explained) << kernel::format(d);
}

// ---- materializing -----------------------------------------------------------------------------

/// A fresh folder under the system temp folder, removed with the fixture.
class StorageMaterialize : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vzkit-storage-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    m_root = tmpl;
    fs::create_directories(m_root / "spec");
    fs::create_directories(m_root / "fw");
    write(m_root / "fw" / "CODE_4M.fd", "firmware code");
    write(m_root / "fw" / "VARS_4M.fd", "empty variable store");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(m_root, ec);
  }

  static void write(const fs::path& file, const std::string& text) { std::ofstream(file, std::ios::binary) << text; }
  static std::string read(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  /// Validates the spec (in m_root/spec) for `engine` and assembles it, creating files.
  json::value materialize(const std::string& engine) {
    const std::string text = spec(
        {entry("efi-boot", {{"firmware_code", (m_root / "fw" / "CODE_4M.fd").string()},
                            {"firmware_vars_template", (m_root / "fw" / "VARS_4M.fd").string()}}),
         entry("virtio-blk", {{"path", "root.img"}, {"create_size", "1MiB"}})},
        kX86);
    auto parsed = kernel::parse_spec(text, "spec.json", m_root / "spec");
    EXPECT_TRUE(parsed.spec.has_value());
    if (!parsed.spec) return nullptr;
    kernel::ValidateOptions v;
    v.engine = engine;
    v.bundle_dir = (m_root / "bundle").string();
    auto d = kernel::validate(*parsed.spec, builtin_plugins(), v);
    EXPECT_FALSE(has_errors(d)) << kernel::format(d);
    m_warnings = d;
    kernel::AssembleOptions a;
    a.engine = engine;
    a.materialize = true;
    a.bundle_dir = (m_root / "bundle").string();
    try {
      return kernel::assemble(*parsed.spec, builtin_plugins(), a).model;
    } catch (const kernel::AssembleError& e) {
      ADD_FAILURE() << kernel::format(e.diagnostics);
      return nullptr;
    }
  }

  fs::path m_root;
  kernel::Diagnostics m_warnings;
};

TEST_F(StorageMaterialize, QemuCopiesTheStoreAndCreatesTheDiskOnce) {
  const fs::path vars = m_root / "bundle" / "efi-vars.fd";
  const fs::path disk = m_root / "bundle" / "root.img";  // the VM owns the disk it creates
  auto plan = materialize("qemu");
  ASSERT_FALSE(plan.is_null());
  EXPECT_FALSE(fs::exists(m_root / "spec" / "root.img"));
  EXPECT_EQ(plan.at("blockdevs").at(0).at("properties").at("filename").as_string(), disk.string());
  EXPECT_EQ(plan.at("drives").at(1).at("properties").at("file").as_string(), vars.string());
  EXPECT_EQ(read(vars), "empty variable store");
  ASSERT_TRUE(fs::exists(disk));
  EXPECT_EQ(fs::file_size(disk), 1u << 20);

  // What the guest wrote must survive the next start.
  write(vars, "guest variables");
  {
    std::fstream f(disk, std::ios::binary | std::ios::in | std::ios::out);
    f << "guest data";
  }
  ASSERT_FALSE(materialize("qemu").is_null());
  EXPECT_EQ(read(vars), "guest variables");
  EXPECT_EQ(fs::file_size(disk), 1u << 20);
  EXPECT_EQ(read(disk).substr(0, 10), "guest data");
}

TEST_F(StorageMaterialize, VzCreatesTheDiskAndOpensAnExistingStore) {
  const fs::path vars = m_root / "bundle" / "efi-vars.fd";
  auto plan = materialize("vz");
  ASSERT_FALSE(plan.is_null());
  // VZ makes the store itself on first start; the plugin copies no template for it.
  EXPECT_FALSE(fs::exists(vars));
  EXPECT_EQ(plan.at("boot_loader").at("variable_store").at("create"), true);
  EXPECT_EQ(fs::file_size(m_root / "bundle" / "root.img"), 1u << 20);
  EXPECT_FALSE(fs::exists(m_root / "spec" / "root.img"));

  fs::create_directories(vars.parent_path());
  write(vars, "store made by VZ");
  plan = materialize("vz");
  ASSERT_FALSE(plan.is_null());
  EXPECT_EQ(plan.at("boot_loader").at("variable_store").at("create"), false);
  EXPECT_EQ(read(vars), "store made by VZ");
}

TEST_F(StorageMaterialize, AnImageBesideTheSpecIsNotTheOneTheVmCreates) {
  write(m_root / "spec" / "root.img", std::string(512, 'x'));
  ASSERT_FALSE(materialize("qemu").is_null());
  EXPECT_TRUE(expect_diag(m_warnings, "virtio-blk.image-beside-spec", "devices[1].path", "virtio-blk"))
      << kernel::format(m_warnings);
  EXPECT_EQ(fs::file_size(m_root / "bundle" / "root.img"), 1u << 20);
  EXPECT_EQ(fs::file_size(m_root / "spec" / "root.img"), 512u);  // the user's file is left alone
  // Once the VM has its own, there is nothing to warn about.
  ASSERT_FALSE(materialize("qemu").is_null());
  EXPECT_FALSE(expect_diag(m_warnings, "virtio-blk.image-beside-spec", "devices[1].path", "virtio-blk"));
}

}  // namespace
