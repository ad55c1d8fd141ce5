// guest-agent: the channel of the QEMU guest agent (qemu-ga), which `vzkit exec`, `vzkit cp`,
// `vzkit ip` and `vzkit stop` talk to. QEMU: a virtio-serial port named org.qemu.guest_agent.0
// on a unix socket in the VM's run/ folder. VZ: the Virtio socket device, qemu-ga listening on a
// vsock port in the guest, and the runner bridging that port to the same unix socket in run/.
// One protocol and one socket for both engines (docs/way-in.md).
#include <string>
#include <vzkit/plugin.hpp>

namespace {

namespace sdk = vzkit::sdk;
namespace qemu = vzkit::qemu;
namespace vz = vzkit::vz;

constexpr const char* kManifest = R"json({
  "name": "guest-agent",
  "version": "1.0.0",
  "summary": "Channel to the QEMU guest agent (qemu-ga) for vzkit exec, cp, ip and stop: virtio-serial on QEMU, vsock on VZ",
  "engines": ["vz", "qemu"],
  "max_instances": 1,
  "vz": {"min_macos": "11.0", "classes": ["VZVirtioSocketDeviceConfiguration"]},
  "save_restore": true,
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Guest agent channel",
    "description": "Lets vzkit reach the QEMU guest agent (Debian package qemu-guest-agent) in the guest: `vzkit exec`, `vzkit cp`, `vzkit ip` and `vzkit stop` of a guest that ignores the power button use it. On QEMU it is a virtio-serial port named org.qemu.guest_agent.0, which qemu-ga opens by itself. On VZ it is the Virtio socket device: run qemu-ga in the guest with `-m vsock-listen -p 4294967295:PORT` (the cloud guest of scripts/build-cloud-guest.sh does). Either way the host side is the unix socket run/qga.sock in the VM's folder.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "vsock_port": {
        "title": "vsock port",
        "description": "VZ only: the vsock port qemu-ga listens on in the guest; the runner connects run/qga.sock to it.",
        "type": "integer", "minimum": 1, "maximum": 4294967294,
        "default": 9001,
        "examples": [9001]
      }
    },
    "examples": [{}, {"vsock_port": 9001}]
  }
})json";

/// Linux sockaddr_un.sun_path holds 108 bytes with the NUL, macOS 104.
constexpr std::size_t kMaxSocketPathBytes = 103;

/// The host end of the channel, whatever the engine: run/qga.sock in the VM's folder.
std::string socket_path(const sdk::Context& ctx) { return ctx.in_bundle("run/qga.sock"); }

class GuestAgent final : public sdk::Plugin {
 public:
  void validate(const sdk::Config&, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    const std::string path = socket_path(ctx);
    if (path.size() > kMaxSocketPathBytes)
      out.error("guest-agent.socket-path-too-long", "",
                "the agent's socket '" + path + "' is " + std::to_string(path.size()) + " bytes, the limit is " +
                    std::to_string(kMaxSocketPathBytes),
                "unix socket paths are short: set VZKIT_HOME to a shorter folder (e.g. ~/.vzkit)");
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context& ctx, vz::Configuration& plan) const override {
    plan.socket_devices.push_back(vz::VirtioSocketDevice{});
    vz::SocketForward forward;
    forward.port = static_cast<std::uint32_t>(sdk::get_int(c, "vsock_port", 9001));
    forward.socket_path = socket_path(ctx);
    plan.socket_forwards.push_back(std::move(forward));
  }

  void assemble_qemu(const sdk::Config&, const sdk::Context& ctx, qemu::Machine& plan) const override {
    const bool mmio = plan.type && *plan.type == "microvm";
    const std::string bus = ctx.id("agent-serial"), chardev = ctx.id("agent");
    plan.devices.push_back({mmio ? "virtio-serial-device" : "virtio-serial-pci", {{"id", bus}}, {}});
    // wait=off: the guest runs whether or not a client is attached; one client at a time.
    plan.chardevs.push_back(
        {"socket", {{"id", chardev}, {"path", socket_path(ctx)}, {"server", "on"}, {"wait", "off"}}, {}});
    plan.devices.push_back({"virtserialport",
                            {{"bus", bus + ".0"}, {"chardev", chardev}, {"name", "org.qemu.guest_agent.0"}},
                            {}});
  }
};

}  // namespace

VZKIT_PLUGIN(GuestAgent, kManifest)
