// Pins the wording of the errors users see most, as the CLI prints them.
#include "test_support.hpp"

namespace {

using namespace vzkit;
using namespace vzkit::test;

std::string printed(const std::string& text, const std::string& engine = "") {
  auto parsed = kernel::parse_spec(text, "vm.json", data_dir());
  if (!parsed.spec) return kernel::format(parsed.diagnostics);
  kernel::ValidateOptions o;
  o.engine = engine;
  return kernel::format(kernel::validate(*parsed.spec, builtin_plugins(), o));
}

TEST(GoldenMessages, CommonestErrors) {
  std::string out;
  out += "# syntax error\n" + printed("{\n  \"name\": \"vm\"\n  \"cpus\": 2\n}");
  out += "# truncated\n" + printed(R"({"name": "vm", "devices": [)");
  out += "# unknown key, missing key, out of range, wrong type, bad memory\n" +
         printed(R"({"name": "vm", "cpu": 2, "cpus": 0, "memory": 4096,
                     "devices": [{"plugin": "linux-boot", "kernal": "vmlinuz"}]})");
  out += "# unknown plugin\n" + printed(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "vmlinuz"},
                                                                    {"plugin": "entropyy"}]})");
  out += "# missing file, two boot loaders\n" +
         printed(R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "no-such-kernel"},
                                               {"plugin": "linux-boot", "kernel": "vmlinuz"}]})");
  out += "# no boot loader\n" + printed(R"({"name": "vm", "devices": [{"plugin": "entropy"}]})");
  expect_golden("messages.txt", out);
}

}  // namespace
