// clipboard: host-guest clipboard sharing through the SPICE agent protocol (guest: spice-vdagent).
#include <vzkit/plugin.hpp>

namespace {

namespace sdk = vzkit::sdk;
namespace qemu = vzkit::qemu;
namespace vz = vzkit::vz;

constexpr const char* kManifest = R"json({
  "name": "clipboard",
  "version": "1.0.0",
  "summary": "Shares the clipboard between host and guest through the SPICE agent (spice-vdagent)",
  "engines": ["vz", "qemu"],
  "max_instances": 1,
  "vz": {"min_macos": "13.0", "classes": ["VZVirtioConsoleDeviceConfiguration", "VZVirtioConsolePortConfiguration",
                                          "VZSpiceAgentPortAttachment"]},
  "save_restore": {"qemu": false, "vz": false},
  "save_restore_notes": {"qemu": "QEMU 7.2's qemu-vdagent chardev blocks migration (\"The vdagent chardev doesn't yet support migration\")", "vz": "not verified to survive Virtualization.framework's save; refused to be safe"},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Clipboard sharing",
    "description": "A Virtio console port named for the SPICE agent (com.redhat.spice.0); the guest runs spice-vdagent (Linux package spice-vdagent) to copy and paste with the host. On QEMU the peer is QEMU's own display (VNC or GTK clipboard). At most one per VM.",
    "type": "object",
    "additionalProperties": false,
    "properties": {},
    "examples": [{}]
  }
})json";

class Clipboard final : public sdk::Plugin {
 public:
  void assemble_vz(const sdk::Config&, const sdk::Context&, vz::Configuration& plan) const override {
    // The port must carry VZSpiceAgentPortAttachment.spiceAgentPortName and must not be the console.
    vz::VirtioConsolePort port;
    port.index = 0;
    port.use_spice_agent_port_name = true;
    port.is_console = false;
    port.attachment = vz::SpiceAgentPortAttachment{true};
    vz::VirtioConsoleDevice device;
    device.ports.push_back(std::move(port));
    plan.console_devices.push_back(std::move(device));
  }

  void assemble_qemu(const sdk::Config&, const sdk::Context& ctx, qemu::Machine& plan) const override {
    // qemu-vdagent (QEMU 6.1+) is QEMU's built-in agent peer: it needs no SPICE server, and its
    // clipboard follows QEMU's VNC and GTK displays. mouse=off leaves the pointer to the input devices.
    const std::string agent = ctx.id("vdagent");
    const std::string bus = ctx.id("vdserial");
    const bool mmio = plan.type && *plan.type == "microvm";
    plan.chardevs.push_back({"qemu-vdagent", {{"id", agent}, {"clipboard", "on"}, {"mouse", "off"}}, {}});
    plan.devices.push_back({mmio ? "virtio-serial-device" : "virtio-serial-pci", {{"id", bus}}, {}});
    plan.devices.push_back(
        {"virtserialport", {{"bus", bus + ".0"}, {"chardev", agent}, {"name", "com.redhat.spice.0"}}, {}});
  }
};

}  // namespace

VZKIT_PLUGIN(Clipboard, kManifest)
