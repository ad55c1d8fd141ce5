// Conformance: the same checks over every plugin found in the build tree, so a new plugin is
// covered the moment it exists. `vzkit plugin check FILE` runs these rules on one file.
#include "../unit/test_support.hpp"

#include "../../kernel/src/schema_check.hpp"

#include <vzkit/qemu/machine.hpp>
#include <vzkit/vz/configuration.hpp>

#include <valijson/schema.hpp>

#include <fstream>
#include <sstream>

namespace {

using namespace vzkit;
using namespace vzkit::test;

std::vector<std::string> plugin_names() {
  std::vector<std::string> names;
  for (const auto* p : builtin_plugins().plugins()) names.push_back(p->name());
  return names;
}

const kernel::LoadedPlugin& plugin(const std::string& name) { return *builtin_plugins().find(name); }

const json::value& metaschema() {
  static const json::value v = [] {
    std::ifstream in(std::string(VZKIT_SOURCE_DIR) + "/tests/conformance/draft-07-schema.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
  }();
  return v;
}

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST(ConformanceSetup, BuiltInPluginsAllLoad) {
  for (const auto& e : builtin_plugins().errors()) ADD_FAILURE() << e.file << ": " << e.reason;
  EXPECT_GE(builtin_plugins().plugins().size(), 2u);
}

TEST_P(Conformance, SchemaIsValidJsonSchema) {
  const auto& schema = plugin(GetParam()).manifest().schema;
  static const auto compiled_meta = kernel::detail::compile(metaschema());
  Diagnostics d;
  EXPECT_TRUE(kernel::detail::check(*compiled_meta, metaschema(), schema, "schema", GetParam(), "", d))
      << kernel::format(d);
}

TEST_P(Conformance, SchemaIsStrictAndDocumented) {
  const auto& s = plugin(GetParam()).manifest().schema.as_object();
  EXPECT_EQ(s.at("type"), "object");
  ASSERT_TRUE(s.contains("additionalProperties")) << "unknown keys must be errors";
  EXPECT_EQ(s.at("additionalProperties"), false);
  EXPECT_TRUE(s.contains("description"));
  if (const auto* props = s.if_contains("properties"))
    for (const auto& kv : props->as_object()) {
      EXPECT_TRUE(kv.value().as_object().contains("title")) << kv.key() << " has no title";
      EXPECT_TRUE(kv.value().as_object().contains("description")) << kv.key() << " has no description";
    }
}

TEST_P(Conformance, ManifestIsComplete) {
  const auto& m = plugin(GetParam()).manifest();
  EXPECT_FALSE(m.summary.empty());
  EXPECT_FALSE(m.engines.empty());
  EXPECT_FALSE(m.version.empty());
  if (m.supports("vz")) EXPECT_FALSE(m.min_macos.empty()) << "a VZ plugin states the macOS its classes need";
  for (const char* engine : {"vz", "qemu"})
    if (!m.supports(engine)) EXPECT_TRUE(m.engine_notes.count(engine)) << "say why it cannot run on " << engine;
}

TEST_P(Conformance, ExamplesValidate) {
  const auto& p = plugin(GetParam());
  const auto* examples = p.manifest().schema.as_object().if_contains("examples");
  ASSERT_TRUE(examples && examples->is_array() && !examples->as_array().empty()) << "the schema needs examples";
  for (const auto& ex : examples->as_array()) {
    Diagnostics d;
    EXPECT_TRUE(kernel::detail::check(p.compiled_schema(), p.manifest().schema, ex, "example", p.name(), "", d))
        << json::serialize(ex) << "\n"
        << kernel::format(d);
  }
}

TEST_P(Conformance, EmptyOrUnknownConfigFailsWithANamedPath) {
  const auto& p = plugin(GetParam());
  const auto& s = p.manifest().schema.as_object();
  Diagnostics d;
  const auto* required = s.if_contains("required");
  if (required && !required->as_array().empty()) {
    EXPECT_FALSE(kernel::detail::check(p.compiled_schema(), p.manifest().schema, json::object{}, "devices[0]", p.name(), "", d));
    for (const auto& key : required->as_array())
      EXPECT_TRUE(expect_diag(d, "schema.required", "devices[0]." + std::string(key.as_string()), p.name()));
  } else {
    EXPECT_FALSE(kernel::detail::check(p.compiled_schema(), p.manifest().schema, json::object{{"no_such_key", 1}},
                                       "devices[0]", p.name(), "", d));
    EXPECT_TRUE(expect_diag(d, "schema.unknown-key", "devices[0].no_such_key", p.name()));
  }
}

TEST_P(Conformance, PlanFragmentsRoundTripThroughJson) {
  const auto& p = plugin(GetParam());
  json::value config = p.manifest().schema.as_object().at("examples").as_array().at(0);
  kernel::detail::apply_defaults(p.manifest().schema, config);
  for (const std::string engine : {"vz", "qemu"}) {
    if (!p.manifest().supports(engine)) continue;
    json::object context{{"engine", engine}, {"vm_name", "conformance"}, {"spec_dir", data_dir().string()},
                         {"bundle_dir", "/tmp/vzkit-conformance"}, {"path", "devices[0]"},
                         {"arch", engine == "vz" ? "aarch64" : "x86_64"}, {"cpus", 2},
                         {"memory_bytes", 1u << 30}, {"materialize", false}};
    json::value base = engine == "vz" ? json::value_from(vz::Configuration{}) : json::value_from(qemu::Machine{});
    json::value fragment;
    try {
      fragment = p.assemble(json::object{{"engine", engine}, {"config", config}, {"context", context}, {"base", base}});
    } catch (const std::exception& e) {
      ADD_FAILURE() << engine << ": " << e.what();
      continue;
    }
    EXPECT_NE(fragment, base) << engine << ": the plugin added nothing to the plan";
    if (engine == "vz") {
      auto typed = json::value_to<vz::Configuration>(fragment);
      EXPECT_EQ(json::value_from(typed), fragment) << engine;
      EXPECT_EQ(json::value_to<vz::Configuration>(json::value_from(typed)), typed);
    } else {
      auto typed = json::value_to<qemu::Machine>(fragment);
      EXPECT_EQ(json::value_from(typed), fragment) << engine;
      EXPECT_EQ(json::value_to<qemu::Machine>(json::value_from(typed)), typed);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryPlugin, Conformance, ::testing::ValuesIn(plugin_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
