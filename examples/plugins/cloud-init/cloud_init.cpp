// cloud-init: a NoCloud seed for the guest's cloud-init. The plugin writes `user-data` and
// `meta-data` into a small FAT image labelled CIDATA in the VM's bundle and attaches it as a
// read-only Virtio block disk; cloud-init finds the disk by its label on first boot.
//
// Built outside vzkit's source tree, against the installed SDK alone (see README.md).
#include "fat_image.hpp"

#include <vzkit/plugin.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace {

namespace sdk = vzkit::sdk;
namespace fs = std::filesystem;

constexpr const char* kManifest = R"json({
  "name": "cloud-init",
  "version": "1.0.0",
  "summary": "cloud-init NoCloud seed: user-data and meta-data on a read-only disk labelled CIDATA",
  "engines": ["vz", "qemu"],
  "vz": {"min_macos": "11.0", "classes": ["VZVirtioBlockDeviceConfiguration", "VZDiskImageStorageDeviceAttachment"]},
  "max_instances": 1,
  "save_restore": true,
  "schema": {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "cloud-init seed",
    "description": "Configures a cloud image on its first boot through cloud-init's NoCloud source. vzkit writes user-data and meta-data into a FAT image labelled CIDATA (cloud-init-seed.img in the VM's folder) when the VM is created or run, and attaches it as a read-only Virtio block disk. Give user_data and meta_data, or only ssh_authorized_keys.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
      "user_data": {
        "title": "User data",
        "description": "cloud-init user-data: the text itself (any value with a line break, e.g. \"#cloud-config\\n...\"), or the path of a file holding it (a value on one line; relative paths are relative to the spec). Needs meta_data; cannot be combined with ssh_authorized_keys.",
        "type": "string",
        "minLength": 1,
        "examples": ["user-data.yaml", "#cloud-config\npackages: [nginx]\n"]
      },
      "meta_data": {
        "title": "Meta data",
        "description": "cloud-init meta-data (YAML with instance-id and local-hostname): the text itself (any value with a line break), or the path of a file holding it (a value on one line; relative paths are relative to the spec). Needs user_data.",
        "type": "string",
        "minLength": 1,
        "examples": ["meta-data.yaml", "instance-id: iid-web-01\nlocal-hostname: web-01\n"]
      },
      "ssh_authorized_keys": {
        "title": "SSH public keys",
        "description": "Instead of user_data and meta_data: OpenSSH public keys (one line of a .pub file each) for the image's default user. vzkit writes a minimal #cloud-config holding them, and meta-data from instance_id and hostname.",
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "minLength": 1},
        "examples": [["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g you@laptop"]]
      },
      "instance_id": {
        "title": "Instance id",
        "description": "The instance-id of the meta-data vzkit writes (with ssh_authorized_keys). cloud-init runs its once-per-instance steps again when it changes. Default: \"iid-\" and the VM's name.",
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        "examples": ["iid-web-01"]
      },
      "hostname": {
        "title": "Host name",
        "description": "The local-hostname of the meta-data vzkit writes (with ssh_authorized_keys): letters, digits, '-' and '.'. Default: the VM's name, lower-case, other characters turned into '-'.",
        "type": "string",
        "minLength": 1,
        "maxLength": 253,
        "pattern": "^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$",
        "examples": ["web-01", "web-01.example.org"]
      }
    },
    "examples": [
      {"ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g you@laptop"]},
      {"ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g you@laptop"],
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

// ---- the seed ----

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

struct Seed {
  std::string user_data;
  std::string meta_data;
};

/// The seed's two files. Throws sdk::Failure when a file named by the config cannot be read.
Seed seed_of(const sdk::Config& c, const sdk::Context& ctx) {
  Seed seed;
  if (const auto* keys = sdk::find(c, "ssh_authorized_keys"); keys && keys->is_array()) {
    seed.user_data = "#cloud-config\nssh_authorized_keys:\n";
    for (const auto& k : keys->get_array())
      if (k.is_string()) seed.user_data += "  - " + yaml_quoted(k.get_string()) + "\n";
    const std::string host = hostname_from(ctx.vm_name);
    seed.meta_data = "instance-id: " + yaml_quoted(sdk::get_string(c, "instance_id", "iid-" + host)) + "\n" +
                     "local-hostname: " + yaml_quoted(sdk::get_string(c, "hostname", host)) + "\n";
    return seed;
  }
  for (const auto& [key, out] : {std::pair{"user_data", &seed.user_data}, std::pair{"meta_data", &seed.meta_data}}) {
    auto text = contents(c, ctx, key);
    if (!text)
      throw sdk::Failure(std::string("cannot read the ") + key + " file '" + ctx.resolve(sdk::get_string(c, key)) + "'");
    *out = std::move(*text);
  }
  return seed;
}

/// Writes `bytes` to `path` unless it already holds them; beside it first, then renamed.
void write_image(const std::string& path, const std::string& bytes) {
  if (auto existing = read_file(path); existing && *existing == bytes) return;
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      throw sdk::Failure("cannot write the seed image '" + tmp + "'");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw sdk::Failure("cannot create the seed image '" + path + "': " + ec.message());
  }
}

/// The seed image's path; when materializing, the image is (re)built there first.
std::string seed_image(const sdk::Config& c, const sdk::Context& ctx) {
  const std::string image = ctx.in_bundle(kSeedFile);
  if (ctx.materialize) {
    const Seed seed = seed_of(c, ctx);
    try {
      write_image(image, cloud_init::make_fat12_image("CIDATA", {{"meta-data", seed.meta_data}, {"user-data", seed.user_data}}));
    } catch (const std::length_error& e) {
      throw sdk::Failure(std::string("cannot build the seed image: ") + e.what());
    }
  }
  return image;
}

class CloudInit final : public sdk::Plugin {
 public:
  void validate(const sdk::Config& c, const sdk::Context& ctx, sdk::Diagnostics& out) const override {
    const bool user = c.contains("user_data"), meta = c.contains("meta_data"), keys = c.contains("ssh_authorized_keys");
    if (keys && (user || meta)) {
      out.error("cloud-init.seed-data-conflict", "ssh_authorized_keys",
                "ssh_authorized_keys cannot be combined with user_data or meta_data",
                "put the keys in your user-data (ssh_authorized_keys under #cloud-config), or remove user_data and meta_data");
    } else if (!keys && !user && !meta) {
      out.error("cloud-init.seed-data-missing", "", "the seed has no contents",
                "add \"ssh_authorized_keys\": [\"ssh-ed25519 AAAA... you@host\"], or both \"user_data\" and \"meta_data\"");
    } else if (user != meta) {
      const std::string missing = user ? "meta_data" : "user_data";
      out.error("cloud-init.seed-data-incomplete", missing, missing + " is missing: user_data and meta_data come together",
                user ? "add \"meta_data\": \"instance-id: iid-1\\nlocal-hostname: myhost\\n\""
                     : "add \"user_data\": \"#cloud-config\\n\"");
    }

    for (const std::string key : {"user_data", "meta_data"})
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

    if (meta)
      for (const std::string key : {"instance_id", "hostname"})
        if (c.contains(key))
          out.error("cloud-init.option-with-meta-data", key, key + " applies only to the meta-data vzkit writes, not to meta_data",
                    std::string("write ") + (key == "hostname" ? "local-hostname" : "instance-id") +
                        " in your meta-data instead, or remove " + key);

    // Content checks that help, but do not stop the VM.
    if (user && meta && !keys) {
      const auto user_text = contents(c, ctx, "user_data");
      if (user_text && !user_text->empty() && user_text->front() != '#' && user_text->rfind("Content-Type:", 0) != 0 &&
          user_text->rfind("\x1f\x8b", 0) != 0)
        out.warning("cloud-init.user-data-format", "user_data",
                    "user-data starts with '" + shorten(user_text->substr(0, user_text->find('\n'))) +
                        "', which cloud-init does not recognise",
                    "start it with \"#cloud-config\" (YAML) or \"#!\" (a script)");
      const auto meta_text = contents(c, ctx, "meta_data");
      if (meta_text && meta_text->find("instance-id") == std::string::npos)
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
