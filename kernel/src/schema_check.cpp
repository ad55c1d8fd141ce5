#include "schema_check.hpp"

#include <boost/json.hpp>
#include <boost/regex.hpp>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/constraint_builder.hpp>
#include <valijson/constraints/concrete_constraints.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <algorithm>
#include <cmath>
#include <set>

namespace vzkit::kernel::detail {

namespace json = boost::json;

namespace {

/// One step of an error's path as valijson gives it ("[name]" or "[3]"). Whether it is an
/// object key or an array index is decided by the value it is applied to (below), not by how the
/// text looks: an object key may be all digits.
struct Segment {
  bool is_index;
  std::string key;
  std::size_t index;
};

std::vector<std::string> segments(const std::vector<std::string>& context) {
  std::vector<std::string> out;
  for (const auto& c : context) {
    if (c == "<root>" || c.size() < 2 || c.front() != '[' || c.back() != ']') continue;
    out.push_back(c.substr(1, c.size() - 2));
  }
  return out;
}

/// The segment `text` applied to `v`: an index into an array (when the text is a number that
/// fits), otherwise an object key.
Segment segment_for(const json::value* v, const std::string& text) {
  if (v && v->is_array() && !text.empty() && text.size() <= 18 &&
      std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    return {true, {}, static_cast<std::size_t>(std::stoull(text))};
  return {false, text, 0};
}

const json::value* step_value(const json::value* v, const Segment& s) {
  if (!v) return nullptr;
  if (s.is_index) return v->is_array() && s.index < v->get_array().size() ? &v->get_array()[s.index] : nullptr;
  return v->is_object() ? v->get_object().if_contains(s.key) : nullptr;
}

/// Follows a "$ref" within the same document ("#", "#/definitions/port", or the document's own
/// "$id" followed by such a fragment), so messages can quote the schema that applied. Other
/// references are left alone.
const json::value* resolve(const json::value* root, const json::value* sch) {
  for (int hops = 0; hops < 16 && sch && sch->is_object(); ++hops) {
    const auto* ref = sch->get_object().if_contains("$ref");
    if (!ref || !ref->is_string()) return sch;
    std::string target(ref->get_string());
    const auto hash = target.find('#');
    if (hash == std::string::npos) return sch;
    if (hash > 0) {
      const auto* id = root->is_object() ? root->get_object().if_contains("$id") : nullptr;
      if (!id || !id->is_string()) return sch;
      std::string base(id->get_string());
      if (!base.empty() && base.back() == '#') base.pop_back();
      if (target.substr(0, hash) != base) return sch;
    }
    const json::value* at = root;
    std::string pointer = target.substr(hash + 1);
    for (std::size_t pos = 0; at && pos < pointer.size();) {
      if (pointer[pos] != '/') return sch;
      auto next = pointer.find('/', pos + 1);
      std::string token = pointer.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
      for (std::size_t t; (t = token.find("~1")) != std::string::npos;) token.replace(t, 2, "/");
      for (std::size_t t; (t = token.find("~0")) != std::string::npos;) token.replace(t, 2, "~");
      if (at->is_object()) at = at->get_object().if_contains(token);
      else if (at->is_array() && !token.empty() && token.find_first_not_of("0123456789") == std::string::npos &&
               std::stoul(token) < at->get_array().size())
        at = &at->get_array()[std::stoul(token)];
      else at = nullptr;
      pos = next == std::string::npos ? pointer.size() : next;
    }
    if (!at) return sch;
    sch = at;
  }
  return sch;
}

const json::value* step_schema(const json::value* sch, const Segment& s) {
  if (!sch || !sch->is_object()) return nullptr;
  const auto& o = sch->get_object();
  if (s.is_index) {
    const auto* items = o.if_contains("items");
    if (!items) return nullptr;
    if (items->is_array()) return s.index < items->get_array().size() ? &items->get_array()[s.index] : nullptr;
    return items;
  }
  if (const auto* props = o.if_contains("properties"); props && props->is_object())
    if (const auto* p = props->get_object().if_contains(s.key)) return p;
  if (const auto* add = o.if_contains("additionalProperties"); add && add->is_object()) return add;
  return nullptr;
}

std::string number_text(const json::value& v) {
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_double()) {
    double d = v.get_double();
    if (std::floor(d) == d && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
    return json::serialize(v);
  }
  return json::serialize(v);
}

std::string value_text(const json::value* v) {
  if (!v) return "nothing";
  std::string s;
  if (v->is_string()) s = "'" + std::string(v->get_string()) + "'";
  else if (v->is_number()) s = number_text(*v);
  else s = json::serialize(*v);
  if (s.size() > 60) {
    // Cut at a character boundary: never inside a UTF-8 sequence.
    std::size_t n = 57;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s = s.substr(0, n) + "...";
  }
  return s;
}

std::string type_name(const json::value* v) {
  if (!v) return "nothing";
  switch (v->kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

std::string expected_types(const json::value* sch) {
  if (!sch || !sch->is_object()) return "another type";
  const auto* t = sch->get_object().if_contains("type");
  if (!t) return "another type";
  auto one = [](std::string_view n) -> std::string {
    if (n == "integer") return "an integer";
    if (n == "object") return "an object";
    if (n == "array") return "an array";
    if (n == "null") return "null";
    return "a " + std::string(n);
  };
  if (t->is_string()) return one(t->get_string());
  std::string out;
  if (t->is_array())
    for (std::size_t i = 0; i < t->get_array().size(); ++i) {
      if (i) out += i + 1 == t->get_array().size() ? " or " : ", ";
      if (t->get_array()[i].is_string()) out += one(t->get_array()[i].get_string());
    }
  return out.empty() ? "another type" : out;
}

const json::value* schema_key(const json::value* sch, const char* key) {
  return sch && sch->is_object() ? sch->get_object().if_contains(key) : nullptr;
}

std::string quoted_between(const std::string& s, char open, char close, std::size_t from = 0) {
  auto a = s.find(open, from);
  if (a == std::string::npos) return {};
  auto b = s.find(close, a + 1);
  if (b == std::string::npos) return {};
  return s.substr(a + 1, b - a - 1);
}

bool starts_with(const std::string& s, std::string_view p) { return s.rfind(p, 0) == 0; }

std::string lower_first(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string join_path(const std::string& base, const std::string& key) { return base.empty() ? key : base + "." + key; }
std::string join_path(const std::string& base, std::size_t index) { return base + "[" + std::to_string(index) + "]"; }

namespace {

// Patterns and formats are matched with Boost.Regex rather than valijson's std::regex: libstdc++'s
// regex executor recurses once per character (a 30,000-character value overflows the stack) and
// has no bound on backtracking. Boost.Regex matches without recursion and gives up, with an
// exception, on a pattern/value pair that would take too long. The schema is compiled with
// "pattern" and "format" renamed to these keywords, which the constraints below implement.
constexpr const char* kPatternKeyword = "x-vzkit-pattern";
constexpr const char* kFormatKeyword = "x-vzkit-format";
constexpr const char* kNoMatch = "Failed to match regex specified by 'pattern' constraint";
constexpr const char* kTooComplex = "Pattern too complex to match against this value";

using RegexPtr = std::shared_ptr<const boost::regex>;

/// JSON Schema's pattern (ECMA-262), unanchored, with Boost.Regex's Perl syntax (the closest).
RegexPtr compile_regex(const std::string& pattern) {
  return std::make_shared<const boost::regex>(pattern, boost::regex::perl);
}

class MatchConstraint : public valijson::constraints::PolyConstraint {
 public:
  MatchConstraint(RegexPtr re, std::string failure) : m_re(std::move(re)), m_failure(std::move(failure)) {}

  bool validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override {
    if (!target.isString() || !m_re) return true;
    const std::string text = target.getString();
    try {
      if (boost::regex_search(text, *m_re)) return true;
      if (results) results->pushError(context, m_failure);
    } catch (const std::runtime_error&) {  // Boost.Regex's bound on the work of one match
      if (results) results->pushError(context, kTooComplex);
    }
    return false;
  }

 private:
  Constraint* cloneInto(void* where) const override { return new (where) MatchConstraint(*this); }
  std::size_t sizeOf() const override { return sizeof(MatchConstraint); }

  RegexPtr m_re;
  std::string m_failure;
};

class PatternBuilder : public valijson::ConstraintBuilder {
 public:
  valijson::constraints::Constraint* make(const valijson::adapters::Adapter& node) const override {
    std::string pattern;
    if (!node.getString(pattern)) throw std::runtime_error("'pattern' must be a string");
    try {
      return new MatchConstraint(compile_regex(pattern), kNoMatch);
    } catch (const boost::regex_error& e) {
      throw std::runtime_error("'pattern' " + json::serialize(json::string(pattern)) + " is not a regular expression: " +
                               e.what());
    }
  }
};

// The formats valijson checks, by the same regular expressions.
class FormatBuilder : public valijson::ConstraintBuilder {
 public:
  valijson::constraints::Constraint* make(const valijson::adapters::Adapter& node) const override {
    std::string format;
    if (!node.getString(format)) throw std::runtime_error("'format' must be a string");
    static const std::string date = "([0-9]+)-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])";
    static const std::string time =
        "([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]|60)(\\.[0-9]+)?(([Zz])|([\\+|\\-]([01][0-9]|2[0-3]):[0-5][0-9]))";
    std::string re;
    if (format == "date") re = "^" + date + "$";
    else if (format == "time") re = "^" + time + "$";
    else if (format == "date-time") re = "^" + date + "[Tt]" + time + "$";
    if (re.empty()) return new MatchConstraint(nullptr, {});  // other formats are annotations
    return new MatchConstraint(compile_regex(re), "String should match format '" + format + "'");
  }
};

/// A copy of `schema` with "pattern" and "format" keywords renamed, following only the places
/// where JSON Schema (draft-07) puts schemas, so a setting that happens to be called "pattern"
/// keeps its name.
json::value rename_keywords(const json::value& schema) {
  if (!schema.is_object()) return schema;
  json::object out;
  for (const auto& kv : schema.get_object()) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    if ((key == "pattern" || key == "format") && v.is_string()) {
      out[key == "pattern" ? kPatternKeyword : kFormatKeyword] = v;
    } else if ((key == "properties" || key == "patternProperties" || key == "definitions" || key == "$defs" ||
                key == "dependencies") &&
               v.is_object()) {
      json::object sub;
      for (const auto& p : v.get_object()) sub[p.key()] = rename_keywords(p.value());
      out[key] = std::move(sub);
    } else if ((key == "items" || key == "allOf" || key == "anyOf" || key == "oneOf") && v.is_array()) {
      json::array sub;
      for (const auto& e : v.get_array()) sub.push_back(rename_keywords(e));
      out[key] = std::move(sub);
    } else if (key == "items" || key == "additionalItems" || key == "additionalProperties" || key == "contains" ||
               key == "propertyNames" || key == "if" || key == "then" || key == "else" || key == "not") {
      out[key] = rename_keywords(v);
    } else {
      out[key] = v;
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<valijson::Schema> compile(const json::value& schema) {
  auto compiled = std::make_unique<valijson::Schema>();
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  parser.addConstraintBuilder(kPatternKeyword, new PatternBuilder());  // the parser owns and deletes them
  parser.addConstraintBuilder(kFormatKeyword, new FormatBuilder());
  const json::value renamed = rename_keywords(schema);
  valijson::adapters::BoostJsonAdapter adapter(renamed);
  parser.populateSchema(adapter, *compiled);
  return compiled;
}

bool check(const valijson::Schema& compiled, const json::value& schema, const json::value& value,
           const std::string& prefix, const std::string& plugin, const std::string& file, Diagnostics& out) {
  // One validator per thread: it caches compiled regular expressions ("pattern"), which cost far
  // more to build than a whole validation.
  thread_local valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::BoostJsonAdapter target(value);
  if (validator.validate(compiled, target, &results)) return true;

  struct Raw {
    std::vector<std::string> segs;
    std::string description;
  };
  std::vector<Raw> raw;
  valijson::ValidationResults::Error e;
  while (results.popError(e)) {
    // Parent errors only repeat what their children say.
    if (starts_with(e.description, "Failed to validate item #") || starts_with(e.description, "Cannot validate item #") ||
        starts_with(e.description, "Failed to validate against schema associated with property name") ||
        starts_with(e.description, "Failed to validate against additional properties schema") ||
        starts_with(e.description, "Failed to validate against schema associated with pattern"))
      continue;
    raw.push_back({segments(e.context), e.description});
  }
  auto is_prefix = [](const std::vector<std::string>& a, const std::vector<std::string>& b) {
    return a.size() < b.size() && std::equal(a.begin(), a.end(), b.begin());
  };
  // Errors inside an alternative of oneOf/anyOf are replaced by the one "matches none" error.
  std::vector<const Raw*> alternatives;
  for (const auto& r : raw)
    if (starts_with(r.description, "Failed to validate against any schemas allowed by anyOf") ||
        starts_with(r.description, "Failed to validate against exactly one child schema") ||
        starts_with(r.description, "Failed to validate against any child schemas"))
      alternatives.push_back(&r);

  std::set<std::pair<std::string, std::string>> seen;
  bool any = false;
  for (const auto& r : raw) {
    if (std::any_of(alternatives.begin(), alternatives.end(), [&](const Raw* a) { return is_prefix(a->segs, r.segs); }))
      continue;
    const json::value* v = &value;
    const json::value* sch = resolve(&schema, &schema);
    std::string path = prefix;
    for (const auto& text : r.segs) {
      const Segment s = segment_for(v, text);
      v = step_value(v, s);
      sch = resolve(&schema, step_schema(sch, s));
      path = s.is_index ? join_path(path, s.index) : join_path(path, s.key);
    }
    Diagnostic d;
    d.file = file;
    d.plugin = plugin;
    d.path = path;
    const std::string& desc = r.description;
    const auto* min = schema_key(sch, "minimum");
    const auto* max = schema_key(sch, "maximum");
    if (starts_with(desc, "Value type not permitted")) {
      d.code = "schema.type";
      d.message = "must be " + expected_types(sch) + ", got " + type_name(v);
    } else if ((starts_with(desc, "Expected number less than") || starts_with(desc, "Expected number greater than")) && min && max) {
      d.code = "schema.range";
      d.message = "must be between " + number_text(*min) + " and " + number_text(*max) + ", got " + value_text(v);
    } else if (starts_with(desc, "Expected number less than or equal")) {
      d.code = "schema.maximum";
      d.message = "must be at most " + desc.substr(desc.rfind(' ') + 1) + ", got " + value_text(v);
    } else if (starts_with(desc, "Expected number less than")) {
      d.code = "schema.maximum";
      d.message = "must be less than " + desc.substr(desc.rfind(' ') + 1) + ", got " + value_text(v);
    } else if (starts_with(desc, "Expected number greater than or equal")) {
      d.code = "schema.minimum";
      d.message = "must be at least " + desc.substr(desc.rfind(' ') + 1) + ", got " + value_text(v);
    } else if (starts_with(desc, "Expected number greater than")) {
      d.code = "schema.minimum";
      d.message = "must be greater than " + desc.substr(desc.rfind(' ') + 1) + ", got " + value_text(v);
    } else if (starts_with(desc, "Missing required property")) {
      std::string key = quoted_between(desc, '\'', '\'');
      d.code = "schema.required";
      d.path = join_path(path, key);
      d.message = "is required";
      const json::value* sub = resolve(&schema, step_schema(sch, Segment{false, key, 0}));
      if (const auto* dsc = schema_key(sub, "description"); dsc && dsc->is_string())
        d.hint = std::string(key) + ": " + std::string(dsc->get_string());
    } else if (starts_with(desc, "Object contains a property that could not be validated")) {
      std::string key = quoted_between(desc, '\'', '\'', desc.find(':'));
      d.code = "schema.unknown-key";
      d.path = join_path(path, key);
      d.message = "unknown key '" + key + "'";
      std::vector<std::string> allowed;
      if (const auto* props = schema_key(sch, "properties"); props && props->is_object())
        for (const auto& kv : props->get_object()) allowed.emplace_back(kv.key());
      if (auto near = closest(key, allowed); !near.empty()) d.hint = "did you mean '" + near + "'?";
      else if (!allowed.empty()) {
        d.hint = "allowed keys: ";
        for (std::size_t i = 0; i < allowed.size(); ++i) d.hint += (i ? ", " : "") + allowed[i];
      }
    } else if (starts_with(desc, "Failed to match against any enum")) {
      d.code = "schema.enum";
      d.message = "must be one of ";
      if (const auto* en = schema_key(sch, "enum"); en && en->is_array())
        for (std::size_t i = 0; i < en->get_array().size(); ++i)
          d.message += (i ? ", " : "") + value_text(&en->get_array()[i]);
      d.message += ", got " + value_text(v);
    } else if (starts_with(desc, kTooComplex)) {
      d.code = "schema.pattern-too-complex";
      d.message = "cannot be checked against its pattern: matching " + value_text(v) + " takes too long";
      d.hint = "shorten the value; if it is right, the plugin's pattern is too costly (report it to its author)";
    } else if (starts_with(desc, "String should match format")) {
      d.code = "schema.format";
      d.message = value_text(v) + " is not a " + quoted_between(desc, '\'', '\'');
    } else if (starts_with(desc, "Failed to match regex")) {
      d.code = "schema.pattern";
      d.message = value_text(v) + " is not in the expected form";
      if (const auto* dsc = schema_key(sch, "description"); dsc && dsc->is_string()) d.hint = std::string(dsc->get_string());
      else if (const auto* pat = schema_key(sch, "pattern"); pat && pat->is_string())
        d.hint = "expected a match of " + std::string(pat->get_string());
    } else if (starts_with(desc, "String should be no more than") || starts_with(desc, "String should be no fewer than")) {
      d.code = starts_with(desc, "String should be no more") ? "schema.max-length" : "schema.min-length";
      const auto* lim = schema_key(sch, d.code == "schema.max-length" ? "maxLength" : "minLength");
      d.message = std::string(d.code == "schema.max-length" ? "must be at most " : "must be at least ") +
                  (lim ? number_text(*lim) : std::string("?")) + " characters long, got " + value_text(v);
      if (d.code == "schema.min-length" && lim && number_text(*lim) == "1") d.message = "must not be empty";
    } else if (starts_with(desc, "Array should contain no more than") || starts_with(desc, "Array should contain no fewer than")) {
      bool more = starts_with(desc, "Array should contain no more");
      d.code = more ? "schema.max-items" : "schema.min-items";
      const auto* lim = schema_key(sch, more ? "maxItems" : "minItems");
      d.message = std::string(more ? "must have at most " : "must have at least ") + (lim ? number_text(*lim) : "?") +
                  " entries, got " + std::to_string(v && v->is_array() ? v->get_array().size() : 0);
    } else if (starts_with(desc, "Value should be a multiple of")) {
      d.code = "schema.multiple-of";
      d.message = "must be a multiple of " + desc.substr(desc.rfind(' ') + 1) + ", got " + value_text(v);
    } else if (starts_with(desc, "Failed to match expected value set by 'const'")) {
      d.code = "schema.const";
      const auto* c = schema_key(sch, "const");
      d.message = "must be " + value_text(c) + ", got " + value_text(v);
    } else if (std::any_of(alternatives.begin(), alternatives.end(), [&](const Raw* a) { return a == &r; })) {
      d.code = "schema.one-of";
      d.message = "matches none of the allowed forms";
      if (const auto* dsc = schema_key(sch, "description"); dsc && dsc->is_string()) d.hint = std::string(dsc->get_string());
    } else {
      d.code = "schema.invalid";
      d.message = lower_first(desc);
    }
    if (d.hint.empty())
      if (const auto* dsc = schema_key(sch, "description"); dsc && dsc->is_string() && d.code != "schema.unknown-key")
        d.hint = std::string(dsc->get_string());
    if (!seen.insert({d.path, d.code}).second) continue;
    out.push_back(std::move(d));
    any = true;
  }
  if (!any) {  // valijson said no without a leaf we understood: still an error
    Diagnostic d;
    d.file = file;
    d.plugin = plugin;
    d.path = prefix;
    d.code = "schema.invalid";
    d.message = "does not match its schema";
    out.push_back(std::move(d));
  }
  return false;
}

void apply_defaults(const json::value& schema, json::value& value) {
  if (!schema.is_object()) return;
  const auto& s = schema.get_object();
  if (value.is_object()) {
    const auto* props = s.if_contains("properties");
    if (!props || !props->is_object()) return;
    auto& obj = value.get_object();
    for (const auto& kv : props->get_object()) {
      auto* present = obj.if_contains(kv.key());
      if (!present) {
        if (const auto* def = kv.value().is_object() ? kv.value().get_object().if_contains("default") : nullptr)
          obj[kv.key()] = *def;
      } else {
        apply_defaults(kv.value(), *present);
      }
    }
  } else if (value.is_array()) {
    const auto* items = s.if_contains("items");
    if (!items || !items->is_object()) return;
    for (auto& e : value.get_array()) apply_defaults(*items, e);
  }
}

}  // namespace vzkit::kernel::detail

namespace vzkit::kernel {

std::string closest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    auto d = detail::edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

}  // namespace vzkit::kernel
