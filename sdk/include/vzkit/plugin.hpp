// The C++ helper layer over the plugin ABI (plugin.h). A plugin author writes one class derived
// from vzkit::sdk::Plugin and one registration line:
//
//   class Entropy final : public vzkit::sdk::Plugin {
//     void assemble_qemu(const Config& c, const Context& ctx, vzkit::qemu::Machine& m) const override;
//   };
//   VZKIT_PLUGIN(Entropy, kManifest)
//
// Everything here ends up inside the plugin: the declarations below are defined in the SDK
// library (libvzkit_sdk.a, a static archive the plugin links), so only plain C and JSON text
// cross to the host at run time. Exceptions thrown by the plugin's methods are caught in the SDK
// library and reported as errors.
#pragma once

#include <vzkit/plugin.h>
#include <vzkit/qemu/machine.hpp>
#include <vzkit/vz/configuration.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace vzkit::sdk {

namespace json = boost::json;

/// A device's config: the JSON object of its spec entry (without "plugin"), already checked
/// against the plugin's schema, with the schema's defaults filled in.
using Config = json::object;

/// Thrown by a plugin method to report that it cannot do what was asked; the message reaches
/// the user with the plugin's name and the device's path.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Where a device sits and what the VM around it looks like. Host-provided, per call.
struct Context {
  std::string engine;      ///< "qemu" or "vz"; empty when validating without an engine
  std::string vm_name;     ///< the spec's name
  std::string spec_dir;    ///< absolute folder of the spec file; relative paths resolve here
  std::string bundle_dir;  ///< absolute folder where the VM keeps its files (disks, NVRAM, ids)
  std::string path;        ///< the device's JSON path in the spec, e.g. "devices[2]"
  std::string arch;        ///< guest architecture: "x86_64" or "aarch64"
  std::uint64_t cpus = 0;
  std::uint64_t memory_bytes = 0;
  /// True when the VM is being created or run: create the files the plan names (copy a
  /// variable store template, create a sparse disk). False for plan and validate: describe only.
  bool materialize = false;
  /// What the engine reported about the host the VM is validated for, when known (for vz the
  /// runner's `--host-bounds`: {"macos_major": 15, "nested_virtualization_supported": false, ...},
  /// see bridge/vz); empty otherwise (planning on another machine, or an older vzkit). Check a
  /// feature against it only when the key is present: the engine checks again when it runs.
  json::object host;

  /// An absolute path for a path from the spec (relative to the spec's folder).
  std::string resolve(std::string_view p) const;
  /// The device's position in the spec's device list (from `path`), for unique engine ids.
  std::size_t index() const;
  /// An engine object id unique to this device: `prefix` + index ("disk3").
  std::string id(std::string_view prefix) const;
  /// An absolute path inside the VM's bundle folder.
  std::string in_bundle(std::string_view name) const;

  /// The context of a hook request (its "context" object); missing keys keep their defaults.
  static Context from_json(const json::value& v);
};

/// Diagnostics a plugin's validate() reports. Paths are relative to the device entry
/// ("scanouts[0].width"); the host prefixes the device's own path.
class Diagnostics {
 public:
  void error(std::string_view code, std::string_view path, std::string_view message, std::string_view hint = {}) {
    add("error", code, path, message, hint);
  }
  void warning(std::string_view code, std::string_view path, std::string_view message, std::string_view hint = {}) {
    add("warning", code, path, message, hint);
  }
  const json::array& items() const { return m_items; }

 private:
  void add(std::string_view severity, std::string_view code, std::string_view path, std::string_view message,
           std::string_view hint);
  json::array m_items;
};

/// Base class of a plugin. Override what the plugin does; the defaults do nothing (validate) or
/// refuse (an engine the manifest does not list never reaches its assemble method).
class Plugin {
 public:
  virtual ~Plugin() = default;
  /// Rules the schema cannot say (a file exists, a size is a multiple of 512). Never throws for
  /// bad input: report it.
  virtual void validate(const Config&, const Context&, Diagnostics&) const {}
  /// Adds this device's objects to a VZ configuration that holds only the machine-level settings.
  virtual void assemble_vz(const Config&, const Context&, vz::Configuration&) const {
    throw Failure("this plugin has no VZ factory");
  }
  /// Adds this device's objects to a QEMU machine that holds only the machine-level settings.
  virtual void assemble_qemu(const Config&, const Context&, qemu::Machine&) const {
    throw Failure("this plugin has no QEMU factory");
  }
  /// Extra text for a CLI topic (for example the guest-side setup of a share). Empty: no topic.
  virtual std::string describe(const json::object& /*request*/) const { return {}; }
};

// ---- reading a config ----

inline const json::value* find(const Config& c, std::string_view key) { return c.if_contains(key); }

inline std::string get_string(const Config& c, std::string_view key, std::string fallback = {}) {
  const auto* v = find(c, key);
  return v && v->is_string() ? std::string(v->get_string()) : fallback;
}

inline std::int64_t get_int(const Config& c, std::string_view key, std::int64_t fallback = 0) {
  const auto* v = find(c, key);
  if (v && v->is_int64()) return v->get_int64();
  if (v && v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
  return fallback;
}

inline bool get_bool(const Config& c, std::string_view key, bool fallback = false) {
  const auto* v = find(c, key);
  return v && v->is_bool() ? v->get_bool() : fallback;
}

// ---- checks several plugins share ----

/// What a path names on this host, found without opening it (a FIFO, a terminal or a device is
/// never read, so a check cannot block).
enum class PathKind {
  missing,       ///< nothing there
  file,          ///< a regular file (after symbolic links)
  folder,        ///< a folder (after symbolic links)
  other,         ///< a FIFO, a socket, a device: `what` says which
  unreachable,   ///< a symbolic link loop, a folder it may not look in, ...: `what` says why
};
struct PathInfo {
  PathKind kind = PathKind::missing;
  std::string what;  ///< for messages: "a FIFO", "a character device", "a symbolic link loop", ...
};
PathInfo look_at(const std::string& path);

/// A control character in a path (a NUL cuts it short for the system; an escape sequence reaches
/// terminals): nullopt when there is none, otherwise a description such as "a NUL character".
std::optional<std::string> control_character_in(std::string_view path);

/// Checks the path in config key `key` before anything reads it: no control characters
/// (CODE-invalid-path), and it names `want` (PathKind::file or PathKind::folder). Missing:
/// CODE-missing "does not exist" (unless `may_be_absent`), with `missing_hint`; something else:
/// CODE-not-a-file / CODE-not-a-folder "is not a regular file (it is a FIFO)"; unreachable:
/// CODE-unreadable with the reason. `code` is the diagnostic code stem, e.g. "linux-boot.kernel".
/// Returns true when the path names what was wanted.
bool check_path(const Config& c, const Context& ctx, Diagnostics& out, const std::string& code,
                const std::string& key, PathKind want, bool may_be_absent, const std::string& missing_hint);

/// Up to `n` bytes at `offset` of the regular file `path` (empty for anything else, read or not):
/// opened without blocking and without becoming a controlling terminal.
std::string read_bytes(const std::string& path, std::uint64_t offset, std::size_t n);

/// Checks the disk image named by config key `key`: it exists (unless `may_be_absent`), is a
/// regular file, and a raw image's size is a whole number of 512-byte sectors (VZ's rule for disk
/// images; a qcow2 file has its own layout).
/// Codes: PLUGIN.image-missing, PLUGIN.image-not-a-file, PLUGIN.size-not-multiple-of-512, at
/// path `key`. `missing_hint` says how to get the file. Returns true when the file exists.
bool check_disk_image(const Config& c, const Context& ctx, Diagnostics& out, const std::string& plugin,
                      const std::string& key, bool may_be_absent, const std::string& missing_hint);

/// The format of the disk image at `path`, from its header: "qcow2" (QEMU's copy-on-write format,
/// magic "QFI\xfb"), "raw" for anything else that can be read, "" when it cannot be read.
std::string image_format(const std::string& path);

/// Checks a disk device's "format" setting (raw | qcow2; left out: read from the image's header)
/// against the image at `image` (absolute; it may not exist yet) and the engine: a format that
/// contradicts the header (PLUGIN.format-mismatch), qcow2 on VZ, which takes raw images only
/// (PLUGIN.qcow2-not-on-vz, with the `vzkit convert` hint), and qcow2 with create_size, which
/// makes raw images (PLUGIN.create-size-raw-only).
void check_image_format(const Config& c, const Context& ctx, Diagnostics& out, const std::string& plugin,
                        const std::string& image);

/// The QEMU block driver for a disk device's image: its "format" setting, else the format its
/// header shows, else "raw".
std::string image_driver(const Config& c, const std::string& image);

// ---- files a plugin creates when materializing ----

/// Copies `from` to `to` unless `to` already exists (a per-VM copy of a template, made once and
/// never overwritten). The copy is written beside the target and renamed into place.
void copy_once(const std::string& from, const std::string& to);

/// Creates a sparse file of `size` bytes unless it exists.
void create_sparse_once(const std::string& path, std::uint64_t size);

namespace detail {

/// Appends text to a host sink.
void write(vzkit_type_sink* sink, std::string_view text);

/// The hooks' work, done once in the SDK library for every plugin: parse the request, call the
/// plugin's method, write its answer or, for any exception, VZKIT_STATUS_ERROR with the message.
vzkit_type_status run_validate(const Plugin& plugin, vzkit_type_string request, vzkit_type_sink* out);
vzkit_type_status run_assemble(const Plugin& plugin, vzkit_type_string request, vzkit_type_sink* out);
vzkit_type_status run_describe(const Plugin& plugin, vzkit_type_string request, vzkit_type_sink* out);
/// The entry's checks: the manifest parses as JSON and the plugin can be constructed (`instance`
/// builds it). Returns `descriptor`, or nullptr with the reason written to `error`.
const vzkit_type_plugin_descriptor* run_entry(const vzkit_type_plugin_descriptor* descriptor,
                                              const Plugin& (*instance)(), vzkit_type_sink* error);

/// Whether P declares its own validate(): if not, &P::validate is still the base's.
template <class P>
constexpr bool has_rules = !std::is_same_v<decltype(&P::validate), decltype(&Plugin::validate)>;

template <class P>
const Plugin& instance() {
  static const P plugin;
  return plugin;
}

template <class P>
vzkit_type_status on_validate(vzkit_type_string request, vzkit_type_sink* out) {
  if constexpr (!has_rules<P>) {
    write(out, "[]");  // no rules beyond the schema: nothing to parse
    return VZKIT_STATUS_OK;
  } else {
    return run_validate(instance<P>(), request, out);
  }
}

template <class P>
vzkit_type_status on_assemble(vzkit_type_string request, vzkit_type_sink* out) {
  return run_assemble(instance<P>(), request, out);
}

template <class P>
vzkit_type_status on_describe(vzkit_type_string request, vzkit_type_sink* out) {
  return run_describe(instance<P>(), request, out);
}

template <class P>
const vzkit_type_plugin_descriptor* entry(const char* manifest, vzkit_type_sink* error) {
  static const vzkit_type_plugin_descriptor descriptor{
      sizeof(vzkit_type_plugin_descriptor), VZKIT_ABI_MAJOR, VZKIT_ABI_MINOR, manifest,
      &on_validate<P>, &on_assemble<P>, &on_describe<P>};
  return run_entry(&descriptor, &instance<P>, error);
}

}  // namespace detail
}  // namespace vzkit::sdk

/// Registers CLASS (derived from vzkit::sdk::Plugin) with its manifest (JSON text with static
/// storage duration) as this shared library's plugin.
#define VZKIT_PLUGIN(CLASS, MANIFEST)                                                             \
  extern "C" VZKIT_PLUGIN_EXPORT const vzkit_type_plugin_descriptor* vzkit_plugin_entry(         \
      const vzkit_type_host_info*, vzkit_type_sink* error) {                                      \
    return ::vzkit::sdk::detail::entry<CLASS>(MANIFEST, error);                                   \
  }
