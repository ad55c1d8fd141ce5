// The C++ helper layer's compiled half (sdk/include/vzkit/plugin.hpp): request parsing, the hook
// bodies every plugin shares and the helpers for files. Linked into each plugin from
// libvzkit_sdk.a, with hidden visibility, so nothing here is exported from the plugin.
#include <vzkit/plugin.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace vzkit::sdk {

namespace fs = std::filesystem;

std::string Context::resolve(std::string_view p) const {
  fs::path path(p);
  if (path.is_absolute() || spec_dir.empty()) return path.lexically_normal().string();
  return (fs::path(spec_dir) / path).lexically_normal().string();
}

std::size_t Context::index() const {
  const auto open = path.rfind('[');
  if (open == std::string::npos) return 0;
  std::size_t n = 0;
  for (std::size_t i = open + 1; i < path.size() && path[i] >= '0' && path[i] <= '9'; ++i)
    n = n * 10 + static_cast<std::size_t>(path[i] - '0');
  return n;
}

std::string Context::id(std::string_view prefix) const { return std::string(prefix) + std::to_string(index()); }

std::string Context::in_bundle(std::string_view name) const {
  return (fs::path(bundle_dir.empty() ? spec_dir : bundle_dir) / name).lexically_normal().string();
}

Context Context::from_json(const json::value& v) {
  Context c;
  if (!v.is_object()) return c;
  const auto& o = v.get_object();
  auto s = [&](const char* k, std::string& out) {
    if (auto* p = o.if_contains(k); p && p->is_string()) out = std::string(p->get_string());
  };
  auto u = [&](const char* k, std::uint64_t& out) {
    if (auto* p = o.if_contains(k); p && (p->is_uint64() || (p->is_int64() && p->get_int64() >= 0)))
      out = p->to_number<std::uint64_t>();
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
  if (auto* p = o.if_contains("host"); p && p->is_object()) c.host = p->get_object();
  return c;
}

void Diagnostics::add(std::string_view severity, std::string_view code, std::string_view path,
                      std::string_view message, std::string_view hint) {
  json::object d{{"severity", severity}, {"code", code}, {"path", path}, {"message", message}};
  if (!hint.empty()) d["hint"] = hint;
  m_items.push_back(std::move(d));
}

PathInfo look_at(const std::string& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
    if (ec == std::errc::too_many_symbolic_link_levels) return {PathKind::unreachable, "a symbolic link loop"};
    return {PathKind::unreachable, ec.message()};
  }
  switch (st.type()) {
    case fs::file_type::not_found: return {PathKind::missing, "nothing"};
    case fs::file_type::regular: return {PathKind::file, "a regular file"};
    case fs::file_type::directory: return {PathKind::folder, "a folder"};
    case fs::file_type::fifo: return {PathKind::other, "a FIFO"};
    case fs::file_type::socket: return {PathKind::other, "a socket"};
    case fs::file_type::character: return {PathKind::other, "a character device"};
    case fs::file_type::block: return {PathKind::other, "a block device"};
    default: return {PathKind::other, "not a file"};
  }
}

std::optional<std::string> control_character_in(std::string_view path) {
  for (unsigned char c : path) {
    if (c == 0) return std::string("a NUL character");
    if (c < 0x20 || c == 0x7F) {
      static const char digits[] = "0123456789abcdef";
      return std::string("the control character \\x") + digits[c >> 4] + digits[c & 0xF];
    }
  }
  return std::nullopt;
}

namespace {
/// The path for messages: control characters shown, not sent.
std::string shown(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    if (c >= 0x20 && c != 0x7F) {
      out += static_cast<char>(c);
    } else {
      static const char digits[] = "0123456789abcdef";
      out += "\\x";
      out += digits[c >> 4];
      out += digits[c & 0xF];
    }
  }
  return out;
}
}  // namespace

bool check_path(const Config& c, const Context& ctx, Diagnostics& out, const std::string& code,
                const std::string& key, PathKind want, bool may_be_absent, const std::string& missing_hint) {
  const std::string given = get_string(c, key);
  if (const auto bad = control_character_in(given)) {
    out.error(code + "-invalid-path", key, "'" + shown(given) + "' holds " + *bad,
              "paths may not hold control characters; check how the spec was written");
    return false;
  }
  const std::string path = ctx.resolve(given);
  const PathInfo info = look_at(path);
  const char* noun = want == PathKind::folder ? "folder" : "file";
  if (info.kind == want) return true;
  if (info.kind == PathKind::missing) {
    if (!may_be_absent)
      out.error(code + "-missing", key, std::string(noun) + " '" + given + "' does not exist",
                "looked for " + path + " (relative paths start at the spec's folder)" +
                    (missing_hint.empty() ? std::string() : "; " + missing_hint));
    return false;
  }
  if (info.kind == PathKind::unreachable) {
    out.error(code + "-unreadable", key, "'" + given + "' cannot be looked at: " + info.what,
              "check the path (" + path + ")");
    return false;
  }
  out.error(code + (want == PathKind::folder ? "-not-a-folder" : "-not-a-file"), key,
            "'" + given + "' is not a " + (want == PathKind::folder ? "folder" : "regular file") + " (it is " +
                info.what + ")",
            std::string("point ") + key + " at a " + noun);
  return false;
}

std::string read_bytes(const std::string& path, std::uint64_t offset, std::size_t n) {
  if (look_at(path).kind != PathKind::file) return {};
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  std::string out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {  // still a file once opened
    out.resize(n);
    const ssize_t got = ::pread(fd, out.data(), n, static_cast<off_t>(offset));
    out.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  }
  ::close(fd);
  return out;
}

bool check_disk_image(const Config& c, const Context& ctx, Diagnostics& out, const std::string& plugin,
                      const std::string& key, bool may_be_absent, const std::string& missing_hint) {
  const std::string given = get_string(c, key);
  const std::string image = ctx.resolve(given);
  if (const auto bad = control_character_in(given)) {
    out.error(plugin + ".image-invalid-path", key, "'" + shown(given) + "' holds " + *bad,
              "paths may not hold control characters; check how the spec was written");
    return false;
  }
  const PathInfo info = look_at(image);
  if (info.kind == PathKind::missing) {
    if (!may_be_absent)
      out.error(plugin + ".image-missing", key, "image '" + given + "' does not exist",
                "looked for " + image + " (relative paths start at the spec's folder); " + missing_hint);
    return false;
  }
  std::error_code ec;
  if (info.kind == PathKind::unreachable) {
    out.error(plugin + ".image-unreadable", key, "'" + given + "' cannot be looked at: " + info.what,
              "check the path (" + image + ")");
  } else if (info.kind != PathKind::file) {
    out.error(plugin + ".image-not-a-file", key, "'" + given + "' is not a regular file (it is " + info.what + ")",
              "point " + key + " at an image file");
  } else if (const auto bytes = fs::file_size(image, ec); !ec && bytes % 512 != 0 && image_format(image) != "qcow2") {
    out.error(plugin + ".size-not-multiple-of-512", key,
              "image '" + given + "' is " + std::to_string(bytes) + " bytes, not a multiple of 512",
              "grow it to whole sectors, e.g. `truncate -s %512 " + given + "`");
  }
  return true;
}

std::string image_format(const std::string& path) {
  if (look_at(path).kind != PathKind::file) return {};
  std::error_code ec;
  if (fs::file_size(path, ec) == 0 && !ec) return "raw";
  const std::string head = read_bytes(path, 0, 4);
  if (head.empty()) return {};
  return head == std::string("QFI\xfb", 4) ? "qcow2" : "raw";
}

void check_image_format(const Config& c, const Context& ctx, Diagnostics& out, const std::string& plugin,
                        const std::string& image) {
  const std::string given = get_string(c, "path");
  const std::string set = get_string(c, "format", "");
  const std::string found = image_format(image);
  if (!set.empty() && !found.empty() && set != found) {
    out.error(plugin + ".format-mismatch", "format", "format is '" + set + "', but '" + given + "' is a " + found +
                  " image (its header says so)",
              "remove \"format\" to use what the header says, or point path at a " + set + " image");
    return;
  }
  const std::string format = set.empty() ? (found.empty() ? "raw" : found) : set;
  if (format == "qcow2" && c.contains("create_size"))
    out.error(plugin + ".create-size-raw-only", "create_size", "create_size makes a raw image, not qcow2",
              "remove \"format\", or make the qcow2 image yourself (`qemu-img create -f qcow2 " + given +
                  " 64G`) and remove create_size");
  if (format == "qcow2" && ctx.engine == "vz")
    out.error(plugin + ".qcow2-not-on-vz", set.empty() ? "path" : "format",
              "'" + given + "' is a qcow2 image; Virtualization.framework takes raw disk images only",
              "convert the VM's disks with `vzkit convert " + (ctx.vm_name.empty() ? std::string("NAME") : ctx.vm_name) +
                  " --format raw` (or `qemu-img convert -O raw " + given + " disk.raw`)");
}

std::string image_driver(const Config& c, const std::string& image) {
  if (const std::string set = get_string(c, "format", ""); !set.empty()) return set;
  const std::string found = image_format(image);
  return found.empty() ? "raw" : found;
}

void copy_once(const std::string& from, const std::string& to) {
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

void create_sparse_once(const std::string& path, std::uint64_t size) {
  if (fs::exists(path)) return;
  fs::create_directories(fs::path(path).parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Failure("cannot create '" + path + "'");
    std::fclose(f);
  }
  std::error_code ec;
  fs::resize_file(tmp, size, ec);
  if (!ec) fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp);
    throw Failure("cannot create '" + path + "': " + ec.message());
  }
}

namespace detail {

void write(vzkit_type_sink* sink, std::string_view text) {
  if (sink && sink->write) sink->write(sink->host_state, text.data(), text.size());
}

namespace {

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
json::object parse_request(vzkit_type_string request, json::storage_ptr storage = {}) {
  auto v = json::parse(std::string_view(request.data, request.size), std::move(storage));
  if (!v.is_object()) throw Failure("request is not a JSON object");
  return std::move(v.get_object());
}

const Config& config_of(const json::object& request) {
  static const Config empty;
  const auto* c = request.if_contains("config");
  return c && c->is_object() ? c->get_object() : empty;
}

Context context_of(const json::object& request) {
  const json::value* ctx = request.if_contains("context");
  return Context::from_json(ctx ? *ctx : json::value());
}

}  // namespace

vzkit_type_status run_validate(const Plugin& plugin, vzkit_type_string request, vzkit_type_sink* out) {
  return guarded(out, [&] {
    unsigned char first_block[16384];  // typical requests fit: no heap allocation at all
    json::monotonic_resource arena(first_block, sizeof first_block);
    auto req = parse_request(request, &arena);
    Diagnostics d;
    plugin.validate(config_of(req), context_of(req), d);
    return json::serialize(d.items());
  });
}

vzkit_type_status run_assemble(const Plugin& plugin, vzkit_type_string request, vzkit_type_sink* out) {
  return guarded(out, [&] {
    unsigned char first_block[16384];  // typical requests fit: no heap allocation at all
    json::monotonic_resource arena(first_block, sizeof first_block);
    auto req = parse_request(request, &arena);
    const Context ctx = context_of(req);
    const json::value* base = req.if_contains("base");
    const json::value empty = json::object();
    const json::value* engine_v = req.if_contains("engine");
    const std::string engine = engine_v && engine_v->is_string() ? std::string(engine_v->get_string()) : "";
    if (engine == "vz") {
      auto plan = json::value_to<vz::Configuration>(base ? *base : empty);
      plugin.assemble_vz(config_of(req), ctx, plan);
      return json::serialize(json::value_from(plan, &arena));
    }
    if (engine == "qemu") {
      auto plan = json::value_to<qemu::Machine>(base ? *base : empty);
      plugin.assemble_qemu(config_of(req), ctx, plan);
      return json::serialize(json::value_from(plan, &arena));
    }
    throw Failure("unknown engine '" + engine + "'");
  });
}

vzkit_type_status run_describe(const Plugin& plugin, vzkit_type_string request, vzkit_type_sink* out) {
  return guarded(out, [&] { return plugin.describe(parse_request(request)); });
}

const vzkit_type_plugin_descriptor* run_entry(const vzkit_type_plugin_descriptor* descriptor,
                                              const Plugin& (*instance)(), vzkit_type_sink* error) {
  try {
    (void)json::parse(descriptor->manifest_json);  // a manifest that is not JSON is a build mistake: refuse to load
    (void)instance();
    return descriptor;
  } catch (const std::exception& e) {
    write(error, e.what());
  } catch (...) {
    write(error, "unknown exception while starting the plugin");
  }
  return nullptr;
}

}  // namespace detail
}  // namespace vzkit::sdk
