// The vzkit command as a user runs it: exit codes, text and JSON output.
#include "test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace {

using namespace vzkit::test;

struct Run {
  int status;
  std::string out;
};

// Runs the vzkit binary with `args` (shell syntax), stdout and stderr captured together unless
// `stdout_only`.
Run vzkit(const std::string& args, bool stdout_only = false) {
  std::string cmd = std::string("'") + VZKIT_BINARY + "' " + args + (stdout_only ? " 2>/dev/null" : " 2>&1");
  Run r{-1, {}};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string data(const std::string& name) { return (data_dir() / name).string(); }

// A $VZKIT_HOME of the test's own, removed afterwards; run() runs vzkit with it.
class Home {
 public:
  Home()
      : m_dir(std::filesystem::temp_directory_path() /
              (std::string("vzkit-cli-") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" +
               std::to_string(::getpid()))) {
    std::filesystem::remove_all(m_dir);
    std::filesystem::create_directories(m_dir);
  }
  ~Home() { std::filesystem::remove_all(m_dir); }
  const std::filesystem::path& dir() const { return m_dir; }
  std::filesystem::path vms() const { return m_dir / "vms"; }
  Run run(const std::string& args, bool stdout_only = false) const {
    ::setenv("VZKIT_HOME", m_dir.c_str(), 1);
    auto r = vzkit(args, stdout_only);
    ::unsetenv("VZKIT_HOME");
    return r;
  }
  /// The names in vms/, hidden ones too (a half-made VM is a hidden folder).
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(vms(), ec)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path m_dir;
};

class TempSpec {
 public:
  // One file per test: ctest runs tests in parallel processes.
  explicit TempSpec(const std::string& text)
      : m_path(data(std::string("cli-") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json")) {
    std::ofstream(m_path) << text;
  }
  ~TempSpec() { std::filesystem::remove(m_path); }
  const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

TEST(Cli, HelpTeaches) {
  auto r = vzkit("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos);
  EXPECT_NE(r.out.find("VZKIT_PLUGIN_PATH"), std::string::npos);
}

TEST(Cli, AMisspelledCommandIsNamedWithTheClosestOne) {
  auto r = vzkit("lst");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("error: unknown command 'lst'; did you mean 'list'?"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("A subcommand is required"), std::string::npos) << r.out;
  r = vzkit("--plugin-path /nowhere plugin chek x.so");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("unknown command 'plugin chek'; did you mean 'plugin check'?"), std::string::npos) << r.out;
  r = vzkit("frobnicate");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("unknown command 'frobnicate'\n  hint: `vzkit --help` lists the commands: plugins,"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(vzkit("-v plugins").status, 0);  // options before the command are no command
}

TEST(Cli, PluginsListsNameVersionAndFile) {
  auto r = vzkit("plugins");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("linux-boot"), std::string::npos);
  EXPECT_NE(r.out.find("vzkit-plugin-linux-boot.so"), std::string::npos);
  EXPECT_NE(r.out.find("installed beside the binary"), std::string::npos);
}

TEST(Cli, PluginsJsonIncludesLoadErrors) {
  auto r = vzkit("--plugin-path '" + std::string(VZKIT_TEST_PLUGINS) + "/wrong-major' plugins --json", true);
  ASSERT_EQ(r.status, 0) << r.out;
  auto v = json::parse(r.out);
  bool found = false;
  for (const auto& p : v.at("plugins").as_array()) found = found || p.at("name") == "linux-boot";
  EXPECT_TRUE(found);
  ASSERT_EQ(v.at("errors").as_array().size(), 1u);
  EXPECT_NE(std::string(v.at("errors").at(0).at("reason").as_string()).find("ABI 2.0"), std::string::npos);
}

TEST(Cli, LoadErrorsAreWarningsNamingTheFile) {
  auto r = vzkit("--plugin-path '" + std::string(VZKIT_TEST_PLUGINS) + "/no-entry' plugins");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("no-entry.so not loaded: no entry symbol"), std::string::npos) << r.out;
}

TEST(Cli, ValidateCleanSpecExitsZero) {
  TempSpec s(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"}]})");
  auto r = vzkit("validate '" + s.path() + "' --engine qemu");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("valid for qemu"), std::string::npos);
}

TEST(Cli, ValidateBadSpecExitsTwoWithEveryDiagnostic) {
  TempSpec s(R"({"name": "vm", "cpus": 0, "devices": [{"plugin": "linux-boot", "kernal": "vmlinuz"}]})");
  auto r = vzkit("validate '" + s.path() + "'");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("cpus: error: must be between 1 and 256, got 0 [schema.range]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("devices[0].kernal: error: unknown key 'kernal'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("devices[0].kernel: error: is required [schema.required, plugin linux-boot]"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("3 errors"), std::string::npos) << r.out;
}

TEST(Cli, ValidateJson) {
  TempSpec s(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "missing"}]})");
  auto r = vzkit("validate '" + s.path() + "' --json", true);
  EXPECT_EQ(r.status, 2);
  auto v = json::parse(r.out);
  EXPECT_EQ(v.at("valid"), false);
  const auto& d = v.at("diagnostics").at(0);
  EXPECT_EQ(d.at("code"), "linux-boot.kernel-missing");
  EXPECT_EQ(d.at("path"), "devices[0].kernel");
  EXPECT_EQ(d.at("plugin"), "linux-boot");
}

TEST(Cli, MalformedInputsExitTwo) {
  for (const std::string& text : std::vector<std::string>{"", "{", "not json", "[]", "{\"name\": []}", std::string(5000, '[')}) {
    TempSpec s(text);
    auto r = vzkit("validate '" + s.path() + "'");
    EXPECT_EQ(r.status, 2) << "input: " << text.substr(0, 20) << "\n" << r.out;
  }
  auto r = vzkit("validate /no/such/file.json");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("the spec file does not exist"), std::string::npos) << r.out;
}

TEST(Cli, PlanArgvAndJson) {
  TempSpec s(R"({"name": "vm", "memory": "512MiB", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz",
    "command_line": "console=ttyS0 quiet"}, {"plugin": "entropy"}]})");
  auto r = vzkit("plan '" + s.path() + "' --engine qemu --format argv", true);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("qemu-system-x86_64 -nodefaults -no-user-config -machine q35,accel=tcg"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("-append 'console=ttyS0 quiet'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-device virtio-rng-pci,rng=rng1"), std::string::npos) << r.out;
  r = vzkit("plan '" + s.path() + "' --engine vz", true);
  EXPECT_EQ(r.status, 0);
  auto v = json::parse(r.out);
  EXPECT_EQ(v.at("entropy_devices").at(0).at("class"), "VZVirtioEntropyDeviceConfiguration");
}

TEST(Cli, PlanSwiftReadsLikeAppleSamples) {
  TempSpec s(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"}, {"plugin": "entropy"}]})");
  auto r = vzkit("plan '" + s.path() + "' --engine vz --format swift", true);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("import Virtualization"), std::string::npos);
  EXPECT_NE(r.out.find("VZLinuxBootLoader(kernelURL:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("VZVirtioEntropyDeviceConfiguration()"), std::string::npos) << r.out;
}

TEST(Cli, PlanFormatMustFitTheEngine) {
  TempSpec s(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"}]})");
  EXPECT_EQ(vzkit("plan '" + s.path() + "' --engine vz --format argv").status, 2);
  EXPECT_EQ(vzkit("plan '" + s.path() + "' --engine qemu --format swift").status, 2);
}

TEST(Cli, SchemaOfOnePluginAndOfTheWholeSpec) {
  auto r = vzkit("schema linux-boot", true);
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(json::parse(r.out).at("required").at(0), "kernel");
  r = vzkit("schema", true);
  ASSERT_EQ(r.status, 0);
  auto v = json::parse(r.out);
  EXPECT_TRUE(v.at("properties").at("devices").at("items").at("oneOf").is_array());
  EXPECT_EQ(vzkit("schema no-such-plugin").status, 2);
}

TEST(Cli, SchemaMarkdownIsTheCommittedSpecReference) {
  auto r = vzkit("--no-default-plugins --plugin-path '" + std::string(VZKIT_PLUGINS_DIR) + "' schema --markdown", true);
  ASSERT_EQ(r.status, 0);
  std::ifstream in(std::string(VZKIT_SOURCE_DIR) + "/docs/spec.md", std::ios::binary);
  std::stringstream committed;
  committed << in.rdbuf();
  EXPECT_TRUE(r.out == committed.str())
      << "docs/spec.md differs from `vzkit schema --markdown`; regenerate it with VZKIT_UPDATE_GOLDEN=1";
  EXPECT_EQ(vzkit("schema linux-boot --markdown").status, 2);
}

std::string plugin_file(const std::string& name) {
  return std::string(VZKIT_PLUGINS_DIR) + "/vzkit-plugin-" + name + ".so";
}

TEST(Cli, PluginCheckPassesABuiltInPlugin) {
  auto r = vzkit("plugin check '" + plugin_file("virtiofs") + "'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("PASS fragments.round-trip"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("virtiofs: conforms (7 checks passed)"), std::string::npos) << r.out;
}

TEST(Cli, PluginCheckNamesEveryBrokenRuleAndExitsOne) {
  const std::string lax = std::string(VZKIT_TEST_PLUGINS) + "/nonconforming/lax-plugin.so";
  auto r = vzkit("plugin check '" + lax + "'", true);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL schema.documented"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("properties.speed has no \"description\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lax-plugin: 5 of 7 checks failed"), std::string::npos) << r.out;

  r = vzkit("plugin check --json '" + lax + "' '" + plugin_file("entropy") + "'", true);
  EXPECT_EQ(r.status, 1) << r.out;
  auto v = json::parse(r.out);
  ASSERT_EQ(v.as_array().size(), 2u);
  EXPECT_EQ(v.at(0).at("passed"), false);
  EXPECT_EQ(v.at(1).at("plugin"), "entropy");
  EXPECT_EQ(v.at(1).at("passed"), true);
  bool strict_failed = false;
  for (const auto& c : v.at(0).at("checks").as_array())
    if (c.at("id") == "schema.strict") strict_failed = c.at("passed") == false && !c.at("problems").as_array().empty();
  EXPECT_TRUE(strict_failed) << r.out;
}

TEST(Cli, PluginCheckRefusesAFileThatIsNoPlugin) {
  const std::string not_plugin = data("cli-not-a-plugin.so");
  std::ofstream(not_plugin) << "not an ELF file";
  auto r = vzkit("plugin check --json '" + not_plugin + "'", true);
  std::filesystem::remove(not_plugin);
  EXPECT_EQ(r.status, 1);
  auto v = json::parse(r.out);
  EXPECT_EQ(v.at("passed"), false);
  EXPECT_NE(std::string(v.at("load_error").as_string()).find("not a loadable shared library"), std::string::npos) << r.out;
  EXPECT_EQ(vzkit("plugin check").status, 2);  // a usage mistake is invalid input
}

TEST(Cli, CreateFlagMistakesNameTheFlagAndAFittingValue) {
  Home home;
  const std::string iso = data("installer.iso");
  auto r = home.run("create deb --iso '" + iso + "' --disk 8");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--disk '8' is 8 bytes (a size without a unit is in bytes)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hint: did you mean --disk 8GiB?"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("generated"), std::string::npos) << r.out;
  r = home.run("create deb --iso '" + iso + "' --disk 8GiB --memory 512MB");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("hint: did you mean --memory 512MiB?"), std::string::npos) << r.out;
  r = home.run("create deb --iso '" + iso + "' --disk 8GiB --cpus 300");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("vzkit create: --cpus: error: must be between 1 and 256, got 300"), std::string::npos) << r.out;
  r = home.run("create deb --iso /no/such.iso --disk 8GiB");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--iso '/no/such.iso' is not a file"), std::string::npos) << r.out;
  r = home.run("create deb --from '" + data("cli-any.json") + "' --memory 1GiB");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--memory is for an installer VM (--iso)"), std::string::npos) << r.out;
  EXPECT_TRUE(home.entries().empty());  // nothing half-made is left
}

TEST(Cli, AVmCreatedFromASpecOwnsTheDisksItCreates) {
  Home home;
  TempSpec s(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"},
    {"plugin": "virtio-blk", "path": "cli-owned.img", "create_size": "1GiB"}]})");
  ASSERT_EQ(home.run("create one --from '" + s.path() + "'").status, 0);
  ASSERT_EQ(home.run("create two --from '" + s.path() + "'").status, 0);
  EXPECT_FALSE(std::filesystem::exists(data("cli-owned.img")));  // nothing beside the spec
  for (const char* vm : {"one", "two"})
    EXPECT_EQ(std::filesystem::file_size(home.vms() / vm / "cli-owned.img"), 1ull << 30) << vm;
  std::ofstream(home.vms() / "one" / "cli-owned.img", std::ios::in | std::ios::out | std::ios::binary) << "one's data";
  char two[10] = {};
  std::ifstream(home.vms() / "two" / "cli-owned.img", std::ios::binary).read(two, sizeof two);
  EXPECT_EQ(std::string(two, sizeof two), std::string(10, '\0'));  // one disk each
  auto r = home.run("inspect one --json", true);
  EXPECT_NE(r.out.find("\"cli-owned.img\""), std::string::npos) << r.out;
  ASSERT_EQ(home.run("delete one").status, 0);
  EXPECT_FALSE(std::filesystem::exists(home.vms() / "one"));
  EXPECT_EQ(home.entries(), std::vector<std::string>{"two"});
}

TEST(Cli, ValidateAndPlanTakeAVmNameOrItsSpecFileAndResolveItsPathsAsRunDoes) {
  Home home;
  // Relative paths (vmlinuz, disk.img) resolve in tests/data, where the spec came from.
  TempSpec s(R"({"name": "x", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"},
    {"plugin": "virtio-blk", "path": "disk.img"}]})");
  ASSERT_EQ(home.run("create web --from '" + s.path() + "'").status, 0);
  auto r = home.run("validate web");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("web: valid for qemu"), std::string::npos) << r.out;  // the VM's own engine
  const std::string bundle_spec = (home.vms() / "web" / "spec.json").string();
  r = home.run("validate '" + bundle_spec + "' --json", true);
  EXPECT_EQ(r.status, 0) << r.out;  // no false "does not exist": paths resolve where the VM's do
  EXPECT_EQ(json::parse(r.out).at("engine"), "qemu");
  r = home.run("plan web --format argv", true);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("filename=" + data("disk.img")), std::string::npos) << r.out;
  r = home.run("validate wbe");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("no spec file or VM named 'wbe'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("did you mean the VM 'web'?"), std::string::npos) << r.out;
  r = home.run("create web2 --from web");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(home.run("validate web2").status, 0);
}

TEST(Cli, PlanReportsFilesItOnlyRefersToAsWarnings) {
  TempSpec s(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "no-such-kernel"},
    {"plugin": "virtio-blk", "path": "no-such.img"}, {"plugin": "entropy", "nonsense": 1}]})");
  auto r = vzkit("plan '" + s.path() + "' --engine qemu");
  EXPECT_EQ(r.status, 2);  // a real mistake is still an error
  EXPECT_NE(r.out.find("devices[0].kernel: warning: file 'no-such-kernel' does not exist"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unknown key 'nonsense'"), std::string::npos) << r.out;
  TempSpec ok(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "no-such-kernel"},
    {"plugin": "virtio-blk", "path": "no-such.img"}]})");
  r = vzkit("plan '" + ok.path() + "' --format argv");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("devices[1].path: warning: image 'no-such.img' does not exist"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the plan only refers to it, `vzkit run` needs it"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-kernel " + data("no-such-kernel")), std::string::npos) << r.out;
  EXPECT_EQ(vzkit("validate '" + ok.path() + "'").status, 2);  // validate answers "can it run?"
}

TEST(Cli, ASpecRunNeverChangesAnExistingVm) {
  Home home;
  TempSpec s(R"({"name": "web", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"}]})");
  ASSERT_EQ(home.run("create web --from '" + s.path() + "'").status, 0);
  const auto spec_before = home.run("inspect web --json", true).out;
  TempSpec other(R"({"name": "web", "memory": "1GiB", "devices": [{"plugin": "linux-boot", "kernel": "initrd.img"}]})");
  auto r = home.run("run '" + other.path() + "' --accel tcg");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("VM 'web' already exists (made by `vzkit create`)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("a spec run never changes an existing VM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hint: run that VM with `vzkit run web`"), std::string::npos) << r.out;
  EXPECT_EQ(home.run("inspect web --json", true).out, spec_before);  // spec and folder untouched
}

TEST(Cli, LogsSaysWhichLogsThereAre) {
  Home home;
  TempSpec s(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"}]})");
  ASSERT_EQ(home.run("create web --from '" + s.path() + "'").status, 0);
  auto r = home.run("logs web");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("VM 'web' has no console log yet"), std::string::npos) << r.out;
  std::filesystem::create_directories(home.vms() / "web" / "run");
  std::ofstream(home.vms() / "web" / "run" / "console.log.2") << "two runs ago\n";
  r = home.run("logs web --previous 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("there is one of --previous 2"), std::string::npos) << r.out;
  r = home.run("logs web -p 2", true);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "two runs ago\n");
  EXPECT_EQ(home.run("logs web --previous 9").status, 2);
  EXPECT_NE(home.run("logs nope").out.find("no VM named 'nope'"), std::string::npos);
}

}  // namespace
