#include <vzkit/kernel/spec.hpp>

#include <boost/json.hpp>

#include <cctype>
#include <cmath>
#include <fstream>
#include <sstream>

namespace vzkit::kernel {

namespace json = boost::json;

namespace {

void line_column(std::string_view text, std::size_t offset, int& line, int& column) {
  line = 1;
  column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;  // count code points, not UTF-8 continuation bytes
    }
  }
}

}  // namespace

ParsedSpec parse_spec(std::string_view text, std::string file, std::filesystem::path dir) {
  ParsedSpec out;
  auto syntax = [&](std::size_t offset, std::string message, std::string hint) {
    Diagnostic d;
    d.code = "spec.syntax";
    d.file = file;
    d.message = std::move(message);
    d.hint = std::move(hint);
    line_column(text, offset, d.line, d.column);
    out.diagnostics.push_back(std::move(d));
  };
  if (text.size() > kMaxSpecBytes) {
    syntax(0, "spec is " + std::to_string(text.size()) + " bytes, more than the " + std::to_string(kMaxSpecBytes) +
                  " accepted", "a VM spec is a small JSON file; check that the right file was given");
    return out;
  }
  json::parse_options opts;
  opts.max_depth = kMaxSpecDepth;
  json::stream_parser p(json::storage_ptr(), opts);
  json::error_code ec;
  std::size_t consumed = p.write(text.data(), text.size(), ec);
  if (!ec) {
    p.finish(ec);
    consumed = text.size();
  }
  if (ec) {
    std::string hint = "the spec must be one JSON object";
    if (ec == json::error::too_deep) hint = "JSON nesting deeper than " + std::to_string(kMaxSpecDepth) + " levels is refused";
    else if (consumed >= text.size()) hint = "the file ends early: check for a missing '}' or ']'";
    syntax(consumed, "invalid JSON: " + ec.message(), hint);
    return out;
  }
  Spec s;
  s.file = std::move(file);
  s.dir = std::move(dir);
  s.document = p.release();
  out.spec = std::move(s);
  return out;
}

ParsedSpec load_spec(const std::filesystem::path& file) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(file, ec);
  std::ifstream in(file, std::ios::binary);
  if (!in || std::filesystem::is_directory(file, ec)) {
    ParsedSpec out;
    Diagnostic d;
    d.code = "spec.unreadable";
    d.file = file.string();
    d.message = "cannot read the spec file";
    d.hint = "check the path; a spec is a JSON file such as examples/linux-direct.json";
    out.diagnostics.push_back(std::move(d));
    return out;
  }
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxSpecBytes) break;
  }
  return parse_spec(text, file.string(), abs.parent_path());
}

std::optional<std::uint64_t> parse_size(std::string_view t) {
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  std::size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  if (i == 0 || i > 24) return std::nullopt;
  std::string number(t.substr(0, i));
  if (number.find('.') != number.rfind('.') || number.front() == '.' || number.back() == '.') return std::nullopt;
  std::string_view unit = t.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  struct U { std::string_view name; long double factor; };
  static constexpr U units[] = {
      {"", 1}, {"B", 1},
      {"K", 1024.0L}, {"KiB", 1024.0L}, {"KB", 1e3L},
      {"M", 1048576.0L}, {"MiB", 1048576.0L}, {"MB", 1e6L},
      {"G", 1073741824.0L}, {"GiB", 1073741824.0L}, {"GB", 1e9L},
      {"T", 1099511627776.0L}, {"TiB", 1099511627776.0L}, {"TB", 1e12L}};
  for (const auto& u : units) {
    if (unit != u.name) continue;
    long double v = std::stold(number) * u.factor;
    if (!(v >= 0) || v > 18446744073709551615.0L) return std::nullopt;
    long double r = std::floor(v);
    if (r != v) return std::nullopt;  // fractions of a byte
    return static_cast<std::uint64_t>(r);
  }
  return std::nullopt;
}

std::string format_size(std::uint64_t b) {
  static constexpr const char* names[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  std::uint64_t v = b;
  while (i < 4 && v >= 1024 && v % 1024 == 0) {
    v /= 1024;
    ++i;
  }
  return std::to_string(v) + " " + names[i];
}

}  // namespace vzkit::kernel
