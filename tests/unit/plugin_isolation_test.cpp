// Plugins that crash, hang, exit or flood the host: each costs only its own entry when it is
// scanned, and ends a command that uses it with a message naming it, never with a bare signal
// or an exit status 0.
#include "test_support.hpp"

#include <sys/wait.h>

#include <cstdio>

namespace {

using namespace vzkit::test;
using namespace vzkit::kernel;
namespace fs = std::filesystem;

const fs::path kTP = VZKIT_TEST_PLUGINS;

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("vzkit-isolation-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

LoadOptions fresh_cache(const std::string& name) {
  LoadOptions o;
  o.cache_file = temp_dir(name) / "registry.json";
  o.limit = std::chrono::milliseconds(1500);
  return o;
}

std::string reason_for(const PluginHost& h, const std::string& file_part) {
  for (const auto& e : h.errors())
    if (e.file.string().find(file_part) != std::string::npos) return e.reason;
  return "(no error for " + file_part + ")";
}

TEST(PluginIsolation, FilesThatCrashHangOrExitWhileLoadingCostOnlyTheirOwnEntry) {
  PluginHost h;
  h.load({{kTP / "hostile-crash-in-entry", "t"},
          {kTP / "hostile-abort-in-entry", "t"},
          {kTP / "good", "t"},
          {kTP / "hostile-hang-in-entry", "t"},
          {kTP / "hostile-exit-in-entry", "t"},
          {kTP / "hostile-huge-manifest", "t"},
          {kTP / "hostile-chatty-entry", "t"}},
         fresh_cache("load"));
  ASSERT_EQ(h.plugins().size(), 2u) << h.errors().size();
  EXPECT_NE(h.find("good-plugin"), nullptr);
  EXPECT_NE(h.find("chatty-entry"), nullptr);  // what it prints does not confuse the scanner
  EXPECT_EQ(h.errors().size(), 5u);
  EXPECT_NE(reason_for(h, "crash-in-entry.so").find("crashed while loading (signal 11"), std::string::npos)
      << reason_for(h, "crash-in-entry.so");
  const auto aborted = reason_for(h, "abort-in-entry.so");
  EXPECT_NE(aborted.find("signal 6"), std::string::npos) << aborted;
  EXPECT_NE(aborted.find("it printed: hostile: giving up"), std::string::npos) << aborted;
  EXPECT_NE(reason_for(h, "hang-in-entry.so").find("did not finish loading within 1500 ms"), std::string::npos)
      << reason_for(h, "hang-in-entry.so");
  EXPECT_NE(reason_for(h, "exit-in-entry.so").find("(exit status 0) while loading"), std::string::npos)
      << reason_for(h, "exit-in-entry.so");
  EXPECT_NE(reason_for(h, "huge-manifest.so").find("longer than 1 MiB"), std::string::npos)
      << reason_for(h, "huge-manifest.so");
  // Nothing of them was loaded into this process.
  EXPECT_FALSE(h.find("chatty-entry")->is_loaded());
}

TEST(PluginIsolation, TheRegistryCacheKeepsWhatScansFoundByFileIdentity) {
  const auto options = fresh_cache("cache");
  // Copies, so that no earlier test of this process has seen these files.
  const auto dir = options.cache_file.parent_path() / "plugins";
  fs::create_directories(dir);
  fs::copy_file(fs::path(VZKIT_PLUGINS_DIR) / "vzkit-plugin-linux-boot.so", dir / "vzkit-plugin-linux-boot.so");
  fs::copy_file(kTP / "hostile-crash-in-entry" / "crash-in-entry.so", dir / "crash-in-entry.so");
  {
    PluginHost h;
    h.load({{dir, "t"}}, options);
    ASSERT_EQ(h.plugins().size(), 1u);
  }
  ASSERT_TRUE(fs::exists(options.cache_file));
  const auto v = json::parse([&] {
    std::ifstream in(options.cache_file);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }());
  const auto& files = v.at("files").as_object();
  bool crashed_entry = false, linux_boot = false;
  for (const auto& kv : files) {
    const std::string file(kv.key());
    const auto& e = kv.value().as_object();
    EXPECT_TRUE(e.contains("size") && e.contains("mtime_ns")) << file;
    if (file.find("crash-in-entry.so") != std::string::npos)
      crashed_entry = !e.at("ok").as_bool() && std::string(e.at("reason").as_string()).find("signal 11") != std::string::npos;
    if (file.find("vzkit-plugin-linux-boot.so") != std::string::npos)
      linux_boot = e.at("ok").as_bool() && e.at("manifest").at("name") == "linux-boot" &&
                   e.at("manifest_hash").as_string().size() == 16;
  }
  EXPECT_TRUE(crashed_entry);
  EXPECT_TRUE(linux_boot);
}

struct Run {
  int status;
  std::string out;
};

Run sh(const std::string& command) {
  Run r{-1, {}};
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// `vzkit` with its own VZKIT_HOME (so its own registry cache) and the hostile plugin NAME's folder.
std::string vzkit_with(const std::string& name, const std::string& home, const std::string& args) {
  return "VZKIT_HOME='" + home + "' VZKIT_PLUGIN_TIMEOUT=1.5 '" + VZKIT_BINARY + "' --plugin-path '" +
         (kTP / ("hostile-" + name)).string() + "' " + args;
}

// A spec that uses the plugin `name` beside a boot loader.
std::string spec_using(const fs::path& dir, const std::string& name) {
  const auto file = dir / (name + ".json");
  std::ofstream(file) << make_spec({entry("linux-boot", {{"kernel", (data_dir() / "vmlinuz").string()}}), entry(name)});
  return file.string();
}

TEST(PluginIsolation, ACrashExitOrHangInAHookEndsTheCommandNamingThePluginAndTheHook) {
  const auto dir = temp_dir("hooks");
  struct Case {
    std::string plugin, command, says;
  };
  for (const Case& c : {Case{"crash-in-validate", "validate", "plugin 'crash-in-validate' crashed in its validate hook (signal 11"},
                        Case{"exit-in-validate", "validate", "plugin 'exit-in-validate' called exit() in its validate hook"},
                        Case{"hang-in-validate", "validate", "plugin 'hang-in-validate' did not return from its validate hook within 1.5 s"},
                        Case{"overflow-in-assemble", "plan", "plugin 'overflow-in-assemble' crashed in its assemble hook (signal 11"}}) {
    const auto r = sh(vzkit_with(c.plugin, (dir / "home").string(), c.command + " '" + spec_using(dir, c.plugin) + "' --engine qemu"));
    EXPECT_EQ(r.status, 1) << c.plugin << ": " << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.plugin << ": " << r.out;
    EXPECT_NE(r.out.find(c.plugin + ".so off the plugin path"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("Segmentation fault (core dumped)"), std::string::npos) << r.out;
  }
}

TEST(PluginIsolation, AHookThatFloodsOrAnswersWithAnUnknownStatusIsAnError) {
  const auto dir = temp_dir("flood");
  auto r = sh(vzkit_with("flood-in-validate", (dir / "home").string(), "validate '" + spec_using(dir, "flood-in-validate") + "'"));
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("wrote more than 1 MiB from its validate hook"), std::string::npos) << r.out;
  r = sh(vzkit_with("odd-status", (dir / "home").string(), "validate '" + spec_using(dir, "odd-status") + "'"));
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("a status nobody defined"), std::string::npos) << r.out;
}

TEST(PluginIsolation, APluginASpecDoesNotUseIsNeverLoaded) {
  const auto dir = temp_dir("unused");
  const auto spec = dir / "plain.json";
  std::ofstream(spec) << make_spec({entry("linux-boot", {{"kernel", (data_dir() / "vmlinuz").string()}})});
  const auto r = sh(vzkit_with("crash-in-validate", (dir / "home").string(), "-v validate '" + spec.string() + "'"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("loading plugin 'linux-boot' from"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("loading plugin 'crash-in-validate'"), std::string::npos) << r.out;
}

TEST(PluginIsolation, PluginsListsBrokenFilesWithWhatHappenedAndGoesOn) {
  const auto dir = temp_dir("list");
  const auto r = sh("VZKIT_HOME='" + (dir / "home").string() + "' VZKIT_PLUGIN_TIMEOUT=1.5 '" + VZKIT_BINARY +
                    "' --plugin-path '" + (kTP / "hostile-crash-in-entry").string() + "' --plugin-path '" +
                    (kTP / "hostile-hang-in-entry").string() + "' plugins");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("crash-in-entry.so not loaded: crashed while loading (signal 11"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hang-in-entry.so not loaded: did not finish loading within 1500 ms"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("linux-boot"), std::string::npos) << r.out;
}

TEST(PluginIsolation, ASecondRunReadsTheRegistryCacheInsteadOfScanning) {
  const auto dir = temp_dir("warm");
  const std::string home = (dir / "home").string();
  auto r = sh("VZKIT_HOME='" + home + "' '" + VZKIT_BINARY + "' plugins");
  ASSERT_EQ(r.status, 0) << r.out;
  // A scanner that cannot run: the second run must not need it.
  r = sh("VZKIT_HOME='" + home + "' VZKIT_PLUGIN_SCANNER=/nonexistent '" + VZKIT_BINARY + "' plugins");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("cannot run"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("virtio-blk"), std::string::npos) << r.out;
}

TEST(PluginIsolation, PluginCheckRunsTheFileInAChild) {
  const auto r = sh("VZKIT_PLUGIN_TIMEOUT=1.5 '" + std::string(VZKIT_BINARY) + "' plugin check '" +
                    (kTP / "hostile-overflow-in-assemble" / "overflow-in-assemble.so").string() + "'");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("crashed while being checked (signal 11"), std::string::npos) << r.out;
}

}  // namespace
