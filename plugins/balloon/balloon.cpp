// balloon: a Virtio memory balloon, through which the host asks the guest to give memory back.
#include <vzkit/plugin.hpp>

namespace {

namespace sdk = vzkit::sdk;

constexpr const char* kManifest = R"json({
  "name": "balloon",
  "version": "1.0.0",
  "summary": "Virtio memory balloon: the host can ask the guest to return memory while it runs",
  "engines": ["vz", "qemu"],
  "max_instances": 1,
  "vz": {"min_macos": "11.0", "classes": ["VZVirtioTraditionalMemoryBalloonDeviceConfiguration"]},
  "save_restore": {"qemu": true, "vz": true},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Memory balloon",
    "description": "A Virtio traditional memory balloon (Linux: virtio_balloon). The guest's usable memory can then be lowered and raised at run time, up to the VM's memory size. At most one per VM.",
    "type": "object",
    "additionalProperties": false,
    "properties": {},
    "examples": [{}]
  }
})json";

class Balloon final : public sdk::Plugin {
 public:
  void assemble_vz(const sdk::Config&, const sdk::Context&, vzkit::vz::Configuration& plan) const override {
    plan.memory_balloon_devices.push_back(vzkit::vz::VirtioTraditionalMemoryBalloonDevice{});
  }

  void assemble_qemu(const sdk::Config&, const sdk::Context& ctx, vzkit::qemu::Machine& plan) const override {
    // The id names the device for QMP (qom path /machine/peripheral/ID, for guest statistics).
    const bool mmio = plan.type && *plan.type == "microvm";
    plan.devices.push_back({mmio ? "virtio-balloon-device" : "virtio-balloon-pci", {{"id", ctx.id("balloon")}}, {}});
  }
};

}  // namespace

VZKIT_PLUGIN(Balloon, kManifest)
