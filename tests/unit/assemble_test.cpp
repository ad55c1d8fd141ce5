// Assembly and the rules across plugins, with the test plugins and the built-in ones.
#include "test_support.hpp"

namespace {

using namespace vzkit;
using namespace vzkit::test;

const kernel::PluginHost& host_with_test_plugin() {
  static kernel::PluginHost h = [] {
    kernel::PluginHost p;
    p.load({{VZKIT_PLUGINS_DIR, "build"}, {std::string(VZKIT_TEST_PLUGINS) + "/good", "test"}});
    return p;
  }();
  return h;
}

Diagnostics check(const std::string& text, const std::string& engine = "qemu") {
  auto parsed = kernel::parse_spec(text, "spec.json", data_dir());
  if (!parsed.spec) return parsed.diagnostics;
  kernel::ValidateOptions o;
  o.engine = engine;
  return kernel::validate(*parsed.spec, host_with_test_plugin(), o);
}

TEST(Merge, ObjectsMergeArraysAppendScalarsMustAgree) {
  json::value plan = json::parse(R"({"cpu_count": 2, "storage_devices": [{"class": "A"}]})");
  std::vector<std::string> conflicts;
  kernel::merge_fragment(plan, json::parse(R"({"cpu_count": 2, "storage_devices": [{"class": "B"}],
                                              "boot_loader": {"class": "L"}})"),
                         json::object{{"plugin", "p"}, {"path", "devices[3]"}}, {"boot_loader"}, conflicts);
  EXPECT_TRUE(conflicts.empty());
  ASSERT_EQ(plan.at("storage_devices").as_array().size(), 2u);
  EXPECT_EQ(plan.at("storage_devices").at(1).at("origin").at("path"), "devices[3]");
  EXPECT_EQ(plan.at("boot_loader").at("origin").at("plugin"), "p");
  kernel::merge_fragment(plan, json::parse(R"({"cpu_count": 4})"), json::object{}, {}, conflicts);
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0], "cpu_count: 2 vs 4");
}

TEST(CrossRules, OneDevicePerSlot) {
  auto d = check(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"},
    {"plugin": "good-plugin", "label": "a"}, {"plugin": "good-plugin", "label": "b"}]})");
  EXPECT_TRUE(expect_diag(d, "cross.slot-taken", "devices[2]", "good-plugin"));
  EXPECT_FALSE(has_diag(d, "cross.slot-taken", "devices[1]"));
}

TEST(CrossRules, TwoBootLoadersAreRefused) {
  auto d = check(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"},
    {"plugin": "linux-boot", "kernel": "vmlinuz"}]})");
  EXPECT_TRUE(expect_diag(d, "cross.slot-taken", "devices[1]", "linux-boot"));
}

TEST(CrossRules, PluginRulesRunOnlyOnSchemaCleanDevices) {
  auto d = check(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"},
    {"plugin": "good-plugin", "label": "bad"}]})");
  EXPECT_TRUE(expect_diag(d, "test.bad-label", "devices[1].label", "good-plugin"));
  d = check(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"},
    {"plugin": "good-plugin", "label": "bad", "count": 99}]})");
  EXPECT_TRUE(expect_diag(d, "schema.range", "devices[1].count", "good-plugin"));
  EXPECT_FALSE(has_diag(d, "test.bad-label", "devices[1].label"));
}

TEST(CrossRules, EngineAdmissionNamesPluginAndEngine) {
  // The test plugin's C-ABI sibling supports only qemu.
  kernel::PluginHost h;
  h.load({{VZKIT_PLUGINS_DIR, "build"}, {std::string(VZKIT_TEST_PLUGINS) + "/old-minor", "test"}});
  auto parsed = kernel::parse_spec(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"},
    {"plugin": "old-minor"}]})", "spec.json", data_dir());
  kernel::ValidateOptions o;
  o.engine = "vz";
  auto d = kernel::validate(*parsed.spec, h, o);
  ASSERT_TRUE(expect_diag(d, "engine.unsupported", "devices[1]", "old-minor"));
  for (const auto& x : d)
    if (x.code == "engine.unsupported") {
      EXPECT_EQ(x.message, "plugin 'old-minor' does not run on the vz engine");
      EXPECT_EQ(x.hint, "remove this device, or use --engine qemu");
    }
  o.engine = "qemu";
  parsed = kernel::parse_spec(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"},
    {"plugin": "old-minor"}]})", "spec.json", data_dir());
  d = kernel::validate(*parsed.spec, h, o);
  EXPECT_FALSE(kernel::has_errors(d)) << kernel::format(d);
  // And its (ABI 1.0) factory contributes to the plan, defaults applied.
  kernel::AssembleOptions a;
  a.engine = "qemu";
  auto plan = kernel::assemble(*parsed.spec, h, a);
  EXPECT_EQ(plan.model.at("devices").at(0).at("driver"), "old-minor");
  EXPECT_EQ(plan.model.at("devices").at(0).at("origin").at("path"), "devices[1]");
}

TEST(Assemble, BaseMachineFromTheSpec) {
  auto plan = plan_text(R"({"name": "vm", "cpus": 3, "memory": "768MiB",
    "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz", "command_line": "console=ttyS0"}]})", "qemu");
  EXPECT_EQ(plan.at("smp"), 3);
  EXPECT_EQ(plan.at("memory_mib"), 768);
  EXPECT_EQ(plan.at("type"), "q35");
  EXPECT_EQ(plan.at("accel"), "tcg");
  EXPECT_EQ(plan.at("kernel").at("append"), "console=ttyS0");
  auto vz = plan_text(R"({"name": "vm", "cpus": 3, "memory": "768MiB",
    "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"}]})", "vz");
  EXPECT_EQ(vz.at("cpu_count"), 3);
  EXPECT_EQ(vz.at("memory_size"), 768ull << 20);
  EXPECT_EQ(vz.at("boot_loader").at("class"), "VZLinuxBootLoader");
  EXPECT_EQ(vz.at("boot_loader").at("origin").at("plugin"), "linux-boot");
}

TEST(Assemble, Aarch64UsesVirtAndCortexA72) {
  auto plan = plan_text(R"({"name": "vm", "arch": "aarch64",
    "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"}]})", "qemu");
  EXPECT_EQ(plan.at("binary"), "qemu-system-aarch64");
  EXPECT_EQ(plan.at("type"), "virt");
  EXPECT_EQ(plan.at("cpu"), "cortex-a72");
}

TEST(Assemble, PlanIsDeterministic) {
  const char* spec = R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"}, {"plugin": "entropy"}]})";
  EXPECT_EQ(plan_text(spec, "qemu"), plan_text(spec, "qemu"));
}

}  // namespace
