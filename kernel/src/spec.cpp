#include <vzkit/kernel/spec.hpp>
#include <vzkit/units.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
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

struct KeyProblem {
  std::size_t offset;
  std::string key;
  std::size_t size;
  bool overlong;
};

/// Keys that occur twice in one object, and keys longer than kMaxKeyBytes, in well-formed JSON
/// text (so the scan can be simple: strings, objects, arrays, and nothing else has quotes).
std::vector<KeyProblem> duplicate_keys(std::string_view text) {
  struct Level {
    bool object;
    bool expect_key;
    std::vector<std::string> keys;
  };
  std::vector<Level> stack;
  std::vector<KeyProblem> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '{' || c == '[') {
      stack.push_back({c == '{', c == '{', {}});
    } else if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
    } else if (c == ',' && !stack.empty() && stack.back().object) {
      stack.back().expect_key = true;
    } else if (c == '"') {
      const std::size_t start = i;
      for (++i; i < text.size() && text[i] != '"'; ++i)
        if (text[i] == '\\') ++i;
      if (stack.empty() || !stack.back().object || !stack.back().expect_key) continue;
      stack.back().expect_key = false;
      const std::string_view raw = text.substr(start, i - start + 1);
      std::string key;
      json::error_code ec;
      const auto v = json::parse(raw, ec);  // decodes escapes: "a" and "\u0061" are one key
      key = !ec && v.is_string() ? std::string(v.get_string()) : std::string(raw);
      auto& keys = stack.back().keys;
      if (key.size() > kMaxKeyBytes) {
        out.push_back({start, key, key.size(), true});
      } else if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
        out.push_back({start, key, key.size(), false});
      } else {
        keys.push_back(std::move(key));
      }
      if (out.size() >= 100) break;  // enough to show
    }
  }
  return out;
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
  // Boost.JSON keeps the last of two equal keys; other readers take the first. Refuse them.
  for (const auto& dup : duplicate_keys(text)) {
    if (dup.overlong)
      syntax(dup.offset, "key '" + dup.key.substr(0, 40) + "...' is " + std::to_string(dup.size) +
                             " bytes long, more than the " + std::to_string(kMaxKeyBytes) + " accepted",
             "keys name settings; check for a misplaced quote");
    else
      syntax(dup.offset, "key '" + dup.key + "' appears twice in one object",
             "keep one of the two: tools disagree on which one counts");
  }
  if (!out.diagnostics.empty()) return out;
  Spec s;
  s.file = std::move(file);
  s.dir = std::move(dir);
  s.document = p.release();
  out.spec = std::move(s);
  return out;
}

ParsedSpec load_spec(const std::filesystem::path& file) {
  namespace fs = std::filesystem;
  ParsedSpec out;
  auto refuse = [&](std::string message, std::string hint) {
    Diagnostic d;
    d.code = "spec.unreadable";
    d.file = file.string();
    d.message = std::move(message);
    d.hint = std::move(hint);
    out.diagnostics.push_back(std::move(d));
    return out;
  };
  // Look before opening: a FIFO, a terminal or a folder must not be read (it would block).
  std::error_code ec;
  const auto st = fs::status(file, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    return refuse("cannot read the spec file: " + ec.message(), "check the path and its permissions");
  if (!fs::exists(st)) return refuse("the spec file does not exist", "check the path; a spec is a JSON file such as examples/linux-direct.json");
  if (!fs::is_regular_file(st))
    return refuse(std::string("the spec is not a regular file (it is ") + file_kind(st.type()) + ")",
                  "give the path of a JSON file");
  const auto size = fs::file_size(file, ec);
  if (!ec && size > kMaxSpecBytes) {
    Diagnostic d;
    d.code = "spec.syntax";
    d.file = file.string();
    d.message = "spec is " + std::to_string(size) + " bytes, more than the " + std::to_string(kMaxSpecBytes) + " accepted";
    d.hint = "a VM spec is a small JSON file; check that the right file was given";
    out.diagnostics.push_back(std::move(d));
    return out;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return refuse(std::string("cannot read the spec file: ") + std::strerror(errno), "check the path and its permissions");
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxSpecBytes) break;  // it grew while being read
  }
  return parse_spec(text, file.string(), fs::absolute(file, ec).parent_path());
}

const char* file_kind(std::filesystem::file_type type) {
  using T = std::filesystem::file_type;
  switch (type) {
    case T::directory: return "a folder";
    case T::fifo: return "a FIFO";
    case T::socket: return "a socket";
    case T::character: return "a character device";
    case T::block: return "a block device";
    case T::symlink: return "a symbolic link";
    case T::regular: return "a regular file";
    default: return "not a file";
  }
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return vzkit::parse_size(text);
}

std::string format_size(std::uint64_t bytes) { return vzkit::format_size(bytes); }

}  // namespace vzkit::kernel
