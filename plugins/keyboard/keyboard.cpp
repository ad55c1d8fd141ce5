// keyboard: a USB keyboard for any guest, or the Mac keyboard (globe key) for macOS guests.
#include <vzkit/plugin.hpp>

namespace {

namespace sdk = vzkit::sdk;

constexpr const char* kManifest = R"json({
  "name": "keyboard",
  "version": "1.0.0",
  "summary": "Keyboard: a USB keyboard for any guest, or the Mac keyboard for macOS guests",
  "engines": ["vz", "qemu"],
  "requires": [{"plugin": "mac-platform", "when": {"type": "mac"}}],
  "unique": [{"key": "type", "scope": "keyboard-type"}],
  "max_instances": 2,
  "vz": {"min_macos": "12.0", "classes": ["VZUSBKeyboardConfiguration", "VZMacKeyboardConfiguration"]},
  "save_restore": {"qemu": true, "vz": false},
  "save_restore_notes": {"vz": "input devices are left out of VMs that are saved, as tart does (unverified which VZ accepts)"},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Keyboard",
    "description": "A keyboard for the guest. At most one of each type: a macOS VM may list a Mac keyboard and a USB keyboard together, so guests older than macOS 13 still have one.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "type": {
        "title": "Keyboard type",
        "description": "\"usb\": a USB keyboard, for every guest and engine (QEMU: usb-kbd on an xHCI controller). \"mac\": the Mac keyboard with Apple's keys (globe); needs the mac-platform device, a macOS 14 host and a macOS 13 or later guest, and is not available on QEMU.",
        "type": "string", "enum": ["usb", "mac"],
        "default": "usb",
        "examples": ["usb", "mac"]
      }
    },
    "examples": [{}, {"type": "usb"}, {"type": "mac"}]
  }
})json";

class Keyboard final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    if (ctx.engine == "qemu" && sdk::get_string(c, "type", "usb") == "mac")
      out.error("keyboard.mac-on-qemu", "type", "the 'mac' keyboard does not exist on QEMU",
                "use \"type\": \"usb\" (macOS guests, which need the Mac keyboard, run only on --engine vz)");
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context&, vzkit::vz::Configuration& plan) const override {
    if (sdk::get_string(c, "type", "usb") == "mac") plan.keyboards.push_back(vzkit::vz::MacKeyboard{});
    else plan.keyboards.push_back(vzkit::vz::USBKeyboard{});
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, vzkit::qemu::Machine& plan) const override {
    if (sdk::get_string(c, "type", "usb") != "usb") throw sdk::Failure("the 'mac' keyboard does not exist on QEMU");
    // Every USB plugin adds this same controller; the kernel keeps one of identical entries.
    plan.devices.push_back({"qemu-xhci", {{"id", "xhci"}}, {}});
    plan.devices.push_back({"usb-kbd", {{"bus", "xhci.0"}, {"id", ctx.id("kbd")}}, {}});
  }
};

}  // namespace

VZKIT_PLUGIN(Keyboard, kManifest)
