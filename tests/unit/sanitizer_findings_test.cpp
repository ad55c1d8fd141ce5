// What the sanitizer build (scripts/sanitize.sh) and the fuzz targets (tests/fuzz) found, one
// test each, which failed before its fix (docs/fuzzing.md, "Found and fixed").
#include "test_support.hpp"

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

}  // namespace
