// rosetta: the Rosetta translator shared into an arm64 Linux guest, so it runs x86-64 Linux binaries.
#include <string>
#include <vzkit/plugin.hpp>

namespace {

namespace sdk = vzkit::sdk;
namespace vz = vzkit::vz;

constexpr const char* kManifest = R"json({
  "name": "rosetta",
  "version": "1.0.0",
  "summary": "Shares Rosetta with an arm64 Linux guest so it can run x86-64 Linux binaries",
  "engines": ["vz"],
  "engine_notes": {
    "qemu": "Rosetta translates x86-64 Linux binaries only in an arm64 Linux guest on Apple silicon under Virtualization.framework"
  },
  "unique": [{"key": "tag", "scope": "virtio-fs-tag"}],
  "vz": {"min_macos": "13.0", "classes": ["VZVirtioFileSystemDeviceConfiguration", "VZLinuxRosettaDirectoryShare"]},
  "save_restore": false,
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Rosetta for Linux",
    "description": "A virtio-fs share holding Apple's Rosetta translator (Apple silicon, macOS 13+, Rosetta installed). The guest mounts it and registers it with binfmt_misc: `vzkit rosetta guest-setup TAG` prints the commands; `vzkit rosetta status` and `vzkit rosetta install` check and install Rosetta on the Mac.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "tag": {
        "title": "Tag",
        "description": "Name the guest mounts the share by: 1 to 35 bytes of UTF-8, unique among the VM's virtio-fs and Rosetta shares.",
        "type": "string", "minLength": 1,
        "default": "rosetta",
        "examples": ["rosetta"]
      },
      "caching": {
        "title": "Translation cache",
        "description": "macOS 14+: lets Rosetta keep translated code in a cache daemon the guest runs, reached through a unix socket ({\"type\": \"unix-socket\", \"path\": ...}) or a Linux abstract socket ({\"type\": \"abstract\", \"name\": ...}).",
        "type": "object",
        "additionalProperties": false,
        "required": ["type"],
        "properties": {
          "type": {
            "title": "Socket kind",
            "description": "\"unix-socket\": a socket file in the guest (its folder must exist); \"abstract\": a Linux abstract socket (no file).",
            "enum": ["unix-socket", "abstract"]
          },
          "path": {
            "title": "Socket path",
            "description": "With type unix-socket: absolute path of the socket in the guest, at most 107 bytes. Default: /run/rosettad/rosetta.sock (not filled in, since abstract sockets have no path).",
            "type": "string", "maxLength": 4096, "pattern": "^/",
            "examples": ["/run/rosettad/rosetta.sock"]
          },
          "name": {
            "title": "Socket name",
            "description": "With type abstract (required there): name of the abstract socket, at most 107 bytes.",
            "type": "string", "minLength": 1,
            "examples": ["rosettad"]
          }
        },
        "examples": [{"type": "unix-socket", "path": "/run/rosettad/rosetta.sock"}, {"type": "abstract", "name": "rosettad"}]
      }
    },
    "examples": [{}, {"tag": "rosetta", "caching": {"type": "abstract", "name": "rosettad"}}]
  }
})json";

/// VZ's rule for virtio-fs tags: shorter than 36 bytes of UTF-8.
constexpr std::size_t kMaxTagBytes = 35;
/// Linux sockaddr_un.sun_path: 108 bytes with the terminating NUL (or the leading NUL of an abstract name).
constexpr std::size_t kMaxSocketBytes = 107;
constexpr const char* kDefaultSocket = "/run/rosettad/rosetta.sock";

// binfmt_misc entry for x86-64 ELF executables. Magic: "\x7fELF", ELFCLASS64 (02), ELFDATA2LSB (01),
// EV_CURRENT (01), any OS ABI, zero padding, e_type ET_EXEC (02) or ET_DYN (03) through mask 0xfe,
// e_machine EM_X86_64 (0x3e). The \x escapes are decoded by the kernel, not the shell.
constexpr const char* kElfMagic = R"(\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00)";
constexpr const char* kElfMask = R"(\xff\xff\xff\xff\xff\xfe\xfe\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff)";

/// A POSIX shell word for `s`, single-quoted when needed.
std::string shell_word(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=+@%") ==
                        std::string::npos)
    return s;
  std::string out = "'";
  for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

/// An /etc/fstab field: blanks and backslashes as octal escapes.
std::string fstab_field(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == ' ')
      out += "\\040";
    else if (ch == '\t')
      out += "\\011";
    else if (ch == '\\')
      out += "\\134";
    else
      out += ch;
  }
  return out;
}

class Rosetta final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    const auto tag = sdk::get_string(c, "tag", "rosetta");
    if (tag.size() > kMaxTagBytes)
      out.error("rosetta.tag-too-long", "tag",
                "'" + tag + "' is " + std::to_string(tag.size()) + " bytes of UTF-8, the limit is " +
                    std::to_string(kMaxTagBytes),
                "shorten the tag; non-ASCII characters take 2 to 4 bytes each");
    if (ctx.engine == "vz" && !ctx.arch.empty() && ctx.arch != "aarch64")
      out.error("rosetta.guest-not-arm64", "", "needs an arm64 guest, the VM's architecture is '" + ctx.arch + "'",
                "Rosetta runs inside an arm64 Linux guest; remove \"arch\" or set it to \"aarch64\"");
    if (const auto* caching = sdk::find(c, "caching"); caching && caching->is_object()) {
      // One object with a kind, checked here: a schema oneOf would report every alternative's misses.
      const auto& o = caching->get_object();
      const bool unix_socket = sdk::get_string(o, "type") == "unix-socket";
      const std::string key = unix_socket ? "path" : "name";
      const std::string other = unix_socket ? "name" : "path";
      if (o.contains(other))
        out.error("rosetta.caching-key-unused", "caching." + other,
                  "is not used with type '" + sdk::get_string(o, "type") + "'",
                  unix_socket ? "a unix socket is given by path; remove name"
                              : "an abstract socket is given by name; remove path");
      if (!unix_socket && !o.contains("name")) {
        out.error("rosetta.caching-name-required", "caching.name", "is required with type 'abstract'",
                  "add \"name\": \"rosettad\", the abstract socket the guest's cache daemon listens on");
        return;
      }
      const std::string value = unix_socket ? sdk::get_string(o, "path", kDefaultSocket) : sdk::get_string(o, "name");
      if (value.size() > kMaxSocketBytes)
        out.error("rosetta.socket-too-long", "caching." + key,
                  "'" + value + "' is " + std::to_string(value.size()) + " bytes, the limit is " +
                      std::to_string(kMaxSocketBytes),
                  "Linux socket addresses hold at most 107 bytes; use a shorter " + key);
    }
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context&, vz::Configuration& plan) const override {
    vz::LinuxRosettaDirectoryShare share;
    if (const auto* caching = sdk::find(c, "caching"); caching && caching->is_object()) {
      const auto& o = caching->get_object();
      if (sdk::get_string(o, "type") == "unix-socket")
        share.caching = vz::LinuxRosettaUnixSocketCachingOptions{sdk::get_string(o, "path", kDefaultSocket)};
      else
        share.caching = vz::LinuxRosettaAbstractSocketCachingOptions{sdk::get_string(o, "name")};
    }
    vz::VirtioFileSystemDevice d;
    d.tag = sdk::get_string(c, "tag", "rosetta");
    d.share = std::move(share);
    plan.directory_sharing_devices.push_back(std::move(d));
  }

  /// Topic "guest-setup": the shell commands that mount the share in the guest and register
  /// Rosetta with binfmt_misc, now and at every boot.
  std::string describe(const sdk::json::object& request) const override {
    if (sdk::get_string(request, "topic") != "guest-setup") return {};
    const auto tag = sdk::get_string(request, "tag", "rosetta");
    const auto mount_point = sdk::get_string(request, "mount_point", "/media/rosetta");
    if (tag.empty() || tag.size() > kMaxTagBytes)
      throw sdk::Failure("tag '" + tag + "' is not a valid virtio-fs tag: it must be 1 to " +
                         std::to_string(kMaxTagBytes) + " bytes of UTF-8, it is " + std::to_string(tag.size()));
    if (mount_point.empty() || mount_point.front() != '/')
      throw sdk::Failure("mount point '" + mount_point + "' must be an absolute guest path");
    for (char ch : mount_point)
      if (ch == ':' || static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
        throw sdk::Failure("mount point '" + mount_point +
                           "' must not contain ':' or control characters (binfmt_misc separates its fields with ':')");

    const std::string interpreter = mount_point == "/" ? "/rosetta" : mount_point + "/rosetta";
    const std::string entry = std::string(":rosetta:M:0:") + kElfMagic + ":" + kElfMask + ":" + interpreter + ":CF";
    const std::string fstab_line = fstab_field(tag) + " " + fstab_field(mount_point) + " virtiofs ro,nofail 0 0";
    const std::string mp = shell_word(mount_point);

    std::string s;
    s += "# Rosetta guest setup for the share with tag '" + tag + "'.\n";
    s += "# Run as root in the arm64 Linux guest (its kernel needs virtiofs and binfmt_misc).\n";
    s += "\n";
    s += "# 1. Mount the share: it holds the `rosetta` translator.\n";
    s += "mkdir -p " + mp + "\n";
    s += "mountpoint -q " + mp + " || mount -t virtiofs " + shell_word(tag) + " " + mp + "\n";
    s += "\n";
    s += "# 2. Hand x86-64 ELF executables (64-bit, little-endian, EXEC or DYN, machine 0x3e) to Rosetta.\n";
    s += "#    The kernel decodes the \\x escapes. Flags: C = run with the binary's own credentials,\n";
    s += "#    F = open the interpreter now, so it also works inside containers and chroots.\n";
    s += "[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc\n";
    s += "if [ -e /proc/sys/fs/binfmt_misc/rosetta ]; then echo -1 > /proc/sys/fs/binfmt_misc/rosetta; fi\n";
    s += "echo " + shell_word(entry) + " > /proc/sys/fs/binfmt_misc/register\n";
    s += "\n";
    s += "# 3. Keep it across reboots: mount the share from /etc/fstab ...\n";
    s += "grep -qxF " + shell_word(fstab_line) + " /etc/fstab || echo " + shell_word(fstab_line) + " >> /etc/fstab\n";
    s += "# ... and let systemd-binfmt register Rosetta at boot (it runs after local-fs.target, so the\n";
    s += "#    share is mounted by then). Without systemd, run step 2 from a boot script instead.\n";
    s += "mkdir -p /etc/binfmt.d\n";
    s += "printf '%s\\n' " + shell_word(entry) + " > /etc/binfmt.d/rosetta.conf\n";
    return s;
  }
};

}  // namespace

VZKIT_PLUGIN(Rosetta, kManifest)
