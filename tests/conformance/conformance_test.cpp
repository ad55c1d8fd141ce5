// Conformance: kernel::check_conformance over every plugin found in the build tree, so a new
// plugin is covered the moment it exists (`vzkit plugin check FILE` runs the same rules on one
// file); and over test plugins that break rules on purpose, so each rule is seen to fail.
#include "../unit/test_support.hpp"

#include <vzkit/kernel/conformance.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

namespace {

using namespace vzkit;
using namespace vzkit::test;
namespace fs = std::filesystem;

const std::vector<std::string> kAllChecks = {"schema.metaschema", "schema.strict",          "schema.documented",
                                             "manifest.complete", "examples.validate",      "config.rejects-unknown",
                                             "fragments.round-trip"};

std::vector<std::string> plugin_names() {
  std::vector<std::string> names;
  for (const auto* p : builtin_plugins().plugins()) names.push_back(p->name());
  return names;
}

/// The one plugin in a folder of test-plugins/.
const kernel::LoadedPlugin& test_plugin(const std::string& folder) {
  static std::map<std::string, kernel::PluginHost> hosts;
  auto& h = hosts[folder];
  if (h.plugins().empty()) h.load({{fs::path(VZKIT_TEST_PLUGINS) / folder, "test"}});
  if (h.plugins().size() != 1) throw std::runtime_error("test-plugins/" + folder + " did not load one plugin");
  return *h.plugins().front();
}

/// Fails unless exactly the checks in `failing` failed; prints the report when not.
::testing::AssertionResult fails_exactly(const kernel::ConformanceReport& r, const std::set<std::string>& failing) {
  std::vector<std::string> ids;
  for (const auto& c : r.checks) ids.push_back(c.id);
  if (ids != kAllChecks) return ::testing::AssertionFailure() << "unexpected checks or order:\n" << kernel::format(r);
  for (const auto& c : r.checks) {
    const bool should_fail = failing.count(c.id) > 0;
    if (c.passed == should_fail || c.passed != c.problems.empty())
      return ::testing::AssertionFailure() << c.id << " should " << (should_fail ? "fail" : "pass") << ":\n"
                                           << kernel::format(r);
  }
  return ::testing::AssertionSuccess();
}

/// True when one problem of check `id` contains every one of `parts`.
::testing::AssertionResult has_problem(const kernel::ConformanceReport& r, const std::string& id,
                                       std::initializer_list<std::string> parts) {
  const auto* c = r.find(id);
  if (!c) return ::testing::AssertionFailure() << "no check " << id;
  for (const auto& p : c->problems)
    if (std::all_of(parts.begin(), parts.end(), [&](const std::string& s) { return p.find(s) != std::string::npos; }))
      return ::testing::AssertionSuccess();
  auto f = ::testing::AssertionFailure() << "no problem of " << id << " contains";
  for (const auto& s : parts) f << " [" << s << "]";
  return f << "; report:\n" << kernel::format(r);
}

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST(ConformanceSetup, BuiltInPluginsAllLoad) {
  for (const auto& e : builtin_plugins().errors()) ADD_FAILURE() << e.file << ": " << e.reason;
  EXPECT_GE(builtin_plugins().plugins().size(), 2u);
}

TEST_P(Conformance, PluginConforms) {
  const auto report = kernel::check_conformance(*builtin_plugins().find(GetParam()));
  EXPECT_EQ(report.plugin, GetParam());
  EXPECT_EQ(report.checks.size(), kAllChecks.size());
  EXPECT_TRUE(report.passed()) << kernel::format(report);
}

INSTANTIATE_TEST_SUITE_P(EveryPlugin, Conformance, ::testing::ValuesIn(plugin_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(ConformanceRules, LaxPluginFailsTheDocumentationAndStrictnessRules) {
  const auto r = kernel::check_conformance(test_plugin("nonconforming"));
  EXPECT_EQ(r.plugin, "lax-plugin");
  EXPECT_FALSE(r.passed());
  EXPECT_TRUE(fails_exactly(r, {"schema.strict", "schema.documented", "manifest.complete", "examples.validate",
                                "config.rejects-unknown"}));
  EXPECT_TRUE(has_problem(r, "schema.strict", {"schema: the top level has no \"additionalProperties\"",
                                               "\"additionalProperties\": false"}));
  EXPECT_TRUE(has_problem(r, "schema.documented", {"schema: properties.speed has no \"description\"", "add one"}));
  EXPECT_EQ(r.find("schema.documented")->problems.size(), 1u) << kernel::format(r);  // label is documented
  EXPECT_TRUE(has_problem(r, "manifest.complete", {"manifest: vz.min_macos is missing"}));
  EXPECT_TRUE(has_problem(r, "examples.validate", {"schema: the top level has no \"examples\""}));
  EXPECT_TRUE(has_problem(r, "config.rejects-unknown", {"unknown key \"no_such_key\" is accepted"}));
}

TEST(ConformanceRules, BrokenPluginFailsTheSchemaExampleAndFragmentRules) {
  const auto r = kernel::check_conformance(test_plugin("misbehaving"));
  EXPECT_EQ(r.plugin, "broken-plugin");
  EXPECT_TRUE(fails_exactly(r, {"schema.metaschema", "examples.validate", "fragments.round-trip"}));
  EXPECT_TRUE(has_problem(r, "schema.metaschema",
                          {"schema: properties.speed.examples: must be an array, got an integer", "draft-07"}));
  EXPECT_TRUE(has_problem(r, "examples.validate", {"schema: examples[1].speed: must be between 1 and 10, got 50"}));
  EXPECT_EQ(r.find("examples.validate")->problems.size(), 1u) << kernel::format(r);  // examples[0] is fine
  // A factory that throws is a problem of the check, not a crash; so are one that adds
  // nothing and one that writes files while nothing is to be materialized.
  EXPECT_TRUE(has_problem(r, "fragments.round-trip", {"qemu: assembling the first example", "the test device is unplugged"}));
  EXPECT_TRUE(has_problem(r, "fragments.round-trip", {"vz: the plan fragment is the base model unchanged"}));
  EXPECT_TRUE(has_problem(r, "fragments.round-trip", {"vz: assembling wrote", "state.bin", "materialize is false"}));
}

TEST(ConformanceRules, TheTemporaryFoldersAreRemoved) {
  // A temporary folder of this test's own, so checks run by other processes do not count.
  char pattern[] = "/tmp/vzkit-conformance-test-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const fs::path own = pattern;
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old ? old : "";
  setenv("TMPDIR", own.c_str(), 1);
  kernel::check_conformance(test_plugin("misbehaving"));  // its factory writes into the folder
  kernel::check_conformance(*builtin_plugins().find("virtiofs"));
  EXPECT_TRUE(fs::is_empty(own));
  // The folder is made where TMPDIR says; when it cannot be, that is the check's problem.
  setenv("TMPDIR", (own / "missing").c_str(), 1);
  const auto r = kernel::check_conformance(*builtin_plugins().find("entropy"));
  if (old) setenv("TMPDIR", saved.c_str(), 1);
  else unsetenv("TMPDIR");
  EXPECT_TRUE(fails_exactly(r, {"fragments.round-trip"}));
  EXPECT_TRUE(has_problem(r, "fragments.round-trip", {"the check stopped early: there is no temporary folder", "TMPDIR"}));
  fs::remove_all(own);
}

TEST(ConformanceRules, ReportAsTextAndJson) {
  const auto r = kernel::check_conformance(test_plugin("nonconforming"));
  const auto text = kernel::format(r);
  EXPECT_NE(text.find("PASS schema.metaschema"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL schema.strict"), std::string::npos) << text;
  EXPECT_NE(text.find("\n     schema: properties.speed has no \"description\""), std::string::npos) << text;
  EXPECT_NE(text.find("lax-plugin: 5 of 7 checks failed, 5 problems"), std::string::npos) << text;

  const auto j = kernel::to_json(r);
  EXPECT_EQ(j.at("plugin"), "lax-plugin");
  EXPECT_EQ(j.at("passed"), false);
  ASSERT_EQ(j.at("checks").as_array().size(), kAllChecks.size());
  EXPECT_EQ(j.at("checks").at(0).at("id"), "schema.metaschema");
  EXPECT_EQ(j.at("checks").at(0).at("passed"), true);
  EXPECT_EQ(j.at("checks").at(1).at("problems").as_array().size(), 1u);

  const auto ok = kernel::check_conformance(*builtin_plugins().find("entropy"));
  EXPECT_NE(kernel::format(ok).find("entropy: conforms (7 checks passed)"), std::string::npos) << kernel::format(ok);
}

}  // namespace
