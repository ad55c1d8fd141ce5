// Spec parsing and the kernel's own validation: syntax errors with line and column, sizes with
// units, unknown keys, defaults, malformed input of every kind.
#include "test_support.hpp"

#include <vzkit/units.hpp>

#include <vzkit/kernel/spec.hpp>

namespace {

using namespace vzkit;
using namespace vzkit::test;

const char* kMinimal = R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"}]})";

TEST(Spec, SyntaxErrorHasLineAndColumn) {
  auto p = kernel::parse_spec("{\n  \"name\": \"vm\",\n  \"cpus\": 2,,\n}", "bad.json", "/tmp");
  ASSERT_FALSE(p.spec);
  ASSERT_EQ(p.diagnostics.size(), 1u);
  const auto& d = p.diagnostics.front();
  EXPECT_EQ(d.code, "spec.syntax");
  EXPECT_EQ(d.file, "bad.json");
  EXPECT_EQ(d.line, 3);
  EXPECT_EQ(d.column, 13);
}

TEST(Spec, TruncatedFileSaysItEndsEarly) {
  auto p = kernel::parse_spec(R"({"name": "vm", "devices": [)", "t.json", "/tmp");
  ASSERT_FALSE(p.spec);
  EXPECT_EQ(p.diagnostics.front().code, "spec.syntax");
  EXPECT_NE(p.diagnostics.front().hint.find("ends early"), std::string::npos);
}

TEST(Spec, TrailingGarbageIsAnError) {
  auto p = kernel::parse_spec(R"({"name": "vm"} trailing)", "t.json", "/tmp");
  ASSERT_FALSE(p.spec);
  EXPECT_EQ(p.diagnostics.front().line, 1);
  EXPECT_EQ(p.diagnostics.front().column, 16);
}

TEST(Spec, DeepNestingIsRefusedWithoutCrashing) {
  std::string deep(100000, '[');
  auto p = kernel::parse_spec(deep, "deep.json", "/tmp");
  ASSERT_FALSE(p.spec);
  EXPECT_NE(p.diagnostics.front().hint.find("nesting"), std::string::npos);
}

TEST(Spec, HugeInputIsRefusedBeforeParsing) {
  std::string huge(kernel::kMaxSpecBytes + 1, ' ');
  auto p = kernel::parse_spec(huge, "huge.json", "/tmp");
  ASSERT_FALSE(p.spec);
  EXPECT_NE(p.diagnostics.front().message.find("bytes"), std::string::npos);
}

TEST(Spec, NotAnObjectIsASchemaError) {
  auto d = validate_text("[1, 2, 3]");
  EXPECT_TRUE(expect_diag(d, "schema.type", ""));
}

TEST(Spec, UnreadableFileIsReported) {
  auto p = kernel::load_spec("/no/such/spec.json");
  ASSERT_FALSE(p.spec);
  EXPECT_EQ(p.diagnostics.front().code, "spec.unreadable");
  EXPECT_EQ(p.diagnostics.front().file, "/no/such/spec.json");
}

TEST(Spec, SizesWithUnits) {
  EXPECT_EQ(kernel::parse_size("4GiB"), 4ull << 30);
  EXPECT_EQ(kernel::parse_size("4G"), 4ull << 30);
  EXPECT_EQ(kernel::parse_size("512MiB"), 512ull << 20);
  EXPECT_EQ(kernel::parse_size("1.5GiB"), 3ull << 29);
  EXPECT_EQ(kernel::parse_size("2GB"), 2000000000ull);
  EXPECT_EQ(kernel::parse_size("1048576"), 1ull << 20);
  EXPECT_EQ(kernel::parse_size(" 64 MiB "), 64ull << 20);
  EXPECT_FALSE(kernel::parse_size("4 parsecs"));
  EXPECT_FALSE(kernel::parse_size("GiB"));
  EXPECT_FALSE(kernel::parse_size("1.2.3G"));
  EXPECT_FALSE(kernel::parse_size("99999999999999999999TiB"));
  EXPECT_FALSE(kernel::parse_size("0.3B"));
  EXPECT_EQ(kernel::format_size(4ull << 30), "4 GiB");
  EXPECT_EQ(kernel::format_size(1536ull << 20), "1536 MiB");
}

TEST(Spec, SuggestedSizesKeepTheNumberAndFixTheUnit) {
  EXPECT_EQ(vzkit::suggest_size("512MB", 1u << 20, 64u << 20), "512MiB");  // not "489MiB"
  EXPECT_EQ(vzkit::suggest_size("2 GB", 1u << 20, 64u << 20), "2GiB");
  EXPECT_EQ(vzkit::suggest_size("512", 1u << 20, 64u << 20), "512MiB");
  EXPECT_EQ(vzkit::suggest_size("4", 1u << 20, 64u << 20), "4GiB");
  EXPECT_EQ(vzkit::suggest_size("8", 512, 1u << 30), "8GiB");
  EXPECT_EQ(vzkit::suggest_size("1000000000", 1u << 20, 64u << 20), "954MiB");  // bytes on purpose: rounded
  EXPECT_EQ(vzkit::suggest_size("1000KiB", 1u << 20), "1MiB");
  EXPECT_EQ(vzkit::suggest_size("lots", 512), "");
}

TEST(Spec, MemoryInDecimalUnitsSuggestsTheBinaryUnit) {
  auto d = validate_text(R"({"name": "vm", "memory": "512MB", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"}]})");
  bool found = false;
  for (const auto& x : d)
    if (x.code == "spec.memory-granularity") {
      found = true;
      EXPECT_NE(x.hint.find("try \"512MiB\""), std::string::npos) << x.hint;
    }
  EXPECT_TRUE(found) << kernel::format(d);
}

TEST(Spec, DefaultsComeFromTheSchemas) {
  auto parsed = kernel::parse_spec(kMinimal, "spec.json", data_dir());
  ASSERT_TRUE(parsed.spec);
  auto d = kernel::validate(*parsed.spec, builtin_plugins());
  ASSERT_FALSE(kernel::has_errors(d)) << kernel::format(d);
  EXPECT_EQ(parsed.spec->cpus, 2u);
  EXPECT_EQ(parsed.spec->memory_bytes, 2ull << 30);
  ASSERT_EQ(parsed.spec->devices.size(), 1u);
  EXPECT_EQ(parsed.spec->devices[0].config.at("command_line"), "");  // linux-boot's default
  EXPECT_EQ(parsed.spec->devices[0].path, "devices[0]");
}

TEST(Spec, UnknownKeysAreErrorsWithASuggestion) {
  auto d = validate_text(R"({"name": "vm", "cpu": 2, "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz", "initramfs": "x"}]})");
  EXPECT_TRUE(expect_diag(d, "schema.unknown-key", "cpu"));
  EXPECT_TRUE(expect_diag(d, "schema.unknown-key", "devices[0].initramfs", "linux-boot"));
  for (const auto& x : d)
    if (x.path == "cpu") EXPECT_EQ(x.hint, "did you mean 'cpus'?");
}

TEST(Spec, EveryProblemIsReportedAtOnce) {
  auto d = validate_text(R"({"name": "bad name!", "cpus": 0, "memory": "3 parsecs",
    "devices": [{"plugin": "linux-boot"}, {"plugin": "nope"}, {"kernel": "x"}, 7]})");
  EXPECT_TRUE(expect_diag(d, "schema.pattern", "name"));
  EXPECT_TRUE(expect_diag(d, "schema.range", "cpus"));
  EXPECT_TRUE(expect_diag(d, "schema.pattern", "memory"));
  EXPECT_TRUE(expect_diag(d, "schema.required", "devices[0].kernel", "linux-boot"));
  EXPECT_TRUE(expect_diag(d, "spec.unknown-plugin", "devices[1].plugin", "nope"));
  EXPECT_TRUE(expect_diag(d, "schema.required", "devices[2].plugin"));
  EXPECT_TRUE(expect_diag(d, "schema.type", "devices[3]"));
  EXPECT_GE(d.size(), 7u);
}

TEST(Spec, WrongTypesAreNamed) {
  auto d = validate_text(R"({"name": 5, "cpus": "two", "devices": {}})");
  EXPECT_TRUE(expect_diag(d, "schema.type", "name"));
  EXPECT_TRUE(expect_diag(d, "schema.type", "cpus"));
  EXPECT_TRUE(expect_diag(d, "schema.type", "devices"));
}

TEST(Spec, AbsurdSizesAreRefused) {
  auto d = validate_text(R"({"name": "vm", "cpus": 100000, "memory": "900TiB", "devices": []})");
  EXPECT_TRUE(expect_diag(d, "schema.range", "cpus"));
  EXPECT_TRUE(expect_diag(d, "spec.memory-too-large", "memory"));
  d = validate_text(R"({"name": "vm", "memory": "1000000B", "devices": []})");
  EXPECT_TRUE(expect_diag(d, "spec.memory-granularity", "memory"));
  d = validate_text(R"({"name": "vm", "cpus": 1e300, "devices": []})");
  EXPECT_TRUE(expect_diag(d, "schema.type", "cpus"));
}

TEST(Spec, UnknownPluginSuggestsTheClosestName) {
  auto d = validate_text(R"({"name": "vm", "devices": [{"plugin": "linux-bot", "kernel": "vmlinuz"}]})");
  ASSERT_TRUE(expect_diag(d, "spec.unknown-plugin", "devices[0].plugin", "linux-bot"));
  for (const auto& x : d)
    if (x.code == "spec.unknown-plugin") EXPECT_EQ(x.hint, "did you mean 'linux-boot'?");
}

TEST(Spec, RelativePathsResolveAgainstTheSpecFolder) {
  auto plan = plan_text(kMinimal, "qemu");
  ASSERT_TRUE(plan.is_object());
  EXPECT_EQ(plan.at("kernel").at("kernel").as_string(), (data_dir() / "vmlinuz").string());
}

TEST(Spec, MissingBootLoaderIsReported) {
  auto d = validate_text(R"({"name": "vm", "devices": [{"plugin": "entropy"}]})");
  EXPECT_TRUE(expect_diag(d, "cross.missing-boot-loader", "devices"));
}

TEST(Spec, EngineAdmissionAndUnknownEngine) {
  auto d = validate_text(kMinimal, "hyperv");
  EXPECT_TRUE(expect_diag(d, "engine.unknown", ""));
}

}  // namespace

namespace {

vzkit::test::Diagnostics validate_with_bounds(const std::string& text, const boost::json::object& bounds) {
  auto parsed = vzkit::kernel::parse_spec(text, "spec.json", vzkit::test::data_dir());
  vzkit::kernel::ValidateOptions o;
  o.engine = "vz";
  o.host_bounds = bounds;
  return vzkit::kernel::validate(*parsed.spec, vzkit::test::builtin_plugins(), o);
}

const boost::json::object kBounds{{"virtualization_supported", true},
                                  {"cpu_count", {{"min", 1}, {"max", 8}}},
                                  {"memory_size", {{"min", 128u << 20}, {"max", 16ull << 30}}}};

}  // namespace

TEST(Spec, CpusAndMemoryBeyondTheHostsBoundsAreNamed) {
  using namespace vzkit::test;
  const auto d = validate_with_bounds(make_spec({entry("efi-boot")}, R"("cpus": 12, "memory": "32GiB", )"), kBounds);
  EXPECT_TRUE(expect_diag(d, "engine.host-bounds", "cpus"));
  EXPECT_TRUE(expect_diag(d, "engine.host-bounds", "memory"));
  EXPECT_NE(vzkit::kernel::format(d).find("this host allows 1 to 8 CPUs, got 12"), std::string::npos)
      << vzkit::kernel::format(d);
  EXPECT_NE(vzkit::kernel::format(d).find("this host allows 128 MiB to 16 GiB, got 32 GiB"), std::string::npos)
      << vzkit::kernel::format(d);
}

TEST(Spec, WithinTheHostsBoundsNothingIsSaid) {
  using namespace vzkit::test;
  const auto d = validate_with_bounds(make_spec({entry("efi-boot")}, R"("cpus": 8, "memory": "16GiB", )"), kBounds);
  for (const auto& x : d) EXPECT_NE(x.code, "engine.host-bounds") << vzkit::kernel::format(d);
}

TEST(Spec, AHostThatCannotVirtualizeIsWarnedAboutButPlansStillWork) {
  using namespace vzkit::test;
  auto bounds = kBounds;
  bounds["virtualization_supported"] = false;
  const auto d = validate_with_bounds(make_spec({entry("efi-boot")}), bounds);
  EXPECT_TRUE(expect_diag(d, "engine.no-virtualization", ""));
  EXPECT_FALSE(vzkit::kernel::has_errors(d)) << vzkit::kernel::format(d);
}
