// The spec reference (docs/spec.md) is generated from the plugins' manifests; the copy in the
// tree must match what the built-in plugins produce.
#include "test_support.hpp"

#include <vzkit/kernel/spec_reference.hpp>

#include <algorithm>

namespace {

using namespace vzkit;
using namespace vzkit::test;

const std::string& reference() {
  static const std::string text = kernel::spec_reference_markdown(builtin_plugins());
  return text;
}

/// The text of the section of plugin `name`: from its heading to the next plugin's.
std::string section(const std::string& name) {
  const auto& r = reference();
  const auto start = r.find("\n### `" + name + "`\n");
  if (start == std::string::npos) return {};
  const auto end = r.find("\n### `", start + 1);
  return r.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(SpecReference, DocsSpecMdIsUpToDate) {
  expect_file_contents(std::filesystem::path(VZKIT_SOURCE_DIR) / "docs" / "spec.md", reference(),
                       "the spec reference (made by `vzkit schema --markdown > docs/spec.md`, or by "
                       "`VZKIT_UPDATE_GOLDEN=1 vzkit_tests --gtest_filter='SpecReference.*'`)");
}

TEST(SpecReference, SaysItIsGeneratedAndHow) {
  const auto& r = reference();
  const auto first_line = r.substr(0, r.find('\n'));
  EXPECT_NE(first_line.find("Generated"), std::string::npos) << first_line;
  EXPECT_NE(first_line.find("`vzkit schema --markdown > docs/spec.md`"), std::string::npos) << first_line;
  EXPECT_NE(r.find("\n# VM spec reference\n"), std::string::npos);
}

TEST(SpecReference, IsDeterministicAndNamesNoFiles) {
  EXPECT_EQ(kernel::spec_reference_markdown(builtin_plugins()), reference());
  EXPECT_EQ(reference().find(VZKIT_PLUGINS_DIR), std::string::npos);
  EXPECT_EQ(reference().find(VZKIT_SOURCE_DIR), std::string::npos);
  EXPECT_EQ(reference().find("vzkit-plugin-"), std::string::npos);  // plugin file names
  EXPECT_EQ(reference().find("/tmp/"), std::string::npos);
}

TEST(SpecReference, TopLevelKeysWithTypesDefaultsAndSizes) {
  const auto& r = reference();
  EXPECT_NE(r.find("| `cpus` | integer | `2` | 1 to 256 | **Virtual CPUs.** Number of virtual CPUs."), std::string::npos);
  EXPECT_NE(r.find("| `memory` | size | `\"2GiB\"` | a size, see [Sizes](#sizes) | **Memory.**"), std::string::npos);
  EXPECT_NE(r.find("| `name` | string | required |"), std::string::npos);
  EXPECT_NE(r.find("| `devices[].plugin` | string | required |"), std::string::npos);
  EXPECT_NE(r.find("\n## Sizes\n"), std::string::npos);
}

TEST(SpecReference, PluginsAreSortedByName) {
  const auto& r = reference();
  std::size_t last = 0;
  std::string previous;
  std::vector<std::string> names;
  for (const auto* p : builtin_plugins().plugins()) names.push_back(p->name());
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    const auto at = r.find("\n### `" + n + "`\n");
    ASSERT_NE(at, std::string::npos) << n;
    EXPECT_GT(at, last) << n << " comes before " << previous;
    last = at;
    previous = n;
  }
}

TEST(SpecReference, APluginSectionListsItsSettingsAndRules) {
  const auto gpu = section("mac-graphics");
  ASSERT_FALSE(gpu.empty());
  EXPECT_NE(gpu.find("- **Engines:** `vz`\n"), std::string::npos) << gpu;
  EXPECT_NE(gpu.find("- **Not on `qemu`:** the Mac graphics device belongs to macOS guests"), std::string::npos) << gpu;
  EXPECT_NE(gpu.find("- **Minimum macOS (VZ):** 12.0\n"), std::string::npos) << gpu;
  EXPECT_NE(gpu.find("- **Requires:** `mac-platform`\n"), std::string::npos) << gpu;
  EXPECT_NE(gpu.find("- **At most:** 1 per VM\n"), std::string::npos) << gpu;
  EXPECT_NE(gpu.find("| `width` | integer | `1920` | 640 to 8192 | **Width.** Width of the display in pixels"),
            std::string::npos)
      << gpu;

  const auto net = section("network");
  EXPECT_NE(net.find("| `forwards` | array of objects | optional | at most 64 entries |"), std::string::npos) << net;
  EXPECT_NE(net.find("| `forwards[].host_port` | integer | required | 0 to 65535 | **Host port.**"), std::string::npos)
      << net;
  EXPECT_NE(net.find("| `forwards[].protocol` | string | `\"tcp\"` | `\"tcp\"`, `\"udp\"` |"), std::string::npos) << net;
  EXPECT_NE(net.find("- **Unique:** `mac` must not repeat across the VM's `network` devices (scope `mac-address`)"),
            std::string::npos)
      << net;
  EXPECT_NE(net.find("```json\n{\n  \"plugin\": \"network\",\n  \"forwards\": ["), std::string::npos) << net;

  EXPECT_NE(section("keyboard").find("- **Requires:** `mac-platform` when `type` is `\"mac\"`\n"), std::string::npos);
  EXPECT_NE(section("virtiofs").find("across the VM's `rosetta`, `virtiofs` devices (scope `virtio-fs-tag`)"),
            std::string::npos)
      << section("virtiofs");
  EXPECT_NE(section("virtiofs").find("| `shares.<name>.path` | string | required |"), std::string::npos);
  EXPECT_NE(section("virtio-blk").find("| `create_size` | size | optional | a size, see [Sizes](#sizes) |"),
            std::string::npos);
  EXPECT_NE(section("efi-boot").find("- **Slot:** `boot-loader`, which one device per VM may fill (also filled by "
                                     "`linux-boot`, `mac-platform`)"),
            std::string::npos)
      << section("efi-boot");
  EXPECT_NE(section("balloon").find("#### Settings\n\nNone: the device entry is just `{\"plugin\": \"balloon\"}`."),
            std::string::npos)
      << section("balloon");
}

TEST(SpecReference, TableCellsEscapeMarkdown) {
  kernel::PluginHost h;
  h.load({{std::filesystem::path(VZKIT_TEST_PLUGINS) / "nonconforming", "test"}});
  ASSERT_EQ(h.plugins().size(), 1u);
  const auto r = kernel::spec_reference_markdown(h);
  EXPECT_NE(r.find("A label \\| with a pipe and a \\<placeholder\\>."), std::string::npos) << r;
  // A setting without description still gets its row.
  EXPECT_NE(r.find("| `speed` | integer | `5` | 1 to 10 | **Speed.** |"), std::string::npos) << r;
  // It has no examples, so no Examples heading either.
  EXPECT_EQ(r.find("#### Examples"), std::string::npos) << r;
}

}  // namespace
