#include <vzkit/kernel/json_text.hpp>

#include <boost/json.hpp>

namespace vzkit::kernel {

namespace json = boost::json;

namespace {
void write(std::string& out, const json::value& v, int depth) {
  const std::string pad(static_cast<std::size_t>(depth + 1) * 2, ' ');
  const std::string close(static_cast<std::size_t>(depth) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    std::size_t i = 0;
    for (const auto& kv : o) {
      out += pad + json::serialize(json::string(kv.key())) + ": ";
      write(out, kv.value(), depth + 1);
      out += ++i < o.size() ? ",\n" : "\n";
    }
    out += close + "}";
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    bool flat = true;
    for (const auto& e : a) flat = flat && !e.is_object() && !e.is_array();
    if (flat && a.size() <= 8) {
      out += "[";
      for (std::size_t i = 0; i < a.size(); ++i) out += (i ? ", " : "") + json::serialize(a[i]);
      out += "]";
      return;
    }
    out += "[\n";
    for (std::size_t i = 0; i < a.size(); ++i) {
      out += pad;
      write(out, a[i], depth + 1);
      out += i + 1 < a.size() ? ",\n" : "\n";
    }
    out += close + "]";
  } else {
    out += json::serialize(v);
  }
}
}  // namespace

std::string pretty_json(const json::value& v) {
  std::string out;
  write(out, v, 0);
  out += "\n";
  return out;
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_-+=:,./") ==
                        std::string::npos)
    return s;
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + shell_quote(a);
  return out;
}

}  // namespace vzkit::kernel
