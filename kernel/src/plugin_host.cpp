#include <vzkit/kernel/log.hpp>
#include <vzkit/kernel/plugin_host.hpp>
#include <vzkit/kernel/version.hpp>
#include <vzkit/plugin.h>

#include "plugin_guard.hpp"
#include "plugin_load.hpp"
#include "schema_check.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/json.hpp>
#include <valijson/schema.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace vzkit::kernel {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

/// A host-owned sink with a cap: past `cap` bytes, the rest is dropped and `overflow` set. It
/// never throws into the plugin (an allocation failure is recorded as `failed`).
struct CappedSink {
  explicit CappedSink(std::size_t limit) : cap(limit) {}
  std::string text;
  std::size_t cap;
  bool overflow = false;
  bool failed = false;
  vzkit_type_sink sink{sizeof(vzkit_type_sink), this, &CappedSink::append};

  static void append(void* state, const char* data, std::size_t size) noexcept {
    auto* self = static_cast<CappedSink*>(state);
    if (!self || !data || size == 0) return;
    try {
      const std::size_t room = self->cap - std::min(self->cap, self->text.size());
      if (size > room) self->overflow = true;
      self->text.append(data, std::min(size, room));
    } catch (...) {
      self->failed = true;
    }
  }
};

std::vector<std::string> string_list(const json::object& o, const char* key) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return out;
  if (v->is_string()) return {std::string(v->get_string())};
  if (!v->is_array()) throw std::invalid_argument(std::string("'") + key + "' must be a string or an array of strings");
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) throw std::invalid_argument(std::string("'") + key + "' must hold strings");
    out.emplace_back(e.get_string());
  }
  return out;
}

std::vector<Requirement> requirement_list(const json::object& o, const char* key) {
  std::vector<Requirement> out;
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return out;
  if (!v->is_array()) throw std::invalid_argument(std::string("'") + key + "' must be an array");
  for (const auto& e : v->get_array()) {
    if (e.is_string()) {
      out.push_back({std::string(e.get_string()), {}});
    } else if (e.is_object() && e.get_object().contains("plugin") && e.at("plugin").is_string()) {
      Requirement r{std::string(e.at("plugin").get_string()), {}};
      if (const auto* w = e.get_object().if_contains("when")) {
        if (!w->is_object()) throw std::invalid_argument(std::string("'") + key + "[].when' must be an object");
        r.when = w->get_object();
      }
      out.push_back(std::move(r));
    } else {
      throw std::invalid_argument(std::string("'") + key + "' entries must be a plugin name or {\"plugin\", \"when\"}");
    }
  }
  return out;
}


bool is_plugin_file(const fs::path& p) {
  const auto ext = p.extension().string();
  return ext == ".so" || ext == ".dylib" || ext == ".dll";
}

/// What identifies a version of a file: it is scanned again when any of these change.
struct Identity {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const Identity&) const = default;
};

std::optional<Identity> identity_of(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::nullopt;
#ifdef __APPLE__
  const auto& t = st.st_mtimespec;
#else
  const auto& t = st.st_mtim;
#endif
  return Identity{static_cast<std::uint64_t>(st.st_size), static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec};
}

// The plugins of this process: one LoadedPlugin per file version, whatever the number of hosts
// that ask (plugins are never unloaded, so neither are these).
struct Registry {
  std::mutex mutex;
  std::map<fs::path, std::pair<Identity, std::variant<const LoadedPlugin*, std::string>>> by_file;
};

Registry& registry() {
  static auto* r = new Registry();
  return *r;
}

/// Turns a scan result into a plugin, or the reason it is not one.
std::variant<const LoadedPlugin*, std::string> make_plugin(const detail::ScanResult& r, const std::string& origin) {
  if (!r.ok) return r.reason;
  try {
    Manifest m = r.parsed.is_object() ? parse_manifest(r.parsed) : parse_manifest(r.manifest);
    const std::uint64_t hash = r.parsed.is_object() ? r.hash : manifest_hash(r.manifest);
    return new LoadedPlugin(r.file, origin, std::move(m), hash, r.abi_major, r.abi_minor, r.has_describe);
  } catch (const std::exception& e) {
    return std::string("its manifest is invalid: ") + e.what();
  }
}

// ---- the registry cache on disk: what scans found, by file identity

constexpr int kCacheVersion = 2;

std::string cache_key() {
  return std::string("vzkit ") + kVersion + ", plugin ABI " + std::to_string(VZKIT_ABI_MAJOR) + "." +
         std::to_string(VZKIT_ABI_MINOR);
}

std::map<std::string, std::pair<Identity, detail::ScanResult>> read_cache(const fs::path& file) {
  std::map<std::string, std::pair<Identity, detail::ScanResult>> out;
  std::ifstream in(file, std::ios::binary | std::ios::ate);
  if (!in) return out;
  std::string text(static_cast<std::size_t>(std::max<std::streamoff>(0, in.tellg())), '\0');
  in.seekg(0);
  if (!in.read(text.data(), static_cast<std::streamsize>(text.size()))) return out;
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return out;
  auto& o = v.get_object();
  const auto* version = o.if_contains("version");
  const auto* key = o.if_contains("written_by");
  const auto* files = o.if_contains("files");
  if (!version || !version->is_int64() || version->get_int64() != kCacheVersion || !key || !key->is_string() ||
      key->get_string() != cache_key() || !files || !files->is_object())
    return out;  // another vzkit wrote it: scan again
  for (auto& kv : o["files"].get_object()) {
    if (!kv.value().is_object()) continue;
    auto& e = kv.value().get_object();
    auto num = [&](const char* k) -> std::optional<std::int64_t> {
      const auto* x = e.if_contains(k);
      if (x && x->is_int64()) return x->get_int64();
      if (x && x->is_uint64()) return static_cast<std::int64_t>(x->get_uint64());
      return std::nullopt;
    };
    auto str = [&](const char* k) {
      const auto* x = e.if_contains(k);
      return x && x->is_string() ? std::string(x->get_string()) : std::string();
    };
    const auto size = num("size"), mtime = num("mtime_ns");
    const auto* ok = e.if_contains("ok");
    if (!size || !mtime || !ok || !ok->is_bool()) continue;
    detail::ScanResult r;
    r.file = std::string(kv.key());
    r.ok = ok->get_bool();
    r.reason = str("reason");
    if (r.ok) {
      auto* m = e.if_contains("manifest");
      const std::string hash = str("manifest_hash");
      if (!m || !m->is_object() || hash.size() != 16) continue;
      r.parsed = std::move(*m);
      r.hash = std::strtoull(hash.c_str(), nullptr, 16);
    }
    r.abi_major = static_cast<unsigned>(num("abi_major").value_or(0));
    r.abi_minor = static_cast<unsigned>(num("abi_minor").value_or(0));
    const auto* describe = e.if_contains("describe");
    r.has_describe = describe && describe->is_bool() && describe->get_bool();
    out.emplace(std::string(kv.key()), std::make_pair(Identity{static_cast<std::uint64_t>(*size), *mtime}, std::move(r)));
  }
  return out;
}

void write_cache(const fs::path& file, const std::map<std::string, std::pair<Identity, detail::ScanResult>>& entries) {
  json::object files;
  for (const auto& [path, entry] : entries) {
    const auto& [id, r] = entry;
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;  // gone: forget it
    json::object e{{"size", id.size}, {"mtime_ns", id.mtime_ns}, {"ok", r.ok}};
    if (r.ok) {
      // Kept parsed, so a later run reads each manifest once; the hash stands for its text.
      char hash[17];
      std::snprintf(hash, sizeof hash, "%016llx",
                    static_cast<unsigned long long>(r.parsed.is_object() ? r.hash : manifest_hash(r.manifest)));
      e["manifest"] = r.parsed.is_object() ? r.parsed : json::parse(r.manifest);
      e["manifest_hash"] = hash;
      e["abi_major"] = r.abi_major;
      e["abi_minor"] = r.abi_minor;
      e["describe"] = r.has_describe;
    } else {
      e["reason"] = r.reason;
    }
    files[path] = std::move(e);
  }
  const json::object doc{{"version", kCacheVersion}, {"written_by", cache_key()}, {"files", std::move(files)}};
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  const fs::path tmp = file.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return;  // a cache that cannot be written is only slower
    out << json::serialize(doc);
    if (!out.flush()) {
      fs::remove(tmp, ec);
      return;
    }
  }
  fs::rename(tmp, file, ec);
  if (ec) fs::remove(tmp, ec);
}

}  // namespace

bool Manifest::supports(std::string_view engine) const {
  return std::find(engines.begin(), engines.end(), engine) != engines.end();
}

bool Manifest::saves_on(const std::string& engine) const {
  if (const auto it = save_restore_by_engine.find(engine); it != save_restore_by_engine.end()) return it->second;
  return save_restore_by_engine.empty() ? save_restore : true;
}

Manifest parse_manifest(std::string_view text) {
  json::value v;
  try {
    v = json::parse(text);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("not JSON: ") + e.what());
  }
  return parse_manifest(std::move(v));
}

std::uint64_t manifest_hash(std::string_view text) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

Manifest parse_manifest(json::value v) {
  if (!v.is_object()) throw std::invalid_argument("not a JSON object");
  const auto& o = v.get_object();
  auto str = [&](const char* key, bool required) -> std::string {
    const auto* x = o.if_contains(key);
    if (!x || x->is_null()) {
      if (required) throw std::invalid_argument(std::string("'") + key + "' is missing");
      return {};
    }
    if (!x->is_string()) throw std::invalid_argument(std::string("'") + key + "' must be a string");
    return std::string(x->get_string());
  };
  Manifest m;
  m.name = str("name", true);
  if (m.name.empty() || m.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    throw std::invalid_argument("'name' must be non-empty lower-case letters, digits and '-', got '" + m.name + "'");
  m.version = str("version", true);
  m.summary = str("summary", true);
  m.engines = string_list(o, "engines");
  for (const auto& e : m.engines)
    if (e != "vz" && e != "qemu") throw std::invalid_argument("unknown engine '" + e + "' in 'engines'");
  const auto* schema = o.if_contains("schema");
  if (!schema || !schema->is_object()) throw std::invalid_argument("'schema' must be a JSON Schema object");
  m.schema = std::move(v.get_object()["schema"]);
  m.slots = string_list(o, "slot");
  m.requires_plugins = requirement_list(o, "requires");
  m.conflicts = requirement_list(o, "conflicts");
  if (const auto* u = o.if_contains("unique"); u && !u->is_null()) {
    if (!u->is_array()) throw std::invalid_argument("'unique' must be an array");
    for (const auto& e : u->get_array()) {
      if (!e.is_object() || !e.get_object().contains("key") || !e.at("key").is_string())
        throw std::invalid_argument("'unique' entries must be {\"key\", \"scope\"}");
      UniqueKey k{std::string(e.at("key").get_string()), ""};
      if (const auto* s = e.get_object().if_contains("scope"); s && s->is_string()) k.scope = std::string(s->get_string());
      if (k.scope.empty()) k.scope = m.name + "." + k.key;
      m.unique.push_back(std::move(k));
    }
  }
  if (const auto* mi = o.if_contains("max_instances"); mi && !mi->is_null()) {
    if (!mi->is_int64() || mi->get_int64() < 1) throw std::invalid_argument("'max_instances' must be a positive integer");
    m.max_instances = static_cast<int>(mi->get_int64());
  }
  if (const auto* vz = o.if_contains("vz"); vz && vz->is_object()) {
    if (const auto* mm = vz->get_object().if_contains("min_macos"); mm && mm->is_string())
      m.min_macos = std::string(mm->get_string());
    m.vz_classes = string_list(vz->get_object(), "classes");
  }
  if (const auto* sr = o.if_contains("save_restore"); sr && sr->is_bool()) {
    m.save_restore = sr->get_bool();
  } else if (sr && sr->is_object()) {
    for (const auto& kv : sr->get_object()) {
      if (!kv.value().is_bool())
        throw std::invalid_argument("'save_restore." + std::string(kv.key()) + "' must be true or false");
      m.save_restore_by_engine[std::string(kv.key())] = kv.value().get_bool();
      if (!kv.value().get_bool()) m.save_restore = false;
    }
  } else if (sr && !sr->is_null()) {
    throw std::invalid_argument("'save_restore' must be true, false or {\"ENGINE\": true|false}");
  }
  if (const auto* n = o.if_contains("save_restore_notes"); n && n->is_object())
    for (const auto& kv : n->get_object())
      if (kv.value().is_string()) m.save_restore_notes[std::string(kv.key())] = std::string(kv.value().get_string());
  if (const auto* n = o.if_contains("engine_notes"); n && n->is_object())
    for (const auto& kv : n->get_object())
      if (kv.value().is_string()) m.engine_notes[std::string(kv.key())] = std::string(kv.value().get_string());
  return m;
}

LoadedPlugin::LoadedPlugin(fs::path file, std::string origin, Manifest manifest, std::uint64_t hash,
                           unsigned abi_major, unsigned abi_minor, bool has_describe)
    : m_file(std::move(file)),
      m_origin(std::move(origin)),
      m_manifest(std::move(manifest)),
      m_manifest_hash(hash),
      m_abi_major(abi_major),
      m_abi_minor(abi_minor),
      m_has_describe(has_describe) {}

LoadedPlugin::~LoadedPlugin() = default;

const valijson::Schema& LoadedPlugin::compiled_schema() const {
  std::lock_guard lock(m_mutex);
  if (!m_schema) m_schema = detail::compile(m_manifest.schema);  // the scan compiled it once already
  return *m_schema;
}

bool LoadedPlugin::is_loaded() const {
  std::lock_guard lock(m_mutex);
  return m_descriptor != nullptr;
}

void LoadedPlugin::load() const { (void)descriptor(); }

const vzkit_type_plugin_descriptor* LoadedPlugin::descriptor() const {
  std::lock_guard lock(m_mutex);
  if (m_descriptor) return m_descriptor;
  log_debug("loading plugin '" + name() + "' from " + m_file.string());
  auto opened = detail::open_plugin(m_file);
  if (auto* reason = std::get_if<std::string>(&opened))
    throw std::runtime_error("plugin '" + name() + "' (" + m_file.string() + ") cannot be loaded: " + *reason);
  const auto* d = std::get<const vzkit_type_plugin_descriptor*>(opened);
  if (m_manifest_hash != manifest_hash(d->manifest_json))
    throw std::runtime_error("plugin '" + name() + "' (" + m_file.string() +
                             ") no longer has the manifest it was scanned with; run the command again");
  m_descriptor = d;
  return d;
}

namespace {

std::string call_text(const LoadedPlugin& p, const vzkit_type_plugin_descriptor* d,
                      vzkit_type_status (*hook)(vzkit_type_string, vzkit_type_sink*), std::string_view text,
                      const char* what, std::size_t cap) {
  CappedSink out(cap);
  vzkit_type_status status;
  {
    const detail::HookGuard guard(p.name(), p.file(), what);
    try {
      status = hook({text.data(), text.size()}, &out.sink);
    } catch (...) {
      throw std::runtime_error("plugin '" + p.name() + "' threw out of its " + what + " hook");
    }
  }
  if (out.failed)
    throw std::runtime_error("plugin '" + p.name() + "': vzkit ran out of memory taking its " + what + " output");
  if (out.overflow)
    throw std::runtime_error("plugin '" + p.name() + "' wrote more than " + std::to_string(cap >> 20) +
                             " MiB from its " + what + " hook; that is refused");
  if (status != VZKIT_STATUS_OK)
    throw std::runtime_error(out.text.empty() ? std::string(what) + " failed (status " + std::to_string(status) + ")"
                                              : out.text);
  return out.text;
}

}  // namespace

json::array LoadedPlugin::validate(const json::value& request) const { return validate_text(json::serialize(request)); }

json::array LoadedPlugin::validate_text(std::string_view request) const {
  const auto* d = descriptor();
  auto text = call_text(*this, d, d->on_validate, request, "validate", detail::kMaxTextBytes);
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw std::runtime_error("plugin '" + name() + "' returned diagnostics that are not JSON");
  if (!v.is_array()) throw std::runtime_error("plugin '" + name() + "' returned diagnostics that are not an array");
  return std::move(v.get_array());
}

json::value LoadedPlugin::assemble(const json::value& request, json::storage_ptr storage) const {
  return assemble_text(json::serialize(request), std::move(storage));
}

json::value LoadedPlugin::assemble_text(std::string_view request, json::storage_ptr storage) const {
  const auto* d = descriptor();
  auto text = call_text(*this, d, d->on_assemble, request, "assemble", detail::kMaxFragmentBytes);
  json::error_code ec;
  json::value v = json::parse(text, ec, std::move(storage));
  if (ec) throw std::runtime_error("plugin '" + name() + "' returned a plan fragment that is not JSON");
  return v;
}

std::optional<std::string> LoadedPlugin::describe(const json::value& request) const {
  if (!m_has_describe) return std::nullopt;
  const auto* d = descriptor();
  return call_text(*this, d, d->on_describe, json::serialize(request), "describe", detail::kMaxTextBytes);
}

fs::path vzkit_home() {
  if (const char* h = std::getenv("VZKIT_HOME"); h && *h) return h;
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".vzkit";
  return fs::path(".vzkit");
}

std::vector<SearchEntry> plugin_search_path(const SearchOptions& options) {
  std::vector<SearchEntry> out;
  for (const auto& p : options.plugin_paths) out.push_back({p, "--plugin-path"});
  if (options.use_environment)
    if (const char* env = std::getenv("VZKIT_PLUGIN_PATH"); env && *env) {
      std::string s = env;
      std::size_t start = 0;
      while (start <= s.size()) {
        auto end = s.find(':', start);
        if (end == std::string::npos) end = s.size();
        if (end > start) out.push_back({s.substr(start, end - start), "VZKIT_PLUGIN_PATH"});
        start = end + 1;
      }
    }
  if (options.use_installed) {
    std::error_code ec;
    auto exe = boost::dll::program_location(ec);
    if (!ec) out.push_back({(exe.parent_path().parent_path() / "lib" / "vzkit" / "plugins").lexically_normal(),
                            "installed beside the binary"});
  }
  if (options.use_user_folder) out.push_back({vzkit_home() / "plugins", "user folder"});
  return out;
}

void PluginHost::load(const std::vector<SearchEntry>& path, const LoadOptions& options) {
  struct Candidate {
    fs::path given, canonical;
    std::string origin;
  };
  std::vector<Candidate> candidates;
  auto add = [&](const fs::path& file, const std::string& origin) {
    std::error_code ec;
    fs::path canonical = fs::canonical(file, ec);
    if (ec) {
      m_errors.push_back({file, "cannot open: " + ec.message()});
      return;
    }
    candidates.push_back({file, std::move(canonical), origin});
  };
  for (const auto& entry : path) {
    std::error_code ec;
    if (fs::is_directory(entry.path, ec)) {
      std::vector<fs::path> files;
      for (const auto& f : fs::directory_iterator(entry.path, ec))
        if (is_plugin_file(f.path())) files.push_back(f.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) add(f, entry.origin);
    } else if (fs::exists(entry.path, ec)) {
      add(entry.path, entry.origin);
    } else if (entry.origin == "--plugin-path") {
      m_errors.push_back({entry.path, "no such file or folder"});
    }
  }

  // What each file offers: known to this process, in the registry cache, or scanned now.
  auto& reg = registry();
  std::lock_guard lock(reg.mutex);
  std::vector<std::optional<std::variant<const LoadedPlugin*, std::string>>> results(candidates.size());
  std::vector<std::optional<Identity>> ids(candidates.size());
  const fs::path cache_file = !options.use_cache         ? fs::path()
                              : options.cache_file.empty() ? vzkit_home() / "cache" / "plugin-registry.json"
                                                           : options.cache_file;
  std::optional<std::map<std::string, std::pair<Identity, detail::ScanResult>>> cache;
  std::vector<std::size_t> to_scan;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    ids[i] = identity_of(c.canonical);
    if (!ids[i]) {
      results[i] = std::string("cannot read it");
      continue;
    }
    // The same file earlier on the path: it gets that entry's result (below).
    if (std::any_of(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(i),
                    [&](const Candidate& earlier) { return earlier.canonical == c.canonical; }))
      continue;
    if (auto it = reg.by_file.find(c.canonical); it != reg.by_file.end() && it->second.first == *ids[i]) {
      results[i] = it->second.second;
      continue;
    }
    if (!cache_file.empty() && !cache) cache = read_cache(cache_file);
    if (cache)
      if (auto it = cache->find(c.canonical.string()); it != cache->end() && it->second.first == *ids[i]) {
        results[i] = make_plugin(it->second.second, c.origin);
        continue;
      }
    to_scan.push_back(i);
  }
  if (!to_scan.empty()) {
    std::vector<fs::path> files;
    for (std::size_t i : to_scan) files.push_back(candidates[i].canonical);
    const fs::path scanner = options.isolate ? (options.scanner.empty() ? detail::find_scanner() : options.scanner) : fs::path();
    std::vector<detail::ScanResult> scanned;
    if (!scanner.empty()) {
      log_debug("scanning " + std::to_string(files.size()) + " plugin file(s) with " + scanner.string());
      scanned = detail::scan_isolated(files, scanner,
                                      options.limit.count() > 0 ? options.limit : detail::scan_time_limit());
    } else {
      for (const auto& f : files) {
        log_debug("loading plugin file " + f.string() + " in this process (no plugin scanner)");
        scanned.push_back(detail::scan_here(f));
      }
    }
    for (std::size_t k = 0; k < to_scan.size(); ++k) {
      const std::size_t i = to_scan[k];
      results[i] = make_plugin(scanned[k], candidates[i].origin);
    }
    if (!cache_file.empty()) {
      if (!cache) cache.emplace();
      for (std::size_t k = 0; k < to_scan.size(); ++k)
        (*cache)[candidates[to_scan[k]].canonical.string()] = {*ids[to_scan[k]], scanned[k]};
      write_cache(cache_file, *cache);
    }
  }
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto& c = candidates[i];
    if (!results[i]) {  // the same file earlier in this list: take its result
      for (std::size_t j = 0; j < i; ++j)
        if (candidates[j].canonical == c.canonical && results[j]) results[i] = results[j];
      if (!results[i]) continue;
    }
    if (ids[i]) reg.by_file[c.canonical] = {*ids[i], *results[i]};
    add_result(c.given, *results[i]);
  }
}

void PluginHost::add_result(const fs::path& file, const std::variant<const LoadedPlugin*, std::string>& result) {
  if (const auto* reason = std::get_if<std::string>(&result)) {
    m_errors.push_back({file, *reason});
    return;
  }
  const LoadedPlugin* p = std::get<const LoadedPlugin*>(result);
  if (std::find(m_plugins.begin(), m_plugins.end(), p) != m_plugins.end()) return;  // same file twice on the path
  if (const auto* other = find(p->name())) {
    m_errors.push_back({file, "its name '" + p->name() + "' is already taken by " + other->file().string() +
                                  " (the earlier one on the search path wins; rename or remove one)"});
    return;
  }
  m_plugins.push_back(p);
}

void PluginHost::load_file(const fs::path& file, const std::string& origin, const LoadOptions& options) {
  load({{file, origin}}, options);
}

void PluginHost::load_here(const fs::path& file, const std::string& origin) {
  std::error_code ec;
  const fs::path canonical = fs::canonical(file, ec);
  if (ec) {
    m_errors.push_back({file, "cannot open: " + ec.message()});
    return;
  }
  const auto scanned = detail::scan_here(canonical);
  auto result = make_plugin(scanned, origin);
  if (auto* p = std::get_if<const LoadedPlugin*>(&result)) (*p)->load();  // already in this process: keep it so
  add_result(file, result);
}

const LoadedPlugin* PluginHost::find(std::string_view name) const {
  for (const auto* p : m_plugins)
    if (p->name() == name) return p;
  return nullptr;
}

}  // namespace vzkit::kernel
