// pointing: a USB pointer reporting absolute screen coordinates (a tablet), for any guest.
#include <vzkit/plugin.hpp>

namespace {

constexpr const char* kManifest = R"json({
  "name": "pointing",
  "version": "1.0.0",
  "summary": "USB pointing device with absolute screen coordinates (a tablet): the mouse follows the host's",
  "engines": ["vz", "qemu"],
  "max_instances": 1,
  "vz": {"min_macos": "12.0", "classes": ["VZUSBScreenCoordinatePointingDeviceConfiguration"]},
  "save_restore": {"qemu": true, "vz": false},
  "save_restore_notes": {"vz": "input devices are left out of VMs that are saved, as tart does (unverified which VZ accepts)"},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Pointing device",
    "description": "A USB pointer with absolute screen coordinates, so the guest's cursor stays under the host's. One per VM: Virtualization.framework allows a single pointer on the generic platform; a macOS VM adds the 'trackpad' plugin as its second. QEMU: usb-tablet on an xHCI controller.",
    "type": "object",
    "additionalProperties": false,
    "properties": {},
    "examples": [{}]
  }
})json";

class Pointing final : public vzkit::sdk::Plugin {
 public:
  void assemble_vz(const vzkit::sdk::Config&, const vzkit::sdk::Context&, vzkit::vz::Configuration& plan) const override {
    plan.pointing_devices.push_back(vzkit::vz::USBScreenCoordinatePointingDevice{});
  }

  void assemble_qemu(const vzkit::sdk::Config&, const vzkit::sdk::Context& ctx,
                     vzkit::qemu::Machine& plan) const override {
    // Every USB plugin adds this same controller; the kernel keeps one of identical entries.
    plan.devices.push_back({"qemu-xhci", {{"id", "xhci"}}, {}});
    plan.devices.push_back({"usb-tablet", {{"bus", "xhci.0"}, {"id", ctx.id("tablet")}}, {}});
  }
};

}  // namespace

VZKIT_PLUGIN(Pointing, kManifest)
