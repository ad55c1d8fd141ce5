// The QEMU object model: JSON round trip, argv rendering, duplicate removal.
#include <vzkit/qemu/machine.hpp>

#include <boost/json.hpp>

#include <gtest/gtest.h>

namespace {

using namespace vzkit::qemu;
namespace json = boost::json;

Machine sample() {
  Machine m;
  m.binary = "qemu-system-x86_64";
  m.type = "q35";
  m.accel = "tcg";
  m.smp = 2;
  m.memory_mib = 512;
  m.machine_properties = {{"memory-backend", "mem"}};
  m.kernel = KernelBoot{"/k", std::string("/i"), "console=ttyS0 quiet"};
  m.objects.push_back({"memory-backend-memfd", {{"id", "mem"}, {"size", "512M"}, {"share", "on"}}, {}});
  m.blockdevs.push_back({"file", {{"node-name", "f0"}, {"filename", "/a,b.img"}}, Origin{"virtio-blk", "devices[1]"}});
  m.netdevs.push_back({"user", {{"id", "net0"}, {"hostfwd", "tcp:127.0.0.1:2222-:22"}, {"hostfwd", "tcp:127.0.0.1:8080-:80"}}, {}});
  m.chardevs.push_back({"socket", {{"id", "fs0"}, {"path", "/run/fs.sock"}}, {}});
  m.devices.push_back({"virtio-blk-pci", {{"drive", "disk0"}}, Origin{"virtio-blk", "devices[1]"}});
  m.globals.push_back({"virtio-mmio", "force-legacy", "false"});
  m.serial.push_back("chardev:ser0");
  m.helpers.push_back({"virtiofsd", {"/usr/lib/qemu/virtiofsd", "--socket-path=/run/fs.sock"}, std::string("/run/fs.sock"), {}});
  return m;
}

TEST(QemuModel, RoundTripsThroughJson) {
  auto m = sample();
  auto jv = json::value_from(m);
  EXPECT_EQ(json::value_to<Machine>(jv), m);
  EXPECT_EQ(json::value_to<Machine>(json::parse(json::serialize(jv))), m);
}

TEST(QemuModel, RepeatedKeysBecomeArrays) {
  auto jv = json::value_from(sample());
  const auto& fwd = jv.at("netdevs").at(0).at("properties").at("hostfwd");
  ASSERT_TRUE(fwd.is_array());
  EXPECT_EQ(fwd.as_array().size(), 2u);
}

TEST(QemuModel, UnknownKeysAndBadTypesAreRefused) {
  auto jv = json::value_from(sample());
  jv.as_object()["bogus"] = 1;
  try {
    (void)json::value_to<Machine>(jv);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'bogus'"), std::string::npos);
  }
  auto bad = json::value_from(sample());
  bad.as_object()["smp"] = "two";
  EXPECT_THROW((void)json::value_to<Machine>(bad), std::invalid_argument);
}

TEST(QemuModel, ArgvEscapesCommasAndKeepsOrder) {
  auto argv = to_argv(sample());
  std::string line;
  for (const auto& a : argv) line += a + " ";
  EXPECT_EQ(argv.front(), "qemu-system-x86_64");
  EXPECT_NE(line.find("-machine q35,accel=tcg,memory-backend=mem "), std::string::npos) << line;
  EXPECT_NE(line.find("-blockdev driver=file,node-name=f0,filename=/a,,b.img "), std::string::npos) << line;
  EXPECT_NE(line.find("-netdev user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:8080-:80 "),
            std::string::npos) << line;
  EXPECT_NE(line.find("-global virtio-mmio.force-legacy=false "), std::string::npos);
  EXPECT_NE(line.find("-append console=ttyS0 quiet"), std::string::npos);
  EXPECT_NE(line.find("-nodefaults -no-user-config"), std::string::npos);
}

TEST(QemuModel, RemoveDuplicatesKeepsTheFirstOfIdenticalEntries) {
  Machine m;
  m.devices = {{"qemu-xhci", {{"id", "xhci"}}, Origin{"keyboard", "devices[1]"}},
               {"usb-kbd", {{"bus", "xhci.0"}}, {}},
               {"qemu-xhci", {{"id", "xhci"}}, Origin{"pointing", "devices[2]"}}};
  m.machine_properties = {{"memory-backend", "mem"}, {"memory-backend", "mem"}};
  remove_duplicates(m);
  ASSERT_EQ(m.devices.size(), 2u);
  EXPECT_EQ(m.devices[0].origin->plugin, "keyboard");
  EXPECT_EQ(m.machine_properties.size(), 1u);
}

}  // namespace
