// virtio-blk: a disk image (raw; qcow2 on QEMU) on a Virtio block device (the guest's /dev/vdX),
// or with "bus": "nvme" on an NVMe controller (the guest's /dev/nvmeXn1).
#include <vzkit/plugin.hpp>
#include <vzkit/units.hpp>

#include <cctype>
#include <filesystem>
#include <optional>

namespace {

namespace sdk = vzkit::sdk;
namespace fs = std::filesystem;

constexpr const char* kManifest = R"json({
  "name": "virtio-blk",
  "version": "1.0.0",
  "summary": "Disk image (raw, or qcow2 on QEMU) on a Virtio block device (the guest's /dev/vdX), or on NVMe",
  "engines": ["vz", "qemu"],
  "unique": [{"key": "identifier", "scope": "block-device-identifier"}],
  "conflicts": [{"plugin": "mac-platform", "when": {"bus": "nvme"}}],
  "vz": {"min_macos": "12.0", "classes": ["VZVirtioBlockDeviceConfiguration", "VZNVMExpressControllerDeviceConfiguration",
                                          "VZDiskImageStorageDeviceAttachment"]},
  "save_restore": {"qemu": true, "vz": true},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Virtio block disk",
    "description": "A disk image attached as a Virtio block device; Linux guests see /dev/vda, /dev/vdb, ... in spec order. RAW images on both engines; qcow2 images on QEMU only.",
    "type": "object",
    "additionalProperties": false,
    "required": ["path"],
    "properties": {
      "path": {
        "title": "Image file",
        "description": "Path to the disk image. A raw image's size must be a multiple of 512 bytes. It must exist unless create_size is given. A relative path starts at the spec's folder, or, with create_size, at the VM's own folder: a VM owns the disks it creates (`vzkit delete` removes them, and two VMs made from one spec get one each).",
        "type": "string", "minLength": 1,
        "examples": ["disk.img", "/var/lib/vms/debian/root.img"]
      },
      "format": {
        "title": "Image format",
        "description": "How the image is stored: raw (the disk's bytes as they are; both engines) or qcow2 (QEMU's copy-on-write format; QEMU only, `vzkit convert NAME --format raw` makes a raw one for VZ). Left out: read from the image's header.",
        "enum": ["raw", "qcow2"],
        "examples": ["raw", "qcow2"]
      },
      "read_only": {
        "title": "Read-only",
        "description": "Attach the image read-only: the guest sees a write-protected disk and cannot change the file.",
        "type": "boolean",
        "default": false,
        "examples": [false, true]
      },
      "create_size": {
        "title": "Create with size",
        "description": "Create the image empty (sparse) with this size when the VM is created, in the VM's own folder unless path is absolute: a number with a unit, a multiple of 512 bytes, e.g. \"64GiB\" (K/M/G/T are binary units, KB/MB/GB/TB decimal; a number alone is bytes). An existing image is kept as it is, never resized or overwritten.",
        "type": "string",
        "maxLength": 32, "pattern": "^[0-9]+(\\.[0-9]+)? ?(B|K|KiB|KB|M|MiB|MB|G|GiB|GB|T|TiB|TB)?$",
        "examples": ["64GiB", "512MiB"]
      },
      "caching": {
        "title": "Host caching",
        "description": "How the host caches the image: automatic (the engine decides), uncached (bypass the host page cache; QEMU cache.direct=on, which some host file systems such as tmpfs refuse) or cached.",
        "enum": ["automatic", "uncached", "cached"],
        "default": "automatic",
        "examples": ["automatic", "cached"]
      },
      "sync": {
        "title": "Flush behaviour",
        "description": "What a guest flush does on the host: full (flush to permanent storage; on macOS F_FULLFSYNC), fsync (plain fsync, which on macOS may leave data in the drive's cache) or none (ignore flushes: fastest, and the image may be corrupt after a host crash; QEMU cache.no-flush=on).",
        "enum": ["full", "fsync", "none"],
        "default": "full",
        "examples": ["full", "none"]
      },
      "identifier": {
        "title": "Block device identifier",
        "description": "Serial the guest reads from the device (Linux: /sys/block/vdX/serial, /dev/disk/by-id/virtio-<identifier>): printable ASCII, at most 20 bytes, unique in the VM. On VZ it needs macOS 12.3.",
        "type": "string", "minLength": 1, "maxLength": 20,
        "pattern": "^[\\x20-\\x7E]*$",
        "examples": ["root", "data-01"]
      },
      "bus": {
        "title": "Bus",
        "description": "How the guest sees the disk: virtio (a Virtio block device, /dev/vda, ...) or nvme (an NVMe controller, /dev/nvme0n1, ...: for guests without Virtio drivers, or to test NVMe). On VZ, nvme needs macOS 14 on the Mac and a Linux guest (VZNVMExpressControllerDeviceConfiguration; not with mac-platform); on QEMU it is the nvme device, whose serial is the identifier.",
        "enum": ["virtio", "nvme"],
        "default": "virtio",
        "examples": ["virtio", "nvme"]
      },
      "discard": {
        "title": "Pass discards to the host (QEMU)",
        "description": "QEMU only: when the guest discards blocks (fstrim, blkdiscard), punch holes in the image so it shrinks on the host (discard=unmap). VZ decides this itself and ignores the setting.",
        "type": "boolean",
        "default": false,
        "examples": [false, true]
      }
    },
    "examples": [
      {"path": "disk.img"},
      {"path": "disk.img", "read_only": true, "caching": "cached", "identifier": "root"},
      {"path": "disk.img", "format": "raw"},
      {"path": "data.img", "create_size": "64GiB", "sync": "fsync", "identifier": "data-01", "discard": true},
      {"path": "nvme.img", "create_size": "8GiB", "bus": "nvme"}
    ]
  }
})json";

vzkit::vz::CachingMode caching_of(const sdk::Config& c) {
  return vzkit::vz::enum_from_string<vzkit::vz::CachingMode>(sdk::get_string(c, "caching", "automatic"))
      .value_or(vzkit::vz::CachingMode::automatic);
}

vzkit::vz::SynchronizationMode sync_of(const sdk::Config& c) {
  return vzkit::vz::enum_from_string<vzkit::vz::SynchronizationMode>(sdk::get_string(c, "sync", "full"))
      .value_or(vzkit::vz::SynchronizationMode::full);
}

bool nvme(const sdk::Config& c) { return sdk::get_string(c, "bus", "virtio") == "nvme"; }

// A number alone below this is almost surely a missing unit ("8" for "8GiB"): a warning.
constexpr std::uint64_t kSmallest = 1ull << 30;

class VirtioBlk final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    const std::string given = sdk::get_string(c, "path");
    const bool creates = c.contains("create_size");

    if (creates) {
      const std::string text = sdk::get_string(c, "create_size");
      const auto size = vzkit::parse_size(text);
      if (!size || *size == 0)
        out.error("virtio-blk.create-size-invalid", "create_size", "cannot read '" + text + "' as a disk size",
                  "write a whole number of bytes with a unit, e.g. \"64GiB\" or \"512MiB\"");
      else if (*size % 512 != 0)
        out.error("virtio-blk.create-size-not-multiple-of-512", "create_size",
                  "size '" + text + "' is " + std::to_string(*size) + " bytes, not a multiple of 512",
                  "disk images are made of 512-byte sectors; try \"" + vzkit::suggest_size(text, 512, kSmallest) + "\"");
      else if (*size < kSmallest && text.find_first_not_of("0123456789.") == std::string::npos)
        out.warning("virtio-blk.create-size-tiny", "create_size",
                    "size '" + text + "' is " + std::to_string(*size) + " bytes (a size without a unit is in bytes)",
                    "did you mean \"" + vzkit::suggest_size(text, 512, kSmallest) + "\"?");
      if (sdk::get_bool(c, "read_only"))
        out.error("virtio-blk.read-only-create", "create_size", "a new, empty image cannot be read-only",
                  "remove create_size, or set read_only to false");
    }

    if (!creates) {
      if (sdk::check_disk_image(c, ctx, out, "virtio-blk", "path", /*may_be_absent=*/false,
                                "create it (e.g. `truncate -s 64G " + given + "`) or add \"create_size\": \"64GiB\""))
        sdk::check_image_format(c, ctx, out, "virtio-blk", ctx.resolve(given));
    } else {
      // The image the VM made earlier, in its folder, if it made one already.
      sdk::Context owned = ctx;
      owned.spec_dir = ctx.bundle_dir.empty() ? ctx.spec_dir : ctx.bundle_dir;
      const bool made = sdk::check_disk_image(c, owned, out, "virtio-blk", "path", /*may_be_absent=*/true, "");
      sdk::check_image_format(c, ctx, out, "virtio-blk", owned.resolve(given));
      std::error_code ec;
      if (!made && owned.resolve(given) != ctx.resolve(given) && fs::exists(ctx.resolve(given), ec))
        out.warning("virtio-blk.image-beside-spec", "path",
                    "'" + given + "' exists beside the spec (" + ctx.resolve(given) +
                        "), but this VM creates and uses its own " + owned.resolve(given),
                    "to use the existing image, remove create_size (or give its absolute path)");
    }

    // The schema says this too; bytes are what the engines limit, so check them here as well.
    if (c.contains("identifier")) {
      const std::string id = sdk::get_string(c, "identifier");
      bool ascii = true;
      for (unsigned char ch : id) ascii = ascii && ch >= 0x20 && ch <= 0x7E;
      if (!ascii)
        out.error("virtio-blk.identifier-not-ascii", "identifier", "identifier '" + id + "' is not printable ASCII",
                  "use letters, digits and punctuation only");
      else if (id.size() > 20)
        out.error("virtio-blk.identifier-too-long", "identifier",
                  "identifier '" + id + "' is " + std::to_string(id.size()) + " bytes long, more than 20",
                  "shorten it to at most 20 bytes");
    }

    if (ctx.engine == "vz" && sdk::get_bool(c, "discard"))
      out.warning("virtio-blk.discard-ignored", "discard", "discard is a QEMU setting and is ignored on VZ",
                  "remove \"discard\" or run with --engine qemu");

    if (nvme(c) && ctx.engine == "vz") {
      // VZNVMExpressControllerDeviceConfiguration is new in macOS 14: name the Mac's version.
      if (const auto* major = ctx.host.if_contains("macos_major"); major && major->is_int64() && major->get_int64() < 14)
        out.error("virtio-blk.nvme-needs-macos-14", "bus",
                  "an NVMe disk needs macOS 14 or later on the Mac, and this Mac runs macOS " +
                      std::to_string(major->get_int64()),
                  "use \"bus\": \"virtio\" (the default), or run the VM on a Mac with macOS 14 or later");
      if (c.contains("identifier"))
        out.warning("virtio-blk.nvme-identifier-ignored", "identifier",
                    "VZ's NVMe controller has no serial to carry the identifier, so the guest does not see it",
                    "remove \"identifier\", or use \"bus\": \"virtio\"");
    }
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context& ctx, vzkit::vz::Configuration& plan) const override {
    const std::string image = prepare(c, ctx);
    if (nvme(c)) {
      vzkit::vz::NVMExpressControllerDevice d;
      d.attachment = vzkit::vz::DiskImageAttachment{image, sdk::get_bool(c, "read_only"), caching_of(c), sync_of(c)};
      plan.storage_devices.push_back(std::move(d));
      return;
    }
    vzkit::vz::VirtioBlockDevice d;
    d.attachment = vzkit::vz::DiskImageAttachment{image, sdk::get_bool(c, "read_only"), caching_of(c), sync_of(c)};
    if (c.contains("identifier")) d.block_device_identifier = sdk::get_string(c, "identifier");
    plan.storage_devices.push_back(std::move(d));
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, vzkit::qemu::Machine& plan) const override {
    const std::string image = prepare(c, ctx);
    const bool ro = sdk::get_bool(c, "read_only");
    const bool discard = sdk::get_bool(c, "discard");
    const std::string file = ctx.id("file"), disk = ctx.id("disk");

    // Host-side behaviour sits on the protocol node, where QEMU opens and flushes the file.
    vzkit::qemu::Properties file_props{{"node-name", file}, {"filename", image}};
    if (ro) file_props.emplace_back("read-only", "on");
    if (caching_of(c) == vzkit::vz::CachingMode::uncached) file_props.emplace_back("cache.direct", "on");
    if (sync_of(c) == vzkit::vz::SynchronizationMode::none) file_props.emplace_back("cache.no-flush", "on");
    if (discard) file_props.emplace_back("discard", "unmap");
    plan.blockdevs.push_back({"file", std::move(file_props), {}});

    // Every node a discard passes through must allow it, so the format node says so too.
    vzkit::qemu::Properties raw_props{{"node-name", disk}, {"file", file}};
    if (ro) raw_props.emplace_back("read-only", "on");
    if (discard) raw_props.emplace_back("discard", "unmap");
    plan.blockdevs.push_back({sdk::image_driver(c, image), std::move(raw_props), {}});

    vzkit::qemu::Properties dev{{"drive", disk}};
    if (nvme(c)) {
      // QEMU's nvme device needs a serial (at most 20 bytes, like the identifier): the guest's
      // /sys/block/nvme0n1/device/serial.
      dev.emplace_back("serial", c.contains("identifier") ? sdk::get_string(c, "identifier") : "vzkit-" + disk);
      plan.devices.push_back({"nvme", std::move(dev), {}});
      return;
    }
    // The guest reads QEMU's virtio-blk serial as the block device id (VIRTIO_BLK_T_GET_ID).
    if (c.contains("identifier")) dev.emplace_back("serial", sdk::get_string(c, "identifier"));
    plan.devices.push_back({"virtio-blk-pci", std::move(dev), {}});
  }

 private:
  /// The image's absolute path; creates it (sparse) first when materializing and asked to. An image
  /// the VM creates lives in its folder (the bundle), so each VM made from a spec has its own.
  static std::string prepare(const sdk::Config& c, const sdk::Context& ctx) {
    const std::string given = sdk::get_string(c, "path");
    const std::string image = c.contains("create_size") ? ctx.in_bundle(given) : ctx.resolve(given);
    if (ctx.materialize && c.contains("create_size")) {
      const auto size = vzkit::parse_size(sdk::get_string(c, "create_size"));
      if (!size || *size == 0 || *size % 512 != 0)
        throw sdk::Failure("create_size '" + sdk::get_string(c, "create_size") + "' is not a valid disk size");
      sdk::create_sparse_once(image, *size);
    }
    return image;
  }
};

}  // namespace

VZKIT_PLUGIN(VirtioBlk, kManifest)
