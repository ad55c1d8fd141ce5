// Running helper programs to completion: how they ended, what they printed, time limits.
#include <vzkit/kernel/subprocess.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

namespace {

using namespace vzkit::kernel;
using namespace std::chrono_literals;

TEST(Subprocess, CapturesBothStreamsAndTheExitStatus) {
  const auto r = run_child({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.started) << r.start_error;
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.describe(), "exit status 3");
}

TEST(Subprocess, ReportsTheSignalThatEndedIt) {
  const auto r = run_child({"sh", "-c", "kill -SEGV $$"});
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_NE(r.describe().find("signal 11"), std::string::npos) << r.describe();
}

TEST(Subprocess, KillsAChildThatOutlivesItsTimeLimit) {
  ChildOptions o;
  o.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_child({"sleep", "30"}, o);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(r.describe(), "no answer within 300 ms");
}

TEST(Subprocess, AGrandchildHoldingThePipesDoesNotKeepItWaiting) {
  // The child exits at once; the background sleep keeps stdout open for 30 s.
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_child({"sh", "-c", "echo done; sleep 30 & exit 0"});
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, "done\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(Subprocess, KeepsOnlyTheFirstBytesOfALongOutput) {
  ChildOptions o;
  o.max_capture = 1000;
  const auto r = run_child({"sh", "-c", "head -c 100000 /dev/zero"}, o);
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out.size(), 1000u);
  EXPECT_TRUE(r.truncated);
}

TEST(Subprocess, FeedsItsInput) {
  ChildOptions o;
  o.input = "hello\nworld\n";
  const auto r = run_child({"wc", "-l"}, o);
  EXPECT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out.substr(r.out.find_first_not_of(' ')), "2\n");
}

TEST(Subprocess, SurvivesAChildThatIgnoresItsInput) {
  ChildOptions o;
  o.input = std::string(1 << 20, 'x');  // more than a pipe holds
  const auto r = run_child({"true"}, o);
  EXPECT_TRUE(r.ok()) << r.describe();
}

TEST(Subprocess, SaysWhenTheProgramCannotBeRun) {
  const auto r = run_child({"vzkit-no-such-program"});
  EXPECT_FALSE(r.started);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.describe().find("not on PATH"), std::string::npos) << r.describe();
}

}  // namespace
