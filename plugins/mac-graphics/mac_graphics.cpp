// mac-graphics: the Mac graphics device with its one display, the screen of a macOS guest.
#include <vzkit/plugin.hpp>

namespace {

namespace sdk = vzkit::sdk;

constexpr const char* kManifest = R"json({
  "name": "mac-graphics",
  "version": "1.0.0",
  "summary": "Mac graphics device with one display: the screen of a macOS guest",
  "engines": ["vz"],
  "requires": ["mac-platform"],
  "max_instances": 1,
  "engine_notes": {
    "qemu": "the Mac graphics device belongs to macOS guests, which only Virtualization.framework on Apple silicon can run"
  },
  "vz": {"min_macos": "12.0", "classes": ["VZMacGraphicsDeviceConfiguration", "VZMacGraphicsDisplayConfiguration"]},
  "save_restore": true,
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Mac graphics",
    "description": "The display of a macOS guest (Virtualization.framework allows exactly one). A macOS guest needs it even when nobody looks at the screen. Bounds: width 640 to 8192 and height 480 to 8192 pixels (from VGA up to past 8K UHD, 7680 x 4320, and the 6016 x 3384 Pro Display XDR); 50 to 500 pixels per inch (Mac screens span about 72 for old non-Retina panels to about 254 for Retina ones). Virtualization.framework states no limits of its own.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "width": {
        "title": "Width",
        "description": "Width of the display in pixels, 640 to 8192.",
        "type": "integer", "minimum": 640, "maximum": 8192,
        "default": 1920,
        "examples": [1920, 2560, 3024]
      },
      "height": {
        "title": "Height",
        "description": "Height of the display in pixels, 480 to 8192.",
        "type": "integer", "minimum": 480, "maximum": 8192,
        "default": 1200,
        "examples": [1200, 1440, 1964]
      },
      "pixels_per_inch": {
        "title": "Pixels per inch",
        "description": "Pixel density the guest is told about, which it uses to pick its interface scale. Apple's sample uses 80 with 1920 x 1200; Retina Mac screens have about 220. 50 to 500.",
        "type": "integer", "minimum": 50, "maximum": 500,
        "default": 80,
        "examples": [80, 144, 220]
      }
    },
    "examples": [{}, {"width": 2560, "height": 1600, "pixels_per_inch": 220}]
  }
})json";

class MacGraphics final : public sdk::Plugin {
 public:
  void assemble_vz(const sdk::Config& c, const sdk::Context&, vzkit::vz::Configuration& plan) const override {
    vzkit::vz::MacGraphicsDisplay display;
    display.width_in_pixels = sdk::get_int(c, "width", 1920);
    display.height_in_pixels = sdk::get_int(c, "height", 1200);
    display.pixels_per_inch = sdk::get_int(c, "pixels_per_inch", 80);
    vzkit::vz::MacGraphicsDevice device;
    device.displays.push_back(display);  // exactly one: VZ refuses a second display
    plan.graphics_devices.push_back(device);
  }
};

}  // namespace

VZKIT_PLUGIN(MacGraphics, kManifest)
