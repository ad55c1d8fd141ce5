// The sharing, network and guest-service plugins (virtiofs, rosetta, network, serial-console,
// balloon, vsock, clipboard): schema examples, golden plans per engine, one spec per rule that
// must be refused, and the properties plans must keep (stable MACs, one shared-memory backend).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/qemu/machine.hpp>

#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace kernel = vzkit::kernel;
using kernel::has_errors;
using vzkit::test::builtin_plugins;
using vzkit::test::expect_diag;
using vzkit::test::plan_text;
using vzkit::test::validate_text;

constexpr const char* kLinuxBoot = R"({"plugin": "linux-boot", "kernel": "vmlinuz"})";
/// QEMU's default guest architecture is the host's: QEMU specs pin it.
constexpr const char* kX86 = R"("arch": "x86_64", )";

std::string spec(std::initializer_list<std::string> devices, const std::string& extra = "",
                 const std::string& name = "vm") {
  return vzkit::test::make_spec(devices, extra, name);
}

using vzkit::test::entry;

/// linux-boot first, then one device.
std::string with_boot(const std::string& device, const std::string& extra = "") {
  return spec({kLinuxBoot, device}, extra);
}

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

void expect_golden_plan(const std::string& name, const json::value& plan) {
  ASSERT_FALSE(plan.is_null());
  vzkit::test::expect_golden(name, kernel::pretty_json(plan));
}

/// Only diagnostics of this severity.
kernel::Diagnostics only(const kernel::Diagnostics& d, kernel::Severity severity) {
  kernel::Diagnostics out;
  for (const auto& x : d)
    if (x.severity == severity) out.push_back(x);
  return out;
}

std::string mac_in_qemu_plan(const json::value& plan, std::size_t device = 0) {
  const auto& props = plan.at("devices").at(device).at("properties");
  return std::string(props.at("mac").as_string());
}

// ---- examples ----------------------------------------------------------------------------------

const std::vector<std::string> kPlugins{"virtiofs", "rosetta", "network",  "serial-console",
                                        "balloon",  "vsock",   "clipboard"};

TEST(ShareNetExamples, EverySchemaExampleValidates) {
  // Examples that show an engine-specific feature: the only errors allowed on the other engine.
  const std::map<std::pair<std::string, std::string>, std::set<std::string>> engine_specific{
      {{"virtiofs", "qemu"}, {"virtiofs.multiple-on-qemu", "virtiofs.read-only-on-qemu"}},
      {{"serial-console", "vz"}, {"serial-console.socket-on-vz"}},
      {{"network", "vz"}, {"network.forwards-on-vz"}},
  };
  for (const auto& plugin : kPlugins) {
    const auto* p = builtin_plugins().find(plugin);
    ASSERT_NE(p, nullptr) << plugin;
    std::vector<std::string> engines{""};
    for (const auto& e : p->manifest().engines) engines.push_back(e);
    for (const auto& example : schema_examples(plugin)) {
      const std::string device = entry(plugin, example.as_object());
      for (const auto& engine : engines) {
        // VZ guests are arm64 (its default); QEMU specs pin x86_64 so the result is host-independent.
        auto d = validate_text(with_boot(device, engine == "vz" ? "" : kX86), engine);
        const auto allowed = engine_specific.find({plugin, engine});
        for (const auto& x : only(d, kernel::Severity::error))
          EXPECT_TRUE(allowed != engine_specific.end() && allowed->second.count(x.code))
              << plugin << " example " << json::serialize(example) << " on '" << engine << "':\n"
              << kernel::format(x);
      }
    }
  }
}

TEST(ShareNetExamples, EveryPropertyHasTitleAndDescription) {
  for (const auto& plugin : kPlugins) {
    const auto& schema = builtin_plugins().find(plugin)->manifest().schema.as_object();
    EXPECT_EQ(schema.at("additionalProperties"), json::value(false)) << plugin;
    for (const auto& kv : schema.at("properties").as_object()) {
      EXPECT_TRUE(kv.value().as_object().contains("title")) << plugin << "." << kv.key();
      EXPECT_TRUE(kv.value().as_object().contains("description")) << plugin << "." << kv.key();
    }
  }
}

// ---- virtiofs ----------------------------------------------------------------------------------

TEST(ShareNetVirtiofs, GoldenVz) {
  auto plan = plan_text(spec({kLinuxBoot, R"({"plugin": "virtiofs", "tag": "share", "path": "share"})",
                              R"({"plugin": "virtiofs", "tag": "work", "shares": {"hello": {"path": "share"},
                                  "data": {"path": ".", "read_only": true}}})"}),
                        "vz");
  expect_golden_plan("virtiofs.vz.json", plan);
}

TEST(ShareNetVirtiofs, GoldenQemu) {
  auto plan = plan_text(with_boot(R"({"plugin": "virtiofs", "tag": "share", "path": "share"})", kX86), "qemu");
  expect_golden_plan("virtiofs.qemu.json", plan);
  ASSERT_FALSE(plan.is_null());
  std::string argv;
  for (const auto& a : vzkit::qemu::to_argv(json::value_to<vzkit::qemu::Machine>(plan))) argv += a + "\n";
  vzkit::test::expect_golden("virtiofs.qemu.argv", argv);
}

TEST(ShareNetVirtiofs, QemuRunsVirtiofsdOnASocketInTheBundle) {
  auto plan = plan_text(with_boot(R"({"plugin": "virtiofs", "tag": "share", "path": "share"})", kX86), "qemu");
  ASSERT_FALSE(plan.is_null());
  const auto m = json::value_to<vzkit::qemu::Machine>(plan);
  ASSERT_EQ(m.helpers.size(), 1u);
  const std::string socket = (vzkit::test::data_dir() / "run" / "virtiofs-1.sock").lexically_normal().string();
  EXPECT_EQ(m.helpers[0].socket, socket);
  EXPECT_EQ(m.helpers[0].argv,
            (std::vector<std::string>{"/usr/lib/qemu/virtiofsd", "--socket-path=" + socket, "-o",
                                      "source=" + (vzkit::test::data_dir() / "share").lexically_normal().string(), "-o",
                                      "cache=auto"}));
  ASSERT_EQ(m.chardevs.size(), 1u);
  EXPECT_EQ(*vzkit::qemu::find_property(m.chardevs[0].properties, "path"), socket);
}

TEST(ShareNetVirtiofs, MaterializeCreatesTheSocketFolderOnlyThen) {
  const fs::path bundle = fs::temp_directory_path() / ("vzkit-share-net-" + std::to_string(::getpid()));
  fs::remove_all(bundle);
  auto parsed = kernel::parse_spec(with_boot(R"({"plugin": "virtiofs", "tag": "share", "path": "share"})", kX86),
                                   "spec.json", vzkit::test::data_dir());
  ASSERT_TRUE(parsed.spec);
  kernel::ValidateOptions v;
  v.engine = "qemu";
  v.bundle_dir = bundle.string();
  ASSERT_FALSE(has_errors(kernel::validate(*parsed.spec, builtin_plugins(), v)));
  kernel::AssembleOptions a;
  a.engine = "qemu";
  a.bundle_dir = bundle.string();
  auto plan = kernel::assemble(*parsed.spec, builtin_plugins(), a).model;
  EXPECT_FALSE(fs::exists(bundle)) << "planning must not write";
  a.materialize = true;
  plan = kernel::assemble(*parsed.spec, builtin_plugins(), a).model;
  EXPECT_TRUE(fs::is_directory(bundle / "run"));
  EXPECT_EQ(plan.at("helpers").at(0).at("socket"), json::value((bundle / "run" / "virtiofs-1.sock").string()));
  fs::remove_all(bundle);
}

TEST(ShareNetVirtiofs, TwoSharesGiveExactlyOneMemoryBackend) {
  auto plan = plan_text(spec({kLinuxBoot, R"({"plugin": "virtiofs", "tag": "one", "path": "share"})",
                              R"({"plugin": "virtiofs", "tag": "two", "path": "."})"},
                             std::string(kX86) + R"("memory": "1GiB", )"),
                        "qemu");
  ASSERT_FALSE(plan.is_null());
  const auto m = json::value_to<vzkit::qemu::Machine>(plan);
  int backends = 0;
  for (const auto& o : m.objects)
    if (o.type == "memory-backend-memfd") {
      ++backends;
      EXPECT_EQ(*vzkit::qemu::find_property(o.properties, "size"), "1024M");
      EXPECT_EQ(*vzkit::qemu::find_property(o.properties, "share"), "on");
    }
  EXPECT_EQ(backends, 1);
  EXPECT_EQ(m.machine_properties, (vzkit::qemu::Properties{{"memory-backend", "mem"}}));
  EXPECT_EQ(m.helpers.size(), 2u);
  EXPECT_EQ(m.chardevs.size(), 2u);
  EXPECT_EQ(m.devices.size(), 2u);
  const auto argv = vzkit::qemu::to_argv(m);
  EXPECT_EQ(std::count(argv.begin(), argv.end(), "memory-backend-memfd,id=mem,size=1024M,share=on"), 1);
}

TEST(ShareNetVirtiofs, MacosAutomountUsesTheClassTagOnVz) {
  auto plan = plan_text(with_boot(R"({"plugin": "virtiofs", "macos_automount": true, "path": "share"})"), "vz");
  ASSERT_FALSE(plan.is_null());
  const auto& d = plan.at("directory_sharing_devices").at(0);
  EXPECT_EQ(d.at("use_macos_guest_automount_tag"), json::value(true));
  EXPECT_EQ(d.at("tag"), json::value("com.apple.virtio-fs.automount"));
}

TEST(ShareNetVirtiofs, TagOf36BytesIsRefusedEvenWith18Characters) {
  std::string tag;
  for (int i = 0; i < 18; ++i) tag += "\xc3\xa9";  // é: 2 bytes of UTF-8 each
  auto d = validate_text(with_boot(entry("virtiofs", {{"tag", tag}, {"path", "share"}})), "vz");
  EXPECT_TRUE(expect_diag(d, "virtiofs.tag-too-long", "devices[1].tag", "virtiofs"));
  // 35 bytes is the longest tag allowed.
  const std::string ok = tag.substr(0, 34) + "a";
  EXPECT_FALSE(has_errors(validate_text(with_boot(entry("virtiofs", {{"tag", ok}, {"path", "share"}})), "vz")));
}

TEST(ShareNetVirtiofs, EmptyTagIsRefusedByTheSchema) {
  auto d = validate_text(with_boot(R"({"plugin": "virtiofs", "tag": "", "path": "share"})"));
  EXPECT_TRUE(expect_diag(d, "schema.min-length", "devices[1].tag", "virtiofs"));
}

TEST(ShareNetVirtiofs, TagIsRequiredWithoutAutomount) {
  auto d = validate_text(with_boot(R"({"plugin": "virtiofs", "path": "share"})"));
  EXPECT_TRUE(expect_diag(d, "virtiofs.tag-required", "devices[1].tag", "virtiofs"));
}

TEST(ShareNetVirtiofs, MissingFolderIsRefused) {
  auto d = validate_text(with_boot(R"({"plugin": "virtiofs", "tag": "t", "path": "no-such-folder"})"));
  EXPECT_TRUE(expect_diag(d, "virtiofs.folder-missing", "devices[1].path", "virtiofs"));
  d = validate_text(with_boot(R"({"plugin": "virtiofs", "tag": "t", "shares": {"src": {"path": "no-such-folder"}}})"));
  EXPECT_TRUE(expect_diag(d, "virtiofs.folder-missing", "devices[1].shares.src.path", "virtiofs"));
  d = validate_text(with_boot(R"({"plugin": "virtiofs", "tag": "t", "path": "vmlinuz"})"));  // a file
  EXPECT_TRUE(expect_diag(d, "virtiofs.folder-missing", "devices[1].path", "virtiofs"));
}

TEST(ShareNetVirtiofs, ExactlyOneOfPathAndShares) {
  auto d = validate_text(with_boot(R"({"plugin": "virtiofs", "tag": "t"})"));
  EXPECT_TRUE(expect_diag(d, "virtiofs.folder-required", "devices[1].path", "virtiofs"));
  d = validate_text(
      with_boot(R"({"plugin": "virtiofs", "tag": "t", "path": "share", "shares": {"a": {"path": "share"}}})"));
  EXPECT_TRUE(expect_diag(d, "virtiofs.path-and-shares", "devices[1].shares", "virtiofs"));
}

TEST(ShareNetVirtiofs, BadShareNamesAreRefused) {
  auto d = validate_text(with_boot(R"({"plugin": "virtiofs", "tag": "t", "shares": {"a/b": {"path": "share"}}})"));
  EXPECT_TRUE(expect_diag(d, "virtiofs.share-name-invalid", "devices[1].shares.a/b", "virtiofs"));
  d = validate_text(with_boot(R"({"plugin": "virtiofs", "tag": "t", "shares": {"": {"path": "share"}}})"));
  EXPECT_TRUE(expect_diag(d, "virtiofs.share-name-invalid", "devices[1].shares.", "virtiofs"));
  const std::string long_name(256, 'x');
  d = validate_text(with_boot(entry("virtiofs", {{"tag", "t"}, {"shares", {{long_name, {{"path", "share"}}}}}})));
  EXPECT_TRUE(expect_diag(d, "virtiofs.share-name-invalid", "devices[1].shares." + long_name, "virtiofs"));
  const std::string nul_name("a\0b", 3);
  d = validate_text(with_boot(entry("virtiofs", {{"tag", "t"}, {"shares", {{nul_name, {{"path", "share"}}}}}})));
  // Caught before the plugin sees it: no setting of any plugin may hold a NUL.
  EXPECT_TRUE(expect_diag(d, "spec.nul-character", "devices[1].shares." + nul_name, "virtiofs"));
}

TEST(ShareNetVirtiofs, QemuRefusesSeveralFoldersAndReadOnly) {
  auto d = validate_text(with_boot(R"({"plugin": "virtiofs", "tag": "t", "shares": {"a": {"path": "share"}}})", kX86),
                         "qemu");
  EXPECT_TRUE(expect_diag(d, "virtiofs.multiple-on-qemu", "devices[1].shares", "virtiofs"));
  d = validate_text(with_boot(R"({"plugin": "virtiofs", "tag": "t", "path": "share", "read_only": true})", kX86),
                    "qemu");
  EXPECT_TRUE(expect_diag(d, "virtiofs.read-only-on-qemu", "devices[1].read_only", "virtiofs"));
  // Both are fine on VZ.
  d = validate_text(with_boot(R"({"plugin": "virtiofs", "tag": "t", "path": "share", "read_only": true})"), "vz");
  EXPECT_FALSE(has_errors(d)) << kernel::format(d);
}

TEST(ShareNetVirtiofs, AutomountWarnings) {
  auto d =
      validate_text(with_boot(R"({"plugin": "virtiofs", "tag": "t", "macos_automount": true, "path": "share"})"), "vz");
  EXPECT_FALSE(has_errors(d));
  EXPECT_TRUE(expect_diag(d, "virtiofs.tag-ignored", "devices[1].tag", "virtiofs"));
  d = validate_text(with_boot(R"({"plugin": "virtiofs", "macos_automount": true, "path": "share"})", kX86), "qemu");
  EXPECT_FALSE(has_errors(d));
  EXPECT_TRUE(expect_diag(d, "virtiofs.automount-on-qemu", "devices[1].macos_automount", "virtiofs"));
}

TEST(ShareNetVirtiofs, SocketPathTooLongOnQemu) {
  // The helper socket lives in the bundle (here the spec's folder, which need not exist for validate).
  const fs::path deep = fs::path("/tmp") / std::string(100, 'd');
  const std::string kernel_path = (vzkit::test::data_dir() / "vmlinuz").string();
  const std::string folder = (vzkit::test::data_dir() / "share").string();
  const std::string text =
      spec({entry("linux-boot", {{"kernel", kernel_path}}), entry("virtiofs", {{"tag", "t"}, {"path", folder}})}, kX86);
  auto d = validate_text(text, "qemu", deep);
  EXPECT_TRUE(expect_diag(d, "virtiofs.socket-path-too-long", "devices[1]", "virtiofs"));
}

TEST(ShareNetVirtiofs, DuplicateTagWithRosettaIsRefused) {
  auto d = validate_text(
      spec({kLinuxBoot, R"({"plugin": "virtiofs", "tag": "rosetta", "path": "share"})", R"({"plugin": "rosetta"})"}),
      "vz");
  EXPECT_TRUE(expect_diag(d, "cross.duplicate", "devices[2].tag", "rosetta"));
}

// ---- rosetta -----------------------------------------------------------------------------------

TEST(ShareNetRosetta, GoldenVz) {
  auto plan = plan_text(with_boot(R"({"plugin": "rosetta", "caching": {"type": "unix-socket"}})"), "vz");
  expect_golden_plan("rosetta.vz.json", plan);
}

TEST(ShareNetRosetta, AbstractCachingOnVz) {
  auto plan = plan_text(
      with_boot(R"({"plugin": "rosetta", "tag": "ros", "caching": {"type": "abstract", "name": "rosettad"}})"), "vz");
  ASSERT_FALSE(plan.is_null());
  const auto& d = plan.at("directory_sharing_devices").at(0);
  EXPECT_EQ(d.at("tag"), json::value("ros"));
  EXPECT_EQ(d.at("share").at("class"), json::value("VZLinuxRosettaDirectoryShare"));
  EXPECT_EQ(d.at("share").at("caching"),
            json::parse(R"({"class": "VZLinuxRosettaAbstractSocketCachingOptions", "name": "rosettad"})"));
}

TEST(ShareNetRosetta, QemuIsRefusedWithTheReason) {
  auto d = validate_text(with_boot(R"({"plugin": "rosetta"})", kX86), "qemu");
  EXPECT_TRUE(expect_diag(d, "engine.unsupported", "devices[1]", "rosetta"));
  bool explained = false;
  for (const auto& x : d) explained = explained || x.message.find("Apple silicon") != std::string::npos;
  EXPECT_TRUE(explained) << kernel::format(d);
}

TEST(ShareNetRosetta, RulesAreRefused) {
  std::string tag;
  for (int i = 0; i < 12; ++i) tag += "\xe2\x82\xac";  // €: 3 bytes of UTF-8 each, 36 in all
  auto d = validate_text(with_boot(entry("rosetta", {{"tag", tag}})), "vz");
  EXPECT_TRUE(expect_diag(d, "rosetta.tag-too-long", "devices[1].tag", "rosetta"));
  d = validate_text(with_boot(R"({"plugin": "rosetta", "tag": ""})"), "vz");
  EXPECT_TRUE(expect_diag(d, "schema.min-length", "devices[1].tag", "rosetta"));
  d = validate_text(with_boot(R"({"plugin": "rosetta"})", kX86), "vz");
  EXPECT_TRUE(expect_diag(d, "rosetta.guest-not-arm64", "devices[1]", "rosetta"));
  d = validate_text(with_boot(R"({"plugin": "rosetta", "caching": {"type": "abstract"}})"), "vz");
  EXPECT_TRUE(expect_diag(d, "rosetta.caching-name-required", "devices[1].caching.name", "rosetta"));
  d = validate_text(with_boot(R"({"plugin": "rosetta", "caching": {"type": "unix-socket", "name": "x"}})"), "vz");
  EXPECT_TRUE(expect_diag(d, "rosetta.caching-key-unused", "devices[1].caching.name", "rosetta"));
  d = validate_text(with_boot(entry("rosetta", {{"caching", {{"type", "abstract"}, {"name", std::string(108, 'n')}}}})),
                    "vz");
  EXPECT_TRUE(expect_diag(d, "rosetta.socket-too-long", "devices[1].caching.name", "rosetta"));
  d = validate_text(with_boot(R"({"plugin": "rosetta", "caching": {"type": "tcp"}})"), "vz");
  EXPECT_TRUE(expect_diag(d, "schema.enum", "devices[1].caching.type", "rosetta"));
}

TEST(ShareNetRosetta, DescribeGivesTheGuestSetup) {
  const auto* p = builtin_plugins().find("rosetta");
  ASSERT_NE(p, nullptr);
  auto text =
      p->describe(json::object{{"topic", "guest-setup"}, {"tag", "rosetta"}, {"mount_point", "/media/rosetta"}});
  ASSERT_TRUE(text.has_value());
  const std::string entry_line =
      R"(:rosetta:M:0:\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00:)"
      R"(\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/media/rosetta/rosetta:CF)";
  EXPECT_NE(text->find("mkdir -p /media/rosetta\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("mount -t virtiofs rosetta /media/rosetta\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("echo '" + entry_line + "' > /proc/sys/fs/binfmt_misc/register\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("rosetta /media/rosetta virtiofs ro,nofail 0 0"), std::string::npos) << *text;
  EXPECT_NE(text->find("/etc/binfmt.d/rosetta.conf"), std::string::npos) << *text;
  EXPECT_NE(text->find("# "), std::string::npos) << "the commands are explained";
}

TEST(ShareNetRosetta, DescribeQuotesForTheShell) {
  auto text = builtin_plugins().find("rosetta")->describe(
      json::object{{"topic", "guest-setup"}, {"tag", "my tag"}, {"mount_point", "/mnt/my rosetta"}});
  ASSERT_TRUE(text.has_value());
  EXPECT_NE(text->find("mount -t virtiofs 'my tag' '/mnt/my rosetta'\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("my\\040tag /mnt/my\\040rosetta virtiofs"), std::string::npos) << *text;
}

TEST(ShareNetRosetta, DescribeRefusesAnInvalidTag) {
  const auto* p = builtin_plugins().find("rosetta");
  std::string long_tag;
  for (int i = 0; i < 18; ++i) long_tag += "\xc3\xa9";
  for (const std::string& tag : {std::string(), long_tag}) {
    try {
      p->describe(json::object{{"topic", "guest-setup"}, {"tag", tag}, {"mount_point", "/media/rosetta"}});
      ADD_FAILURE() << "tag '" << tag << "' was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("not a valid virtio-fs tag"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(p->describe(json::object{{"topic", "guest-setup"}, {"tag", "t"}, {"mount_point", "relative"}}),
               std::runtime_error);
  // Another topic: nothing to say.
  EXPECT_EQ(p->describe(json::object{{"topic", "other"}}), std::optional<std::string>(""));
}

// ---- network -----------------------------------------------------------------------------------

TEST(ShareNetNetwork, GoldenVz) {
  expect_golden_plan("network.vz.json", plan_text(with_boot(R"({"plugin": "network"})"), "vz"));
}

TEST(ShareNetNetwork, GoldenQemu) {
  auto plan = plan_text(
      with_boot(
          R"({"plugin": "network", "mac": "02:AB:cd:00:00:01", "forwards": [{"host_port": 2222, "guest_port": 22},
              {"protocol": "udp", "host_port": 5353, "guest_port": 53}]})",
          kX86),
      "qemu");
  expect_golden_plan("network.qemu.json", plan);
  ASSERT_FALSE(plan.is_null());
  const auto m = json::value_to<vzkit::qemu::Machine>(plan);
  ASSERT_EQ(m.netdevs.size(), 1u);
  EXPECT_EQ(*vzkit::qemu::find_property(m.netdevs[0].properties, "hostfwd"), "tcp:127.0.0.1:2222-:22");
  const auto argv = vzkit::qemu::to_argv(m);
  EXPECT_NE(std::find(argv.begin(), argv.end(),
                      "user,id=net1,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:127.0.0.1:5353-:53"), argv.end());
  EXPECT_EQ(mac_in_qemu_plan(plan), "02:ab:cd:00:00:01");
}

TEST(ShareNetNetwork, GeneratedMacIsStablePerVmAndLocalUnicast) {
  const std::string device = R"({"plugin": "network"})";
  auto first = plan_text(spec({kLinuxBoot, device}, kX86, "alpha"), "qemu");
  auto again = plan_text(spec({kLinuxBoot, device}, kX86, "alpha"), "qemu");
  auto other = plan_text(spec({kLinuxBoot, device}, kX86, "beta"), "qemu");
  ASSERT_FALSE(first.is_null() || again.is_null() || other.is_null());
  const auto mac = mac_in_qemu_plan(first);
  EXPECT_EQ(mac, mac_in_qemu_plan(again));
  EXPECT_NE(mac, mac_in_qemu_plan(other));
  ASSERT_EQ(mac.size(), 17u);
  EXPECT_EQ(std::stoul(mac.substr(0, 2), nullptr, 16) & 0x03, 0x02u) << mac << ": unicast, locally administered";
  // VZ gets the same address as QEMU.
  auto vz = plan_text(spec({kLinuxBoot, device}, "", "alpha"), "vz");
  ASSERT_FALSE(vz.is_null());
  EXPECT_EQ(vz.at("network_devices").at(0).at("mac_address"), json::value(mac));
  // Two cards of one VM differ.
  auto two = plan_text(spec({kLinuxBoot, device, device}, kX86, "alpha"), "qemu");
  ASSERT_FALSE(two.is_null());
  EXPECT_NE(mac_in_qemu_plan(two, 0), mac_in_qemu_plan(two, 1));
}

TEST(ShareNetNetwork, RulesAreRefused) {
  auto d = validate_text(with_boot(R"({"plugin": "network", "mac": "01:00:5e:00:00:01"})"));
  EXPECT_TRUE(expect_diag(d, "network.mac-multicast", "devices[1].mac", "network"));
  d = validate_text(with_boot(R"({"plugin": "network", "mac": "00:11:22:33:44:55"})"));
  EXPECT_FALSE(has_errors(d));
  EXPECT_TRUE(expect_diag(d, "network.mac-not-local", "devices[1].mac", "network"));
  d = validate_text(with_boot(R"({"plugin": "network", "mac": "02:11:22:33:44"})"));
  EXPECT_TRUE(expect_diag(d, "schema.pattern", "devices[1].mac", "network"));
  d = validate_text(with_boot(R"({"plugin": "network", "forwards": [{"host_port": 2222, "guest_port": 22}]})"), "vz");
  EXPECT_TRUE(expect_diag(d, "network.forwards-on-vz", "devices[1].forwards", "network"));
  std::string many = R"({"plugin": "network", "forwards": [)";
  for (int i = 1; i <= 65; ++i) many += (i > 1 ? "," : "") + std::string(R"({"host_port": )") + std::to_string(1000 + i) + R"(, "guest_port": 22})";
  d = validate_text(with_boot(many + "]}"));
  EXPECT_TRUE(expect_diag(d, "schema.max-items", "devices[1].forwards", "network"));
  d = validate_text(with_boot(R"({"plugin": "network", "forwards": [{"host_port": -1, "guest_port": 22}]})"));
  EXPECT_TRUE(expect_diag(d, "schema.range", "devices[1].forwards[0].host_port", "network"));
  // 0: a free port, chosen when the VM starts
  EXPECT_TRUE(validate_text(with_boot(R"({"plugin": "network", "forwards": [{"host_port": 0, "guest_port": 22}]})")).empty());
  d = validate_text(with_boot(
      R"({"plugin": "network", "forwards": [{"host_port": 8080, "guest_port": 80, "host_address": "localhost"}]})"));
  EXPECT_TRUE(expect_diag(d, "schema.pattern", "devices[1].forwards[0].host_address", "network"));
  d = validate_text(spec({kLinuxBoot, R"({"plugin": "network", "mac": "02:00:00:00:00:01"})",
                          R"({"plugin": "network", "mac": "02:00:00:00:00:01"})"}));
  EXPECT_TRUE(expect_diag(d, "cross.duplicate", "devices[2].mac", "network"));
}

// ---- serial-console ----------------------------------------------------------------------------

TEST(ShareNetSerial, GoldenVz) {
  expect_golden_plan("serial-console.vz.json", plan_text(with_boot(R"({"plugin": "serial-console"})"), "vz"));
}

TEST(ShareNetSerial, GoldenQemu) {
  expect_golden_plan("serial-console.qemu.json", plan_text(with_boot(R"({"plugin": "serial-console"})", kX86), "qemu"));
}

TEST(ShareNetSerial, FileAndSocketModes) {
  const std::string log = (vzkit::test::data_dir() / "console.log").lexically_normal().string();
  auto vz = plan_text(
      with_boot(R"({"plugin": "serial-console", "mode": "file", "path": "console.log", "append": true})"), "vz");
  ASSERT_FALSE(vz.is_null());
  EXPECT_EQ(vz.at("serial_ports").at(0).at("attachment"),
            json::parse(R"({"class": "VZFileSerialPortAttachment", "url": ")" + log + R"(", "append": true})"));

  auto q = plan_text(
      with_boot(R"({"plugin": "serial-console", "mode": "file", "path": "console.log", "append": true})", kX86),
      "qemu");
  ASSERT_FALSE(q.is_null());
  auto m = json::value_to<vzkit::qemu::Machine>(q);
  ASSERT_EQ(m.chardevs.size(), 1u);
  EXPECT_EQ(m.chardevs[0].type, "file");
  EXPECT_EQ(m.chardevs[0].properties, (vzkit::qemu::Properties{{"id", "ser1"}, {"path", log}, {"append", "on"}}));
  EXPECT_EQ(m.serial, (std::vector<std::string>{"chardev:ser1"}));

  q = plan_text(with_boot(R"({"plugin": "serial-console", "mode": "socket", "path": "console.sock"})", kX86), "qemu");
  ASSERT_FALSE(q.is_null());
  m = json::value_to<vzkit::qemu::Machine>(q);
  ASSERT_EQ(m.chardevs.size(), 1u);
  EXPECT_EQ(m.chardevs[0].type, "socket");
  EXPECT_EQ(*vzkit::qemu::find_property(m.chardevs[0].properties, "server"), "on");
  EXPECT_EQ(*vzkit::qemu::find_property(m.chardevs[0].properties, "wait"), "off");
}

TEST(ShareNetSerial, RulesAreRefused) {
  auto d = validate_text(with_boot(R"({"plugin": "serial-console", "mode": "socket", "path": "c.sock"})"), "vz");
  EXPECT_TRUE(expect_diag(d, "serial-console.socket-on-vz", "devices[1].mode", "serial-console"));
  d = validate_text(with_boot(R"({"plugin": "serial-console", "mode": "file"})"));
  EXPECT_TRUE(expect_diag(d, "serial-console.path-required", "devices[1].path", "serial-console"));
  d = validate_text(with_boot(R"({"plugin": "serial-console", "mode": "file", "path": "no-such-folder/c.log"})"));
  EXPECT_TRUE(expect_diag(d, "serial-console.folder-missing", "devices[1].path", "serial-console"));
  d = validate_text(
      with_boot(entry("serial-console", {{"mode", "socket"}, {"path", "/tmp/" + std::string(103, 's')}}), kX86),
      "qemu");
  EXPECT_TRUE(expect_diag(d, "serial-console.socket-path-too-long", "devices[1].path", "serial-console"));
  d = validate_text(with_boot(R"({"plugin": "serial-console", "path": "c.log"})"));
  EXPECT_FALSE(has_errors(d));
  EXPECT_TRUE(expect_diag(d, "serial-console.path-ignored", "devices[1].path", "serial-console"));
  d = validate_text(with_boot(R"({"plugin": "serial-console", "mode": "pty"})"));
  EXPECT_TRUE(expect_diag(d, "schema.enum", "devices[1].mode", "serial-console"));
}

// ---- balloon, vsock, clipboard -----------------------------------------------------------------

TEST(ShareNetBalloon, Golden) {
  expect_golden_plan("balloon.vz.json", plan_text(with_boot(R"({"plugin": "balloon"})"), "vz"));
  expect_golden_plan("balloon.qemu.json", plan_text(with_boot(R"({"plugin": "balloon"})", kX86), "qemu"));
}

TEST(ShareNetBalloon, TwoAreRefused) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "balloon"})", R"({"plugin": "balloon"})"}));
  EXPECT_TRUE(expect_diag(d, "cross.too-many", "devices[2]", "balloon"));
  d = validate_text(with_boot(R"({"plugin": "balloon", "target": 1})"));
  EXPECT_TRUE(expect_diag(d, "schema.unknown-key", "devices[1].target", "balloon"));
}

TEST(ShareNetVsock, Golden) {
  expect_golden_plan("vsock.vz.json", plan_text(with_boot(R"({"plugin": "vsock"})"), "vz"));
  expect_golden_plan("vsock.qemu.json", plan_text(with_boot(R"({"plugin": "vsock", "guest_cid": 42})", kX86), "qemu"));
}

TEST(ShareNetVsock, RulesAreRefused) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "vsock"})", R"({"plugin": "vsock"})"}));
  EXPECT_TRUE(expect_diag(d, "cross.too-many", "devices[2]", "vsock"));
  d = validate_text(with_boot(R"({"plugin": "vsock", "guest_cid": 2})"));
  EXPECT_TRUE(expect_diag(d, "schema.range", "devices[1].guest_cid", "vsock"));
}

TEST(ShareNetVsock, MissingHostDeviceIsOnlyAWarning) {
  auto d = validate_text(with_boot(R"({"plugin": "vsock"})", kX86), "qemu");
  EXPECT_FALSE(has_errors(d)) << kernel::format(d);
  EXPECT_EQ(vzkit::test::has_diag(d, "vsock.host-missing", "devices[1]", "vsock"), !fs::exists("/dev/vhost-vsock"));
  // VZ needs nothing from a Linux host.
  EXPECT_TRUE(validate_text(with_boot(R"({"plugin": "vsock"})"), "vz").empty());
}

TEST(ShareNetClipboard, Golden) {
  auto vz = plan_text(with_boot(R"({"plugin": "clipboard"})"), "vz");
  expect_golden_plan("clipboard.vz.json", vz);
  ASSERT_FALSE(vz.is_null());
  EXPECT_EQ(vz.at("console_devices").at(0).at("ports").at(0),
            json::parse(R"({"class": "VZVirtioConsolePortConfiguration", "index": 0, "use_spice_agent_port_name": true,
                            "is_console": false,
                            "attachment": {"class": "VZSpiceAgentPortAttachment", "shares_clipboard": true}})"));
  expect_golden_plan("clipboard.qemu.json", plan_text(with_boot(R"({"plugin": "clipboard"})", kX86), "qemu"));
}

TEST(ShareNetClipboard, TwoAreRefused) {
  auto d = validate_text(spec({kLinuxBoot, R"({"plugin": "clipboard"})", R"({"plugin": "clipboard"})"}));
  EXPECT_TRUE(expect_diag(d, "cross.too-many", "devices[2]", "clipboard"));
}

}  // namespace
