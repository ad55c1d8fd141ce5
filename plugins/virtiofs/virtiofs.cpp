// virtiofs: host folders shared with the guest over virtio-fs, mounted in the guest by tag.
#include <filesystem>
#include <string>
#include <vzkit/plugin.hpp>

namespace {

namespace sdk = vzkit::sdk;
namespace qemu = vzkit::qemu;
namespace vz = vzkit::vz;

constexpr const char* kManifest = R"json({
  "name": "virtiofs",
  "version": "1.0.0",
  "summary": "Shares host folders with the guest over virtio-fs, mounted by tag",
  "engines": ["vz", "qemu"],
  "unique": [{"key": "tag", "scope": "virtio-fs-tag"}],
  "vz": {"min_macos": "12.0", "classes": ["VZVirtioFileSystemDeviceConfiguration", "VZSharedDirectory",
                                          "VZSingleDirectoryShare", "VZMultipleDirectoryShare"]},
  "save_restore": {"qemu": false, "vz": false},
  "save_restore_notes": {"qemu": "QEMU 7.2's vhost-user-fs has a migration blocker (virtiofsd keeps the share's state outside QEMU)", "vz": "not verified to survive Virtualization.framework's save; refused to be safe"},
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Shared folders (virtio-fs)",
    "description": "Host folders the guest mounts by tag (Linux: `mount -t virtiofs TAG /mnt`). Give either path (one folder) or shares (several named folders under one tag). On QEMU a virtiofsd helper serves the folder and guest memory is shared with it; a VM with shares cannot be saved and restored.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "tag": {
        "title": "Tag",
        "description": "Name the guest mounts the share by: 1 to 35 bytes of UTF-8, unique among the VM's virtio-fs and Rosetta shares. May be left out when macos_automount is true.",
        "type": "string", "minLength": 1,
        "examples": ["share", "src"]
      },
      "macos_automount": {
        "title": "macOS automount",
        "description": "VZ with a macOS 13+ guest: use the tag macOS guests mount by themselves under /Volumes/My Shared Files (macOSGuestAutomountTag) instead of tag.",
        "type": "boolean",
        "default": false
      },
      "path": {
        "title": "Folder",
        "description": "Host folder to share (relative paths are relative to the spec). Give either path or shares.",
        "type": "string", "minLength": 1,
        "examples": ["share", "/srv/data"]
      },
      "read_only": {
        "title": "Read-only",
        "description": "With path: the guest cannot change the folder. VZ only: QEMU 7.2's virtiofsd has no read-only mode.",
        "type": "boolean",
        "default": false
      },
      "shares": {
        "title": "Named folders",
        "description": "VZ only: several host folders under one tag; the guest sees each as a sub-folder named by its key (non-empty, no '/', at most 255 bytes).",
        "type": "object",
        "minProperties": 1,
        "additionalProperties": {
          "title": "Shared folder",
          "description": "One host folder of a multiple-folder share.",
          "type": "object",
          "additionalProperties": false,
          "required": ["path"],
          "properties": {
            "path": {
              "title": "Folder",
              "description": "Host folder to share (relative paths are relative to the spec).",
              "type": "string", "minLength": 1,
              "examples": ["share"]
            },
            "read_only": {
              "title": "Read-only",
              "description": "The guest cannot change this folder.",
              "type": "boolean",
              "default": false
            }
          }
        },
        "examples": [{"src": {"path": "/srv/src"}, "docs": {"path": "/srv/docs", "read_only": true}}]
      }
    },
    "examples": [
      {"tag": "share", "path": "share"},
      {"tag": "data", "path": "share", "read_only": true},
      {"tag": "work", "shares": {"hello": {"path": "share"}, "docs": {"path": "share", "read_only": true}}},
      {"macos_automount": true, "path": "share"}
    ]
  }
})json";

/// VZ's rule (validateTag:): a tag is shorter than 36 bytes of UTF-8. QEMU allows 36; use the stricter.
constexpr std::size_t kMaxTagBytes = 35;
/// Linux sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
constexpr std::size_t kMaxSocketPathBytes = 107;
/// VZMultipleDirectoryShare names: at most NAME_MAX bytes.
constexpr std::size_t kMaxShareNameBytes = 255;
constexpr const char* kVirtiofsd = "/usr/lib/qemu/virtiofsd";

/// A shared folder's absolute path, without the trailing '/' that "." or "dir/" would leave.
std::string folder_path(const sdk::Context& ctx, const std::string& given) {
  std::string path = ctx.resolve(given);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

class Virtiofs final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    const bool automount = sdk::get_bool(c, "macos_automount");
    const bool has_tag = c.contains("tag");
    const auto tag = sdk::get_string(c, "tag");
    if (!has_tag && !automount)
      out.error("virtiofs.tag-required", "tag", "is required unless 'macos_automount' is true",
                "add \"tag\": \"share\" and mount it in the guest with `mount -t virtiofs share /mnt`");
    if (tag.size() > kMaxTagBytes)
      out.error("virtiofs.tag-too-long", "tag",
                "'" + tag + "' is " + std::to_string(tag.size()) + " bytes of UTF-8, the limit is " +
                    std::to_string(kMaxTagBytes),
                "shorten the tag; non-ASCII characters take 2 to 4 bytes each");
    if (automount && has_tag && ctx.engine == "vz")
      out.warning("virtiofs.tag-ignored", "tag", "'" + tag + "' is not used because 'macos_automount' is true",
                  "remove tag, or set macos_automount to false to mount the share by this tag");
    if (automount && ctx.engine == "qemu")
      out.warning("virtiofs.automount-on-qemu", "macos_automount", "has no effect on QEMU",
                  "macOS guests run only on the vz engine; on QEMU the share is mounted by its tag (" +
                      std::string(has_tag ? tag : std::string(vz::macos_guest_automount_tag)) + ")");

    const bool has_path = c.contains("path");
    const auto* shares = sdk::find(c, "shares");
    if (!has_path && !shares)
      out.error("virtiofs.folder-required", "path", "'path' or 'shares' is required",
                "add \"path\": \"FOLDER\" to share one host folder");
    if (has_path && shares)
      out.error("virtiofs.path-and-shares", "shares", "cannot be used together with 'path'",
                "keep 'path' for one folder or 'shares' for several named folders, not both");

    if (has_path) {
      check_folder(ctx, sdk::get_string(c, "path"), "path", out);
      if (ctx.engine == "qemu" && sdk::get_bool(c, "read_only"))
        out.error("virtiofs.read-only-on-qemu", "read_only", "is not available on QEMU",
                  "QEMU 7.2's virtiofsd has no read-only mode; share a copy of the folder, or use the vz engine");
    }
    if (shares && shares->is_object()) {
      for (const auto& kv : shares->get_object()) {
        const std::string name(kv.key());
        const std::string at = "shares." + name;
        check_name(name, at, out);
        if (kv.value().is_object())
          check_folder(ctx, sdk::get_string(kv.value().get_object(), "path"), at + ".path", out);
      }
      if (ctx.engine == "qemu")
        out.error("virtiofs.multiple-on-qemu", "shares", "several folders under one tag are not available on QEMU",
                  "QEMU 7.2's virtiofsd serves one folder: use one virtiofs device per folder, each with its own tag "
                  "and 'path'");
    }

    if (ctx.engine == "qemu") {
      const auto socket = socket_path(ctx);
      if (socket.size() > kMaxSocketPathBytes)
        out.error("virtiofs.socket-path-too-long", "",
                  "the helper socket '" + socket + "' is " + std::to_string(socket.size()) + " bytes, the limit is " +
                      std::to_string(kMaxSocketPathBytes),
                  "unix socket paths are limited to 107 bytes; keep the VM's bundle in a shorter folder");
    }
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context& ctx, vz::Configuration& plan) const override {
    vz::VirtioFileSystemDevice d;
    d.use_macos_guest_automount_tag = sdk::get_bool(c, "macos_automount");
    // The bridge reads the class property; the tag holds its documented value so checks see it.
    d.tag = d.use_macos_guest_automount_tag ? std::string(vz::macos_guest_automount_tag) : sdk::get_string(c, "tag");
    if (const auto* shares = sdk::find(c, "shares"); shares && shares->is_object()) {
      vz::MultipleDirectoryShare m;
      for (const auto& kv : shares->get_object()) {
        const auto& entry = kv.value().as_object();
        m.directories[std::string(kv.key())] =
            vz::SharedDirectory{folder_path(ctx, sdk::get_string(entry, "path")), sdk::get_bool(entry, "read_only")};
      }
      d.share = m;
    } else {
      d.share = vz::SingleDirectoryShare{
          vz::SharedDirectory{folder_path(ctx, sdk::get_string(c, "path")), sdk::get_bool(c, "read_only")}};
    }
    plan.directory_sharing_devices.push_back(std::move(d));
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, qemu::Machine& plan) const override {
    if (c.contains("shares")) throw sdk::Failure("several folders under one tag are not available on QEMU");
    const std::string folder = folder_path(ctx, sdk::get_string(c, "path"));
    const std::string tag = c.contains("tag") ? sdk::get_string(c, "tag") : std::string(vz::macos_guest_automount_tag);
    const std::string socket = socket_path(ctx);
    const std::string id = ctx.id("fs");
    if (ctx.materialize) {
      // virtiofsd creates the socket but not the folder it lives in.
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(socket).parent_path(), ec);
      if (ec) throw sdk::Failure("cannot create the folder of '" + socket + "': " + ec.message());
    }

    qemu::Helper helper;
    helper.name = "virtiofsd";
    helper.argv = {kVirtiofsd, "--socket-path=" + socket, "-o", "source=" + fuse_escape(folder), "-o", "cache=auto"};
    helper.socket = socket;
    plan.helpers.push_back(std::move(helper));

    // vhost-user needs guest RAM the helper can map: without share=on the guest's mount hangs.
    // Every virtiofs device adds the same object and property; the kernel keeps one of each.
    const std::uint64_t mib = plan.memory_mib.value_or(ctx.memory_bytes >> 20);
    plan.objects.push_back(
        {"memory-backend-memfd", {{"id", "mem"}, {"size", std::to_string(mib) + "M"}, {"share", "on"}}, {}});
    plan.machine_properties.emplace_back("memory-backend", "mem");

    plan.chardevs.push_back({"socket", {{"id", id}, {"path", socket}}, {}});
    const bool mmio = plan.type && *plan.type == "microvm";
    // microvm's virtio-mmio defaults to legacy devices, which vhost-user cannot serve.
    if (mmio) plan.globals.push_back({"virtio-mmio", "force-legacy", "false"});
    plan.devices.push_back({mmio ? "vhost-user-fs-device" : "vhost-user-fs-pci",
                            {{"chardev", id}, {"tag", tag}, {"queue-size", "1024"}},
                            {}});
  }

 private:
  static std::string socket_path(const sdk::Context& ctx) {
    return ctx.in_bundle("run/virtiofs-" + std::to_string(ctx.index()) + ".sock");
  }

  /// virtiofsd splits -o values at commas; a backslash keeps one in the folder's name.
  static std::string fuse_escape(const std::string& s) {
    std::string out;
    for (char ch : s) {
      if (ch == ',' || ch == '\\') out += '\\';
      out += ch;
    }
    return out;
  }

  static void check_folder(const sdk::Context& ctx, const std::string& given, const std::string& at,
                           sdk::Diagnostics& out) {
    const auto path = ctx.resolve(given);
    const sdk::PathInfo info = sdk::look_at(path);
    if (const auto bad = sdk::control_character_in(given))
      out.error("virtiofs.invalid-path", at, "the folder's path holds " + *bad, "paths may not hold control characters");
    else if (info.kind == sdk::PathKind::missing)
      out.error("virtiofs.folder-missing", at, "folder '" + given + "' does not exist",
                "looked for " + path + " (relative paths start at the spec's folder)");
    else if (info.kind != sdk::PathKind::folder)
      out.error("virtiofs.folder-missing", at, "'" + given + "' is not a folder (it is " + info.what + ")",
                "virtio-fs shares folders; to give the guest a single file, share the folder that holds it");
  }

  static void check_name(const std::string& name, const std::string& at, sdk::Diagnostics& out) {
    std::string why;
    if (name.empty())
      why = "is empty";
    else if (name == "." || name == "..")
      why = "is a reserved folder name";
    else if (name.find('/') != std::string::npos)
      why = "contains '/'";
    else if (name.find('\0') != std::string::npos)
      why = "contains a NUL character";
    else if (name.size() > kMaxShareNameBytes)
      why = "is " + std::to_string(name.size()) + " bytes long, the limit is " + std::to_string(kMaxShareNameBytes);
    if (!why.empty())
      out.error("virtiofs.share-name-invalid", at, "folder name '" + name + "' " + why,
                "the guest sees each key as a sub-folder: use a plain file name such as \"src\"");
  }
};

}  // namespace

VZKIT_PLUGIN(Virtiofs, kManifest)
