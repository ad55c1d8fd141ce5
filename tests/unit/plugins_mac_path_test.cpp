// The Mac-path settings on both engines: virtio-blk's "bus": "nvme", the generic-platform plugin's
// nested virtualization, and the QEMU model's CPU features they rely on. (The VZ side against the
// framework's fake: bridge/vz/tests/mac_path_test.mm.)
#include "test_support.hpp"

#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/spec.hpp>
#include <vzkit/qemu/machine.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;
namespace kernel = vzkit::kernel;
using vzkit::test::expect_diag;
using vzkit::test::plan_text;
using vzkit::test::validate_text;

constexpr const char* kX86 = R"("arch": "x86_64", )";
constexpr const char* kLinuxBoot = R"({"plugin": "linux-boot", "kernel": "vmlinuz"})";
constexpr const char* kLinuxBootArm = R"({"plugin": "linux-boot", "kernel": "Image"})";  // vz guests are arm64

std::string spec(std::initializer_list<std::string> devices, const std::string& extra = kX86) {
  return vzkit::test::make_spec(devices, extra);
}

std::vector<std::string> argv_of(const json::value& plan) {
  return vzkit::qemu::to_argv(json::value_to<vzkit::qemu::Machine>(plan));
}

bool has_pair(const std::vector<std::string>& argv, const std::string& option, const std::string& value) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == option && argv[i + 1] == value) return true;
  return false;
}

/// Assembles for QEMU with `accel`; returns the diagnostics of a refused assembly (empty when it worked).
kernel::Diagnostics assemble_errors(const std::string& text, const std::string& accel) {
  auto parsed = kernel::parse_spec(text, "spec.json", vzkit::test::data_dir());
  EXPECT_TRUE(parsed.spec);
  kernel::ValidateOptions vo;
  vo.engine = "qemu";
  EXPECT_FALSE(kernel::has_errors(kernel::validate(*parsed.spec, vzkit::test::builtin_plugins(), vo)));
  kernel::AssembleOptions ao;
  ao.engine = "qemu";
  ao.accel = accel;
  try {
    kernel::assemble(*parsed.spec, vzkit::test::builtin_plugins(), ao);
  } catch (const kernel::AssembleError& e) {
    return e.diagnostics;
  }
  return {};
}

// ---- NVMe ----------------------------------------------------------------------------------------

TEST(Nvme, OnQemuItIsTheNvmeDeviceWithASerial) {
  auto plan = plan_text(spec({kLinuxBoot, R"({"plugin": "virtio-blk", "path": "disk.img", "bus": "nvme"})"}), "qemu");
  const auto argv = argv_of(plan);
  EXPECT_TRUE(has_pair(argv, "-device", "nvme,drive=disk1,serial=vzkit-disk1")) << json::serialize(plan);
  EXPECT_FALSE(std::any_of(argv.begin(), argv.end(), [](const std::string& a) { return a.rfind("virtio-blk", 0) == 0; }));
  // The identifier is the serial the guest reads (/sys/block/nvme0n1/device/serial).
  plan = plan_text(
      spec({kLinuxBoot, R"({"plugin": "virtio-blk", "path": "disk.img", "bus": "nvme", "identifier": "data-01"})"}), "qemu");
  EXPECT_TRUE(has_pair(argv_of(plan), "-device", "nvme,drive=disk1,serial=data-01"));
}

TEST(Nvme, OnVzItIsTheNvmeController) {
  auto plan = plan_text(spec({kLinuxBootArm, R"({"plugin": "virtio-blk", "path": "disk.img", "bus": "nvme"})"}, ""), "vz");
  const auto& storage = plan.at("storage_devices").as_array();
  ASSERT_EQ(storage.size(), 1u);
  EXPECT_EQ(storage[0].at("class"), "VZNVMExpressControllerDeviceConfiguration");
  // The default bus stays Virtio.
  plan = plan_text(spec({kLinuxBootArm, R"({"plugin": "virtio-blk", "path": "disk.img"})"}, ""), "vz");
  EXPECT_EQ(plan.at("storage_devices").as_array()[0].at("class"), "VZVirtioBlockDeviceConfiguration");
}

TEST(Nvme, RefusedWithTheMacPlatformAndTheIdentifierIsIgnoredOnVz) {
  auto d = validate_text(
      R"({"name": "m", "devices": [{"plugin": "mac-platform"}, {"plugin": "mac-graphics"},
          {"plugin": "virtio-blk", "path": "disk.img", "bus": "nvme"}]})",
      "vz");
  EXPECT_TRUE(expect_diag(d, "cross.conflicts", "devices[2]", "virtio-blk"));
  d = validate_text(spec({kLinuxBootArm, R"({"plugin": "virtio-blk", "path": "disk.img", "bus": "nvme", "identifier": "x"})"}, ""),
                    "vz");
  EXPECT_TRUE(expect_diag(d, "virtio-blk.nvme-identifier-ignored", "devices[1].identifier", "virtio-blk"));
  EXPECT_FALSE(kernel::has_errors(d));
  d = validate_text(spec({kLinuxBoot, R"({"plugin": "virtio-blk", "path": "disk.img", "bus": "sata"})"}), "qemu");
  EXPECT_TRUE(kernel::has_errors(d)) << "the bus is virtio or nvme";
}

// ---- nested virtualization ---------------------------------------------------------------------------

constexpr const char* kNested = R"({"plugin": "generic-platform", "nested_virtualization": true})";

TEST(NestedVirtualization, OnVzTheGenericPlatformEnablesIt) {
  auto plan = plan_text(spec({kLinuxBootArm, kNested}, ""), "vz");
  const auto& platform = plan.at("platform").as_object();
  EXPECT_EQ(platform.at("class"), "VZGenericPlatformConfiguration");
  EXPECT_EQ(platform.at("nested_virtualization_enabled"), true);
  EXPECT_EQ(platform.at("origin").at("plugin"), "generic-platform");
  // Off: the platform is there, with VZ's default.
  plan = plan_text(spec({kLinuxBootArm, R"({"plugin": "generic-platform"})"}, ""), "vz");
  EXPECT_FALSE(plan.at("platform").as_object().contains("nested_virtualization_enabled"));
}

TEST(NestedVirtualization, UnderTcgItIsRefusedAtTheDevice) {
  const auto d = assemble_errors(spec({kLinuxBoot, kNested}), "tcg");
  ASSERT_TRUE(expect_diag(d, "assemble.failed", "devices[1]", "generic-platform"));
  EXPECT_NE(d[0].message.find("nested virtualization needs KVM, and this VM runs under tcg"), std::string::npos)
      << d[0].message;
  EXPECT_NE(d[0].message.find("--accel kvm"), std::string::npos) << d[0].message;
  // Off, TCG is fine.
  EXPECT_TRUE(assemble_errors(spec({kLinuxBoot, R"({"plugin": "generic-platform"})"}), "tcg").empty());
}

TEST(NestedVirtualization, OnQemuOnlyForX86Guests) {
  const auto d = validate_text(spec({kLinuxBootArm, kNested}, R"("arch": "aarch64", )"), "qemu");
  EXPECT_TRUE(expect_diag(d, "generic-platform.nested-arch", "devices[1].nested_virtualization", "generic-platform"));
}

TEST(NestedVirtualization, NotForMacOSGuests) {
  const auto d = validate_text(
      R"({"name": "m", "devices": [{"plugin": "mac-platform"}, {"plugin": "mac-graphics"}, {"plugin": "generic-platform"}]})",
      "vz");
  EXPECT_TRUE(expect_diag(d, "cross.slot-taken", "devices[2]", "generic-platform"));
}

// ---- the QEMU model's CPU features ----------------------------------------------------------------------

TEST(CpuFeatures, AreAppendedToTheCpuAndRoundTrip) {
  vzkit::qemu::Machine m;
  m.cpu = "host";
  m.cpu_features = {"vmx=on", "vmx=on"};
  vzkit::qemu::remove_duplicates(m);
  EXPECT_EQ(m.cpu_features, std::vector<std::string>{"vmx=on"});
  EXPECT_TRUE(has_pair(vzkit::qemu::to_argv(m), "-cpu", "host,vmx=on"));
  EXPECT_EQ(json::value_to<vzkit::qemu::Machine>(json::value_from(m)), m);
  m.cpu.reset();
  m.cpu_features = {"svm=on"};
  EXPECT_TRUE(has_pair(vzkit::qemu::to_argv(m), "-cpu", "qemu64,svm=on")) << "QEMU's default model, with the flag";
  m.cpu_features.clear();
  const auto argv = vzkit::qemu::to_argv(m);
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "-cpu"), argv.end()) << "no -cpu when nothing asks for one";
  EXPECT_FALSE(json::value_from(m).as_object().contains("cpu_features"));
}

}  // namespace
