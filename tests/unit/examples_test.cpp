// Every example spec validates for the engines it targets (with stand-in files from tests/data),
// and the Swift of the macOS and Linux examples is pinned.
#include "test_support.hpp"

#include <vzkit/kernel/swift_export.hpp>
#include <vzkit/qemu/machine.hpp>
#include <vzkit/vz/configuration.hpp>

#include <fstream>
#include <sstream>

namespace {

using namespace vzkit;
using namespace vzkit::test;

std::string example(const std::string& name) {
  std::ifstream in(std::string(VZKIT_SOURCE_DIR) + "/examples/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  const char* file;
  std::vector<std::string> engines;
};

const Case kCases[] = {
    {"demo.json", {"qemu"}},
    {"linux-direct.json", {"qemu"}},
    {"linux-installer.json", {"qemu", "vz"}},
    {"linux-rosetta.json", {"vz"}},
    {"macos.json", {"vz"}},
};

TEST(Examples, ValidateForTheirEngines) {
  for (const auto& c : kCases) {
    const std::string text = example(c.file);
    ASSERT_FALSE(text.empty()) << c.file;
    for (const auto& engine : c.engines) {
      auto d = validate_text(text, engine);
      EXPECT_FALSE(kernel::has_errors(d)) << c.file << " for " << engine << ":\n" << kernel::format(d);
      auto plan = plan_text(text, engine);
      EXPECT_TRUE(plan.is_object()) << c.file << " for " << engine;
    }
  }
}

TEST(Examples, MacOnlyExamplesAreRefusedOnQemuNamingThePlugin) {
  auto d = validate_text(example("macos.json"), "qemu");
  EXPECT_TRUE(expect_diag(d, "engine.unsupported", "devices[0]", "mac-platform"));
  EXPECT_TRUE(expect_diag(d, "engine.unsupported", "devices[7]", "trackpad"));
  d = validate_text(example("linux-rosetta.json"), "qemu");
  EXPECT_TRUE(expect_diag(d, "engine.unsupported", "devices[3]", "rosetta"));
}

std::string swift_of(const std::string& file) {
  auto plan = plan_text(example(file), "vz");
  if (!plan.is_object()) return {};
  return kernel::to_swift(boost::json::value_to<vz::Configuration>(plan), "example");
}

TEST(Examples, SwiftOfTheMacOSGuest) {
  const auto swift = swift_of("macos.json");
  for (const char* line : {"let platform = VZMacPlatformConfiguration()", "VZMacOSBootLoader()",
                           "VZMacGraphicsDisplayConfiguration(widthInPixels: 1920, heightInPixels: 1200, pixelsPerInch: 80)",
                           "VZMacTrackpadConfiguration()", "VZMacKeyboardConfiguration()",
                           "VZVirtioFileSystemDeviceConfiguration.macOSGuestAutomountTag",
                           "try configuration.validate()"})
    EXPECT_NE(swift.find(line), std::string::npos) << "missing: " << line << "\n" << swift;
  expect_golden("examples/macos.swift", swift);
}

TEST(Examples, SwiftOfTheLinuxInstaller) {
  const auto swift = swift_of("linux-installer.json");
  for (const char* line : {"VZEFIBootLoader()", "VZEFIVariableStore(creatingVariableStoreAt:",
                           "VZUSBMassStorageDeviceConfiguration(attachment:",
                           "VZVirtioGraphicsScanoutConfiguration(widthInPixels: 1280, heightInPixels: 720)",
                           "VZNATNetworkDeviceAttachment()"})
    EXPECT_NE(swift.find(line), std::string::npos) << "missing: " << line << "\n" << swift;
  expect_golden("examples/linux-installer.swift", swift);
}

TEST(Examples, ArgvOfTheDirectBootGuest) {
  auto plan = plan_text(example("linux-direct.json"), "qemu");
  ASSERT_TRUE(plan.is_object());
  expect_golden("examples/linux-direct.argv",
                kernel::shell_join(qemu::to_argv(boost::json::value_to<qemu::Machine>(plan))) + "\n");
}

}  // namespace
