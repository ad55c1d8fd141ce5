#include <vzkit/kernel/conformance.hpp>

#include "metaschema.hpp"
#include "plugin_load.hpp"
#include "schema_check.hpp"

#include <vzkit/kernel/subprocess.hpp>
#include <vzkit/qemu/machine.hpp>
#include <vzkit/vz/configuration.hpp>

#include <boost/json.hpp>
#include <valijson/schema.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <system_error>

namespace vzkit::kernel {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kShownIn = "it is shown in docs/spec.md (`vzkit schema --markdown`) and `vzkit schema`";
/// A key no plugin defines, to see that unknown keys are refused.
constexpr const char* kUnknownKey = "no_such_key";

const json::value& metaschema() {
  static const json::value v = json::parse(detail::draft07_metaschema_text());
  return v;
}

const valijson::Schema& compiled_metaschema() {
  static const auto s = detail::compile(metaschema());
  return *s;
}

std::string text(const json::value& v) { return json::serialize(v); }

/// One place in a plugin's schema: the sub-schema, its JSON path inside "schema" ("" = the top
/// level) and the setting as a spec writes it ("forwards[].host_port"; "" = the whole config).
struct Site {
  const json::object& schema;
  std::string at;
  std::string setting;
  bool is_property;  ///< named under a "properties" object
};

/// Calls `visit` for `schema` and every sub-schema below it that describes settings: properties,
/// array items, map values (an "additionalProperties" schema) and the alternatives of
/// allOf/anyOf/oneOf.
void walk(const json::value& schema, const std::string& at, const std::string& setting, bool is_property,
          const std::function<void(const Site&)>& visit) {
  if (!schema.is_object()) return;
  const auto& o = schema.get_object();
  visit(Site{o, at, setting, is_property});
  if (const auto* props = o.if_contains("properties"); props && props->is_object())
    for (const auto& kv : props->get_object())
      walk(kv.value(), detail::join_path(at, "properties." + std::string(kv.key())),
           detail::join_path(setting, std::string(kv.key())), true, visit);
  if (const auto* items = o.if_contains("items")) {
    if (items->is_object()) walk(*items, detail::join_path(at, std::string("items")), setting + "[]", false, visit);
    else if (items->is_array())
      for (std::size_t i = 0; i < items->get_array().size(); ++i)
        walk(items->get_array()[i], detail::join_path(detail::join_path(at, std::string("items")), i),
             detail::join_path(setting, i), false, visit);
  }
  if (const auto* add = o.if_contains("additionalProperties"); add && add->is_object())
    walk(*add, detail::join_path(at, std::string("additionalProperties")), detail::join_path(setting, std::string("<name>")),
         false, visit);
  for (const char* combinator : {"allOf", "anyOf", "oneOf"})
    if (const auto* alts = o.if_contains(combinator); alts && alts->is_array())
      for (std::size_t i = 0; i < alts->get_array().size(); ++i)
        walk(alts->get_array()[i], detail::join_path(detail::join_path(at, std::string(combinator)), i), setting, false,
             visit);
}

/// "properties.width", or "properties.forwards.items.properties.host_port (forwards[].host_port)"
/// when the setting's name is not plain from the path.
std::string where(const Site& s) {
  if (s.at.empty()) return "the top level";
  if (s.setting.empty() || s.at == "properties." + s.setting) return s.at;
  return s.at + " (" + s.setting + ")";
}

/// The first place where `a` and `b` differ, as "at PATH: A, then B", or nullopt when equal.
std::optional<std::string> first_difference(const json::value& a, const json::value& b, const std::string& at) {
  const std::string here = at.empty() ? "the top level" : at;
  if (a.is_object() && b.is_object()) {
    for (const auto& kv : a.get_object()) {
      const auto* other = b.get_object().if_contains(kv.key());
      if (!other) return "at " + detail::join_path(at, std::string(kv.key())) + ": " + text(kv.value()) + ", then nothing";
      if (auto d = first_difference(kv.value(), *other, detail::join_path(at, std::string(kv.key())))) return d;
    }
    for (const auto& kv : b.get_object())
      if (!a.get_object().contains(kv.key()))
        return "at " + detail::join_path(at, std::string(kv.key())) + ": nothing, then " + text(kv.value());
    return std::nullopt;
  }
  if (a.is_array() && b.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i)
      if (auto d = first_difference(x[i], y[i], detail::join_path(at, i))) return d;
    if (x.size() != y.size())
      return "at " + here + ": " + std::to_string(x.size()) + " entries, then " + std::to_string(y.size());
    return std::nullopt;
  }
  if (a == b) return std::nullopt;
  return "at " + here + ": " + text(a) + ", then " + text(b);
}

/// A temporary folder for one check, removed with everything in it when the check ends.
class TemporaryFolder {
 public:
  TemporaryFolder() {
    std::error_code ec;
    const fs::path base = fs::temp_directory_path(ec);
    if (ec)
      throw std::runtime_error("there is no temporary folder (" + ec.message() +
                               "); set TMPDIR to an existing, writable folder");
    std::string pattern = (base / "vzkit-conformance-XXXXXX").string();
    if (!::mkdtemp(pattern.data()))
      throw std::runtime_error("cannot create a temporary folder in " + base.string() + " (" +
                               std::generic_category().message(errno) + "); set TMPDIR to a writable folder");
    m_path = pattern;
  }
  ~TemporaryFolder() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

/// Everything below `root` except the folders in `expected`, relative to `root`.
std::vector<std::string> unexpected_files(const fs::path& root, const std::vector<fs::path>& expected) {
  std::vector<std::string> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (std::find(expected.begin(), expected.end(), it->path()) != expected.end()) continue;
    found.push_back(fs::relative(it->path(), root).string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

class Checker {
 public:
  explicit Checker(const LoadedPlugin& p) : m_plugin(p), m_manifest(p.manifest()), m_schema(p.manifest().schema) {}

  ConformanceReport run() {
    ConformanceReport r;
    r.plugin = m_plugin.name();
    r.file = m_plugin.file().string();
    r.checks.push_back(check("schema.metaschema", "the schema is valid JSON Schema (draft-07)", &Checker::metaschema_valid));
    r.checks.push_back(check("schema.strict", "the schema describes an object, refuses unknown keys and bounds patterned strings",
                             &Checker::strict));
    r.checks.push_back(check("schema.documented", "the schema has a description, every setting a title and a description",
                             &Checker::documented));
    r.checks.push_back(check("manifest.complete",
                             "the manifest names a version, a summary, its engines, the macOS its VZ classes need "
                             "and why it lacks an engine",
                             &Checker::manifest_complete));
    r.checks.push_back(check("examples.validate", "the schema has examples and each one validates", &Checker::examples));
    r.checks.push_back(check("config.rejects-unknown", "an empty or unknown config fails with a named path",
                             &Checker::rejects_unknown));
    r.checks.push_back(check("fragments.round-trip",
                             "the first example assembles for each engine into a fragment that round-trips through "
                             "the engine's typed model",
                             &Checker::round_trip));
    return r;
  }

 private:
  using Problems = std::vector<std::string>;

  ConformanceCheck check(const char* id, const char* title, void (Checker::*rule)(Problems&)) {
    ConformanceCheck c;
    c.id = id;
    c.title = title;
    try {
      (this->*rule)(c.problems);
    } catch (const std::exception& e) {
      c.problems.push_back(std::string("the check stopped early: ") + e.what());
    }
    c.passed = c.problems.empty();
    return c;
  }

  const json::object* schema_object() const { return m_schema.is_object() ? &m_schema.get_object() : nullptr; }

  void metaschema_valid(Problems& out) {
    Diagnostics d;
    if (detail::check(compiled_metaschema(), metaschema(), m_schema, "", m_plugin.name(), "", d)) return;
    for (const auto& x : d)
      out.push_back("schema: " + (x.path.empty() ? std::string("the top level") : x.path) + ": " + x.message + " [" +
                    x.code + "]; correct it, the schema must be valid JSON Schema draft-07 " +
                    "(http://json-schema.org/draft-07/schema)");
  }

  void strict(Problems& out) {
    const auto* s = schema_object();
    if (!s) {
      out.push_back("schema: is not a JSON object; write a JSON Schema object with \"type\": \"object\"");
      return;
    }
    const auto* type = s->if_contains("type");
    if (!type)
      out.push_back("schema: the top level has no \"type\"; add \"type\": \"object\", a device's settings are an object");
    else if (*type != "object")
      out.push_back("schema: the top level has \"type\": " + text(*type) +
                    "; make it \"object\", a device's settings are an object");
    const auto* add = s->if_contains("additionalProperties");
    if (!add)
      out.push_back("schema: the top level has no \"additionalProperties\"; add \"additionalProperties\": false so a "
                    "misspelt setting is an error instead of being ignored");
    else if (*add != false)
      out.push_back("schema: the top level has \"additionalProperties\": " + text(*add) +
                    "; make it false so a misspelt setting is an error instead of being ignored");
    // Nested objects with named keys must refuse unknown keys too; a map (an
    // "additionalProperties" schema) is fine.
    walk(m_schema, "", "", false, [&](const Site& site) {
      if (site.at.empty() || !site.schema.contains("properties")) return;
      const auto* a = site.schema.if_contains("additionalProperties");
      if (!a)
        out.push_back("schema: " + where(site) + " lists \"properties\" but has no \"additionalProperties\"; add "
                      "\"additionalProperties\": false so a misspelt key inside it is an error");
      else if (*a == true)
        out.push_back("schema: " + where(site) + " has \"additionalProperties\": true; make it false so a misspelt "
                      "key inside it is an error");
    });
    // A string checked against a pattern needs a length bound: matching costs grow with it.
    walk(m_schema, "", "", false, [&](const Site& site) {
      if (site.schema.contains("pattern") && !site.schema.contains("maxLength"))
        out.push_back("schema: " + where(site) + " has a \"pattern\" but no \"maxLength\"; bound the string, e.g. "
                      "\"maxLength\": 256, so a huge value is refused before it is matched");
    });
  }

  void documented(Problems& out) {
    const auto* s = schema_object();
    if (!s) return;  // schema.strict says so
    const auto* d = s->if_contains("description");
    if (!d)
      out.push_back(std::string("schema: the top level has no \"description\"; add one saying what the device is, ") +
                    kShownIn);
    else if (!d->is_string() || d->get_string().empty())
      out.push_back(std::string("schema: the top level's \"description\" is not a non-empty string; write one, ") +
                    kShownIn);
    walk(m_schema, "", "", false, [&](const Site& site) {
      if (!site.is_property) return;
      for (const char* key : {"title", "description"}) {
        const auto* v = site.schema.if_contains(key);
        const std::string what = std::string(key) == "title" ? "a short name" : "one";
        if (!v)
          out.push_back("schema: " + where(site) + " has no \"" + key + "\"; add " + what + ", " + kShownIn);
        else if (!v->is_string() || v->get_string().empty())
          out.push_back("schema: " + where(site) + ": \"" + key + "\" is not a non-empty string; write " + what +
                        ", " + kShownIn);
      }
    });
  }

  void manifest_complete(Problems& out) {
    const auto& m = m_manifest;
    if (m.version.empty())
      out.push_back("manifest: \"version\" is empty; give the plugin's version, e.g. \"1.0.0\"");
    if (m.summary.empty())
      out.push_back("manifest: \"summary\" is empty; write one line saying what the device is, it is shown by "
                    "`vzkit plugins` and in docs/spec.md");
    if (m.engines.empty())
      out.push_back("manifest: \"engines\" is empty; list the engines the plugin assembles for: \"vz\", \"qemu\" or both");
    if (m.supports("vz") && m.min_macos.empty())
      out.push_back("manifest: vz.min_macos is missing; state the oldest host macOS the plugin's VZ classes need, e.g. "
                    "\"vz\": {\"min_macos\": \"13.0\", \"classes\": [...]}");
    for (const char* engine : {"vz", "qemu"})
      if (!m.supports(engine) && !m.engine_notes.count(engine))
        out.push_back(std::string("manifest: engine_notes.") + engine + " is missing; say why the plugin cannot run on " +
                      engine + ", users see it when a spec for " + engine + " is refused");
  }

  void examples(Problems& out) {
    const auto* s = schema_object();
    if (!s) return;
    const auto* ex = s->if_contains("examples");
    if (!ex) {
      out.push_back("schema: the top level has no \"examples\"; add at least one config, e.g. \"examples\": [{}]; they "
                    "are shown in docs/spec.md and the first one is assembled by fragments.round-trip");
      return;
    }
    if (!ex->is_array() || ex->get_array().empty()) {
      out.push_back("schema: examples is " + std::string(ex->is_array() ? "empty" : "not an array") +
                    "; give an array of at least one config, e.g. \"examples\": [{}]");
      return;
    }
    for (std::size_t i = 0; i < ex->get_array().size(); ++i) {
      Diagnostics d;
      const std::string at = detail::join_path("examples", i);
      if (detail::check(m_plugin.compiled_schema(), m_schema, ex->get_array()[i], at, m_plugin.name(), "", d)) continue;
      for (const auto& x : d)
        out.push_back("schema: " + x.path + ": " + x.message + " [" + x.code + "]; correct " + at +
                      " or the schema, an example must be a valid config");
    }
  }

  void rejects_unknown(Problems& out) {
    const auto* s = schema_object();
    if (!s) return;
    const std::string device = "devices[0]";
    if (const auto* required = s->if_contains("required");
        required && required->is_array() && !required->get_array().empty()) {
      Diagnostics d;
      if (detail::check(m_plugin.compiled_schema(), m_schema, json::object{}, device, m_plugin.name(), "", d)) {
        out.push_back("schema: an empty config is accepted although \"required\" lists " + text(*required) +
                      "; each required key must also be under \"properties\"");
      } else {
        for (const auto& key : required->get_array()) {
          if (!key.is_string()) continue;
          const std::string path = device + "." + std::string(key.get_string());
          bool named = std::any_of(d.begin(), d.end(), [&](const Diagnostic& x) {
            return x.code == "schema.required" && x.path == path;
          });
          if (!named)
            out.push_back("schema: an empty config does not report the required key " + text(key) + " at " + path +
                          "; list it in the top level's \"required\" and describe it under \"properties\"");
        }
      }
    }
    // The first example (or nothing) plus a key no plugin has.
    json::object config;
    if (const auto* ex = s->if_contains("examples"); ex && ex->is_array() && !ex->get_array().empty() &&
                                                    ex->get_array()[0].is_object())
      config = ex->get_array()[0].get_object();
    config[kUnknownKey] = 1;
    Diagnostics d;
    const std::string path = device + "." + kUnknownKey;
    if (detail::check(m_plugin.compiled_schema(), m_schema, config, device, m_plugin.name(), "", d)) {
      out.push_back(std::string("schema: a config with the unknown key \"") + kUnknownKey +
                    "\" is accepted; set \"additionalProperties\": false at the top level so misspelt settings are "
                    "reported");
      return;
    }
    bool named = std::any_of(d.begin(), d.end(), [&](const Diagnostic& x) {
      return x.code == "schema.unknown-key" && x.path == path;
    });
    if (!named) {
      std::string got;
      for (const auto& x : d) got += (got.empty() ? "" : ", ") + x.code + " at " + x.path;
      out.push_back(std::string("schema: a config with the unknown key \"") + kUnknownKey +
                    "\" is refused, but not as schema.unknown-key at " + path + " (got " + got +
                    "); list the settings under \"properties\" at the top level with \"additionalProperties\": false");
    }
  }

  void round_trip(Problems& out) {
    const auto* s = schema_object();
    if (!s) return;
    json::value config = json::object{};
    if (const auto* ex = s->if_contains("examples"); ex && ex->is_array() && !ex->get_array().empty())
      config = ex->get_array()[0];
    detail::apply_defaults(m_schema, config);

    TemporaryFolder tmp;
    for (const std::string engine : {"vz", "qemu"}) {
      if (!m_manifest.supports(engine)) continue;
      // Each engine gets its own empty spec and bundle folders; nothing may appear in them.
      const fs::path spec_dir = tmp.path() / engine / "spec";
      const fs::path bundle_dir = tmp.path() / engine / "bundle";
      fs::create_directories(spec_dir);
      fs::create_directories(bundle_dir);
      json::object context{{"engine", engine},
                           {"vm_name", "conformance"},
                           {"spec_dir", spec_dir.string()},
                           {"bundle_dir", bundle_dir.string()},
                           {"path", "devices[0]"},
                           {"arch", engine == "vz" ? "aarch64" : "x86_64"},
                           {"cpus", 2},
                           {"memory_bytes", std::uint64_t{1} << 30},
                           {"materialize", false}};
      const json::value base = engine == "vz" ? json::value_from(vz::Configuration{}) : json::value_from(qemu::Machine{});
      json::value fragment;
      try {
        fragment = m_plugin.assemble(
            json::object{{"engine", engine}, {"config", config}, {"context", context}, {"base", base}});
      } catch (const std::exception& e) {
        out.push_back(engine + ": assembling the first example " + text(config) + " failed: " + e.what() +
                      "; every example must assemble on every engine in \"engines\"");
        continue;
      }
      if (auto written = unexpected_files(tmp.path() / engine, {spec_dir, bundle_dir}); !written.empty()) {
        std::string list;
        for (const auto& f : written) list += (list.empty() ? "" : ", ") + f;
        out.push_back(engine + ": assembling wrote " + list + " although context.materialize is false; create files "
                      "only when materialize is true (`vzkit plan` and `vzkit validate` write nothing)");
      }
      if (fragment == base) {
        out.push_back(engine + ": the plan fragment is the base model unchanged; assemble must add the device's "
                      "objects to the plan it is given");
        continue;
      }
      if (engine == "vz") round_trip_as<vz::Configuration>(engine, "vz::Configuration (<vzkit/vz/configuration.hpp>)",
                                                           fragment, out);
      else round_trip_as<qemu::Machine>(engine, "qemu::Machine (<vzkit/qemu/machine.hpp>)", fragment, out);
    }
  }

  template <class Model>
  void round_trip_as(const std::string& engine, const std::string& model, const json::value& fragment, Problems& out) {
    Model typed;
    try {
      typed = json::value_to<Model>(fragment);
    } catch (const std::exception& e) {
      out.push_back(engine + ": the plan fragment is not a valid " + model + ": " + e.what() +
                    "; add only objects and keys the model has");
      return;
    }
    const json::value written = json::value_from(typed);
    if (auto d = first_difference(fragment, written, ""))
      out.push_back(engine + ": the plan fragment changes when read as " + model + " and written back (" + *d +
                    "); write each value with the type and spelling the model uses");
    else if (!(json::value_to<Model>(written) == typed))
      out.push_back(engine + ": " + model + " read back from its own JSON differs from the original; the model's JSON "
                    "conversion loses data");
  }

  const LoadedPlugin& m_plugin;
  const Manifest& m_manifest;
  const json::value& m_schema;
};

}  // namespace

bool ConformanceReport::passed() const {
  return std::all_of(checks.begin(), checks.end(), [](const ConformanceCheck& c) { return c.passed; });
}

const ConformanceCheck* ConformanceReport::find(std::string_view id) const {
  for (const auto& c : checks)
    if (c.id == id) return &c;
  return nullptr;
}

ConformanceReport check_conformance(const LoadedPlugin& plugin) { return Checker(plugin).run(); }

std::string format(const ConformanceReport& report) {
  std::size_t width = 0;
  for (const auto& c : report.checks) width = std::max(width, c.id.size());
  std::string out;
  std::size_t failed = 0, problems = 0;
  for (const auto& c : report.checks) {
    out += (c.passed ? "PASS " : "FAIL ") + c.id + std::string(width - c.id.size() + 2, ' ') + c.title + "\n";
    for (const auto& p : c.problems) out += "     " + p + "\n";
    failed += c.passed ? 0 : 1;
    problems += c.problems.size();
  }
  if (failed == 0)
    out += report.plugin + ": conforms (" + std::to_string(report.checks.size()) + " checks passed)\n";
  else
    out += report.plugin + ": " + std::to_string(failed) + " of " + std::to_string(report.checks.size()) +
           " checks failed, " + std::to_string(problems) + (problems == 1 ? " problem\n" : " problems\n");
  return out;
}

json::value to_json(const ConformanceReport& report) {
  json::array checks;
  for (const auto& c : report.checks) {
    json::array problems;
    for (const auto& p : c.problems) problems.emplace_back(p);
    checks.push_back(json::object{{"id", c.id}, {"title", c.title}, {"passed", c.passed}, {"problems", std::move(problems)}});
  }
  return json::object{{"plugin", report.plugin}, {"file", report.file}, {"passed", report.passed()},
                      {"checks", std::move(checks)}};
}

ConformanceReport conformance_report_from_json(const json::value& v) {
  if (!v.is_object()) throw std::invalid_argument("a conformance report is an object");
  const auto& o = v.get_object();
  auto text = [](const json::object& x, const char* k) {
    const auto* s = x.if_contains(k);
    if (!s || !s->is_string()) throw std::invalid_argument(std::string("'") + k + "' must be a string");
    return std::string(s->get_string());
  };
  ConformanceReport r;
  r.plugin = text(o, "plugin");
  r.file = text(o, "file");
  const auto* checks = o.if_contains("checks");
  if (!checks || !checks->is_array()) throw std::invalid_argument("'checks' must be an array");
  for (const auto& c : checks->get_array()) {
    if (!c.is_object()) throw std::invalid_argument("a check is an object");
    ConformanceCheck k;
    k.id = text(c.get_object(), "id");
    k.title = text(c.get_object(), "title");
    if (const auto* problems = c.get_object().if_contains("problems"); problems && problems->is_array())
      for (const auto& p : problems->get_array())
        if (p.is_string()) k.problems.emplace_back(p.get_string());
    k.passed = k.problems.empty();
    r.checks.push_back(std::move(k));
  }
  return r;
}

IsolatedCheck check_conformance_isolated(const std::filesystem::path& file, std::chrono::milliseconds limit) {
  IsolatedCheck out;
  const auto scanner = detail::find_scanner();
  if (scanner.empty()) {  // no scanner program: check here
    PluginHost host;
    host.load_here(file, "vzkit plugin check");
    if (!host.errors().empty()) out.error = host.errors().front().reason;
    else if (host.plugins().empty()) out.error = "no vzkit plugin found";
    else out.report = check_conformance(*host.plugins().front());
    return out;
  }
  ChildOptions how;
  how.timeout = limit;
  const auto child = run_child({scanner.string(), "--check", "--limit-ms", std::to_string(limit.count()), file.string()}, how);
  std::string last;
  for (std::size_t pos = 0; pos < child.out.size();) {
    const auto nl = child.out.find('\n', pos);
    if (nl == std::string::npos) break;
    last = child.out.substr(pos, nl - pos);
    pos = nl + 1;
  }
  json::error_code ec;
  const auto v = json::parse(last, ec);
  if (!ec && v.is_object() && !v.get_object().contains("loading")) {
    const auto& o = v.get_object();
    if (const auto* e = o.if_contains("load_error"); e && e->is_string()) {
      out.error = std::string(e->get_string());
      return out;
    }
    if (const auto* report = o.if_contains("report")) {
      try {
        out.report = conformance_report_from_json(*report);
        return out;
      } catch (const std::exception& e) {
        out.error = std::string("the plugin scanner gave no readable report: ") + e.what();
        return out;
      }
    }
  }
  if (child.timed_out)
    out.error = "the checks did not finish within " + std::to_string(limit.count() / 1000) + " s (a hook never returned)";
  else if (child.signal != 0)
    out.error = "it crashed while being checked (" + child.describe() + ")";
  else
    out.error = "it ended the process that checked it (" + child.describe() + ")";
  std::string err = child.err;
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
  if (const auto nl = err.rfind('\n'); nl != std::string::npos) err = err.substr(nl + 1);
  if (!err.empty()) out.error += "; it printed: " + err.substr(0, 200);
  return out;
}

}  // namespace vzkit::kernel
