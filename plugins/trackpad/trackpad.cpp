// trackpad: the Mac trackpad, a multi-touch pointer for macOS guests.
#include <vzkit/plugin.hpp>

namespace {

constexpr const char* kManifest = R"json({
  "name": "trackpad",
  "version": "1.0.0",
  "summary": "Mac trackpad: multi-touch pointing (gestures) for a macOS 13 or later guest",
  "engines": ["vz"],
  "requires": ["mac-platform"],
  "max_instances": 1,
  "engine_notes": {
    "qemu": "the Mac trackpad exists only for macOS guests on Virtualization.framework; on QEMU use the 'pointing' plugin (a USB tablet)"
  },
  "vz": {"min_macos": "13.0", "classes": ["VZMacTrackpadConfiguration"]},
  "save_restore": true,
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Mac trackpad",
    "description": "A Mac trackpad with gestures. Only macOS 13 or later guests see it: add the 'pointing' plugin too (a Mac VM may have both) so older guests get a pointer.",
    "type": "object",
    "additionalProperties": false,
    "properties": {},
    "examples": [{}]
  }
})json";

class Trackpad final : public vzkit::sdk::Plugin {
 public:
  void assemble_vz(const vzkit::sdk::Config&, const vzkit::sdk::Context&, vzkit::vz::Configuration& plan) const override {
    plan.pointing_devices.push_back(vzkit::vz::MacTrackpad{});
  }
};

}  // namespace

VZKIT_PLUGIN(Trackpad, kManifest)
