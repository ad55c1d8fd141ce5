#include <vzkit/kernel/spec_reference.hpp>

#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/validate.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace vzkit::kernel {

namespace json = boost::json;

namespace {

// "yes", or per engine "vz: yes; qemu: no (why)", from the manifest's save_restore.
std::string save_restore_text(const Manifest& m) {
  if (m.save_restore_by_engine.empty())
    return m.save_restore ? "yes" : "no, a VM with this device cannot be saved and restored";
  const bool everywhere = std::all_of(m.engines.begin(), m.engines.end(), [&](const std::string& e) { return m.saves_on(e); });
  std::string out;
  for (const auto& e : m.engines) {
    const auto n = m.save_restore_notes.find(e);
    if (everywhere && n == m.save_restore_notes.end()) continue;
    out += (out.empty() ? "" : "; ") + e + ": " + (m.saves_on(e) ? "yes" : "no");
    if (n != m.save_restore_notes.end()) out += " (" + n->second + ")";
  }
  return everywhere ? "yes" + (out.empty() ? "" : " (" + out + ")") : out;
}

/// The pattern every size setting uses (the spec's "memory", disk sizes): shown as a link to
/// the Sizes section instead of a regular expression.
constexpr std::string_view kSizePattern = R"re(^[0-9]+(\.[0-9]+)? ?(B|K|KiB|KB|M|MiB|MB|G|GiB|GB|T|TiB|TB)?$)re";

// ---- Markdown text

/// `s` as a code span, with a fence longer than any run of backticks inside it. In a table
/// cell '|' must be escaped even there (GitHub splits cells before reading code spans).
std::string code(std::string_view s, bool in_table = true) {
  std::size_t longest = 0, run = 0;
  for (char c : s) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  std::string body;
  for (char c : s) {
    if (c == '|' && in_table) body += '\\';
    body += c == '\n' ? ' ' : c;
  }
  // A span that starts or ends with a backtick, or with a space at both ends, needs padding.
  const bool spaced = !body.empty() && body.front() == ' ' && body.back() == ' ' &&
                      body.find_first_not_of(' ') != std::string::npos;
  const bool pad = !body.empty() && (body.front() == '`' || body.back() == '`' || spaced);
  const std::string fence(longest + 1, '`');
  return fence + (pad ? " " : "") + body + (pad ? " " : "") + fence;
}

std::string code_json(const json::value& v, bool in_table = true) { return code(json::serialize(v), in_table); }

/// Text from a manifest as Markdown: its own `code spans` are kept, every other character
/// that Markdown would read as markup is escaped, and line breaks become spaces.
std::string prose(std::string_view s, bool in_table = true) {
  std::string out;
  auto run_at = [&](std::size_t i) {
    std::size_t k = 0;
    while (i + k < s.size() && s[i + k] == '`') ++k;
    return k;
  };
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    if (c == '`') {
      const std::size_t k = run_at(i);
      std::size_t j = i + k, close = std::string_view::npos;
      while (j < s.size()) {
        if (s[j] != '`') {
          ++j;
          continue;
        }
        const std::size_t m = run_at(j);
        if (m == k) {
          close = j;
          break;
        }
        j += m;
      }
      if (close == std::string_view::npos) {  // a lone backtick is literal
        for (std::size_t n = 0; n < k; ++n) out += "\\`";
        i += k;
        continue;
      }
      for (std::size_t n = i; n < close + k; ++n) {
        if (s[n] == '|' && in_table) out += '\\';
        out += s[n] == '\n' ? ' ' : s[n];
      }
      i = close + k;
      continue;
    }
    if (c == '\n' || c == '\r') out += ' ';
    else if (c == '\\' || c == '*' || c == '<' || c == '>' || c == '|' || c == '[' || c == ']') out += std::string("\\") + c;
    else if (c == '_' && (i == 0 || !std::isalnum(static_cast<unsigned char>(s[i - 1])))) out += "\\_";
    else out += c;
    ++i;
  }
  return out;
}

/// A fenced block whose fence no line of `body` can close.
std::string fenced(const std::string& info, const std::string& body) {
  std::size_t longest = 0, run = 0;
  for (char c : body) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(std::max<std::size_t>(3, longest + 1), '`');
  return fence + info + "\n" + body + (body.empty() || body.back() == '\n' ? "" : "\n") + fence + "\n";
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

std::string number_text(const json::value& v) {
  if (v.is_double()) {
    const double d = v.get_double();
    if (d == static_cast<double>(static_cast<long long>(d))) return std::to_string(static_cast<long long>(d));
  }
  return json::serialize(v);
}

// ---- schemas as table rows

const json::value* key(const json::object& s, const char* k) { return s.if_contains(k); }

bool is_size(const json::object& s) {
  const auto* p = key(s, "pattern");
  return p && p->is_string() && p->get_string() == kSizePattern;
}

std::string plural(const std::string& t) {
  if (t.empty() || t.back() == 's') return t;
  return t + "s";
}

std::string type_text(const json::object& s);

std::string one_type(std::string_view t, const json::object& s) {
  if (t == "string") return is_size(s) ? "size" : "string";
  if (t == "object") {
    const auto* add = key(s, "additionalProperties");
    if (!key(s, "properties") && add && add->is_object()) return "map of name to " + type_text(add->get_object());
    return "object";
  }
  if (t == "array") {
    const auto* items = key(s, "items");
    if (items && items->is_object()) return "array of " + plural(type_text(items->get_object()));
    return "array";
  }
  return std::string(t);
}

std::string type_text(const json::object& s) {
  if (const auto* t = key(s, "type")) {
    if (t->is_string()) return one_type(t->get_string(), s);
    if (t->is_array()) {
      std::vector<std::string> names;
      for (const auto& x : t->get_array())
        if (x.is_string()) names.push_back(one_type(x.get_string(), s));
      return join(names, " or ");
    }
  }
  const json::array* values = nullptr;
  json::array single;
  if (const auto* e = key(s, "enum"); e && e->is_array()) values = &e->get_array();
  else if (const auto* c = key(s, "const")) {
    single.push_back(*c);
    values = &single;
  }
  if (values && !values->empty()) {
    std::set<std::string> kinds;
    for (const auto& v : *values)
      kinds.insert(v.is_string()   ? "string"
                   : v.is_bool()   ? "boolean"
                   : v.is_number() ? "number"
                   : v.is_null()   ? "null"
                                   : "value");
    return kinds.size() == 1 ? *kinds.begin() : "value";
  }
  if (key(s, "oneOf") || key(s, "anyOf")) return "one of several forms";
  if (key(s, "properties")) return "object";
  return "any";
}

/// "1 to 20 characters", "at least 1 entry", "at most 64 entries".
std::string count_text(const json::value* min, const json::value* max, const std::string& one, const std::string& many) {
  auto unit = [&](const json::value& v) { return number_text(v) == "1" ? one : many; };
  if (min && max) {
    if (*min == *max) return "exactly " + number_text(*min) + " " + unit(*max);
    return number_text(*min) + " to " + number_text(*max) + " " + many;
  }
  if (min) return "at least " + number_text(*min) + " " + unit(*min);
  if (max) return "at most " + number_text(*max) + " " + unit(*max);
  return {};
}

/// What values a (sub-)schema allows, as short phrases.
std::vector<std::string> allowed_parts(const json::object& s) {
  std::vector<std::string> parts;
  if (const auto* e = key(s, "enum"); e && e->is_array()) {
    std::vector<std::string> values;
    for (const auto& v : e->get_array()) values.push_back(code_json(v));
    parts.push_back(join(values, ", "));
  }
  if (const auto* c = key(s, "const")) parts.push_back(code_json(*c));
  const auto* min = key(s, "minimum");
  const auto* max = key(s, "maximum");
  const auto* xmin = key(s, "exclusiveMinimum");
  const auto* xmax = key(s, "exclusiveMaximum");
  if (min && max) parts.push_back(number_text(*min) + " to " + number_text(*max));
  else if (min) parts.push_back("at least " + number_text(*min));
  else if (max) parts.push_back("at most " + number_text(*max));
  if (xmin && xmin->is_number()) parts.push_back("greater than " + number_text(*xmin));
  if (xmax && xmax->is_number()) parts.push_back("less than " + number_text(*xmax));
  if (const auto* m = key(s, "multipleOf")) parts.push_back("a multiple of " + number_text(*m));
  const auto* min_len = key(s, "minLength");
  const auto* max_len = key(s, "maxLength");
  if (is_size(s)) {
    // A size's own form says enough; its length bound is only there to keep matching cheap.
  } else if (min_len && !max_len && number_text(*min_len) == "1") parts.push_back("not empty");
  else if (auto t = count_text(min_len, max_len, "character", "characters"); !t.empty()) parts.push_back(t);
  if (is_size(s)) parts.push_back("a size, see [Sizes](#sizes)");
  else if (const auto* p = key(s, "pattern"); p && p->is_string()) parts.push_back("matches " + code(p->get_string()));
  if (const auto* f = key(s, "format"); f && f->is_string()) parts.push_back("format " + code(f->get_string()));
  if (auto t = count_text(key(s, "minItems"), key(s, "maxItems"), "entry", "entries"); !t.empty()) parts.push_back(t);
  if (const auto* u = key(s, "uniqueItems"); u && *u == true) parts.push_back("no duplicates");
  if (auto t = count_text(key(s, "minProperties"), key(s, "maxProperties"), "entry", "entries"); !t.empty())
    parts.push_back(t);
  // Scalar array items carry their own limits ("each: not empty").
  if (const auto* items = key(s, "items"); items && items->is_object() && !key(items->get_object(), "properties"))
    if (auto each = allowed_parts(items->get_object()); !each.empty()) parts.push_back("each: " + join(each, ", "));
  return parts;
}

struct Row {
  std::string key;
  std::string type;
  std::string requirement;
  std::string allowed;
  std::string description;
};

std::string description_cell(const json::object& s) {
  std::string out;
  if (const auto* t = key(s, "title"); t && t->is_string() && !t->get_string().empty()) {
    std::string title = prose(t->get_string());
    out = "**" + title + (title.back() == '.' ? "" : ".") + "**";
  }
  if (const auto* d = key(s, "description"); d && d->is_string() && !d->get_string().empty())
    out += (out.empty() ? "" : " ") + prose(d->get_string());
  return out;
}

void add_rows(const json::object& s, const std::string& prefix, std::vector<Row>& rows);

/// Rows for what lies inside setting `name`: an object's keys, an array's entries, a map's values.
void add_nested_rows(const json::object& s, const std::string& name, std::vector<Row>& rows) {
  if (key(s, "properties")) add_rows(s, name + ".", rows);
  if (const auto* items = key(s, "items"); items && items->is_object() && key(items->get_object(), "properties"))
    add_rows(items->get_object(), name + "[].", rows);
  if (const auto* add = key(s, "additionalProperties"); add && add->is_object() && key(add->get_object(), "properties"))
    add_rows(add->get_object(), name + ".<name>.", rows);
}

void add_rows(const json::object& s, const std::string& prefix, std::vector<Row>& rows) {
  const auto* props = key(s, "properties");
  if (!props || !props->is_object()) return;
  std::set<std::string> required;
  if (const auto* r = key(s, "required"); r && r->is_array())
    for (const auto& k : r->get_array())
      if (k.is_string()) required.insert(std::string(k.get_string()));
  for (const auto& kv : props->get_object()) {
    if (!kv.value().is_object()) continue;
    const auto& sub = kv.value().get_object();
    const std::string name = prefix + std::string(kv.key());
    Row row;
    row.key = code(name);
    row.type = prose(type_text(sub));
    if (required.count(std::string(kv.key()))) row.requirement = "required";
    else if (const auto* d = key(sub, "default")) row.requirement = code_json(*d);
    else row.requirement = "optional";
    row.allowed = join(allowed_parts(sub), "; ");
    row.description = description_cell(sub);
    rows.push_back(std::move(row));
    add_nested_rows(sub, name, rows);
  }
}

std::string settings_table(const json::value& schema) {
  std::vector<Row> rows;
  if (schema.is_object()) add_rows(schema.get_object(), "", rows);
  if (rows.empty()) return {};
  std::string out = "| Key | Type | Required / default | Allowed values | Description |\n|---|---|---|---|---|\n";
  for (const auto& r : rows)
    out += "| " + r.key + " | " + r.type + " | " + r.requirement + " | " + r.allowed + " | " + r.description + " |\n";
  return out;
}

// ---- rules between devices

std::string requirement_text(const Requirement& r) {
  std::string out = code(r.plugin, false);
  std::vector<std::string> conditions;
  for (const auto& kv : r.when) conditions.push_back(code(kv.key(), false) + " is " + code_json(kv.value(), false));
  if (!conditions.empty()) out += " when " + join(conditions, " and ");
  return out;
}

std::string requirement_list(const std::vector<Requirement>& list) {
  std::vector<std::string> parts;
  for (const auto& r : list) parts.push_back(requirement_text(r));
  return join(parts, ", ");
}

bool fills(const LoadedPlugin& p, const std::string& slot) {
  const auto& s = p.manifest().slots;
  return std::find(s.begin(), s.end(), slot) != s.end();
}

std::string plugin_section(const LoadedPlugin& p, const std::vector<const LoadedPlugin*>& all) {
  const auto& m = p.manifest();
  std::string out = "### " + code(m.name, false) + "\n\n";
  if (!m.summary.empty()) out += prose(m.summary, false) + (m.summary.back() == '.' ? "\n\n" : ".\n\n");
  if (m.schema.is_object())
    if (const auto* d = key(m.schema.get_object(), "description"); d && d->is_string() && !d->get_string().empty())
      out += prose(d->get_string(), false) + "\n\n";

  std::vector<std::string> engines;
  for (const auto& e : m.engines) engines.push_back(code(e, false));
  out += "- **Version:** " + prose(m.version, false) + "\n";
  out += "- **Engines:** " + (engines.empty() ? std::string("none") : join(engines, ", ")) + "\n";
  for (const char* engine : {"vz", "qemu"}) {
    if (m.supports(engine)) continue;
    auto note = m.engine_notes.find(engine);
    out += "- **Not on " + code(engine, false) + ":** " +
           (note == m.engine_notes.end() ? std::string("no reason given") : prose(note->second, false)) + "\n";
  }
  if (!m.min_macos.empty()) out += "- **Minimum macOS (VZ):** " + prose(m.min_macos, false) + "\n";
  for (const auto& slot : m.slots) {
    std::vector<std::string> others;
    for (const auto* q : all)
      if (q != &p && fills(*q, slot)) others.push_back(code(q->name(), false));
    out += "- **Slot:** " + code(slot, false) + ", which one device per VM may fill" +
           (others.empty() ? std::string() : " (also filled by " + join(others, ", ") + ")") + "\n";
  }
  if (!m.requires_plugins.empty()) out += "- **Requires:** " + requirement_list(m.requires_plugins) + "\n";
  if (!m.conflicts.empty()) out += "- **Conflicts with:** " + requirement_list(m.conflicts) + "\n";
  for (const auto& u : m.unique) {
    std::vector<std::string> sharing;  // the plugins whose devices share the scope
    for (const auto* q : all)
      for (const auto& v : q->manifest().unique)
        if (v.scope == u.scope)
          sharing.push_back(code(q->name(), false) + (v.key == u.key ? "" : " (key " + code(v.key, false) + ")"));
    if (sharing.empty()) sharing.push_back(code(m.name, false));  // `all` need not hold `p`
    out += "- **Unique:** " + code(u.key, false) + " must not repeat across the VM's " + join(sharing, ", ") +
           " devices (scope " + code(u.scope, false) + ")\n";
  }
  if (m.max_instances) out += "- **At most:** " + std::to_string(*m.max_instances) + " per VM\n";
  out += "- **Save and restore:** " + save_restore_text(m) + "\n\n";

  out += "#### Settings\n\n";
  if (auto table = settings_table(m.schema); !table.empty()) out += table + "\n";
  else out += "None: the device entry is just " + code("{\"plugin\": \"" + m.name + "\"}", false) + ".\n\n";

  if (m.schema.is_object())
    if (const auto* ex = key(m.schema.get_object(), "examples"); ex && ex->is_array() && !ex->get_array().empty()) {
      out += "#### Examples\n\n";
      for (const auto& e : ex->get_array()) {
        json::object entry{{"plugin", m.name}};
        if (e.is_object())
          for (const auto& kv : e.get_object()) entry[kv.key()] = kv.value();
        out += fenced("json", pretty_json(entry)) + "\n";
      }
    }
  return out;
}

}  // namespace

std::string spec_reference_markdown(const PluginHost& plugins) {
  std::vector<const LoadedPlugin*> sorted = plugins.plugins();
  std::sort(sorted.begin(), sorted.end(), [](const LoadedPlugin* a, const LoadedPlugin* b) { return a->name() < b->name(); });
  const json::value schema = spec_schema(plugins);
  const auto& top = schema.get_object();

  std::string out =
      "<!-- Generated by `vzkit schema --markdown > docs/spec.md` from the manifests of the loaded plugins: edit "
      "those, not this file. -->\n"
      "# VM spec reference\n\n";
  out += "A VM spec is one JSON file: a few settings for the whole machine, and " + code("devices", false) +
         ", a list in which each entry names the plugin that provides the device and carries that plugin's settings "
         "beside " + code("\"plugin\"", false) +
         ". Settings left out take their defaults; every problem is reported with its JSON path, such as " +
         code("devices[2].width", false) + ".\n\n";

  // A small spec: the top-level defaults and the first boot loader's first example.
  json::object example;
  if (const auto* name = top.at("properties").at("name").get_object().if_contains("examples");
      name && name->is_array() && !name->get_array().empty())
    example["name"] = name->get_array()[0];
  for (const auto& kv : top.at("properties").get_object())
    if (const auto* d = kv.value().is_object() ? kv.value().get_object().if_contains("default") : nullptr)
      example[kv.key()] = *d;
  json::array devices;
  for (const auto* p : sorted) {
    if (!fills(*p, "boot-loader")) continue;
    json::object entry{{"plugin", p->name()}};
    if (const auto* ex = p->manifest().schema.is_object() ? p->manifest().schema.get_object().if_contains("examples") : nullptr;
        ex && ex->is_array() && !ex->get_array().empty() && ex->get_array()[0].is_object())
      for (const auto& kv : ex->get_array()[0].get_object()) entry[kv.key()] = kv.value();
    devices.push_back(std::move(entry));
    break;
  }
  example["devices"] = std::move(devices);
  out += fenced("json", pretty_json(example)) + "\n";

  out += "## Top-level keys\n\n" + settings_table(schema) + "\n";

  out += "## Sizes\n\n"
         "Sizes are strings: a number (a fraction is allowed when the result is whole bytes), an optional space and "
         "a unit. " +
         code("K", false) + ", " + code("M", false) + ", " + code("G", false) + ", " + code("T", false) + " and " +
         code("KiB", false) + ", " + code("MiB", false) + ", " + code("GiB", false) + ", " + code("TiB", false) +
         " are binary (powers of 1024); " + code("KB", false) + ", " + code("MB", false) + ", " + code("GB", false) +
         ", " + code("TB", false) + " are decimal (powers of 1000); " + code("B", false) +
         " or no unit means bytes. Examples: " + code("\"4GiB\"", false) + ", " + code("\"512MiB\"", false) + ", " +
         code("\"1.5G\"", false) + ".\n\n";

  out += "## Rules between devices\n\n"
         "Each plugin's manifest states its rules, listed in its section below; they apply across the whole "
         "spec.\n\n"
         "- **Slot:** only one device in a VM may fill a slot. Every VM needs a device in the " +
         code("boot-loader", false) +
         " slot.\n"
         "- **Requires / Conflicts with:** another plugin that must (or must not) be in the same spec; with a "
         "condition, only when this device's settings have those values.\n"
         "- **Unique:** no two devices of the plugins sharing a scope may have the same value for the key.\n"
         "- **At most:** how many devices of the plugin one VM may have.\n"
         "- **Save and restore:** whether a VM with the device can be saved and restored.\n\n";

  out += "## Plugins\n\n| Plugin | Engines | Summary |\n|---|---|---|\n";
  for (const auto* p : sorted) {
    std::vector<std::string> engines;
    for (const auto& e : p->manifest().engines) engines.push_back(code(e));
    out += "| [" + code(p->name()) + "](#" + p->name() + ") | " + join(engines, ", ") + " | " +
           prose(p->manifest().summary) + " |\n";
  }
  out += "\n";
  for (const auto* p : sorted) out += plugin_section(*p, sorted);
  while (out.size() > 1 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  return out;
}

}  // namespace vzkit::kernel
