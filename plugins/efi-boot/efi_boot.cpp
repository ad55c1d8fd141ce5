// efi-boot: UEFI firmware as the boot loader, with a per-VM variable store that persists
// boot entries and other NVRAM variables across runs.
#include <vzkit/plugin.hpp>

#include <filesystem>

namespace {

namespace sdk = vzkit::sdk;
namespace fs = std::filesystem;

constexpr const char* kManifest = R"json({
  "name": "efi-boot",
  "version": "1.0.0",
  "summary": "Boots through UEFI firmware with a persistent EFI variable store",
  "engines": ["vz", "qemu"],
  "slot": "boot-loader",
  "conflicts": ["mac-platform"],
  "vz": {"min_macos": "13.0", "classes": ["VZEFIBootLoader", "VZEFIVariableStore"]},
  "save_restore": {"qemu": true, "vz": true},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "EFI boot",
    "description": "Starts the guest in UEFI firmware, which boots from a disk's EFI system partition (\\EFI\\BOOT\\BOOTX64.EFI or BOOTAA64.EFI) or from its saved boot entries. Only with the generic platform, never with mac-platform.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "variable_store": {
        "title": "Variable store",
        "description": "File holding the firmware's NVRAM variables (boot entries, Secure Boot keys). A relative path lives in the VM's bundle folder; an absolute path is used as is.",
        "type": "string", "minLength": 1,
        "default": "efi-vars.fd",
        "examples": ["efi-vars.fd", "/var/lib/vms/debian/efi-vars.fd"]
      },
      "create": {
        "title": "Create the store",
        "description": "true: make a fresh store when the file does not exist yet (an existing one is kept, never overwritten). false: open an existing store, which must then exist.",
        "type": "boolean",
        "default": true,
        "examples": [true, false]
      },
      "firmware_code": {
        "title": "Firmware code (QEMU)",
        "description": "QEMU only: the read-only firmware image mapped as pflash unit 0. Default by guest architecture: /usr/share/OVMF/OVMF_CODE_4M.fd on x86_64 (package ovmf), /usr/share/AAVMF/AAVMF_CODE.fd on aarch64 (package qemu-efi-aarch64). Must be of the same size family as the variable store template (both _4M or neither).",
        "type": "string", "minLength": 1,
        "examples": ["/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"]
      },
      "firmware_vars_template": {
        "title": "Variable store template (QEMU)",
        "description": "QEMU only: the empty variable store copied once into the bundle when the store is created. Default by guest architecture: /usr/share/OVMF/OVMF_VARS_4M.fd on x86_64, /usr/share/AAVMF/AAVMF_VARS.fd on aarch64.",
        "type": "string", "minLength": 1,
        "examples": ["/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"]
      }
    },
    "examples": [
      {},
      {"variable_store": "efi-vars.fd", "create": true},
      {"variable_store": "nvram.fd", "create": true,
       "firmware_code": "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
       "firmware_vars_template": "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"}
    ]
  }
})json";

/// The firmware pair QEMU maps as pflash: config overrides, else the Debian package paths
/// for the guest architecture (which is why the schema carries no default for them).
struct Firmware {
  std::string code;
  std::string vars_template;
  std::string package;
};

Firmware firmware_for(const sdk::Config& c, const sdk::Context& ctx) {
  const bool arm = ctx.arch == "aarch64";
  Firmware f;
  f.code = sdk::get_string(c, "firmware_code", arm ? "/usr/share/AAVMF/AAVMF_CODE.fd" : "/usr/share/OVMF/OVMF_CODE_4M.fd");
  f.vars_template = sdk::get_string(c, "firmware_vars_template",
                                    arm ? "/usr/share/AAVMF/AAVMF_VARS.fd" : "/usr/share/OVMF/OVMF_VARS_4M.fd");
  if (c.contains("firmware_code")) f.code = ctx.resolve(f.code);
  if (c.contains("firmware_vars_template")) f.vars_template = ctx.resolve(f.vars_template);
  f.package = arm ? "qemu-efi-aarch64" : "ovmf";
  return f;
}

/// The store's absolute path: relative names live in the bundle.
std::string store_path(const sdk::Config& c, const sdk::Context& ctx) {
  const std::string given = sdk::get_string(c, "variable_store", "efi-vars.fd");
  return fs::path(given).is_absolute() ? fs::path(given).lexically_normal().string() : ctx.in_bundle(given);
}

bool is_4m(const std::string& path) { return fs::path(path).filename().string().find("_4M") != std::string::npos; }

class EfiBoot final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    const std::string store = store_path(c, ctx);
    const bool create = sdk::get_bool(c, "create", true);
    std::error_code ec;
    const sdk::PathInfo store_info = sdk::look_at(store);
    if (const auto bad = sdk::control_character_in(sdk::get_string(c, "variable_store")))
      out.error("efi-boot.variable-store-invalid-path", "variable_store", "the path holds " + *bad,
                "paths may not hold control characters");
    else if (!create && store_info.kind == sdk::PathKind::missing)
      out.error("efi-boot.variable-store-missing", "variable_store",
                "variable store '" + sdk::get_string(c, "variable_store", "efi-vars.fd") + "' does not exist",
                "looked for " + store + "; set \"create\": true to make a new store");
    else if (store_info.kind != sdk::PathKind::missing && store_info.kind != sdk::PathKind::file)
      out.error("efi-boot.variable-store-not-a-file", "variable_store",
                "variable store '" + sdk::get_string(c, "variable_store", "efi-vars.fd") + "' is not a regular file (it is " +
                    store_info.what + ")",
                "point variable_store at the VM's NVRAM file, or at a path where it can be created");

    const Firmware fw = firmware_for(c, ctx);
    // A 4 MiB code image with a 2 MiB-family store (or the reverse) boots, but no variable
    // ever persists: refuse the pair.
    if (is_4m(fw.code) != is_4m(fw.vars_template))
      out.error("efi-boot.firmware-mismatch", "firmware_vars_template",
                "firmware code '" + fw.code + "' and variable store template '" + fw.vars_template +
                    "' are of different size families",
                "pair a _4M code file with a _4M vars template (e.g. OVMF_CODE_4M.fd with OVMF_VARS_4M.fd), or neither");

    // The firmware files are read from this host only when QEMU runs the VM.
    if (ctx.engine != "qemu") return;
    check_firmware(c, fw.code, "firmware_code", fw, out);
    if (create && !fs::exists(store, ec)) check_firmware(c, fw.vars_template, "firmware_vars_template", fw, out);
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context& ctx, vzkit::vz::Configuration& plan) const override {
    const std::string store = store_path(c, ctx);
    vzkit::vz::EFIBootLoader loader;
    // VZ creates the store itself; creating over an existing one would wipe it, so an existing
    // store is always opened.
    std::error_code ec;
    loader.variable_store = vzkit::vz::EFIVariableStore{store, sdk::get_bool(c, "create", true) && !fs::exists(store, ec)};
    plan.boot_loader = loader;
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, vzkit::qemu::Machine& plan) const override {
    const std::string store = store_path(c, ctx);
    const Firmware fw = firmware_for(c, ctx);
    if (ctx.materialize && sdk::get_bool(c, "create", true)) sdk::copy_once(fw.vars_template, store);
    plan.drives.push_back(
        {"", {{"if", "pflash"}, {"format", "raw"}, {"unit", "0"}, {"readonly", "on"}, {"file", fw.code}}, {}});
    plan.drives.push_back({"", {{"if", "pflash"}, {"format", "raw"}, {"unit", "1"}, {"file", store}}, {}});
  }

 private:
  static void check_firmware(const sdk::Config& c, const std::string& path, const char* key, const Firmware& fw,
                             sdk::Diagnostics& out) {
    const sdk::PathInfo info = sdk::look_at(path);
    if (info.kind == sdk::PathKind::file) return;
    if (info.kind == sdk::PathKind::missing)
      out.error("efi-boot.firmware-missing", key, "firmware file '" + path + "' does not exist",
                c.contains(key) ? std::string("check the path given in \"") + key + "\""
                                : "install the firmware package: `apt-get install " + fw.package + "`");
    else
      out.error("efi-boot.firmware-not-a-file", key, "firmware '" + path + "' is not a regular file (it is " + info.what + ")",
                std::string("point \"") + key + "\" at the firmware image");
  }
};

}  // namespace

VZKIT_PLUGIN(EfiBoot, kManifest)
