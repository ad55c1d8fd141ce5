// Test plugins that load fine but break conformance rules on purpose, so the conformance
// checks can be seen to fail with the right paths. VZKIT_TEST_CASE selects which rules.
//   1: lax: a setting without description, no examples, unknown keys allowed, VZ without min_macos
//   2: broken: a schema that is not valid draft-07, an invalid example, factories that misbehave
#include <vzkit/plugin.hpp>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#ifndef VZKIT_TEST_NAME
#error VZKIT_TEST_NAME must be defined
#endif

namespace {

#if VZKIT_TEST_CASE == 1
constexpr const char* kManifest = R"json({
  "name": ")json" VZKIT_TEST_NAME R"json(",
  "version": "0.1.0",
  "summary": "a test plugin that breaks the documentation rules",
  "engines": ["vz", "qemu"],
  "schema": {
    "type": "object",
    "description": "A test device whose schema lets anything through.",
    "properties": {
      "label": {"title": "Label", "description": "A label | with a pipe and a <placeholder>.", "type": "string",
                "default": "a"},
      "speed": {"title": "Speed", "type": "integer", "minimum": 1, "maximum": 10, "default": 5}
    }
  }
})json";
#else
constexpr const char* kManifest = R"json({
  "name": ")json" VZKIT_TEST_NAME R"json(",
  "version": "0.1.0",
  "summary": "a test plugin whose schema and factories are wrong",
  "engines": ["vz", "qemu"],
  "vz": {"min_macos": "13.0"},
  "schema": {
    "type": "object",
    "additionalProperties": false,
    "description": "A test device that fails in every factory.",
    "properties": {
      "speed": {"title": "Speed", "description": "How fast.", "type": "integer", "minimum": 1, "maximum": 10,
                "default": 5, "examples": 5}
    },
    "examples": [{}, {"speed": 50}]
  }
})json";
#endif

class TestPlugin final : public vzkit::sdk::Plugin {
 public:
  void assemble_vz(const vzkit::sdk::Config&, const vzkit::sdk::Context& ctx, vzkit::vz::Configuration& plan) const override {
#if VZKIT_TEST_CASE == 1
    plan.entropy_devices.push_back(vzkit::vz::VirtioEntropyDevice{});
#else
    // Writes although nothing should be materialized, and adds nothing to the plan.
    std::ofstream(ctx.in_bundle("state.bin")) << "x";
#endif
  }
  void assemble_qemu(const vzkit::sdk::Config& c, const vzkit::sdk::Context&, vzkit::qemu::Machine& m) const override {
#if VZKIT_TEST_CASE == 1
    m.devices.push_back({"test-device", {{"speed", std::to_string(vzkit::sdk::get_int(c, "speed"))}}, {}});
#else
    throw std::runtime_error("the test device is unplugged");
#endif
  }
};

}  // namespace

VZKIT_PLUGIN(TestPlugin, kManifest)
