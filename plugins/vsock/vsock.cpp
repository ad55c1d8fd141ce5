// vsock: a Virtio socket device, for host-guest connections without a network (AF_VSOCK).
#include <filesystem>
#include <string>
#include <vzkit/plugin.hpp>

namespace {

namespace sdk = vzkit::sdk;

constexpr const char* kManifest = R"json({
  "name": "vsock",
  "version": "1.0.0",
  "summary": "Virtio socket device: host-guest AF_VSOCK connections without a network",
  "engines": ["vz", "qemu"],
  "max_instances": 1,
  "vz": {"min_macos": "11.0", "classes": ["VZVirtioSocketDeviceConfiguration"]},
  "save_restore": {"qemu": true, "vz": true},
  "save_restore_notes": {"qemu": "vhost-vsock migrates; untested on hosts without /dev/vhost-vsock"},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Virtio socket (vsock)",
    "description": "A Virtio socket device (Linux: vmw_vsock_virtio_transport). Guest programs connect to the host at CID 2. On QEMU the host needs /dev/vhost-vsock (kernel module vhost_vsock). At most one per VM.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "guest_cid": {
        "title": "Guest CID",
        "description": "QEMU only: the guest's vsock address. CIDs are shared by all VMs of a host, so give each running VM its own. VZ assigns it by itself.",
        "type": "integer", "minimum": 3, "maximum": 4294967294,
        "default": 3,
        "examples": [3, 42]
      }
    },
    "examples": [{}, {"guest_cid": 42}]
  }
})json";

constexpr const char* kVhostVsock = "/dev/vhost-vsock";

class Vsock final : public sdk::Plugin {
 public:
  void validate(const sdk::Config&, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    // Only a warning: the VM may be planned on one host and run on another.
    std::error_code ec;
    if (ctx.engine == "qemu" && !std::filesystem::exists(kVhostVsock, ec))
      out.warning("vsock.host-missing", "",
                  std::string("this host has no ") + kVhostVsock + ", so QEMU will fail to start the VM here",
                  "load the host kernel module (`modprobe vhost_vsock`), or run the VM on a host that has it");
  }

  void assemble_vz(const sdk::Config&, const sdk::Context&, vzkit::vz::Configuration& plan) const override {
    plan.socket_devices.push_back(vzkit::vz::VirtioSocketDevice{});
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context&, vzkit::qemu::Machine& plan) const override {
    const bool mmio = plan.type && *plan.type == "microvm";
    plan.devices.push_back({mmio ? "vhost-vsock-device" : "vhost-vsock-pci",
                            {{"guest-cid", std::to_string(sdk::get_int(c, "guest_cid", 3))}},
                            {}});
  }
};

}  // namespace

VZKIT_PLUGIN(Vsock, kManifest)
