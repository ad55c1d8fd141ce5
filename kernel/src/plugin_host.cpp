#include <vzkit/kernel/plugin_host.hpp>
#include <vzkit/kernel/version.hpp>
#include <vzkit/plugin.h>

#include "schema_check.hpp"

#define BOOST_DLL_USE_STD_FS
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <boost/json.hpp>
#include <valijson/schema.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace vzkit::kernel {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Size of the descriptor as ABI 1.0 defined it: everything up to and including on_assemble.
constexpr std::size_t kDescriptorSizeV1_0 =
    offsetof(vzkit_type_plugin_descriptor, on_assemble) + sizeof(vzkit_on_assemble);

void sink_append(void* state, const char* data, std::size_t size) {
  if (state && data) static_cast<std::string*>(state)->append(data, size);
}

struct StringSink {
  std::string text;
  vzkit_type_sink sink{sizeof(vzkit_type_sink), &text, &sink_append};
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

// Every loaded library stays loaded until the process exits; a file is loaded at most once,
// whatever the number of hosts that ask for it.
struct Registry {
  std::mutex mutex;
  std::map<fs::path, std::variant<const LoadedPlugin*, std::string>> by_file;
  std::vector<boost::dll::shared_library>* libraries = new std::vector<boost::dll::shared_library>();
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: plugins are never unloaded
  return *r;
}

bool is_plugin_file(const fs::path& p) {
  const auto ext = p.extension().string();
  return ext == ".so" || ext == ".dylib" || ext == ".dll";
}

// Loads and checks one file. Returns the plugin, or the reason it was refused.
std::variant<const LoadedPlugin*, std::string> load_one(const fs::path& file, const std::string& origin) {
  auto& reg = registry();
  boost::dll::shared_library lib;
  try {
    lib.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return std::string("not a loadable shared library: ") + e.what();
  }
  if (!lib.has(VZKIT_PLUGIN_ENTRY_SYMBOL)) {
    reg.libraries->push_back(std::move(lib));
    return std::string("no entry symbol '" VZKIT_PLUGIN_ENTRY_SYMBOL "': not a vzkit plugin");
  }
  auto entry = lib.get<const vzkit_type_plugin_descriptor*(const vzkit_type_host_info*, vzkit_type_sink*)>(
      VZKIT_PLUGIN_ENTRY_SYMBOL);
  reg.libraries->push_back(std::move(lib));

  const std::string version = kVersion;
  const vzkit_type_host_info info{sizeof(vzkit_type_host_info), VZKIT_ABI_MAJOR, VZKIT_ABI_MINOR,
                                  {version.data(), version.size()}};
  StringSink error;
  const vzkit_type_plugin_descriptor* d = nullptr;
  try {
    d = entry(&info, &error.sink);
  } catch (const std::exception& e) {
    return std::string("its entry threw an exception: ") + e.what();
  } catch (...) {
    return std::string("its entry threw an exception");
  }
  if (!d) return "its entry failed: " + (error.text.empty() ? std::string("no reason given") : error.text);
  if (d->struct_size < offsetof(vzkit_type_plugin_descriptor, abi_minor) + sizeof(d->abi_minor))
    return "its descriptor is too small (" + std::to_string(d->struct_size) + " bytes) to hold an ABI version";
  const std::string theirs = std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor);
  const std::string ours = std::to_string(VZKIT_ABI_MAJOR) + "." + std::to_string(VZKIT_ABI_MINOR);
  if (d->abi_major != VZKIT_ABI_MAJOR)
    return "built for plugin ABI " + theirs + ", but this vzkit speaks ABI " + ours +
           " (the major versions must match; rebuild the plugin against this vzkit's SDK)";
  if (d->abi_minor > VZKIT_ABI_MINOR)
    return "built for plugin ABI " + theirs + ", newer than this vzkit's ABI " + ours +
           " (upgrade vzkit, or build the plugin against an older SDK)";
  if (d->struct_size < kDescriptorSizeV1_0)
    return "its descriptor is " + std::to_string(d->struct_size) + " bytes, smaller than ABI 1.0's " +
           std::to_string(kDescriptorSizeV1_0);
  if (!d->manifest_json || !d->on_validate || !d->on_assemble) return "its descriptor lacks the manifest or a hook";

  Manifest manifest;
  try {
    manifest = parse_manifest(d->manifest_json);
  } catch (const std::exception& e) {
    return std::string("its manifest is invalid: ") + e.what();
  }
  std::unique_ptr<valijson::Schema> schema;
  try {
    schema = detail::compile(manifest.schema);
  } catch (const std::exception& e) {
    return "its config schema is not valid JSON Schema: " + std::string(e.what());
  }
  return new LoadedPlugin(file, origin, std::move(manifest), d, std::move(schema));  // never freed
}

}  // namespace

bool Manifest::supports(std::string_view engine) const {
  return std::find(engines.begin(), engines.end(), engine) != engines.end();
}

Manifest parse_manifest(std::string_view text) {
  json::value v;
  try {
    v = json::parse(text);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("not JSON: ") + e.what());
  }
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
  m.schema = *schema;
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
  if (const auto* sr = o.if_contains("save_restore"); sr && sr->is_bool()) m.save_restore = sr->get_bool();
  if (const auto* n = o.if_contains("engine_notes"); n && n->is_object())
    for (const auto& kv : n->get_object())
      if (kv.value().is_string()) m.engine_notes[std::string(kv.key())] = std::string(kv.value().get_string());
  m.raw = v;
  return m;
}

LoadedPlugin::LoadedPlugin(fs::path file, std::string origin, Manifest manifest,
                           const vzkit_type_plugin_descriptor* descriptor, std::unique_ptr<valijson::Schema> schema)
    : m_file(std::move(file)),
      m_origin(std::move(origin)),
      m_manifest(std::move(manifest)),
      m_descriptor(descriptor),
      m_schema(std::move(schema)) {}

LoadedPlugin::~LoadedPlugin() = default;

unsigned LoadedPlugin::abi_major() const { return m_descriptor->abi_major; }
unsigned LoadedPlugin::abi_minor() const { return m_descriptor->abi_minor; }

namespace {
std::string call_text(const LoadedPlugin& p, vzkit_type_status (*hook)(vzkit_type_string, vzkit_type_sink*),
                      std::string_view text, const char* what) {
  StringSink out;
  vzkit_type_status status;
  try {
    status = hook({text.data(), text.size()}, &out.sink);
  } catch (...) {
    throw std::runtime_error("plugin '" + p.name() + "' threw out of its " + what + " hook");
  }
  if (status != VZKIT_STATUS_OK)
    throw std::runtime_error(out.text.empty() ? std::string(what) + " failed" : out.text);
  return out.text;
}

std::string call(const LoadedPlugin& p, vzkit_type_status (*hook)(vzkit_type_string, vzkit_type_sink*),
                 const json::value& request, const char* what) {
  return call_text(p, hook, json::serialize(request), what);
}
}  // namespace

json::array LoadedPlugin::validate(const json::value& request) const {
  auto text = call(*this, m_descriptor->on_validate, request, "validate");
  json::value v;
  try {
    v = json::parse(text);
  } catch (const std::exception&) {
    throw std::runtime_error("plugin '" + name() + "' returned diagnostics that are not JSON");
  }
  if (!v.is_array()) throw std::runtime_error("plugin '" + name() + "' returned diagnostics that are not an array");
  return std::move(v.get_array());
}

json::value LoadedPlugin::assemble(const json::value& request, json::storage_ptr storage) const {
  return assemble_text(json::serialize(request), std::move(storage));
}

json::value LoadedPlugin::assemble_text(std::string_view request, json::storage_ptr storage) const {
  auto text = call_text(*this, m_descriptor->on_assemble, request, "assemble");
  try {
    return json::parse(text, std::move(storage));
  } catch (const std::exception&) {
    throw std::runtime_error("plugin '" + name() + "' returned a plan fragment that is not JSON");
  }
}

std::optional<std::string> LoadedPlugin::describe(const json::value& request) const {
  if (m_descriptor->struct_size < offsetof(vzkit_type_plugin_descriptor, on_describe) + sizeof(void*) ||
      !m_descriptor->on_describe)
    return std::nullopt;
  return call(*this, m_descriptor->on_describe, request, "describe");
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

void PluginHost::load(const std::vector<SearchEntry>& path) {
  for (const auto& entry : path) {
    std::error_code ec;
    if (fs::is_directory(entry.path, ec)) {
      std::vector<fs::path> files;
      for (const auto& f : fs::directory_iterator(entry.path, ec))
        if (is_plugin_file(f.path())) files.push_back(f.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) load_file(f, entry.origin);
    } else if (fs::exists(entry.path, ec)) {
      load_file(entry.path, entry.origin);
    } else if (entry.origin == "--plugin-path") {
      m_errors.push_back({entry.path, "no such file or folder"});
    }
  }
}

void PluginHost::load_file(const fs::path& file, const std::string& origin) {
  std::error_code ec;
  fs::path canonical = fs::canonical(file, ec);
  if (ec) {
    m_errors.push_back({file, "cannot open: " + ec.message()});
    return;
  }
  auto& reg = registry();
  std::variant<const LoadedPlugin*, std::string> result;
  {
    std::lock_guard lock(reg.mutex);
    auto it = reg.by_file.find(canonical);
    if (it == reg.by_file.end()) it = reg.by_file.emplace(canonical, load_one(canonical, origin)).first;
    result = it->second;
  }
  if (auto* reason = std::get_if<std::string>(&result)) {
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

const LoadedPlugin* PluginHost::find(std::string_view name) const {
  for (const auto* p : m_plugins)
    if (p->name() == name) return p;
  return nullptr;
}

}  // namespace vzkit::kernel
