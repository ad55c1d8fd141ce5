// The bridge built as if with the macOS 13 SDK (vzkit_bridge_vz_sdk13) against the recording fake:
// classes newer than 13 are reported as "built without that SDK" (vz.sdk-too-old) even on a host
// that runs a newer macOS, which is a different error from "this macOS is too old".
#include <vzkit/bridge/vz/objc_bridge.h>
#include <vzkit/bridge/vz/vz_bridge.hpp>

#import <VZFake/VZFake.h>

#include <gtest/gtest.h>

#include <string>

static_assert(__MAC_OS_X_VERSION_MAX_ALLOWED == 130000, "this test must be built as if with the macOS 13 SDK");

namespace {

namespace v = vzkit::vz;
using namespace vzkit::bridge::vz;

const std::string kDisk = std::string(VZKIT_SOURCE_DIR) + "/tests/data/disk.img";

/// A Linux guest that uses only macOS 13 API.
v::Configuration linux_guest() {
  v::Configuration plan;
  plan.cpu_count = 2;
  plan.memory_size = 2ull << 30;
  plan.platform = v::GenericPlatform{};
  plan.boot_loader = v::EFIBootLoader{std::nullopt, v::Origin{"efi-boot", "devices[0]"}};
  plan.storage_devices.push_back(v::VirtioBlockDevice{v::DiskImageAttachment{kDisk}, std::nullopt, v::Origin{"virtio-blk", "devices[1]"}});
  plan.keyboards.push_back(v::USBKeyboard{v::Origin{"keyboard", "devices[2]"}});
  return plan;
}

bool has(const vzkit::kernel::Diagnostics& d, const std::string& code, const std::string& path, const std::string& plugin) {
  for (const auto& x : d)
    if (x.code == code && x.path == path && x.plugin == plugin) return true;
  return false;
}

class Sdk13 : public ::testing::Test {
 protected:
  void SetUp() override {
    m_pool = [[NSAutoreleasePool alloc] init];
    VZFakeReset();
    VZFakeSetHostOperatingSystemVersion(15);  // the host is new enough: only the SDK is missing
  }
  void TearDown() override {
    VZFakeReset();
    [m_pool drain];
  }

 private:
  NSAutoreleasePool* m_pool = nil;
};

TEST_F(Sdk13, AMacOS13GuestBuildsAndValidates) {
  const auto d = validate(linux_guest());
  EXPECT_TRUE(d.empty()) << d.front().message;
}

TEST_F(Sdk13, NewerClassesAreSdkTooOldNotMacosTooOld) {
  auto plan = linux_guest();
  plan.storage_devices.push_back(
      v::NVMExpressControllerDevice{v::DiskImageAttachment{kDisk}, v::Origin{"nvme", "devices[3]"}});
  plan.keyboards.push_back(v::MacKeyboard{v::Origin{"keyboard", "devices[4]"}});
  plan.usb_controllers.push_back(v::XHCIController{{}, v::Origin{"usb", "devices[5]"}});
  std::get<v::GenericPlatform>(*plan.platform).nested_virtualization_enabled = true;
  std::get<v::GenericPlatform>(*plan.platform).origin = v::Origin{"nested", "devices[6]"};
  const auto d = validate(plan);
  EXPECT_TRUE(has(d, kSdkTooOld, "devices[3]", "nvme"));
  EXPECT_TRUE(has(d, kSdkTooOld, "devices[4]", "keyboard"));
  EXPECT_TRUE(has(d, kSdkTooOld, "devices[5]", "usb"));
  EXPECT_TRUE(has(d, kSdkTooOld, "devices[6]", "nested"));
  for (const auto& x : d) EXPECT_NE(x.code, kMacosTooOld) << x.path;
  ASSERT_FALSE(d.empty());
  EXPECT_NE(d.front().hint.find("SDK"), std::string::npos) << d.front().hint;
}

}  // namespace
