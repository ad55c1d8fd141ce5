#include <vzkit/kernel/spec.hpp>
#include <vzkit/units.hpp>

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

std::optional<std::uint64_t> parse_size(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return vzkit::parse_size(text);
}

std::string format_size(std::uint64_t bytes) { return vzkit::format_size(bytes); }

}  // namespace vzkit::kernel
