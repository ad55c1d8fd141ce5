// virtio-gpu: a Virtio GPU with one display (scanout) of a fixed size in pixels.
#include <vzkit/plugin.hpp>

#include <string>

namespace {

namespace sdk = vzkit::sdk;

constexpr const char* kManifest = R"json({
  "name": "virtio-gpu",
  "version": "1.0.0",
  "summary": "Virtio GPU with one display of a given size",
  "engines": ["vz", "qemu"],
  "max_instances": 1,
  "vz": {"min_macos": "13.0", "classes": ["VZVirtioGraphicsDeviceConfiguration", "VZVirtioGraphicsScanoutConfiguration"]},
  "save_restore": true,
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Virtio GPU",
    "description": "A Virtio GPU with exactly one display (VZ accepts one scanout). Linux guests need the virtio-gpu DRM driver, which Debian's cloud kernels lack.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "width": {
        "title": "Width",
        "description": "Display width in pixels, 320 to 8192 (320 is the smallest width desktops still lay out; 8192 covers 8K displays).",
        "type": "integer", "minimum": 320, "maximum": 8192,
        "default": 1280,
        "examples": [1280, 1920, 2560]
      },
      "height": {
        "title": "Height",
        "description": "Display height in pixels, 200 to 8192 (200 is the smallest usable console height; 8192 is the largest side any common display has).",
        "type": "integer", "minimum": 200, "maximum": 8192,
        "default": 720,
        "examples": [720, 1080, 1440]
      }
    },
    "examples": [{}, {"width": 1920, "height": 1080}]
  }
})json";

class VirtioGpu final : public sdk::Plugin {
 public:
  void assemble_vz(const sdk::Config& c, const sdk::Context&, vzkit::vz::Configuration& plan) const override {
    vzkit::vz::VirtioGraphicsDevice gpu;
    gpu.scanouts.push_back({sdk::get_int(c, "width", 1280), sdk::get_int(c, "height", 720)});
    plan.graphics_devices.push_back(std::move(gpu));
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, vzkit::qemu::Machine& plan) const override {
    // The id lets QMP screendump name this device.
    plan.devices.push_back({"virtio-gpu-pci",
                            {{"id", ctx.id("gpu")},
                             {"xres", std::to_string(sdk::get_int(c, "width", 1280))},
                             {"yres", std::to_string(sdk::get_int(c, "height", 720))}},
                            {}});
  }
};

}  // namespace

VZKIT_PLUGIN(VirtioGpu, kManifest)
