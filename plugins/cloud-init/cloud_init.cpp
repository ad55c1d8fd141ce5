// cloud-init: a NoCloud seed for the guest's cloud-init. The plugin writes `user-data`,
// `meta-data` and, when given, `network-config` into a small FAT image labelled CIDATA in the
// VM's bundle and attaches it as a read-only Virtio block disk; cloud-init finds the disk by its
// label on first boot. The image is made with mtools (mformat, mcopy), which needs neither root
// nor loop devices and exists on Linux distributions and Homebrew alike.
//
// This folder is also what a third party's plugin looks like: it builds outside vzkit's tree
// against the installed SDK alone (CMakeLists.txt, docs/plugins.md).
#include <vzkit/plugin.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

extern char** environ;

namespace {

namespace sdk = vzkit::sdk;
namespace fs = std::filesystem;

constexpr const char* kManifest = R"json({
  "name": "cloud-init",
  "version": "1.1.0",
  "summary": "cloud-init NoCloud seed: user-data, meta-data and network-config on a read-only disk labelled CIDATA",
  "engines": ["vz", "qemu"],
  "vz": {"min_macos": "11.0", "classes": ["VZVirtioBlockDeviceConfiguration", "VZDiskImageStorageDeviceAttachment"]},
  "max_instances": 1,
  "save_restore": true,
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "cloud-init seed",
    "description": "Configures a cloud image on its first boot through cloud-init's NoCloud source. vzkit writes user-data, meta-data and network-config into a FAT image labelled CIDATA (cloud-init-seed.img in the VM's folder, made with mtools' mformat and mcopy) when the VM is created or run, and attaches it as a read-only Virtio block disk. Give ssh_authorized_keys (with user, a user of their own), user_data, or both.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "user_data": {
        "title": "User data",
        "description": "cloud-init user-data: the text itself (any value with a line break, e.g. \"#cloud-config\\n...\"), or the path of a file holding it (a value on one line; relative paths are relative to the spec). With ssh_authorized_keys or user, vzkit's own #cloud-config part is added after it (a MIME multi-part user-data whose lists append to yours).",
        "type": "string",
        "minLength": 1,
        "examples": ["user-data.yaml", "#cloud-config\npackages: [nginx]\n"]
      },
      "meta_data": {
        "title": "Meta data",
        "description": "cloud-init meta-data (YAML with instance-id and local-hostname): the text itself (any value with a line break), or the path of a file holding it (a value on one line; relative paths are relative to the spec). Left out: vzkit writes it from instance_id and hostname.",
        "type": "string",
        "minLength": 1,
        "examples": ["meta-data.yaml", "instance-id: iid-web-01\nlocal-hostname: web-01\n"]
      },
      "network_config": {
        "title": "Network config",
        "description": "cloud-init network-config (version 1 or 2 YAML): the text itself (any value with a line break) or the path of a file holding it. Left out: the guest's cloud-init configures DHCP on its first network card.",
        "type": "string",
        "minLength": 1,
        "examples": ["network-config.yaml", "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"]
      },
      "ssh_authorized_keys": {
        "title": "SSH public keys",
        "description": "OpenSSH public keys (one line of a .pub file each) for the user named by user, or for the image's default user when user is left out. vzkit writes them in a #cloud-config of its own.",
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "minLength": 1},
        "examples": [["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g you@laptop"]]
      },
      "user": {
        "title": "User",
        "description": "A user cloud-init creates (besides the image's default user): a login shell of /bin/bash, sudo without a password, and the ssh_authorized_keys.",
        "type": "string",
        "minLength": 1,
        "maxLength": 32,
        "pattern": "^[a-z_][a-z0-9_-]*$",
        "examples": ["vzkit", "admin"]
      },
      "instance_id": {
        "title": "Instance id",
        "description": "The instance-id of the meta-data vzkit writes (not with meta_data). cloud-init runs its once-per-instance steps again when it changes. Default: \"iid-\" and the VM's name.",
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        "examples": ["iid-web-01"]
      },
      "hostname": {
        "title": "Host name",
        "description": "The local-hostname of the meta-data vzkit writes (not with meta_data): letters, digits, '-' and '.'. Default: the VM's name, lower-case, other characters turned into '-'.",
        "type": "string",
        "minLength": 1,
        "maxLength": 253,
        "pattern": "^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$",
        "examples": ["web-01", "web-01.example.org"]
      }
    },
    "examples": [
      {"ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g you@laptop"]},
      {"user": "vzkit", "ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g you@laptop"],
       "instance_id": "iid-web-01", "hostname": "web-01"},
      {"user_data": "#cloud-config\npackages: [nginx]\n", "meta_data": "instance-id: iid-web-01\nlocal-hostname: web-01\n"}
    ]
  }
})json";

constexpr const char* kSeedFile = "cloud-init-seed.img";
constexpr std::uintmax_t kMaxBytes = 16u << 20;  // per file; cloud-init's own limits are far lower

// ---- user_data and meta_data: text or a file ----

/// A value with a line break is the text itself; a value on one line names a file.
bool is_text(std::string_view value) { return value.find('\n') != std::string_view::npos; }

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(s).str();
}

/// Checks that `key`'s file exists and is small enough (text needs no check beyond its size).
void check_source(const sdk::Config& c, const sdk::Context& ctx, const std::string& key, sdk::Diagnostics& out) {
  const std::string value = sdk::get_string(c, key);
  if (is_text(value)) {
    if (value.size() > kMaxBytes)
      out.error("cloud-init.too-large", key, key + " is " + std::to_string(value.size()) + " bytes, more than 16 MiB",
                "cloud-init reads far smaller seeds: fetch large files from the guest instead");
    return;
  }
  const std::string file = ctx.resolve(value);
  const std::string text_hint = "a value on one line is read as a file path; to give the text itself, end it with a line break";
  std::error_code ec;
  const auto status = fs::status(file, ec);
  if (!fs::exists(status)) {
    out.error("cloud-init.file-missing", key, key + " file '" + value + "' does not exist",
              "looked for " + file + " (relative paths start at the spec's folder); " + text_hint);
  } else if (!fs::is_regular_file(status)) {
    out.error("cloud-init.file-not-regular", key, "'" + value + "' is not a regular file", text_hint);
  } else if (const auto bytes = fs::file_size(file, ec); !ec && bytes > kMaxBytes) {
    out.error("cloud-init.too-large", key, key + " file '" + value + "' is " + std::to_string(bytes) + " bytes, more than 16 MiB",
              "cloud-init reads far smaller seeds: fetch large files from the guest instead");
  }
}

/// The contents `key` stands for; nullopt when its file cannot be read.
std::optional<std::string> contents(const sdk::Config& c, const sdk::Context& ctx, const std::string& key) {
  const std::string value = sdk::get_string(c, key);
  return is_text(value) ? std::optional<std::string>(value) : read_file(ctx.resolve(value));
}

// ---- SSH public keys ----

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0) return std::nullopt;
  auto value = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    const int pad = last ? (in[i + 3] == '=') + (in[i + 2] == '=' && in[i + 3] == '=') : 0;
    std::uint32_t group = 0;
    for (int j = 0; j < 4; ++j) {
      const int v = j >= 4 - pad ? 0 : value(in[i + j]);
      if (v < 0) return std::nullopt;
      group = group << 6 | static_cast<std::uint32_t>(v);
    }
    out += static_cast<char>(group >> 16);
    if (pad < 2) out += static_cast<char>(group >> 8 & 0xFF);
    if (pad < 1) out += static_cast<char>(group & 0xFF);
  }
  return out;
}

/// Why `key` is not one line of an OpenSSH .pub file ("TYPE BASE64 [comment]"), or nullopt.
/// The key data starts with its own type name, which catches truncated and mixed-up keys.
std::optional<std::string> key_problem(std::string_view key) {
  static constexpr std::string_view kTypes[] = {
      "ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
      "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"};
  for (char ch : key)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F) return "it holds a line break or control character";
  const auto space = key.find(' ');
  const std::string_view type = key.substr(0, space);
  if (std::find(std::begin(kTypes), std::end(kTypes), type) == std::end(kTypes))
    return "it does not start with a key type such as ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256";
  if (space == std::string_view::npos) return "the key data after '" + std::string(type) + "' is missing";
  const std::string_view rest = key.substr(space + 1);
  const auto blob = base64_decode(rest.substr(0, rest.find(' ')));
  if (!blob) return "the key data after '" + std::string(type) + "' is not base64";
  const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>((*blob)[i])); };
  const std::uint32_t length = blob->size() >= 4 ? byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3) : 0;
  if (blob->size() < 4 + std::size_t{length} || blob->compare(4, length, type) != 0)
    return "its key data is not a " + std::string(type) + " key (cut short, or pasted after another key's type)";
  if (blob->size() == 4 + std::size_t{length}) return "its key data ends after the key type (cut short)";
  return std::nullopt;
}

/// `s` for a message: at most about 40 characters, line breaks shown as \n.
std::string shorten(std::string_view s) {
  const std::string cut = s.size() <= 40 ? std::string(s) : std::string(s.substr(0, 30)) + "..." + std::string(s.substr(s.size() - 6));
  std::string out;
  for (char ch : cut) {
    if (ch == '\n')
      out += "\\n";
    else
      out += static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F ? '?' : ch;
  }
  return out;
}

/// A YAML double-quoted scalar.
std::string yaml_quoted(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

/// A host name made from the VM's name: "Web Server 1" -> "web-server-1".
std::string hostname_from(std::string_view vm_name) {
  std::string h;
  for (char ch : vm_name) {
    const char lower = ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
    const bool keep = (lower >= 'a' && lower <= 'z') || (lower >= '0' && lower <= '9');
    if (keep)
      h += lower;
    else if (!h.empty() && h.back() != '-')
      h += '-';
  }
  while (!h.empty() && h.back() == '-') h.pop_back();
  if (h.size() > 63) h.resize(63);
  while (!h.empty() && h.back() == '-') h.pop_back();
  return h.empty() ? "vzkit" : h;
}

struct SeedFile {
  std::string name;
  std::string text;
};

/// vzkit's own #cloud-config: the keys, for `user` or the image's default user.
std::string vzkit_cloud_config(const sdk::Config& c, bool after_users_part) {
  std::string keys;
  if (const auto* list = sdk::find(c, "ssh_authorized_keys"); list && list->is_array())
    for (const auto& k : list->get_array())
      if (k.is_string()) keys += "      - " + yaml_quoted(k.get_string()) + "\n";
  std::string out = "#cloud-config\n";
  // A part after the user's: lists append to theirs, and keys they set are kept.
  if (after_users_part) out += "merge_how: \"list(append)+dict(no_replace,recurse_list)+str()\"\n";
  const std::string user = sdk::get_string(c, "user");
  if (user.empty()) {
    std::string flat;
    if (!keys.empty()) {
      std::istringstream lines(keys);
      for (std::string line; std::getline(lines, line);) flat += "  " + line.substr(line.find('-')) + "\n";
      out += "ssh_authorized_keys:\n" + flat;
    }
    return out;
  }
  out += "users:\n  - default\n  - name: " + user +
         "\n    shell: /bin/bash\n    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n    lock_passwd: true\n";
  if (!keys.empty()) out += "    ssh_authorized_keys:\n" + keys;
  return out;
}

/// Two user-data parts in one MIME multi-part message, as cloud-init reads it.
std::string multipart(const std::string& first, const std::string& second) {
  const std::string boundary = "==vzkit-cloud-init-boundary==";
  auto part = [&](const std::string& text) {
    const bool config = text.rfind("#cloud-config", 0) == 0;
    return "--" + boundary + "\nContent-Type: " + (config ? "text/cloud-config" : "text/x-shellscript") +
           "; charset=\"utf-8\"\nMIME-Version: 1.0\n\n" + text + (text.empty() || text.back() == '\n' ? "" : "\n");
  };
  return "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\nMIME-Version: 1.0\n\n" + part(first) +
         part(second) + "--" + boundary + "--\n";
}

/// The seed's files. Throws sdk::Failure when a file named by the config cannot be read.
std::vector<SeedFile> seed_of(const sdk::Config& c, const sdk::Context& ctx) {
  auto text_of = [&](const std::string& key) {
    auto text = contents(c, ctx, key);
    if (!text) throw sdk::Failure("cannot read the " + key + " file '" + ctx.resolve(sdk::get_string(c, key)) + "'");
    return *text;
  };
  const bool ours = c.contains("ssh_authorized_keys") || c.contains("user");
  std::string user_data;
  if (c.contains("user_data"))
    user_data = ours ? multipart(text_of("user_data"), vzkit_cloud_config(c, true)) : text_of("user_data");
  else
    user_data = vzkit_cloud_config(c, false);
  std::string meta_data;
  if (c.contains("meta_data")) {
    meta_data = text_of("meta_data");
  } else {
    const std::string host = hostname_from(ctx.vm_name);
    meta_data = "instance-id: " + yaml_quoted(sdk::get_string(c, "instance_id", "iid-" + host)) + "\n" +
                "local-hostname: " + yaml_quoted(sdk::get_string(c, "hostname", host)) + "\n";
  }
  std::vector<SeedFile> files{{"meta-data", meta_data}, {"user-data", user_data}};
  if (c.contains("network_config")) files.push_back({"network-config", text_of("network_config")});
  return files;
}

// ---- the image, made with mtools ----

/// Runs argv (argv[0] looked up on PATH) with MTOOLS_SKIP_CHECK=1, its output to `log`.
/// Throws sdk::Failure saying what went wrong.
void run_tool(const std::vector<std::string>& argv, const std::string& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_text{"MTOOLS_SKIP_CHECK=1", "MTOOLSRC=/dev/null"};
  for (char** e = environ; e && *e; ++e)
    if (std::strncmp(*e, "MTOOLS", 6) != 0) env_text.emplace_back(*e);
  std::vector<char*> env;
  for (auto& e : env_text) env.push_back(e.data());
  env.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw sdk::Failure("cannot run " + argv[0] + ": " + std::strerror(rc) +
                       (rc == ENOENT ? " (the seed image is made with mtools: install it, e.g. `apt-get install mtools` "
                                       "or `brew install mtools`)"
                                     : ""));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string said = read_file(log).value_or("");
  while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
  throw sdk::Failure(argv[0] + " failed (" +
                     (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                        : "signal " + std::to_string(WTERMSIG(status))) +
                     ")" + (said.empty() ? "" : ": " + said));
}

/// FNV-1a of the seed's contents: the volume serial, so the same settings give the same bytes.
std::uint32_t serial_of(const std::vector<SeedFile>& files) {
  std::uint32_t h = 2166136261u;
  for (const auto& f : files)
    for (char ch : f.name + '\n' + f.text) h = (h ^ static_cast<unsigned char>(ch)) * 16777619u;
  return h;
}

struct RemoveAll {
  fs::path dir;
  ~RemoveAll() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

/// Makes the FAT image at `path` (beside it first, then renamed; left alone when it already
/// holds the same bytes). The files get a fixed time stamp and the volume a serial derived from
/// the contents, so the same settings give the same image.
void write_image(const std::string& path, const std::vector<SeedFile>& files) {
  const fs::path target(path);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  std::string pattern = (target.parent_path() / ".cloud-init-seed.XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw sdk::Failure("cannot make a folder beside '" + path + "': " + std::strerror(errno));
  RemoveAll work{pattern};
  std::uint64_t bytes = 0;
  std::vector<std::string> copy{"mcopy", "-m", "-i", (work.dir / "seed.img").string()};
  for (const auto& f : files) {
    const fs::path file = work.dir / f.name;
    std::ofstream out(file, std::ios::binary);
    out.write(f.text.data(), static_cast<std::streamsize>(f.text.size()));
    out.close();
    if (!out) throw sdk::Failure("cannot write '" + file.string() + "'");
    const struct timespec times[2] = {{315532800, 0}, {315532800, 0}};  // 1980-01-01, FAT's first day
    ::utimensat(AT_FDCWD, file.c_str(), times, 0);
    copy.push_back(file.string());
    bytes += f.text.size() + 4096;
  }
  copy.push_back("::");
  // 1.44 MB at least (FAT12), else the contents and an eighth more: mformat picks the FAT type.
  const std::uint64_t sectors = std::max<std::uint64_t>(2880, (bytes + bytes / 8 + (256u << 10)) / 512);
  char serial[16];
  std::snprintf(serial, sizeof serial, "%08x", serial_of(files));
  const std::string image = (work.dir / "seed.img").string(), log = (work.dir / "tool.log").string();
  run_tool({"mformat", "-C", "-i", image, "-T", std::to_string(sectors), "-N", serial, "-v", "CIDATA", "::"}, log);
  run_tool(copy, log);
  if (auto existing = read_file(path); existing && existing == read_file(image)) return;
  fs::rename(image, target, ec);
  if (ec) throw sdk::Failure("cannot create the seed image '" + path + "': " + ec.message());
}

/// The seed image's path; when materializing, the image is (re)built there first.
std::string seed_image(const sdk::Config& c, const sdk::Context& ctx) {
  const std::string image = ctx.in_bundle(kSeedFile);
  if (ctx.materialize) write_image(image, seed_of(c, ctx));
  return image;
}

class CloudInit final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    const bool user = c.contains("user_data"), meta = c.contains("meta_data"), keys = c.contains("ssh_authorized_keys");
    if (!keys && !user && !c.contains("user"))
      out.error("cloud-init.seed-data-missing", "", "the seed has no user-data",
                "add \"ssh_authorized_keys\": [\"ssh-ed25519 AAAA... you@host\"], or \"user_data\": \"#cloud-config\\n...\"");

    for (const std::string key : {"user_data", "meta_data", "network_config"})
      if (c.contains(key)) check_source(c, ctx, key, out);

    if (const auto* list = sdk::find(c, "ssh_authorized_keys"); list && list->is_array()) {
      const auto& array = list->get_array();
      for (std::size_t i = 0; i < array.size(); ++i) {
        if (!array[i].is_string()) continue;  // the schema reports it
        const std::string key(array[i].get_string());
        if (auto problem = key_problem(key))
          out.error("cloud-init.ssh-key-invalid", "ssh_authorized_keys[" + std::to_string(i) + "]",
                    "'" + shorten(key) + "' is not an OpenSSH public key: " + *problem,
                    "copy one line of a .pub file, e.g. ~/.ssh/id_ed25519.pub: \"ssh-ed25519 AAAA... you@host\"");
      }
    }
    if (const std::string name = sdk::get_string(c, "user"); name == "root" || name == "default")
      out.error("cloud-init.user-reserved", "user", "'" + name + "' cannot be a user of its own",
                "leave user out to give the keys to the image's default user, or choose another name, e.g. \"vzkit\"");

    if (meta)
      for (const std::string key : {"instance_id", "hostname"})
        if (c.contains(key))
          out.error("cloud-init.option-with-meta-data", key, key + " applies only to the meta-data vzkit writes, not to meta_data",
                    std::string("write ") + (key == "hostname" ? "local-hostname" : "instance-id") +
                        " in your meta-data instead, or remove " + key);

    // Content checks that help, but do not stop the VM.
    if (user) {
      const auto text = contents(c, ctx, "user_data");
      if (text && !text->empty() && text->front() != '#' && text->rfind("Content-Type:", 0) != 0 &&
          text->rfind("\x1f\x8b", 0) != 0)
        out.warning("cloud-init.user-data-format", "user_data",
                    "user-data starts with '" + shorten(text->substr(0, text->find('\n'))) +
                        "', which cloud-init does not recognise",
                    "start it with \"#cloud-config\" (YAML) or \"#!\" (a script)");
      if (text && (keys || c.contains("user")) && text->rfind("Content-Type:", 0) == 0)
        out.error("cloud-init.multipart-user-data", "user_data",
                  "user-data that is already a MIME multi-part message cannot take vzkit's part too",
                  "add the keys and user to your own message, or give user_data as #cloud-config or a script");
    }
    if (meta) {
      const auto text = contents(c, ctx, "meta_data");
      if (text && text->find("instance-id") == std::string::npos)
        out.warning("cloud-init.instance-id-missing", "meta_data", "meta-data has no instance-id",
                    "add a line \"instance-id: iid-1\": cloud-init runs its first-boot steps once per instance id");
    }
  }

  void assemble_vz(const sdk::Config& c, const sdk::Context& ctx, vzkit::vz::Configuration& plan) const override {
    vzkit::vz::VirtioBlockDevice disk;
    disk.attachment = vzkit::vz::DiskImageAttachment{seed_image(c, ctx), /*read_only=*/true};
    plan.storage_devices.push_back(std::move(disk));
  }

  void assemble_qemu(const sdk::Config& c, const sdk::Context& ctx, vzkit::qemu::Machine& plan) const override {
    const std::string file = ctx.id("cidata-file"), disk = ctx.id("cidata");
    plan.blockdevs.push_back({"file", {{"node-name", file}, {"filename", seed_image(c, ctx)}, {"read-only", "on"}}, {}});
    plan.blockdevs.push_back({"raw", {{"node-name", disk}, {"file", file}, {"read-only", "on"}}, {}});
    plan.devices.push_back({"virtio-blk-pci", {{"drive", disk}}, {}});
  }
};

}  // namespace

VZKIT_PLUGIN(CloudInit, kManifest)
