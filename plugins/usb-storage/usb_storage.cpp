// usb-storage: a disk image (typically a read-only installer ISO) on a USB mass storage device.
#include <vzkit/plugin.hpp>

#include <filesystem>

namespace {

namespace sdk = vzkit::sdk;
namespace fs = std::filesystem;

constexpr const char* kManifest = R"json({
  "name": "usb-storage",
  "version": "1.0.0",
  "summary": "Disk image on a USB mass storage device, e.g. an installer ISO",
  "engines": ["vz", "qemu"],
  "vz": {"min_macos": "13.0", "classes": ["VZUSBMassStorageDeviceConfiguration", "VZDiskImageStorageDeviceAttachment"]},
  "save_restore": {"qemu": true, "vz": true},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "USB mass storage",
    "description": "A RAW or ISO image (or qcow2, on QEMU) attached as a removable USB stick on an xHCI controller. Linux guests see it as /dev/sdX and need the xhci and usb-storage drivers.",
    "type": "object",
    "additionalProperties": false,
    "required": ["path"],
    "properties": {
      "path": {
        "title": "Image file",
        "description": "Path to the image (relative paths are relative to the spec); an ISO 9660 installer or a RAW disk image whose size is a multiple of 512 bytes.",
        "type": "string", "minLength": 1,
        "examples": ["installer.iso", "/srv/iso/debian-12.8.0-arm64-netinst.iso"]
      },
      "format": {
        "title": "Image format",
        "description": "How the image is stored: raw (ISO images and raw disks; both engines) or qcow2 (QEMU only). Left out: read from the image's header.",
        "enum": ["raw", "qcow2"],
        "examples": ["raw", "qcow2"]
      },
      "read_only": {
        "title": "Read-only",
        "description": "Attach the image write-protected. The default suits installer media; set false for a writable USB stick.",
        "type": "boolean",
        "default": true,
        "examples": [true, false]
      }
    },
    "examples": [{"path": "installer.iso"}, {"path": "disk.img", "read_only": false}, {"path": "usb.img", "format": "raw", "read_only": false}]
  }
})json";

class UsbStorage final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    if (sdk::check_disk_image(c, ctx, out, "usb-storage", "path", /*may_be_absent=*/false,
                              "download the installer image or fix the path"))
      sdk::check_image_format(c, ctx, out, "usb-storage", ctx.resolve(sdk::get_string(c, "path")));
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context& ctx, vzkit::vz::Configuration& plan) const override {
    vzkit::vz::USBMassStorageDevice d;
    vzkit::vz::DiskImageAttachment a;
    a.url = ctx.resolve(sdk::get_string(c, "path"));
    a.read_only = sdk::get_bool(c, "read_only", true);
    d.attachment = a;
    // storageDevices works from macOS 13 on; the macOS 15 controller list is not needed.
    plan.storage_devices.push_back(std::move(d));
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, vzkit::qemu::Machine& plan) const override {
    const bool ro = sdk::get_bool(c, "read_only", true);
    const std::string file = ctx.id("usbf"), drive = ctx.id("usb");
    // Every USB plugin adds this same controller; the kernel keeps one of identical entries.
    plan.devices.push_back({"qemu-xhci", {{"id", "xhci"}}, {}});

    const std::string image = ctx.resolve(sdk::get_string(c, "path"));
    vzkit::qemu::Properties file_props{{"node-name", file}, {"filename", image}};
    if (ro) file_props.emplace_back("read-only", "on");
    plan.blockdevs.push_back({"file", std::move(file_props), {}});
    vzkit::qemu::Properties raw_props{{"node-name", drive}, {"file", file}};
    if (ro) raw_props.emplace_back("read-only", "on");
    plan.blockdevs.push_back({sdk::image_driver(c, image), std::move(raw_props), {}});

    plan.devices.push_back({"usb-storage", {{"bus", "xhci.0"}, {"drive", drive}, {"removable", "on"}}, {}});
  }
};

}  // namespace

VZKIT_PLUGIN(UsbStorage, kManifest)
