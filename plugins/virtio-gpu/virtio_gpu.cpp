// virtio-gpu: a Virtio GPU with one display (scanout) of a fixed size in pixels.
#include <vzkit/plugin.hpp>

#include <string>

namespace {

namespace sdk = vzkit::sdk;

constexpr const char* kManifest = R"json({
  "name": "virtio-gpu",
  "version": "1.1.0",
  "summary": "Virtio GPU with one display of a given size",
  "engines": ["vz", "qemu"],
  "max_instances": 1,
  "vz": {"min_macos": "13.0", "classes": ["VZVirtioGraphicsDeviceConfiguration", "VZVirtioGraphicsScanoutConfiguration"]},
  "save_restore": {"qemu": true, "vz": true},
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
      },
      "model": {
        "title": "Model",
        "description": "virtio: a Virtio GPU alone (QEMU virtio-gpu-pci; VZ VZVirtioGraphicsDeviceConfiguration); Linux's virtio-gpu driver draws on it, but under QEMU's EFI firmware (OVMF) it has no framebuffer, so EFI programs such as memtest86+ show only \"Display output is not active\". vga: QEMU, x86_64 guests: a Virtio GPU with a VGA-compatible framebuffer (virtio-vga) that EFI programs, boot menus and installers draw on, and that Linux still drives as virtio-gpu. VZ has the Virtio GPU only.",
        "enum": ["virtio", "vga"],
        "default": "virtio",
        "examples": ["virtio", "vga"]
      }
    },
    "examples": [{}, {"width": 1920, "height": 1080}]
  }
})json";

class VirtioGpu final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    if (sdk::get_string(c, "model", "virtio") != "vga") return;
    if (ctx.engine == "vz")
      out.error("virtio-gpu.vga-on-vz", "model",
                "model 'vga' is QEMU's virtio-vga; VZ has one display for Linux guests, the Virtio GPU "
                "(VZVirtioGraphicsDeviceConfiguration)",
                "remove \"model\" (or set it to \"virtio\") to run on VZ");
    else if (ctx.engine == "qemu" && ctx.arch != "x86_64")
      out.error("virtio-gpu.vga-needs-x86", "model",
                "model 'vga' (virtio-vga) is for x86_64 guests; QEMU has no VGA-compatible Virtio GPU for " + ctx.arch,
                "remove \"model\" (or set it to \"virtio\")");
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context&, vzkit::vz::Configuration& plan) const override {
    if (sdk::get_string(c, "model", "virtio") != "virtio") throw sdk::Failure("VZ has the Virtio GPU only (model 'virtio')");
    vzkit::vz::VirtioGraphicsDevice gpu;
    gpu.scanouts.push_back({sdk::get_int(c, "width", 1280), sdk::get_int(c, "height", 720)});
    plan.graphics_devices.push_back(std::move(gpu));
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, vzkit::qemu::Machine& plan) const override {
    // The id lets QMP screendump name this device.
    // virtio-vga is virtio-gpu-pci plus a VGA-compatible framebuffer, which OVMF's GOP hands to
    // EFI programs; virtio-gpu-pci's GOP is BltOnly (QEMU-NOTES 3.1).
    const bool vga = sdk::get_string(c, "model", "virtio") == "vga";
    plan.devices.push_back({vga ? "virtio-vga" : "virtio-gpu-pci",
                            {{"id", ctx.id("gpu")},
                             {"xres", std::to_string(sdk::get_int(c, "width", 1280))},
                             {"yres", std::to_string(sdk::get_int(c, "height", 720))}},
                            {}});
  }
};

}  // namespace

VZKIT_PLUGIN(VirtioGpu, kManifest)
