// linux-boot: direct Linux kernel boot (kernel, initial ramdisk, command line), no firmware.
#include <vzkit/plugin.hpp>

#include <filesystem>

namespace {

namespace sdk = vzkit::sdk;

constexpr const char* kManifest = R"json({
  "name": "linux-boot",
  "version": "1.0.0",
  "summary": "Boots a Linux kernel directly, with an optional initial ramdisk and command line",
  "engines": ["vz", "qemu"],
  "slot": "boot-loader",
  "conflicts": ["mac-platform"],
  "vz": {"min_macos": "11.0", "classes": ["VZLinuxBootLoader"]},
  "save_restore": {"qemu": true, "vz": true},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Linux direct boot",
    "description": "Loads the kernel and initrd straight into the guest: no firmware, fastest start.",
    "type": "object",
    "additionalProperties": false,
    "required": ["kernel"],
    "properties": {
      "kernel": {
        "title": "Kernel",
        "description": "Path to the kernel image (relative paths are relative to the spec). On Apple silicon (VZ) it must be an uncompressed arm64 Image.",
        "type": "string", "minLength": 1,
        "examples": ["vmlinuz", "/boot/vmlinuz-6.1.0-28-amd64"]
      },
      "initrd": {
        "title": "Initial ramdisk",
        "description": "Path to the initial ramdisk (cpio archive, possibly compressed).",
        "type": "string", "minLength": 1,
        "examples": ["initrd.img"]
      },
      "command_line": {
        "title": "Kernel command line",
        "description": "Arguments for the kernel. The console is hvc0 with a Virtio console, ttyS0 on QEMU x86, ttyAMA0 on QEMU aarch64.",
        "type": "string", "maxLength": 4096,
        "default": "",
        "examples": ["console=hvc0 root=/dev/vda1", "console=ttyS0 quiet"]
      }
    },
    "examples": [{"kernel": "vmlinuz", "initrd": "initrd.img", "command_line": "console=ttyS0"}]
  }
})json";

class LinuxBoot final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    const bool kernel_ok = sdk::check_path(c, ctx, out, "linux-boot.kernel", "kernel", sdk::PathKind::file, false, {});
    if (c.contains("initrd")) sdk::check_path(c, ctx, out, "linux-boot.initrd", "initrd", sdk::PathKind::file, false, {});
    if (ctx.engine == "vz" && kernel_ok) {
      // VZ boots only an uncompressed arm64 Image: "ARMd" at offset 0x38. Read only once the
      // path is known to be a regular file: a FIFO or a terminal would block.
      const std::string magic = sdk::read_bytes(ctx.resolve(sdk::get_string(c, "kernel")), 0x38, 4);
      if (magic.size() == 4 && magic != "ARMd")
        out.error("linux-boot.kernel-not-image", "kernel",
                  "'" + sdk::get_string(c, "kernel") + "' is not an uncompressed arm64 Image",
                  "Virtualization.framework cannot boot a compressed kernel; decompress it (e.g. `gunzip -c vmlinuz > Image`)");
    }
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context& ctx, vzkit::vz::Configuration& plan) const override {
    vzkit::vz::LinuxBootLoader b;
    b.kernel_url = ctx.resolve(sdk::get_string(c, "kernel"));
    if (c.contains("initrd")) b.initial_ramdisk_url = ctx.resolve(sdk::get_string(c, "initrd"));
    b.command_line = sdk::get_string(c, "command_line");
    plan.boot_loader = b;
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, vzkit::qemu::Machine& plan) const override {
    vzkit::qemu::KernelBoot k;
    k.kernel = ctx.resolve(sdk::get_string(c, "kernel"));
    if (c.contains("initrd")) k.initrd = ctx.resolve(sdk::get_string(c, "initrd"));
    k.append = sdk::get_string(c, "command_line");
    plan.kernel = k;
  }
};

}  // namespace

VZKIT_PLUGIN(LinuxBoot, kManifest)
