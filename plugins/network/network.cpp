// network: a Virtio network card behind the engine's NAT (VZ NAT attachment, QEMU user-mode networking).
#include <cstdint>
#include <cstdio>
#include <string>
#include <vzkit/plugin.hpp>

namespace {

namespace sdk = vzkit::sdk;
namespace qemu = vzkit::qemu;
namespace vz = vzkit::vz;

constexpr const char* kManifest = R"json({
  "name": "network",
  "version": "1.0.0",
  "summary": "Virtio network card with NAT to the host's network",
  "engines": ["vz", "qemu"],
  "unique": [{"key": "mac", "scope": "mac-address"}],
  "vz": {"min_macos": "11.0", "classes": ["VZVirtioNetworkDeviceConfiguration", "VZNATNetworkDeviceAttachment", "VZMACAddress"]},
  "save_restore": {"qemu": true, "vz": true},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Network (NAT)",
    "description": "A Virtio network card (Linux: virtio_net) whose traffic the host NATs. The guest gets its address by DHCP: on VZ from 192.168.64.0/24, on QEMU 10.0.2.15 with gateway 10.0.2.2 (the host) and DNS 10.0.2.3.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "mode": {
        "title": "Mode",
        "description": "How the card reaches the network. \"nat\": the host translates addresses; the guest can reach out, the host reaches the guest only through forwards (QEMU) or the guest's address (VZ).",
        "enum": ["nat"],
        "default": "nat"
      },
      "mac": {
        "title": "MAC address",
        "description": "Six hex bytes separated by ':', e.g. \"02:12:34:56:78:9a\"; must be unicast. Left out: a locally administered address derived from the VM's name and the device's position, the same on every run.",
        "type": "string",
        "maxLength": 17, "pattern": "^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$",
        "examples": ["02:12:34:56:78:9a", "52:54:00:12:34:56"]
      },
      "forwards": {
        "title": "Port forwards",
        "description": "QEMU only: host ports forwarded to guest ports. On VZ the guest is reached at its own address instead.",
        "type": "array",
        "maxItems": 64,
        "items": {
          "title": "Port forward",
          "description": "Connections to host_address:host_port on the host reach guest_port in the guest.",
          "type": "object",
          "additionalProperties": false,
          "required": ["host_port", "guest_port"],
          "properties": {
            "protocol": {
              "title": "Protocol",
              "description": "Transport protocol of the forward.",
              "enum": ["tcp", "udp"],
              "default": "tcp"
            },
            "host_port": {
              "title": "Host port",
              "description": "Port the host listens on; 0: a free port, chosen when the VM starts (the run state records it: `vzkit inspect`, and `vzkit ssh` for guest port 22).",
              "type": "integer", "minimum": 0, "maximum": 65535,
              "examples": [2222, 8080, 0]
            },
            "guest_port": {
              "title": "Guest port",
              "description": "Port in the guest the connections go to.",
              "type": "integer", "minimum": 1, "maximum": 65535,
              "examples": [22, 80]
            },
            "host_address": {
              "title": "Host address",
              "description": "IPv4 address the host listens on; 127.0.0.1 keeps the port private to this host, 0.0.0.0 opens it to the network.",
              "type": "string",
              "maxLength": 15, "pattern": "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$",
              "default": "127.0.0.1",
              "examples": ["127.0.0.1", "0.0.0.0"]
            }
          }
        },
        "examples": [[{"host_port": 2222, "guest_port": 22}]]
      }
    },
    "examples": [{}, {"mode": "nat", "mac": "02:12:34:56:78:9a"}, {"forwards": [{"protocol": "tcp", "host_port": 2222, "guest_port": 22}]}]
  }
})json";

/// FNV-1a, 64 bits (stable across builds and platforms), then the MurmurHash3 finaliser: FNV-1a
/// alone changes only the low bits when inputs differ in their last characters ("devices[3]"/"[4]").
std::uint64_t stable_hash(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

/// A locally administered unicast address that depends only on the VM's name and the device's
/// path, so every plan of the same spec gives the guest the same address (and DHCP lease).
std::string generated_mac(const sdk::Context& ctx) {
  const std::uint64_t h = stable_hash(ctx.vm_name + '\n' + ctx.path);
  unsigned bytes[6];
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<unsigned>((h >> (8 * i)) & 0xff);
  bytes[0] = (bytes[0] & 0xfc) | 0x02;  // bit 0 clear: unicast; bit 1 set: locally administered
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4],
                bytes[5]);
  return text;
}

std::string lower(std::string s) {
  for (auto& ch : s)
    if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
  return s;
}

/// The MAC the device uses: the configured one (lower case, as VZMACAddress prints it) or the generated one.
std::string mac_of(const sdk::Config& c, const sdk::Context& ctx) {
  return c.contains("mac") ? lower(sdk::get_string(c, "mac")) : generated_mac(ctx);
}

class Network final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    if (c.contains("mac")) {
      const auto mac = sdk::get_string(c, "mac");
      const unsigned first = static_cast<unsigned>(std::stoul(mac.substr(0, 2), nullptr, 16));
      if (first & 0x01)
        out.error("network.mac-multicast", "mac", "'" + mac + "' is a multicast address",
                  "a network card needs a unicast address: the first byte must be even, e.g. \"" +
                      hex_byte((first & 0xfc) | 0x02) + mac.substr(2) + "\", or leave mac out to have one generated");
      else if (!(first & 0x02))
        out.warning("network.mac-not-local", "mac", "'" + mac + "' is not a locally administered address",
                    "universally administered addresses belong to hardware vendors; set bit 1 of the first byte (e.g. "
                    "\"" +
                        hex_byte((first & 0xfc) | 0x02) + mac.substr(2) + "\") or leave mac out to have one generated");
    }
    const auto* forwards = sdk::find(c, "forwards");
    if (ctx.engine == "vz" && forwards && forwards->is_array() && !forwards->get_array().empty())
      out.error("network.forwards-on-vz", "forwards", "port forwards are not available on VZ",
                "VZ's NAT gives the guest its own address on the host (192.168.64.0/24): connect to that address, "
                "or remove forwards");
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context& ctx, vz::Configuration& plan) const override {
    vz::VirtioNetworkDevice d;
    d.mac_address = mac_of(c, ctx);
    d.attachment = vz::NATNetworkAttachment{};
    plan.network_devices.push_back(std::move(d));
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, qemu::Machine& plan) const override {
    const std::string id = ctx.id("net");
    qemu::Backend netdev{"user", {{"id", id}}, {}};
    if (const auto* forwards = sdk::find(c, "forwards"); forwards && forwards->is_array()) {
      for (const auto& f : forwards->get_array()) {
        const auto& o = f.as_object();
        netdev.properties.emplace_back("hostfwd", sdk::get_string(o, "protocol", "tcp") + ":" +
                                                      sdk::get_string(o, "host_address", "127.0.0.1") + ":" +
                                                      std::to_string(sdk::get_int(o, "host_port")) +
                                                      "-:" + std::to_string(sdk::get_int(o, "guest_port")));
      }
    }
    plan.netdevs.push_back(std::move(netdev));
    const bool mmio = plan.type && *plan.type == "microvm";
    plan.devices.push_back(
        {mmio ? "virtio-net-device" : "virtio-net-pci", {{"netdev", id}, {"mac", mac_of(c, ctx)}}, {}});
  }

 private:
  static std::string hex_byte(unsigned b) {
    char text[3];
    std::snprintf(text, sizeof text, "%02x", b & 0xff);
    return text;
  }
};

}  // namespace

VZKIT_PLUGIN(Network, kManifest)
