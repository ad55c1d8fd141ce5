// The plugins of the way into a guest: guest-agent (virtio-serial on QEMU, vsock + a socket forward
// on VZ), cloud-init's seed (a user, keys, multi-part user-data, network-config; made with mtools),
// and the network's free forward port.
#include "test_support.hpp"

#include <vzkit/kernel/assemble.hpp>
#include <vzkit/vz/configuration.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace kernel = vzkit::kernel;
using vzkit::test::builtin_plugins;
using vzkit::test::expect_diag;
using vzkit::test::make_spec;
using vzkit::test::plan_text;
using vzkit::test::validate_text;

constexpr const char* kBoot = R"({"plugin": "linux-boot", "kernel": "vmlinuz"})";
constexpr const char* kX86 = R"("arch": "x86_64", )";
constexpr const char* kKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g t@vzkit";

std::string prop(const json::value& o, const char* key) {
  const auto* p = o.at("properties").as_object().if_contains(key);
  return p && p->is_string() ? std::string(p->as_string()) : std::string();
}

TEST(GuestAgent, QemuPlanIsAVirtioSerialPortOnASocketInRun) {
  const auto plan = plan_text(make_spec({kBoot, R"({"plugin": "guest-agent"})"}, kX86), "qemu");
  ASSERT_TRUE(plan.is_object());
  const auto& devices = plan.at("devices").as_array();
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0].at("driver"), "virtio-serial-pci");
  EXPECT_EQ(prop(devices[0], "id"), "agent-serial1");
  EXPECT_EQ(devices[1].at("driver"), "virtserialport");
  EXPECT_EQ(prop(devices[1], "bus"), "agent-serial1.0");
  EXPECT_EQ(prop(devices[1], "name"), "org.qemu.guest_agent.0");
  const auto& chardev = plan.at("chardevs").at(0);
  EXPECT_EQ(chardev.at("type"), "socket");
  EXPECT_EQ(prop(chardev, "path"), (vzkit::test::data_dir() / "run" / "qga.sock").string());
  EXPECT_EQ(prop(chardev, "server"), "on");
  EXPECT_EQ(prop(chardev, "wait"), "off");
}

TEST(GuestAgent, VzPlanSharesOneSocketDeviceWithVsockAndForwardsRunQgaSock) {
  const auto plan = plan_text(
      make_spec({kBoot, R"({"plugin": "vsock"})", R"({"plugin": "guest-agent", "vsock_port": 4000})"}), "vz");
  ASSERT_TRUE(plan.is_object());
  const auto c = json::value_to<vzkit::vz::Configuration>(plan);
  EXPECT_EQ(c.socket_devices.size(), 1u) << "VZ takes one socket device";
  ASSERT_EQ(c.socket_forwards.size(), 1u);
  EXPECT_EQ(c.socket_forwards[0].port, 4000u);
  EXPECT_EQ(c.socket_forwards[0].socket_path, (vzkit::test::data_dir() / "run" / "qga.sock").string());
  ASSERT_TRUE(c.socket_forwards[0].origin);
  EXPECT_EQ(c.socket_forwards[0].origin->plugin, "guest-agent");
  EXPECT_EQ(c.socket_forwards[0].origin->path, "devices[2]");
}

TEST(GuestAgent, AVmFolderTooDeepForASocketPathIsRefused) {
  const fs::path deep = fs::temp_directory_path() / std::string(120, 'd');
  auto parsed = kernel::parse_spec(make_spec({kBoot, R"({"plugin": "guest-agent"})"}), "spec.json", vzkit::test::data_dir());
  ASSERT_TRUE(parsed.spec);
  kernel::ValidateOptions o;
  o.bundle_dir = deep.string();
  const auto d = kernel::validate(*parsed.spec, builtin_plugins(), o);
  EXPECT_TRUE(expect_diag(d, "guest-agent.socket-path-too-long", "devices[1]", "guest-agent"));
}

TEST(NetworkForward, HostPortZeroIsLeftToQemu) {
  const auto plan = plan_text(
      make_spec({kBoot, R"({"plugin": "network", "forwards": [{"host_port": 0, "guest_port": 22}]})"}, kX86), "qemu");
  ASSERT_TRUE(plan.is_object());
  EXPECT_EQ(prop(plan.at("netdevs").at(0), "hostfwd"), "tcp:127.0.0.1:0-:22");
}

TEST(CloudInitRules, NamesWhatIsMissingOrReserved) {
  auto d = validate_text(make_spec({kBoot, R"({"plugin": "cloud-init", "hostname": "web"})"}));
  EXPECT_TRUE(expect_diag(d, "cloud-init.seed-data-missing", "devices[1]", "cloud-init"));
  d = validate_text(make_spec({kBoot, R"({"plugin": "cloud-init", "user": "root", "ssh_authorized_keys": [")" +
                                          std::string(kKey) + R"("]})"}));
  EXPECT_TRUE(expect_diag(d, "cloud-init.user-reserved", "devices[1].user", "cloud-init"));
  d = validate_text(make_spec({kBoot, R"({"plugin": "cloud-init", "user": "Bad User"})"}));
  EXPECT_TRUE(expect_diag(d, "schema.pattern", "devices[1].user", "cloud-init"));
  d = validate_text(make_spec({kBoot, R"({"plugin": "cloud-init", "user": "vzkit", "network_config": "no-such.yaml"})"}));
  EXPECT_TRUE(expect_diag(d, "cloud-init.file-missing", "devices[1].network_config", "cloud-init"));
  d = validate_text(make_spec(
      {kBoot, R"({"plugin": "cloud-init", "user": "vzkit", "user_data": "Content-Type: multipart/mixed\n"})"}));
  EXPECT_TRUE(expect_diag(d, "cloud-init.multipart-user-data", "devices[1].user_data", "cloud-init"));
}

// The seed as cloud-init reads it, made by the plugin when the VM is created or run.
class CloudInitSeed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v mformat > /dev/null && command -v mtype > /dev/null") != 0)
      GTEST_SKIP() << "mtools is not installed (scripts/setup.sh test)";
    dir = fs::temp_directory_path() / ("vzkit-seed-test-" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  /// Assembles with materialize on, in `dir`; returns the seed's file `name` read with mtype.
  std::string seed_file(const std::string& device, const std::string& name) {
    auto parsed = kernel::parse_spec(make_spec({kBoot, device}, kX86, "Web_Server"), "spec.json", vzkit::test::data_dir());
    EXPECT_TRUE(parsed.spec);
    kernel::AssembleOptions a;
    a.engine = "qemu";
    a.bundle_dir = dir.string();
    a.materialize = true;
    kernel::assemble(*parsed.spec, builtin_plugins(), a);
    const fs::path out = dir / (name + ".out");
    const std::string cmd = "MTOOLS_SKIP_CHECK=1 mtype -i '" + (dir / "cloud-init-seed.img").string() + "' ::/" + name +
                            " > '" + out.string() + "' 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) return "(no " + name + ")";
    std::ifstream in(out, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  fs::path dir;
};

TEST_F(CloudInitSeed, AUserWithItsKeysAndTheHostName) {
  const std::string device = R"({"plugin": "cloud-init", "user": "vzkit", "ssh_authorized_keys": [")" + std::string(kKey) +
                             R"("], "hostname": "web-01"})";
  const std::string user = seed_file(device, "user-data");
  EXPECT_EQ(user.rfind("#cloud-config\n", 0), 0u) << user;
  EXPECT_NE(user.find("users:\n  - default\n  - name: vzkit\n    shell: /bin/bash\n"), std::string::npos) << user;
  EXPECT_NE(user.find("    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n"), std::string::npos) << user;
  EXPECT_NE(user.find("    ssh_authorized_keys:\n      - \"" + std::string(kKey) + "\"\n"), std::string::npos) << user;
  EXPECT_EQ(seed_file(device, "meta-data"), "instance-id: \"iid-web-server\"\nlocal-hostname: \"web-01\"\n");
  EXPECT_EQ(seed_file(device, "network-config"), "(no network-config)");
  const auto first = fs::last_write_time(dir / "cloud-init-seed.img");
  seed_file(device, "meta-data");
  EXPECT_EQ(fs::last_write_time(dir / "cloud-init-seed.img"), first) << "the same settings leave the image alone";
}

TEST_F(CloudInitSeed, UserDataOfYourOwnComesFirstInAMultipartMessage) {
  const std::string device = R"({"plugin": "cloud-init", "user": "vzkit", "ssh_authorized_keys": [")" + std::string(kKey) +
                             R"("], "user_data": "#cloud-config\npackages: [nginx]\n", "network_config": "version: 2\n"})";
  const std::string user = seed_file(device, "user-data");
  EXPECT_EQ(user.rfind("Content-Type: multipart/mixed; boundary=", 0), 0u) << user;
  const auto theirs = user.find("packages: [nginx]"), ours = user.find("merge_how: \"list(append)");
  ASSERT_NE(theirs, std::string::npos) << user;
  ASSERT_NE(ours, std::string::npos) << user;
  EXPECT_LT(theirs, ours);
  EXPECT_NE(user.find("  - name: vzkit\n", ours), std::string::npos);
  EXPECT_EQ(seed_file(device, "network-config"), "version: 2\n");
}

}  // namespace
