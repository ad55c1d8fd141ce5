#include <vzkit/kernel/validate.hpp>
#include <vzkit/units.hpp>

#include "schema_check.hpp"

#include <boost/json.hpp>
#include <valijson/schema.hpp>

#include <algorithm>
#include <map>

namespace vzkit::kernel {

namespace json = boost::json;

namespace {

constexpr std::string_view kTopSchema = R"json({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "vzkit VM spec",
  "description": "A virtual machine composed of device plugins.",
  "type": "object",
  "additionalProperties": false,
  "required": ["name", "devices"],
  "properties": {
    "$schema": {"type": "string", "description": "Optional link to this schema, for editors."},
    "name": {
      "title": "Name",
      "description": "The VM's name: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters.",
      "type": "string",
      "maxLength": 64, "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
      "examples": ["debian", "macos-15"]
    },
    "cpus": {
      "title": "Virtual CPUs",
      "description": "Number of virtual CPUs. The engine checks it against the host's limits when the VM starts.",
      "type": "integer", "minimum": 1, "maximum": 256, "default": 2, "examples": [2, 4]
    },
    "memory": {
      "title": "Memory",
      "description": "Guest memory with a unit, a whole number of MiB, e.g. \"4GiB\" or \"512MiB\" (K/M/G/T are binary units).",
      "type": "string",
      "maxLength": 32, "pattern": "^[0-9]+(\\.[0-9]+)? ?(B|K|KiB|KB|M|MiB|MB|G|GiB|GB|T|TiB|TB)?$",
      "default": "2GiB", "examples": ["4GiB", "512MiB"]
    },
    "arch": {
      "title": "Guest architecture",
      "description": "CPU architecture of the guest. Default: aarch64 on VZ, the host's on QEMU.",
      "enum": ["x86_64", "aarch64"]
    },
    "devices": {
      "title": "Devices",
      "description": "The VM's devices; each entry names its plugin and carries that plugin's settings beside it.",
      "type": "array",
      "maxItems": 4096,
      "items": {
        "type": "object",
        "required": ["plugin"],
        "properties": {"plugin": {"type": "string", "description": "Name of the device plugin (see `vzkit plugins`)."}}
      }
    }
  }
})json";

const json::value& top_schema() {
  static const json::value v = json::parse(kTopSchema);
  return v;
}
const valijson::Schema& top_compiled() {
  static const auto s = detail::compile(top_schema());
  return *s;
}


/// The path of the first string or key under `v` that holds a NUL character, or "".
std::string nul_path(const json::value& v, const std::string& at) {
  if (v.is_string()) return v.get_string().find('\0') != json::string::npos ? at : std::string();
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      const std::string key(kv.key());
      const std::string here = detail::join_path(at, key);
      if (key.find('\0') != std::string::npos) return here;
      if (auto p = nul_path(kv.value(), here); !p.empty()) return p;
    }
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.get_array().size(); ++i)
      if (auto p = nul_path(v.get_array()[i], detail::join_path(at, i)); !p.empty()) return p;
  }
  return {};
}

bool when_matches(const json::object& when, const json::object& config) {
  for (const auto& kv : when) {
    const auto* v = config.if_contains(kv.key());
    if (!v || *v != kv.value()) return false;
  }
  return true;
}

std::string when_text(const json::object& when) {
  std::string s;
  for (const auto& kv : when) s += (s.empty() ? "" : ", ") + std::string(kv.key()) + " = " + json::serialize(kv.value());
  return s;
}

Diagnostic make(std::string code, const Spec& spec, std::string path, std::string plugin, std::string message,
                std::string hint = {}) {
  Diagnostic d;
  d.code = std::move(code);
  d.file = spec.file;
  d.path = std::move(path);
  d.plugin = std::move(plugin);
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

std::vector<std::string> plugin_names(const PluginHost& host) {
  std::vector<std::string> names;
  for (const auto* p : host.plugins()) names.push_back(p->name());
  return names;
}

}  // namespace

std::string host_arch() {
#if defined(__aarch64__) || defined(__arm64__)
  return "aarch64";
#else
  return "x86_64";
#endif
}

std::string effective_arch(const Spec& spec, std::string_view engine) {
  if (!spec.arch.empty()) return spec.arch;
  return engine == "vz" ? "aarch64" : host_arch();
}

namespace {

// The context keys that do not depend on the device.
json::object shared_context(const Spec& spec, std::string_view engine, const std::string& bundle_dir,
                            bool materialize, const json::object* host) {
  json::object c;
  if (engine.empty()) c["engine"] = nullptr;
  else c["engine"] = engine;
  c["vm_name"] = spec.name;
  c["spec_dir"] = spec.dir.string();
  c["bundle_dir"] = bundle_dir.empty() ? spec.dir.string() : bundle_dir;
  c["arch"] = effective_arch(spec, engine);
  c["cpus"] = spec.cpus;
  c["memory_bytes"] = spec.memory_bytes;
  c["materialize"] = materialize;
  if (host && !host->empty()) c["host"] = *host;
  return c;
}

}  // namespace

PluginContextText::PluginContextText(const Spec& spec, std::string_view engine, const std::string& bundle_dir,
                                     bool materialize, const json::object* host)
    : m_head(json::serialize(shared_context(spec, engine, bundle_dir, materialize, host))) {
  m_head.pop_back();  // the closing brace; the object is never empty (it has "engine")
}

void PluginContextText::append(std::string& out, const DeviceEntry& device) const {
  out += m_head;
  out += ",\"path\":";
  out += json::serialize(json::string_view(device.path));
  out += '}';
}

std::optional<Spec> validated(ParsedSpec parsed, const PluginHost& host, const ValidateOptions& options,
                              Diagnostics& all) {
  all.insert(all.end(), parsed.diagnostics.begin(), parsed.diagnostics.end());
  if (!parsed.spec) return std::nullopt;
  auto found = validate(*parsed.spec, host, options);
  all.insert(all.end(), found.begin(), found.end());
  if (has_errors(all)) return std::nullopt;
  return std::move(parsed.spec);
}

json::value spec_schema(const PluginHost& host) {
  json::value s = top_schema();
  json::array alternatives;
  for (const auto* p : host.plugins()) {
    json::value alt = p->manifest().schema;
    if (!alt.is_object()) continue;
    auto& o = alt.get_object();
    o.erase("$schema");
    if (!o.contains("title")) o["title"] = p->name();
    json::object props;
    props["plugin"] = json::object{{"const", p->name()}, {"description", p->manifest().summary}};
    if (const auto* existing = o.if_contains("properties"); existing && existing->is_object())
      for (const auto& kv : existing->get_object()) props[kv.key()] = kv.value();
    o["properties"] = std::move(props);
    json::array req{"plugin"};
    if (const auto* r = o.if_contains("required"); r && r->is_array())
      for (const auto& x : r->get_array()) req.push_back(x);
    o["required"] = std::move(req);
    alternatives.push_back(std::move(alt));
  }
  auto& items = s.at("properties").at("devices").at("items").as_object();
  items["oneOf"] = std::move(alternatives);
  return s;
}

Diagnostics validate(Spec& spec, const PluginHost& host, const ValidateOptions& options) {
  Diagnostics out;
  if (!options.engine.empty() && options.engine != "vz" && options.engine != "qemu") {
    out.push_back(make("engine.unknown", spec, "", "", "unknown engine '" + options.engine + "'",
                       "use --engine vz (Apple Virtualization.framework) or --engine qemu"));
    return out;
  }

  // Stage 1: the spec's own keys.
  detail::check(top_compiled(), top_schema(), spec.document, "", "", spec.file, out);
  if (!spec.document.is_object()) return out;
  // A device list that breaks its own rules (too many entries, not a list) is not looked into:
  // the later stages would only multiply what is already wrong.
  if (std::any_of(out.begin(), out.end(), [](const Diagnostic& d) {
        return d.severity == Severity::error && d.path == "devices";
      }))
    return out;
  detail::apply_defaults(top_schema(), spec.document);
  const auto& doc = spec.document.get_object();
  if (const auto* n = doc.if_contains("name"); n && n->is_string()) spec.name = std::string(n->get_string());
  if (const auto* c = doc.if_contains("cpus"); c && c->is_int64() && c->get_int64() > 0) spec.cpus = static_cast<std::uint64_t>(c->get_int64());
  if (const auto* a = doc.if_contains("arch"); a && a->is_string()) spec.arch = std::string(a->get_string());
  if (const auto* m = doc.if_contains("memory"); m && m->is_string()) {
    auto bytes = parse_size(m->get_string());
    if (!bytes) {
      out.push_back(make("spec.memory-size", spec, "memory", "", "cannot read '" + std::string(m->get_string()) + "' as a size",
                         "write a number with a unit, e.g. \"4GiB\" or \"512MiB\""));
    } else if (*bytes > (std::uint64_t{16} << 40)) {
      out.push_back(make("spec.memory-too-large", spec, "memory", "",
                         "must be at most 16 TiB, got " + format_size(*bytes), "check the unit"));
    } else if (*bytes == 0 || *bytes % (1u << 20) != 0) {
      out.push_back(make("spec.memory-granularity", spec, "memory", "",
                         "must be a whole, non-zero number of MiB, got " + std::to_string(*bytes) + " bytes",
                         "Virtualization.framework and QEMU size guest memory in MiB; try \"" +
                             vzkit::suggest_size(m->get_string(), 1u << 20, 64u << 20) + "\""));
    } else {
      spec.memory_bytes = *bytes;
    }
  }

  // Stage 2: each device against its plugin's schema.
  spec.devices.clear();
  std::vector<bool> schema_ok;
  const auto* devs = doc.if_contains("devices");
  if (devs && devs->is_array()) {
    auto& list = spec.document.get_object().at("devices").get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string path = detail::join_path("devices", i);
      if (!list[i].is_object()) continue;  // reported by stage 1
      const auto* pn = list[i].get_object().if_contains("plugin");
      if (!pn || !pn->is_string()) continue;  // reported by stage 1
      const std::string name(pn->get_string());
      const LoadedPlugin* plugin = host.find(name);
      if (!plugin) {
        std::string near = detail::closest(name, plugin_names(host));
        out.push_back(make("spec.unknown-plugin", spec, detail::join_path(path, std::string("plugin")), name,
                           "no plugin named '" + name + "' is loaded",
                           near.empty() ? "run `vzkit plugins` to list the loaded plugins, or add a folder with --plugin-path"
                                        : "did you mean '" + near + "'?"));
        continue;
      }
      json::value config = list[i].get_object();
      config.get_object().erase("plugin");
      if (const auto nul = nul_path(config, path); !nul.empty()) {
        out.push_back(make("spec.nul-character", spec, nul, name, "contains a NUL character (\\u0000)",
                           "remove it: no path, name or setting may hold one, and a path would be cut short there"));
        spec.devices.push_back({name, std::move(config.get_object()), path, i});
        schema_ok.push_back(false);
        continue;
      }
      bool ok = detail::check(plugin->compiled_schema(), plugin->manifest().schema, config, path, name, spec.file, out);
      if (ok) detail::apply_defaults(plugin->manifest().schema, config);
      spec.devices.push_back({name, std::move(config.get_object()), path, i});
      schema_ok.push_back(ok);
    }
  }

  // Stage 3: each plugin's own rules.
  if (options.run_plugin_rules) {
    const PluginContextText context(spec, options.engine, options.bundle_dir, false, &options.host_bounds);
    std::string request;  // {"config", "context"}, built as text
    for (std::size_t k = 0; k < spec.devices.size(); ++k) {
      if (!schema_ok[k]) continue;
      const auto& dev = spec.devices[k];
      const LoadedPlugin* plugin = host.find(dev.plugin);
      request = "{\"config\":";
      request += json::serialize(dev.config);
      request += ",\"context\":";
      context.append(request, dev);
      request += '}';
      json::array found;
      try {
        found = plugin->validate_text(request);
      } catch (const std::exception& e) {
        out.push_back(make("plugin.failed", spec, dev.path, dev.plugin, std::string("validation failed: ") + e.what(),
                           "this is a bug in the plugin; report it to its author"));
        continue;
      }
      for (const auto& item : found) {
        if (!item.is_object()) continue;
        const auto& o = item.get_object();
        auto s = [&](const char* key) {
          const auto* v = o.if_contains(key);
          return v && v->is_string() ? std::string(v->get_string()) : std::string();
        };
        Diagnostic d = make(s("code"), spec, dev.path, dev.plugin, s("message"), s("hint"));
        if (auto rel = s("path"); !rel.empty()) d.path = rel.front() == '[' ? dev.path + rel : dev.path + "." + rel;
        if (s("severity") == "warning") d.severity = Severity::warning;
        if (d.code.empty()) d.code = dev.plugin + ".invalid";
        out.push_back(std::move(d));
      }
    }
  }

  // Stage 4: rules across plugins, all from the manifests.
  std::map<std::string, const DeviceEntry*> slot_holder;
  std::map<std::string, int> instances;
  std::map<std::string, std::map<std::string, const DeviceEntry*>> unique_seen;
  auto present = [&](const std::string& name) {
    return std::any_of(spec.devices.begin(), spec.devices.end(), [&](const DeviceEntry& d) { return d.plugin == name; });
  };
  for (const auto& dev : spec.devices) {
    const Manifest& m = host.find(dev.plugin)->manifest();
    for (const auto& slot : m.slots) {
      auto [it, fresh] = slot_holder.emplace(slot, &dev);
      if (!fresh)
        out.push_back(make("cross.slot-taken", spec, dev.path, dev.plugin,
                           "a VM has one " + slot + ", and '" + it->second->plugin + "' at " + it->second->path +
                               " already provides it",
                           "remove one of the two devices"));
    }
    int count = ++instances[dev.plugin];
    if (m.max_instances && count == *m.max_instances + 1)
      out.push_back(make("cross.too-many", spec, dev.path, dev.plugin,
                         "at most " + std::to_string(*m.max_instances) + " '" + dev.plugin + "' device" +
                             (*m.max_instances == 1 ? " is" : "s are") + " allowed per VM",
                         "remove the extra entries"));
    for (const auto& r : m.requires_plugins)
      if (when_matches(r.when, dev.config) && !present(r.plugin))
        out.push_back(make("cross.requires", spec, dev.path, dev.plugin,
                           "needs a '" + r.plugin + "' device" + (r.when.empty() ? "" : " when " + when_text(r.when)) +
                               ", and the spec has none",
                           "add {\"plugin\": \"" + r.plugin + "\"} to devices (see `vzkit schema " + r.plugin + "`)"));
    // Once per device and conflicting plugin, however many of those the spec has (2,048 of
    // each made millions of diagnostics).
    for (const auto& c : m.conflicts) {
      if (!when_matches(c.when, dev.config)) continue;
      const DeviceEntry* first = nullptr;
      std::size_t count = 0;
      for (const auto& other : spec.devices)
        if (other.plugin == c.plugin && &other != &dev && count++ == 0) first = &other;
      if (first)
        out.push_back(make("cross.conflicts", spec, dev.path, dev.plugin,
                           "cannot be used together with '" + c.plugin + "' at " + first->path +
                               (count > 1 ? " (and " + std::to_string(count - 1) + " more)" : ""),
                           "remove one of the two devices"));
    }
    for (const auto& u : m.unique) {
      const auto* v = dev.config.if_contains(u.key);
      if (!v || v->is_null()) continue;
      const std::string key = json::serialize(*v);
      auto [it, fresh] = unique_seen[u.scope].emplace(key, &dev);
      if (!fresh)
        out.push_back(make("cross.duplicate", spec, detail::join_path(dev.path, u.key), dev.plugin,
                           u.key + " " + json::serialize(*v) + " is already used by " + it->second->path,
                           "each " + u.scope + " must be unique in a VM"));
    }
  }
  if (devs && devs->is_array() && !slot_holder.count("boot-loader") && !has_errors(out)) {
    std::string loaders;
    for (const auto* p : host.plugins())
      if (std::find(p->manifest().slots.begin(), p->manifest().slots.end(), "boot-loader") != p->manifest().slots.end())
        loaders += (loaders.empty() ? "" : ", ") + p->name();
    out.push_back(make("cross.missing-boot-loader", spec, "devices", "", "no device provides the boot loader",
                       "add one of: " + (loaders.empty() ? std::string("(no boot loader plugin is loaded)") : loaders)));
  }

  // Stage 5: engine admission.
  if (!options.engine.empty())
    for (const auto& dev : spec.devices) {
      const Manifest& m = host.find(dev.plugin)->manifest();
      if (m.supports(options.engine)) continue;
      std::string why;
      if (auto it = m.engine_notes.find(options.engine); it != m.engine_notes.end()) why = ": " + it->second;
      std::string engines;
      for (const auto& e : m.engines) engines += (engines.empty() ? "" : ", ") + e;
      out.push_back(make("engine.unsupported", spec, dev.path, dev.plugin,
                         "plugin '" + dev.plugin + "' does not run on the " + options.engine + " engine" + why,
                         engines.empty() ? "remove this device" : "remove this device, or use --engine " + engines));
    }

  // Stage 6: the host's bounds, when the engine reported them.
  const auto& hb = options.host_bounds;
  if (const auto* v = hb.if_contains("virtualization_supported"); v && v->is_bool() && !v->get_bool())
  {
    // A warning: planning stays possible on such a host; running is refused by the engine.
    auto d = make("engine.no-virtualization", spec, "", "",
                  "this host cannot run virtual machines with the " + options.engine + " engine",
                  "run it on a Mac with Apple silicon that can virtualize (a VM without nested virtualization "
                  "cannot)");
    d.severity = Severity::warning;
    out.push_back(std::move(d));
  }
  auto bounded = [&](const char* key, const char* path, std::uint64_t value, bool is_size) {
    const auto* b = hb.if_contains(key);
    if (!b || !b->is_object() || value == 0) return;
    const auto* lo = b->get_object().if_contains("min");
    const auto* hi = b->get_object().if_contains("max");
    if (!lo || !hi || !lo->is_number() || !hi->is_number()) return;
    const auto min = lo->to_number<std::uint64_t>(), max = hi->to_number<std::uint64_t>();
    if (value >= min && value <= max) return;
    auto text = [&](std::uint64_t n) { return is_size ? format_size(n) : std::to_string(n); };
    out.push_back(make("engine.host-bounds", spec, path, "",
                       std::string("this host allows ") + text(min) + " to " + text(max) + (is_size ? "" : " CPUs") +
                           ", got " + text(value),
                       std::string("set \"") + path + "\" within what " + options.engine + " allows here"));
  };
  bounded("cpu_count", "cpus", spec.cpus, false);
  bounded("memory_size", "memory", spec.memory_bytes, true);
  return out;
}

}  // namespace vzkit::kernel
