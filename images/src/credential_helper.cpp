// Docker's credential helper protocol (docs.docker.com, `docker login`, "Credential helper
// protocol"): the program docker-credential-NAME on PATH with one argument, get, store or erase;
// get and erase read the server address on stdin, store reads {"ServerURL","Username","Secret"};
// get prints {"Username","Secret"} (a Username of "<token>": Secret is an identity token); a
// missing entry is a non-zero exit with "credentials not found" on stdout.
#include <vzkit/images/auth.hpp>

#include <vzkit/kernel/subprocess.hpp>

#include <boost/json.hpp>

#include <cctype>

namespace vzkit::images {

namespace json = boost::json;

namespace {

bool is_docker_hub(std::string r) {
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r == "docker.io" || r == "index.docker.io" || r == "registry-1.docker.io";
}

// The server addresses a helper may keep `registry` under, the one `store` uses first.
std::vector<std::string> addresses(const std::string& registry) {
  if (is_docker_hub(registry)) return {"https://index.docker.io/v1/", "docker.io", "index.docker.io"};
  return {registry, "https://" + registry};
}

// What the helper printed, for a message: trimmed, shortened, and with `secret` masked.
std::string said(const kernel::ChildResult& r, const std::string& secret) {
  std::string text = r.err.find_first_not_of(" \t\r\n") != std::string::npos ? r.err : r.out;
  if (!secret.empty())
    for (std::size_t at; (at = text.find(secret)) != std::string::npos;) text.replace(at, secret.size(), "***");
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  text.erase(0, text.find_first_not_of(" \t\r\n"));
  if (text.size() > 400) text = text.substr(0, 400) + "...";
  for (auto& c : text)
    if (c == '\n') c = ' ';
  return text.empty() ? "it printed nothing" : "it said: " + text;
}

bool not_found(const kernel::ChildResult& r) {
  auto has = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s.find("credentials not found") != std::string::npos;
  };
  return r.started && !r.timed_out && r.signal == 0 && r.exit_code != 0 && (has(r.out) || has(r.err));
}

kernel::ChildResult run(const HelperRef& h, const std::string& verb, const std::string& input,
                        std::chrono::milliseconds timeout) {
  if (kernel::find_program(h.program()).empty())
    throw CredentialHelperError(h.origin + " says credentials are kept by the credential helper '" + h.name +
                                "', but " + h.program() + " is not on PATH\n  hint: install " + h.program() +
                                " (or put its folder on PATH), or remove that entry to keep the credentials in the "
                                "file itself");
  kernel::ChildOptions o;
  o.input = input;
  o.timeout = timeout;
  o.max_capture = 1u << 20;
  return kernel::run_child({h.program(), verb}, o);
}

[[noreturn]] void failed(const HelperRef& h, const std::string& verb, const std::string& address,
                         const kernel::ChildResult& r, const std::string& secret) {
  throw CredentialHelperError("`" + h.program() + " " + verb + "` for " + address + " (named by " + h.origin +
                              ") failed: " + r.describe() + "; " + said(r, secret) + "\n  hint: " +
                              (verb == "get" ? "run `printf " + address + " | " + h.program() + " get` to see what it says"
                                             : "check that " + h.program() + " works (its store unlocked, writable)") +
                              ", or remove that entry to keep the credentials in the file itself");
}

}  // namespace

std::optional<Credentials> helper_get(const HelperRef& h, const std::string& registry,
                                      std::chrono::milliseconds timeout) {
  for (const auto& address : addresses(registry)) {
    const auto r = run(h, "get", address, timeout);
    if (not_found(r)) continue;
    if (!r.ok()) failed(h, "get", address, r, {});
    // The answer holds the secret: errors name what is wrong with it, never its text.
    const std::string where = "the answer of `" + h.program() + " get` for " + address + " (named by " + h.origin + ")";
    boost::system::error_code ec;
    const auto v = json::parse(r.out, ec);
    if (ec)
      throw CredentialHelperError(where + " is not JSON (" + ec.message() + ", " + std::to_string(r.out.size()) +
                                  " bytes)\n  hint: a helper prints {\"Username\": ..., \"Secret\": ...}; check "
                                  "that " + h.program() + " is a Docker credential helper");
    if (!v.is_object())
      throw CredentialHelperError(where + " is not a JSON object\n  hint: a helper prints {\"Username\": ..., "
                                  "\"Secret\": ...}");
    auto field = [&](const char* key) -> std::string {
      const auto* x = v.as_object().if_contains(key);
      if (!x || x->is_null()) return {};
      if (!x->is_string())
        throw CredentialHelperError(where + ": " + key + ": expected a string\n  hint: a helper prints "
                                    "{\"Username\": ..., \"Secret\": ...}");
      return std::string(x->as_string());
    };
    Credentials c;
    c.username = field("Username");
    const auto secret = field("Secret");
    if (c.username.empty() && secret.empty()) continue;
    if (c.username == "<token>") {
      c.username.clear();
      c.identity_token = secret;
    } else {
      c.password = secret;
    }
    c.file = h.describe();
    return c;
  }
  return std::nullopt;
}

void helper_store(const HelperRef& h, const std::string& registry, const std::string& username,
                  const std::string& secret) {
  const auto address = addresses(registry).front();
  const auto r = run(h, "store",
                     json::serialize(json::object{{"ServerURL", address}, {"Username", username}, {"Secret", secret}}),
                     kCredentialHelperTimeout);
  if (!r.ok()) failed(h, "store", address, r, secret);
}

bool helper_erase(const HelperRef& h, const std::string& registry) {
  bool erased = false;
  for (const auto& address : addresses(registry)) {
    const auto r = run(h, "erase", address, kCredentialHelperTimeout);
    if (not_found(r)) continue;
    if (!r.ok()) failed(h, "erase", address, r, {});
    erased = true;
  }
  return erased;
}

}  // namespace vzkit::images
