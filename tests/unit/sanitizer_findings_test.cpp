// What the sanitizer build (scripts/sanitize.sh) and the fuzz targets (tests/fuzz) found, one
// test each, which failed before its fix (docs/fuzzing.md, "Found and fixed").
#include "test_support.hpp"

#include <vzkit/bridge/qemu/start_failure.hpp>

#include <malloc.h>

#include <thread>

namespace {

using namespace vzkit::test;

// The hook guard gave each thread that called a plugin a 64 KiB stack for its signal handler
// and never freed it: LeakSanitizer reported it in every test that validated a spec, and each
// thread that called a plugin and ended lost it for good.
TEST(SanitizerFindings, AThreadThatCalledAPluginLeavesNoSignalStackBehind) {
  const std::string spec = make_spec({entry("linux-boot", {{"kernel", "vmlinuz"}})});
  ASSERT_FALSE(vzkit::kernel::has_errors(validate_text(spec)));  // plugins loaded, main thread set up
  constexpr int kThreads = 24;
  const auto before = ::mallinfo2().uordblks;  // every arena's bytes in use
  for (int i = 0; i < kThreads; ++i) {
    bool valid = false;
    std::thread([&] { valid = !vzkit::kernel::has_errors(validate_text(spec)); }).join();
    ASSERT_TRUE(valid);
  }
  const long long grown = static_cast<long long>(::mallinfo2().uordblks) - static_cast<long long>(before);
  EXPECT_LT(grown, kThreads * 64 * 1024 / 4) << "the threads left " << grown << " bytes in use";
}

// QEMU's output (run/qemu.log) is read to explain a failed start. A port too large for an int
// made std::stoi throw out of the explanation (and the supervisor); one above 65535 is no port.
TEST(SanitizerFindings, AHostPortQemuCannotHaveIsNotExplainedAsOne) {
  for (const std::string port : {"99999999999999999999", "70000"}) {
    const auto f = vzkit::bridge::qemu::explain_start_failure(
        {}, "qemu-system-x86_64: -netdev user,id=net0: Could not set up host forwarding rule 'tcp:127.0.0.1:" + port +
                "-:22'\n");
    ASSERT_TRUE(f) << port;
    EXPECT_EQ(f->value, "") << port;
    EXPECT_EQ(f->cause, "Could not set up host forwarding rule 'tcp:127.0.0.1:" + port + "-:22'") << port;
  }
}

// The explanation's regular expressions ran on QEMU's whole error line; libstdc++'s engine
// recurses once per character, so a long enough line overflowed the stack.
TEST(SanitizerFindings, AVeryLongQemuErrorLineIsExplainedWithoutOverflowingTheStack) {
  const std::string path = "/" + std::string(200000, 'a');
  for (const std::string line : {"Could not open '" + path + "': No such file or directory",
                                 "Failed to get \"write\" lock\nIs another process using the image [" + path + "]?",
                                 "Could not set up host forwarding rule 'tcp:" + path}) {
    const auto f = vzkit::bridge::qemu::explain_start_failure({}, "qemu-system-x86_64: -device x: " + line + "\n");
    ASSERT_TRUE(f);
    EXPECT_FALSE(f->cause.empty());
  }
}

}  // namespace
