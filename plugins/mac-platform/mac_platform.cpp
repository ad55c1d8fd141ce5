// mac-platform: the Mac platform (hardware model, machine identifier, auxiliary storage) and the
// macOS boot loader. Together they make a VM a macOS guest on Apple silicon.
#include <vzkit/plugin.hpp>

#include <array>
#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;
namespace sdk = vzkit::sdk;

constexpr const char* kManifest = R"json({
  "name": "mac-platform",
  "version": "1.0.0",
  "summary": "Mac platform and macOS boot loader: runs a macOS guest on Apple silicon",
  "engines": ["vz"],
  "slot": ["platform", "boot-loader"],
  "requires": ["mac-graphics"],
  "engine_notes": {
    "qemu": "macOS guests need Apple silicon and Virtualization.framework (its Mac platform and macOS boot loader); QEMU cannot boot them"
  },
  "vz": {
    "min_macos": "13.0",
    "classes": ["VZMacPlatformConfiguration", "VZMacHardwareModel", "VZMacMachineIdentifier",
                "VZMacAuxiliaryStorage", "VZMacOSBootLoader"]
  },
  "save_restore": true,
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Mac platform",
    "description": "Makes the VM a Mac: the hardware model, machine identifier and auxiliary storage written when the VM was created, plus the macOS boot loader. Only on Apple silicon. The three files live in the VM's bundle; they are made once by `vzkit create NAME --macos latest` on a Mac and must never be regenerated (a new one means reinstalling macOS or a different machine).",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "hardware_model": {
        "title": "Hardware model file",
        "description": "File holding the VZMacHardwareModel data of the installed macOS. Relative paths are inside the VM's bundle.",
        "type": "string", "minLength": 1,
        "default": "hardware-model.bin",
        "examples": ["hardware-model.bin"]
      },
      "machine_identifier": {
        "title": "Machine identifier file",
        "description": "File holding the VZMacMachineIdentifier data: the guest's identity (serial number, ECID). Two running VMs must not share one. Relative paths are inside the VM's bundle.",
        "type": "string", "minLength": 1,
        "default": "machine-id.bin",
        "examples": ["machine-id.bin"]
      },
      "auxiliary_storage": {
        "title": "Auxiliary storage file",
        "description": "The Mac's auxiliary storage (boot data written by the installer, like NVRAM), created for this hardware model. Move and back it up together with the boot disk. Relative paths are inside the VM's bundle.",
        "type": "string", "minLength": 1,
        "default": "aux.img",
        "examples": ["aux.img", "nvram.bin"]
      }
    },
    "examples": [{}, {"hardware_model": "hardware-model.bin", "machine_identifier": "machine-id.bin", "auxiliary_storage": "aux.img"}]
  }
})json";

struct BundleFile {
  const char* key;
  const char* what;
};

constexpr std::array<BundleFile, 3> kFiles{{
    {"hardware_model", "hardware model"},
    {"machine_identifier", "machine identifier"},
    {"auxiliary_storage", "auxiliary storage"},
}};

// The spec names these files relative to the bundle, not to the spec: they belong to the VM.
std::string bundle_path(const sdk::Context& ctx, const std::string& given) {
  return fs::path(given).is_absolute() ? fs::path(given).lexically_normal().string() : ctx.in_bundle(given);
}

std::string default_of(const char* key) {
  const std::string k = key;
  if (k == "hardware_model") return "hardware-model.bin";
  if (k == "machine_identifier") return "machine-id.bin";
  return "aux.img";
}

class MacPlatform final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    if (ctx.engine == "vz" && ctx.arch != "aarch64")
      out.error("mac-platform.not-arm64", "", "a macOS guest cannot run as '" + ctx.arch + "'",
                "macOS guests run only on Apple silicon; remove \"arch\" from the spec or set it to \"aarch64\"");

    const std::string vm = ctx.vm_name.empty() ? std::string("NAME") : ctx.vm_name;
    std::array<std::string, kFiles.size()> seen;
    for (std::size_t i = 0; i < kFiles.size(); ++i) {
      const auto& f = kFiles[i];
      const std::string given = sdk::get_string(c, f.key, default_of(f.key));
      const std::string path = bundle_path(ctx, given);
      seen[i] = path;
      for (std::size_t j = 0; j < i; ++j)
        if (seen[j] == path)
          out.error("mac-platform.same-file", f.key,
                    std::string(f.what) + " and " + kFiles[j].what + " are both '" + given + "'",
                    "each of the three files holds different data; give each its own name");

      std::error_code ec;
      const sdk::PathInfo info = sdk::look_at(path);
      if (info.kind == sdk::PathKind::missing) {
        // Normal before the VM is created on a Mac: the files cannot be made anywhere else.
        out.warning("mac-platform.not-created-yet", f.key,
                    std::string(f.what) + " file '" + given + "' does not exist yet",
                    "create it with `vzkit create " + vm + " --macos latest` on a Mac with Apple silicon (looked for " +
                        path + ")");
      } else if (info.kind != sdk::PathKind::file) {
        out.error("mac-platform.not-a-file", f.key,
                  std::string(f.what) + " '" + given + "' is not a regular file (it is " + info.what + ")",
                  "point " + std::string(f.key) + " at the file written when the VM was created (" + path + ")");
      } else if (fs::file_size(path, ec) == 0 && !ec) {
        out.error("mac-platform.empty-file", f.key, std::string(f.what) + " file '" + given + "' is empty",
                  "it was not written completely; restore it from a backup of the VM bundle (a new one means "
                  "reinstalling macOS)");
      }
    }
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context& ctx, vzkit::vz::Configuration& plan) const override {
    vzkit::vz::MacPlatform p;
    p.hardware_model = bundle_path(ctx, sdk::get_string(c, "hardware_model", default_of("hardware_model")));
    p.machine_identifier = bundle_path(ctx, sdk::get_string(c, "machine_identifier", default_of("machine_identifier")));
    p.auxiliary_storage.url = bundle_path(ctx, sdk::get_string(c, "auxiliary_storage", default_of("auxiliary_storage")));
    // Open the existing storage: it was created once, for this hardware model, by `vzkit create`.
    p.auxiliary_storage.create = false;
    plan.platform = p;
    plan.boot_loader = vzkit::vz::MacOSBootLoader{};
  }
};

}  // namespace

VZKIT_PLUGIN(MacPlatform, kManifest)
