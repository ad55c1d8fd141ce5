// Loading real plugin files: the good one, and every way a file can be refused.
#include <vzkit/kernel/plugin_host.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <filesystem>

namespace {

using namespace vzkit::kernel;
namespace fs = std::filesystem;

const fs::path kTP = VZKIT_TEST_PLUGINS;

PluginHost load_dir(const std::string& folder) {
  PluginHost h;
  h.load({{kTP / folder, "test"}});
  return h;
}

std::string only_error(const PluginHost& h) {
  EXPECT_EQ(h.errors().size(), 1u);
  return h.errors().empty() ? "" : h.errors().front().reason;
}

TEST(PluginHost, LoadsAGoodPluginWithItsManifest) {
  auto h = load_dir("good");
  ASSERT_TRUE(h.errors().empty()) << h.errors().front().reason;
  ASSERT_EQ(h.plugins().size(), 1u);
  const auto* p = h.find("good-plugin");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->manifest().version, "1.2.3");
  EXPECT_EQ(p->manifest().engines, (std::vector<std::string>{"qemu", "vz"}));
  EXPECT_EQ(p->manifest().slots, (std::vector<std::string>{"test-slot"}));
  EXPECT_EQ(p->origin(), "test");
  EXPECT_EQ(p->abi_major(), 1u);
}

TEST(PluginHost, PluginBuiltAgainstAnOlderMinorLoads) {
  auto h = load_dir("old-minor");
  ASSERT_TRUE(h.errors().empty()) << h.errors().front().reason;
  const auto* p = h.find("old-minor");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->abi_minor(), 0u);
  // Its descriptor predates the describe hook: the host must not read past its size.
  EXPECT_FALSE(p->describe(boost::json::object{}).has_value());
  auto frag = p->assemble(boost::json::object{{"engine", "qemu"}});
  EXPECT_EQ(frag.at("devices").at(0).at("driver"), "old-minor");
}

TEST(PluginHost, WrongMajorIsRefusedNamingBothVersions) {
  auto h = load_dir("wrong-major");
  EXPECT_TRUE(h.plugins().empty());
  auto reason = only_error(h);
  EXPECT_NE(reason.find("ABI 2.0"), std::string::npos) << reason;
  EXPECT_NE(reason.find("ABI 1.1"), std::string::npos) << reason;
  EXPECT_NE(h.errors().front().file.string().find("wrong-major.so"), std::string::npos);
}

TEST(PluginHost, NewerMinorIsRefusedNamingBothVersions) {
  auto h = load_dir("newer-minor");
  EXPECT_TRUE(h.plugins().empty());
  auto reason = only_error(h);
  EXPECT_NE(reason.find("ABI 1.2"), std::string::npos) << reason;
  EXPECT_NE(reason.find("newer than this vzkit's ABI 1.1"), std::string::npos) << reason;
}

TEST(PluginHost, MissingEntryIsRefused) {
  auto h = load_dir("no-entry");
  EXPECT_NE(only_error(h).find("no entry symbol 'vzkit_plugin_entry'"), std::string::npos);
}

TEST(PluginHost, EntryThatThrowsIsRefused) {
  auto h = load_dir("entry-throws");
  EXPECT_NE(only_error(h).find("entry exploded"), std::string::npos);
}

TEST(PluginHost, ConstructorThatThrowsIsReportedThroughTheHelperLayer) {
  auto h = load_dir("ctor-throws");
  auto reason = only_error(h);
  EXPECT_NE(reason.find("its entry failed: cannot open the test device"), std::string::npos) << reason;
}

TEST(PluginHost, EntryThatFailsGivesItsReason) {
  auto h = load_dir("entry-fails");
  EXPECT_NE(only_error(h).find("not present on this host"), std::string::npos);
}

TEST(PluginHost, BadManifestIsRefused) {
  auto h = load_dir("bad-manifest");
  EXPECT_NE(only_error(h).find("its manifest is invalid: 'name' must be a string"), std::string::npos);
}

TEST(PluginHost, NotALibraryIsRefused) {
  auto h = load_dir("not-a-library");
  EXPECT_NE(only_error(h).find("not a loadable shared library"), std::string::npos);
}

TEST(PluginHost, DuplicateNameKeepsTheFirstAndReportsTheSecond) {
  auto h = load_dir("duplicate");
  ASSERT_EQ(h.plugins().size(), 1u);
  EXPECT_NE(h.plugins().front()->file().string().find("a-good.so"), std::string::npos);
  auto reason = only_error(h);
  EXPECT_NE(reason.find("'good-plugin' is already taken by"), std::string::npos) << reason;
  EXPECT_NE(h.errors().front().file.string().find("b-good.so"), std::string::npos);
}

TEST(PluginHost, BadFilesDoNotStopTheOthers) {
  PluginHost h;
  h.load({{kTP / "wrong-major", "a"}, {kTP / "good", "b"}, {kTP / "not-a-library", "c"}, {kTP / "old-minor", "d"}});
  EXPECT_EQ(h.plugins().size(), 2u);
  EXPECT_EQ(h.errors().size(), 2u);
}

TEST(PluginHost, AFileIsLoadedOnceAcrossHosts) {
  auto a = load_dir("good");
  auto b = load_dir("good");
  ASSERT_EQ(a.plugins().size(), 1u);
  ASSERT_EQ(b.plugins().size(), 1u);
  EXPECT_EQ(a.plugins().front(), b.plugins().front());
}

TEST(PluginHost, SameFileTwiceOnThePathIsNotADuplicate) {
  PluginHost h;
  h.load({{kTP / "good", "a"}, {kTP / "good" / "good-plugin.so", "b"}});
  EXPECT_EQ(h.plugins().size(), 1u);
  EXPECT_TRUE(h.errors().empty());
}

TEST(PluginHost, MissingPluginPathEntryIsReported) {
  PluginHost h;
  h.load({{kTP / "no-such-folder", "--plugin-path"}});
  EXPECT_NE(only_error(h).find("no such file or folder"), std::string::npos);
}

TEST(PluginHost, SearchPathOrder) {
  setenv("VZKIT_PLUGIN_PATH", "/a:/b", 1);
  setenv("VZKIT_HOME", "/home/x/.vzkit", 1);
  SearchOptions o;
  o.plugin_paths = {"/cli"};
  auto p = plugin_search_path(o);
  ASSERT_EQ(p.size(), 5u);
  EXPECT_EQ(p[0].path, "/cli");
  EXPECT_EQ(p[0].origin, "--plugin-path");
  EXPECT_EQ(p[1].path, "/a");
  EXPECT_EQ(p[2].path, "/b");
  EXPECT_EQ(p[2].origin, "VZKIT_PLUGIN_PATH");
  EXPECT_EQ(p[3].origin, "installed beside the binary");
  EXPECT_EQ(p[4].path, "/home/x/.vzkit/plugins");
  unsetenv("VZKIT_PLUGIN_PATH");
  unsetenv("VZKIT_HOME");
}

TEST(PluginHost, HookFailureBecomesAnError) {
  auto h = load_dir("good");
  const auto* p = h.find("good-plugin");
  ASSERT_NE(p, nullptr);
  EXPECT_THROW(p->assemble(boost::json::object{{"engine", "warp-drive"}}), std::runtime_error);
  try {
    p->assemble(boost::json::object{{"engine", "vz"}});
    FAIL() << "expected the missing VZ factory to be reported";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no VZ factory"), std::string::npos);
  }
}

}  // namespace
