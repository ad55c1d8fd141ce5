#include <vzkit/images/auth.hpp>

#include "crypto_api.hpp"

#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/json_text.hpp>

#include <boost/json.hpp>

#include <sys/stat.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace vzkit::images {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string Challenge::param(const std::string& name) const {
  const auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view v) {
  std::vector<Challenge> out;
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
  };
  auto token = [&] {
    const std::size_t start = i;
    while (i < v.size() && is_token_char(v[i])) ++i;
    return std::string(v.substr(start, i - start));
  };
  while (true) {
    skip_ws();
    while (i < v.size() && v[i] == ',') {
      ++i;
      skip_ws();
    }
    if (i >= v.size()) break;
    Challenge c;
    c.scheme = token();
    if (c.scheme.empty())
      throw std::invalid_argument("WWW-Authenticate '" + std::string(v) + "': expected a scheme at offset " +
                                  std::to_string(i));
    // Parameters until the next scheme (a token not followed by '=').
    while (true) {
      skip_ws();
      const std::size_t mark = i;
      std::string name = token();
      skip_ws();
      if (name.empty() || i >= v.size() || v[i] != '=') {  // the next challenge's scheme, or the end
        i = mark;
        break;
      }
      ++i;  // '='
      skip_ws();
      std::string value;
      if (i < v.size() && v[i] == '"') {
        ++i;
        bool closed = false;
        while (i < v.size()) {
          if (v[i] == '\\' && i + 1 < v.size()) {
            value += v[i + 1];
            i += 2;
          } else if (v[i] == '"') {
            ++i;
            closed = true;
            break;
          } else {
            value += v[i++];
          }
        }
        if (!closed)
          throw std::invalid_argument("WWW-Authenticate '" + std::string(v) + "': the value of '" + name +
                                      "' has no closing quote");
      } else {
        const std::size_t start = i;
        while (i < v.size() && v[i] != ',' && v[i] != ' ' && v[i] != '\t') ++i;
        value = std::string(v.substr(start, i - start));
      }
      c.params[lower(name)] = value;
      skip_ws();
      if (i < v.size() && v[i] == ',') ++i;
      else break;
    }
    out.push_back(std::move(c));
    if (i >= v.size()) break;
    if (i < v.size() && !is_token_char(v[i]) && v[i] != ',')
      throw std::invalid_argument("WWW-Authenticate '" + std::string(v) + "': unexpected '" + std::string(1, v[i]) +
                                  "' at offset " + std::to_string(i));
  }
  return out;
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n = detail::crypto().encode_block(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) t += c;
  if (t.size() % 4 != 0) throw std::invalid_argument("not base64 (its length is not a multiple of 4)");
  std::string out(t.size() / 4 * 3, '\0');
  const int n = detail::crypto().decode_block(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(t.data()), static_cast<int>(t.size()));
  if (n < 0) throw std::invalid_argument("not base64");
  std::size_t len = static_cast<std::size_t>(n);
  for (std::size_t k = t.size(); k > 0 && t[k - 1] == '='; --k) --len;  // EVP counts the padding
  out.resize(len);
  return out;
}

namespace {

// "https://index.docker.io/v1/" -> "index.docker.io"; "http://localhost:5000" -> "localhost:5000".
std::string host_of_key(std::string key) {
  if (const auto p = key.find("://"); p != std::string::npos) key = key.substr(p + 3);
  if (const auto slash = key.find('/'); slash != std::string::npos) key.resize(slash);
  key = lower(key);
  if (key == "index.docker.io" || key == "registry-1.docker.io") key = "docker.io";
  return key;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path docker_config() {
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) return fs::path(d) / "config.json";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/") / ".docker" / "config.json";
}

json::object parse_config(const std::string& text, const std::string& file) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw AuthFileError(file + ": not valid JSON (" + ec.message() + ")");
  if (!v.is_object()) throw AuthFileError(file + ": expected a JSON object at the top");
  return v.as_object();
}

}  // namespace

std::vector<fs::path> auth_files() {
  std::vector<fs::path> out;
  std::error_code ec;
  if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f && *f && fs::exists(f, ec)) out.emplace_back(f);
  if (const auto d = docker_config(); fs::exists(d, ec)) out.push_back(d);
  return out;
}

std::string HelperRef::describe() const { return program() + " (named by " + origin + ")"; }

namespace {

std::optional<HelperRef> helper_of(const json::object& root, const std::string& registry, const std::string& file) {
  auto checked = [&](const json::value& v, const std::string& path) -> std::optional<HelperRef> {
    if (!v.is_string()) throw AuthFileError(file + ": " + path + ": expected a string (a helper's name)");
    const std::string name(v.as_string());
    if (name.empty()) return std::nullopt;
    for (char c : name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
        throw AuthFileError(file + ": " + path + ": '" + name +
                            "' is not a credential helper's name (the part after docker-credential-: letters, digits, "
                            "'-', '_', '.')");
    return HelperRef{name, file + ": " + path};
  };
  const std::string want = host_of_key(registry);
  if (const auto* helpers = root.if_contains("credHelpers")) {
    if (!helpers->is_object()) throw AuthFileError(file + ": credHelpers: expected an object");
    for (const auto& [k, h] : helpers->as_object())
      if (host_of_key(std::string(k)) == want) return checked(h, "credHelpers[\"" + std::string(k) + "\"]");
  }
  if (const auto* store = root.if_contains("credsStore")) return checked(*store, "credsStore");
  return std::nullopt;
}

// Drops `registry`'s entries from "auths"; whether there were any.
bool erase_entries(json::object& root, const std::string& registry) {
  auto* auths = root.if_contains("auths");
  if (!auths || !auths->is_object()) return false;
  bool removed = false;
  const std::string want = host_of_key(registry);
  for (auto it = auths->as_object().begin(); it != auths->as_object().end();) {
    if (host_of_key(std::string(it->key())) == want) {
      it = auths->as_object().erase(it);
      removed = true;
    } else {
      ++it;
    }
  }
  return removed;
}

}  // namespace

std::optional<HelperRef> helper_in(const std::string& text, const std::string& registry, const std::string& file) {
  return helper_of(parse_config(text, file), registry, file);
}

std::optional<Credentials> credentials_in(const std::string& text, const std::string& registry,
                                          const std::string& file) {
  const auto root = parse_config(text, file);
  // Docker's order: a helper the file names for the registry answers alone (docker/cli's
  // GetCredentialsStore: credHelpers, then credsStore, then the file).
  if (const auto helper = helper_of(root, registry, file)) return helper_get(*helper, registry);
  const std::string want = host_of_key(registry);
  const auto* auths = root.if_contains("auths");
  if (auths && !auths->is_object()) throw AuthFileError(file + ": auths: expected an object");
  if (auths) {
    for (const auto& [k, entry] : auths->as_object()) {
      if (host_of_key(std::string(k)) != want) continue;
      const std::string path = "auths[\"" + std::string(k) + "\"]";
      if (!entry.is_object()) throw AuthFileError(file + ": " + path + ": expected an object");
      const auto& e = entry.as_object();
      Credentials c;
      c.file = file;
      auto str = [&](const char* key) -> std::string {
        const auto* v = e.if_contains(key);
        if (!v) return {};
        if (!v->is_string()) throw AuthFileError(file + ": " + path + "." + key + ": expected a string");
        return std::string(v->as_string());
      };
      if (const auto a = str("auth"); !a.empty()) {
        std::string plain;
        try {
          plain = base64_decode(a);
        } catch (const std::invalid_argument& ex) {
          throw AuthFileError(file + ": " + path + ".auth: " + ex.what() + " (expected base64 of user:password)");
        }
        const auto colon = plain.find(':');
        if (colon == std::string::npos)
          throw AuthFileError(file + ": " + path + ".auth: expected base64 of user:password (it has no ':')");
        c.username = plain.substr(0, colon);
        c.password = plain.substr(colon + 1);
      } else {
        c.username = str("username");
        c.password = str("password");
      }
      c.identity_token = str("identitytoken");
      if (c.username.empty() && c.password.empty() && c.identity_token.empty()) continue;
      return c;
    }
  }
  return std::nullopt;
}

std::optional<Credentials> find_credentials(const std::string& registry) {
  for (const auto& f : auth_files()) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec)) throw AuthFileError(f.string() + ": not a regular file");
    if (auto c = credentials_in(read_text(f), registry, f.string())) return c;
  }
  return std::nullopt;
}

fs::path login_file() {
  if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f && *f) return f;
  return docker_config();
}

namespace {

void write_config(const fs::path& file, const json::object& root) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  const mode_t old = ::umask(077);  // the temporary file is made 0600 from the start
  try {
    kernel::write_atomic(file, kernel::pretty_json(root) + "\n");
  } catch (...) {
    ::umask(old);
    throw;
  }
  ::umask(old);
  ::chmod(file.c_str(), 0600);
}

}  // namespace

std::string store_credentials(const std::string& registry, const std::string& username, const std::string& password) {
  const auto file = login_file();
  std::error_code ec;
  json::object root = fs::exists(file, ec) ? parse_config(read_text(file), file.string()) : json::object{};
  if (const auto helper = helper_of(root, registry, file.string())) {
    helper_store(*helper, registry, username, password);
    if (erase_entries(root, registry)) write_config(file, root);  // no copy in clear stays behind
    return helper->describe();
  }
  erase_entries(root, registry);
  auto& auths = root["auths"];
  if (!auths.is_object()) auths = json::object{};
  auths.as_object()[registry] = json::object{{"auth", base64_encode(username + ":" + password)}};
  write_config(file, root);
  return file.string();
}

bool remove_credentials(const std::string& registry) {
  const auto file = login_file();
  std::error_code ec;
  if (!fs::exists(file, ec)) return false;
  json::object root = parse_config(read_text(file), file.string());
  bool removed = false;
  if (const auto helper = helper_of(root, registry, file.string())) removed = helper_erase(*helper, registry);
  if (erase_entries(root, registry)) {
    write_config(file, root);
    removed = true;
  }
  return removed;
}

std::string credentials_place(const std::string& registry) {
  const auto file = login_file();
  std::error_code ec;
  if (fs::exists(file, ec))
    if (const auto helper = helper_of(parse_config(read_text(file), file.string()), registry, file.string()))
      return helper->describe();
  return file.string();
}

}  // namespace vzkit::images
