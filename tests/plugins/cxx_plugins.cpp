// Test plugins built with the C++ helper layer. VZKIT_TEST_CASE selects the behaviour.
#include <vzkit/plugin.hpp>

#include <stdexcept>

#ifndef VZKIT_TEST_NAME
#error VZKIT_TEST_NAME must be defined
#endif

namespace {

constexpr const char* kManifest = R"json({
  "name": ")json" VZKIT_TEST_NAME R"json(",
  "version": "1.2.3",
  "summary": "a well-behaved test plugin",
  "engines": ["qemu", "vz"],
  "slot": "test-slot",
  "schema": {
    "type": "object",
    "additionalProperties": false,
    "required": ["label"],
    "properties": {
      "label": {"type": "string", "minLength": 1, "description": "A label."},
      "count": {"type": "integer", "minimum": 1, "maximum": 8, "default": 2}
    },
    "examples": [{"label": "a"}]
  }
})json";

class TestPlugin final : public vzkit::sdk::Plugin {
 public:
  TestPlugin() {
#if VZKIT_TEST_CASE == 1
    throw std::runtime_error("cannot open the test device");
#endif
  }
  void validate(const vzkit::sdk::Config& c, const vzkit::sdk::Context&, vzkit::sdk::Diagnostics& out) const override {
    if (vzkit::sdk::get_string(c, "label") == "bad") out.error("test.bad-label", "label", "label 'bad' is refused", "pick another");
  }
  void assemble_qemu(const vzkit::sdk::Config& c, const vzkit::sdk::Context&, vzkit::qemu::Machine& m) const override {
    m.devices.push_back({"test-device", {{"label", vzkit::sdk::get_string(c, "label")},
                                         {"count", std::to_string(vzkit::sdk::get_int(c, "count"))}}, {}});
  }
};

}  // namespace

#if VZKIT_TEST_CASE == 2
// An entry that throws straight through the C boundary, as a careless plugin might.
extern "C" VZKIT_PLUGIN_EXPORT const vzkit_type_plugin_descriptor* vzkit_plugin_entry(const vzkit_type_host_info*,
                                                                                   vzkit_type_sink*) {
  throw std::runtime_error("entry exploded");
}
#elif VZKIT_TEST_CASE == 3
// No entry symbol at all: an ordinary shared library.
extern "C" VZKIT_PLUGIN_EXPORT int some_other_function() { return 42; }
#else
VZKIT_PLUGIN(TestPlugin, kManifest)
#endif
