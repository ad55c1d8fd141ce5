// entropy: a Virtio entropy device that feeds the guest's random number generator from the host.
#include <vzkit/plugin.hpp>

namespace {

constexpr const char* kManifest = R"json({
  "name": "entropy",
  "version": "1.0.0",
  "summary": "Virtio entropy device: the guest's /dev/hwrng, fed from the host's random source",
  "engines": ["vz", "qemu"],
  "vz": {"min_macos": "11.0", "classes": ["VZVirtioEntropyDeviceConfiguration"]},
  "save_restore": {"qemu": true, "vz": true},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Entropy",
    "description": "A Virtio entropy device. Linux guests see it as /dev/hwrng (driver virtio_rng).",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "source": {
        "title": "Host source",
        "description": "QEMU only: the host file the bytes are read from. VZ always uses the host's own generator.",
        "type": "string",
        "default": "/dev/urandom",
        "examples": ["/dev/urandom", "/dev/random"]
      }
    },
    "examples": [{}, {"source": "/dev/random"}]
  }
})json";

class Entropy final : public vzkit::sdk::Plugin {
 public:
  void validate(const vzkit::sdk::Config& c, const vzkit::sdk::Context&, vzkit::sdk::Diagnostics& out) const override {
    const auto source = vzkit::sdk::get_string(c, "source", "/dev/urandom");
    if (source.empty() || source.front() != '/')
      out.error("entropy.source-relative", "source", "must be an absolute host path, got '" + source + "'",
                "use /dev/urandom");
  }

  void assemble_vz(const vzkit::sdk::Config&, const vzkit::sdk::Context&, vzkit::vz::Configuration& plan) const override {
    plan.entropy_devices.push_back(vzkit::vz::VirtioEntropyDevice{});
  }

  void assemble_qemu(const vzkit::sdk::Config& c, const vzkit::sdk::Context& ctx,
                     vzkit::qemu::Machine& plan) const override {
    const std::string id = ctx.id("rng");
    plan.objects.push_back({"rng-random", {{"id", id}, {"filename", vzkit::sdk::get_string(c, "source", "/dev/urandom")}}, {}});
    plan.devices.push_back({"virtio-rng-pci", {{"rng", id}}, {}});
  }
};

}  // namespace

VZKIT_PLUGIN(Entropy, kManifest)
