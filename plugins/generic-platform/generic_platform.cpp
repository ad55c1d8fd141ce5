// generic-platform: the platform of a Linux guest, for its one setting users ask for: nested
// virtualization (a hypervisor such as KVM inside the guest). On VZ it is
// VZGenericPlatformConfiguration.nestedVirtualizationEnabled (macOS 15, Macs whose chip has it);
// on QEMU the CPU's VMX or SVM flag, which KVM passes to the guest.
#include <vzkit/plugin.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace sdk = vzkit::sdk;

constexpr const char* kManifest = R"json({
  "name": "generic-platform",
  "version": "1.0.0",
  "summary": "Platform of a Linux guest: nested virtualization (KVM inside the guest)",
  "engines": ["vz", "qemu"],
  "slot": ["platform"],
  "max_instances": 1,
  "vz": {"min_macos": "12.0", "classes": ["VZGenericPlatformConfiguration"]},
  "save_restore": true,
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Generic platform (Linux guests)",
    "description": "The platform of a Linux guest, which every Linux VM has; list it to change its settings. nested_virtualization lets the guest run VMs of its own (KVM in the guest). VZ needs macOS 15 and a Mac that supports it (Apple says which: M3 or later); QEMU needs KVM on an x86_64 host with nested virtualization enabled in its KVM module, and gives the guest the host CPU's VMX (Intel) or SVM (AMD). Not for macOS guests (mac-platform is their platform).",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "nested_virtualization": {
        "title": "Nested virtualization",
        "description": "Let the guest use hardware virtualization itself (Linux: /dev/kvm in the guest). VZ: macOS 15 on a Mac that supports it; QEMU: KVM only (--accel kvm), x86_64 guests.",
        "type": "boolean",
        "default": false,
        "examples": [true, false]
      }
    },
    "examples": [{"nested_virtualization": true}, {"nested_virtualization": false}]
  }
})json";

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// "vmx" or "svm" when this host's CPU has it (/proc/cpuinfo), else "".
std::string host_virtualization_flag() {
  std::istringstream cpuinfo(read_file("/proc/cpuinfo"));
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("flags", 0) != 0) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    for (std::string w; words >> w;)
      if (w == "vmx" || w == "svm") return w;
    return "";
  }
  return "";
}

class GenericPlatform final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    if (!sdk::get_bool(c, "nested_virtualization")) return;
    if (ctx.engine == "vz") {
      // What the Mac reported (vzkit-vz --host-bounds), when known: name what it lacks.
      const auto* major = ctx.host.if_contains("macos_major");
      const auto* supported = ctx.host.if_contains("nested_virtualization_supported");
      if (major && major->is_int64() && major->get_int64() < 15)
        out.error("generic-platform.nested-needs-macos-15", "nested_virtualization",
                  "nested virtualization needs macOS 15 or later on the Mac, and this Mac runs macOS " +
                      std::to_string(major->get_int64()),
                  "remove \"nested_virtualization\", or run the VM on a Mac with macOS 15 or later (and an M3 or later)");
      else if (supported && supported->is_bool() && !supported->get_bool())
        out.error("generic-platform.nested-unsupported", "nested_virtualization",
                  "this Mac does not support nested virtualization (VZGenericPlatformConfiguration."
                  "isNestedVirtualizationSupported is NO; Apple offers it on M3 and later chips)",
                  "remove \"nested_virtualization\", or run the VM on a Mac that supports it");
    }
    if (ctx.engine == "qemu" && ctx.arch != "x86_64")
      out.error("generic-platform.nested-arch", "nested_virtualization",
                "nested virtualization on QEMU is offered for x86_64 guests (VMX or SVM), and this guest is " + ctx.arch,
                "remove \"nested_virtualization\", or run an x86_64 guest");
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context&, vzkit::vz::Configuration& plan) const override {
    vzkit::vz::GenericPlatform p;
    if (sdk::get_bool(c, "nested_virtualization")) p.nested_virtualization_enabled = true;
    plan.platform = p;
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, vzkit::qemu::Machine& plan) const override {
    if (!sdk::get_bool(c, "nested_virtualization")) return;
    if (ctx.arch != "x86_64")
      throw sdk::Failure("nested virtualization on QEMU is offered for x86_64 guests, and this guest is " + ctx.arch);
    if (!plan.accel) {
      // No accelerator chosen: a plan for no run on this host (`vzkit plugin check`). Name the
      // flag this host's CPU would give, VMX when it has neither.
      const std::string flag = host_virtualization_flag();
      plan.cpu_features.push_back((flag.empty() ? std::string("vmx") : flag) + "=on");
      return;
    }
    if (*plan.accel != "kvm")
      throw sdk::Failure("nested virtualization needs KVM, and this VM runs under " + *plan.accel +
                         " (vzkit gives the guest the host CPU's VMX or SVM through KVM only); run it with --accel kvm "
                         "on a host where KVM works, or remove \"nested_virtualization\"");
    const std::string flag = host_virtualization_flag();
    if (flag.empty())
      throw sdk::Failure("this host's CPU has neither VMX nor SVM (no 'vmx' or 'svm' in /proc/cpuinfo), so KVM cannot "
                         "pass hardware virtualization to the guest");
    // KVM passes the flag on only when its module allows nested guests.
    const std::string module = flag == "vmx" ? "kvm_intel" : "kvm_amd";
    const std::string nested = read_file(("/sys/module/" + module + "/parameters/nested").c_str());
    if (!nested.empty() && (nested[0] == 'N' || nested[0] == '0'))
      throw sdk::Failure("KVM on this host does not allow nested guests (/sys/module/" + module +
                         "/parameters/nested is " + nested.substr(0, 1) + "); enable it with `modprobe -r " + module +
                         " && modprobe " + module + " nested=1`");
    plan.cpu_features.push_back(flag + "=on");
  }
};

}  // namespace

VZKIT_PLUGIN(GenericPlatform, kManifest)
