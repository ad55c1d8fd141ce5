// The C++ helper layer over the plugin ABI (plugin.h). A plugin author writes one class derived
// from vzkit::sdk::Plugin and one registration line:
//
//   class Entropy final : public vzkit::sdk::Plugin {
//     void assemble_qemu(const Config& c, const Context& ctx, vzkit::qemu::Machine& m) const override;
//   };
//   VZKIT_PLUGIN(Entropy, kManifest)
//
// Everything here is compiled into the plugin; only plain C and JSON text cross to the host.
// Exceptions thrown by the plugin's methods are caught here and reported as errors.
#pragma once

#include <vzkit/plugin.h>
#include <vzkit/qemu/machine.hpp>
#include <vzkit/vz/configuration.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <filesystem>
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

  /// An absolute path for a path from the spec (relative to the spec's folder).
  std::string resolve(std::string_view p) const {
    std::filesystem::path path(p);
    if (path.is_absolute() || spec_dir.empty()) return path.lexically_normal().string();
    return (std::filesystem::path(spec_dir) / path).lexically_normal().string();
  }
  /// The device's position in the spec's device list (from `path`), for unique engine ids.
  std::size_t index() const {
    auto open = path.rfind('[');
    return open == std::string::npos ? 0 : std::stoul(path.substr(open + 1));
  }
  /// An engine object id unique to this device: `prefix` + index ("disk3").
  std::string id(std::string_view prefix) const { return std::string(prefix) + std::to_string(index()); }
  /// An absolute path inside the VM's bundle folder.
  std::string in_bundle(std::string_view name) const {
    return (std::filesystem::path(bundle_dir.empty() ? spec_dir : bundle_dir) / name).lexically_normal().string();
  }

  static Context from_json(const json::value& v) {
    Context c;
    if (!v.is_object()) return c;
    const auto& o = v.get_object();
    auto s = [&](const char* k, std::string& out) {
      if (auto* p = o.if_contains(k); p && p->is_string()) out = std::string(p->get_string());
    };
    auto u = [&](const char* k, std::uint64_t& out) {
      if (auto* p = o.if_contains(k); p && (p->is_uint64() || p->is_int64())) out = p->to_number<std::uint64_t>();
    };
    s("engine", c.engine);
    s("vm_name", c.vm_name);
    s("spec_dir", c.spec_dir);
    s("bundle_dir", c.bundle_dir);
    s("path", c.path);
    s("arch", c.arch);
    u("cpus", c.cpus);
    u("memory_bytes", c.memory_bytes);
    if (auto* p = o.if_contains("materialize"); p && p->is_bool()) c.materialize = p->get_bool();
    return c;
  }
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
           std::string_view hint) {
    json::object d{{"severity", severity}, {"code", code}, {"path", path}, {"message", message}};
    if (!hint.empty()) d["hint"] = hint;
    m_items.push_back(std::move(d));
  }
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

/// Checks the disk image named by config key `key`: it exists (unless `may_be_absent`), is a
/// regular file, and its size is a whole number of 512-byte sectors (VZ's rule for disk images).
/// Codes: PLUGIN.image-missing, PLUGIN.image-not-a-file, PLUGIN.size-not-multiple-of-512, at
/// path `key`. `missing_hint` says how to get the file. Returns true when the file exists.
inline bool check_disk_image(const Config& c, const Context& ctx, Diagnostics& out, const std::string& plugin,
                             const std::string& key, bool may_be_absent, const std::string& missing_hint) {
  namespace fs = std::filesystem;
  const std::string given = get_string(c, key);
  const std::string image = ctx.resolve(given);
  std::error_code ec;
  const auto status = fs::status(image, ec);
  if (!fs::exists(status)) {
    if (!may_be_absent)
      out.error(plugin + ".image-missing", key, "image '" + given + "' does not exist",
                "looked for " + image + " (relative paths start at the spec's folder); " + missing_hint);
    return false;
  }
  if (!fs::is_regular_file(status)) {
    out.error(plugin + ".image-not-a-file", key, "'" + given + "' is not a regular file",
              "point " + key + " at an image file");
  } else if (const auto bytes = fs::file_size(image, ec); !ec && bytes % 512 != 0) {
    out.error(plugin + ".size-not-multiple-of-512", key,
              "image '" + given + "' is " + std::to_string(bytes) + " bytes, not a multiple of 512",
              "grow it to whole sectors, e.g. `truncate -s %512 " + given + "`");
  }
  return true;
}

// ---- files a plugin creates when materializing ----

/// Copies `from` to `to` unless `to` already exists (a per-VM copy of a template, made once and
/// never overwritten). The copy is written beside the target and renamed into place.
inline void copy_once(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  if (fs::exists(to)) return;
  fs::create_directories(fs::path(to).parent_path());
  const std::string tmp = to + ".tmp";
  std::error_code ec;
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Failure("cannot copy '" + from + "' to '" + to + "': " + ec.message());
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add, ec);
  fs::rename(tmp, to, ec);
  if (ec) throw Failure("cannot create '" + to + "': " + ec.message());
}

/// Creates a sparse file of `size` bytes unless it exists.
inline void create_sparse_once(const std::string& path, std::uint64_t size) {
  namespace fs = std::filesystem;
  if (fs::exists(path)) return;
  fs::create_directories(fs::path(path).parent_path());
  const std::string tmp = path + ".tmp";
  { std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Failure("cannot create '" + path + "'");
    std::fclose(f); }
  std::error_code ec;
  fs::resize_file(tmp, size, ec);
  if (!ec) fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp);
    throw Failure("cannot create '" + path + "': " + ec.message());
  }
}

namespace detail {

inline void write(vzkit_type_sink* sink, std::string_view text) {
  if (sink && sink->write) sink->write(sink->host_state, text.data(), text.size());
}

/// Runs a hook body, turning every exception into VZKIT_STATUS_ERROR with its message.
template <class F>
vzkit_type_status guarded(vzkit_type_sink* out, F&& body) {
  try {
    write(out, body());
    return VZKIT_STATUS_OK;
  } catch (const std::exception& e) {
    write(out, e.what());
  } catch (...) {
    write(out, "unknown exception");
  }
  return VZKIT_STATUS_ERROR;
}

/// Parses a request into `storage` (a per-call arena: everything a hook builds from it is freed
/// at once when the call returns).
inline json::object parse_request(vzkit_type_string request, json::storage_ptr storage = {}) {
  auto v = json::parse(std::string_view(request.data, request.size), std::move(storage));
  if (!v.is_object()) throw Failure("request is not a JSON object");
  return std::move(v.get_object());
}

/// Whether P declares its own validate(): if not, &P::validate is still the base's.
template <class P>
constexpr bool has_rules = !std::is_same_v<decltype(&P::validate), decltype(&Plugin::validate)>;

inline const Config& config_of(const json::object& request) {
  static const Config empty;
  const auto* c = request.if_contains("config");
  return c && c->is_object() ? c->get_object() : empty;
}

template <class P>
const P& instance() {
  static const P plugin;
  return plugin;
}

template <class P>
vzkit_type_status on_validate(vzkit_type_string request, vzkit_type_sink* out) {
  if constexpr (!has_rules<P>) {
    write(out, "[]");  // no rules beyond the schema: nothing to parse
    return VZKIT_STATUS_OK;
  }
  return guarded(out, [&] {
    unsigned char first_block[16384];  // typical requests fit: no heap allocation at all
    json::monotonic_resource arena(first_block, sizeof first_block);
    auto req = parse_request(request, &arena);
    Diagnostics d;
    const json::value* ctx = req.if_contains("context");
    instance<P>().validate(config_of(req), Context::from_json(ctx ? *ctx : json::value()), d);
    return json::serialize(d.items());
  });
}

template <class P>
vzkit_type_status on_assemble(vzkit_type_string request, vzkit_type_sink* out) {
  return guarded(out, [&] {
    unsigned char first_block[16384];  // typical requests fit: no heap allocation at all
    json::monotonic_resource arena(first_block, sizeof first_block);
    auto req = parse_request(request, &arena);
    const json::value* ctx_v = req.if_contains("context");
    const Context ctx = Context::from_json(ctx_v ? *ctx_v : json::value());
    const json::value* base = req.if_contains("base");
    const json::value empty = json::object();
    const std::string engine = req.contains("engine") ? std::string(req.at("engine").as_string()) : "";
    if (engine == "vz") {
      auto plan = json::value_to<vz::Configuration>(base ? *base : empty);
      instance<P>().assemble_vz(config_of(req), ctx, plan);
      return json::serialize(json::value_from(plan, &arena));
    }
    if (engine == "qemu") {
      auto plan = json::value_to<qemu::Machine>(base ? *base : empty);
      instance<P>().assemble_qemu(config_of(req), ctx, plan);
      return json::serialize(json::value_from(plan, &arena));
    }
    throw Failure("unknown engine '" + engine + "'");
  });
}

template <class P>
vzkit_type_status on_describe(vzkit_type_string request, vzkit_type_sink* out) {
  return guarded(out, [&] { return instance<P>().describe(parse_request(request)); });
}

template <class P>
const vzkit_type_plugin_descriptor* entry(const char* manifest, vzkit_type_sink* error) {
  static const vzkit_type_plugin_descriptor descriptor{
      sizeof(vzkit_type_plugin_descriptor), VZKIT_ABI_MAJOR, VZKIT_ABI_MINOR, manifest,
      &on_validate<P>, &on_assemble<P>, &on_describe<P>};
  try {
    (void)json::parse(manifest);  // a manifest that is not JSON is a build mistake: refuse to load
    (void)instance<P>();
    return &descriptor;
  } catch (const std::exception& e) {
    write(error, e.what());
  } catch (...) {
    write(error, "unknown exception while starting the plugin");
  }
  return nullptr;
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
