#include <vzkit/images/registry.hpp>

#include <vzkit/images/auth.hpp>
#include <vzkit/images/digest.hpp>
#include <vzkit/images/index.hpp>

#include <boost/json.hpp>
#include "curl_api.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <set>

namespace vzkit::images {

namespace json = boost::json;

namespace {


std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string escape(const std::string& s) {
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  ///< lower-case names, the last value of each
  std::vector<std::string> challenges;         ///< every WWW-Authenticate
  std::string body;
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;
  std::string_view body;  ///< sent for PUT/PATCH/POST
  bool has_body = false;
  const std::function<void(const char*, std::size_t)>* sink = nullptr;  ///< the body of a 2xx goes here
  bool follow = false;
  /// > 0: the request asked for the bytes from here on (Range). A 206 must start there; a 200
  /// brings the whole body, whose first `range_from` bytes are dropped before the sink.
  std::uint64_t range_from = 0;
};

// The OCI error of a response body: "MANIFEST_UNKNOWN: manifest unknown".
std::pair<std::string, std::string> oci_error(const std::string& body) {
  boost::system::error_code ec;
  const auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const auto* errors = v.as_object().if_contains("errors");
  if (!errors || !errors->is_array() || errors->as_array().empty()) return {};
  const auto& e = errors->as_array()[0];
  if (!e.is_object()) return {};
  std::string code, message;
  if (const auto* c = e.as_object().if_contains("code"); c && c->is_string()) code = c->as_string();
  if (const auto* m = e.as_object().if_contains("message"); m && m->is_string()) message = m->as_string();
  return {code, message};
}

}  // namespace

struct Registry::Shared {
  std::mutex mutex;
  bool credentials_loaded = false;
  std::optional<Credentials> credentials;
  std::map<std::string, std::string> tokens;  ///< "Bearer ..." by the scope asked for
  std::string basic;                          ///< "Basic ..." once the registry asked for it
};

struct Registry::Impl {
  Reference ref;
  RegistryOptions options;
  std::string base;
  std::shared_ptr<Shared> shared;
  CURL* curl = nullptr;

  ~Impl() {
    if (curl) detail::curl().easy_cleanup(curl);
  }

  std::string repo_url(const std::string& tail) const { return base + "/v2/" + ref.repository + "/" + tail; }

  std::string what(const Request& r) const {
    std::string path = r.url.rfind(base, 0) == 0 ? r.url.substr(base.size()) : r.url;
    if (const auto q = path.find('?'); q != std::string::npos && path.find("/uploads/") != std::string::npos)
      path.resize(q);
    return ref.registry + ": " + r.method + " " + path;
  }

  const std::optional<Credentials>& credentials() {
    std::lock_guard lock(shared->mutex);
    if (!shared->credentials_loaded) {
      shared->credentials = find_credentials(ref.registry);
      shared->credentials_loaded = true;
    }
    return shared->credentials;
  }

  // The answer to a Range request, before its first body byte: a 206 must start at the offset
  // asked for; a 200 (a registry or store that ignores Range) brings the whole blob, and `skip`
  // says how much of it the caller has already.
  void check_range(const Response& resp, const Request& r, std::uint64_t& skip) const {
    if (resp.status == 200) {
      skip = r.range_from;
      return;
    }
    if (resp.status != 206) return;
    const std::string cr = resp.header("content-range");  // "bytes START-END/TOTAL"
    std::uint64_t start = UINT64_MAX;
    if (cr.rfind("bytes ", 0) == 0) {
      try {
        start = std::stoull(cr.substr(6));
      } catch (const std::exception&) {
      }
    }
    if (start != r.range_from)
      throw RegistryError(what(r) + ": asked for the bytes from " + std::to_string(r.range_from) +
                              " on, the answer's Content-Range is '" + cr + "'",
                          206, false);
  }

  // One HTTP exchange, without authentication handling.
  Response send(const Request& r, const std::string& authorization) {
    if (!curl) {
      curl = detail::curl().easy_init();
      if (!curl) throw RegistryError("cannot start libcurl", 0, false);
    } else {
      detail::curl().easy_reset(curl);
    }
    Response resp;
    std::exception_ptr sink_error;
    struct Ctx {
      const Impl* impl;
      Response* resp;
      const Request* req;
      std::exception_ptr* error;
      std::string_view upload;
      std::size_t sent = 0;
      bool body_started = false;
      std::uint64_t skip = 0;  ///< bytes of a 200 answer to a Range request still to drop
    } ctx{this, &resp, &r, &sink_error, r.body, 0};

    curl_slist* headers = nullptr;
    for (const auto& h : r.headers) headers = detail::curl().slist_append(headers, h.c_str());
    if (!authorization.empty()) headers = detail::curl().slist_append(headers, ("Authorization: " + authorization).c_str());
    headers = detail::curl().slist_append(headers, "Expect:");  // no 100-continue round trip before uploads
    detail::curl().easy_setopt(curl, CURLOPT_URL, r.url.c_str());
    detail::curl().easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    detail::curl().easy_setopt(curl, CURLOPT_USERAGENT, "vzkit");
    detail::curl().easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    detail::curl().easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, options.insecure ? "http,https" : "https");
    detail::curl().easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    detail::curl().easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    detail::curl().easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
    detail::curl().easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (options.max_recv_speed > 0) {
      detail::curl().easy_setopt(curl, CURLOPT_MAX_RECV_SPEED_LARGE, static_cast<curl_off_t>(options.max_recv_speed));
      // libcurl checks the rate between its read passes, and one pass reads the socket up to 100
      // times while it has data: with a 512 KiB buffer a fast link got 50 MB between checks, so
      // the limit did not hold. A buffer of a thousandth of the rate keeps a pass to 0.1 s of it.
      const auto buffer = std::clamp<std::uint64_t>(options.max_recv_speed / 1000, 1024, 512u * 1024);
      detail::curl().easy_setopt(curl, CURLOPT_BUFFERSIZE, static_cast<long>(buffer));
    } else if (r.sink) {
      detail::curl().easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);  // fewer, larger pieces for blobs
    }
    detail::curl().easy_setopt(curl, CURLOPT_FOLLOWLOCATION, r.follow ? 1L : 0L);
    detail::curl().easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
    if (r.method == "HEAD") {
      detail::curl().easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (r.method == "POST") {
      detail::curl().easy_setopt(curl, CURLOPT_POST, 1L);
      detail::curl().easy_setopt(curl, CURLOPT_POSTFIELDS, r.body.data());
      detail::curl().easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    } else if (r.method == "PUT" || r.method == "PATCH") {
      detail::curl().easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      if (r.method == "PATCH") detail::curl().easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PATCH");
      detail::curl().easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      detail::curl().easy_setopt(curl, CURLOPT_READDATA, &ctx);
      detail::curl().easy_setopt(curl, CURLOPT_READFUNCTION, +[](char* buf, std::size_t size, std::size_t n, void* p) -> std::size_t {
        auto* c = static_cast<Ctx*>(p);
        const std::size_t k = std::min(size * n, c->upload.size() - c->sent);
        std::memcpy(buf, c->upload.data() + c->sent, k);
        c->sent += k;
        return k;
      });
    } else if (r.method != "GET") {
      detail::curl().easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }
    detail::curl().easy_setopt(curl, CURLOPT_HEADERDATA, &ctx);
    detail::curl().easy_setopt(curl, CURLOPT_WRITEDATA, &ctx);
    detail::curl().easy_setopt(curl, CURLOPT_WRITEFUNCTION, +[](char* buf, std::size_t size, std::size_t n, void* p) -> std::size_t {
      auto* c = static_cast<Ctx*>(p);
      // The status line came through the header callback, so a 2xx body goes to the sink.
      if (c->req->sink && c->resp->status >= 200 && c->resp->status < 300) {
        try {
          std::size_t at = 0;
          if (!c->body_started) {
            c->body_started = true;
            if (c->req->range_from > 0) c->impl->check_range(*c->resp, *c->req, c->skip);
          }
          if (c->skip > 0) {
            at = static_cast<std::size_t>(std::min<std::uint64_t>(c->skip, size * n));
            c->skip -= at;
          }
          if (at < size * n) (*c->req->sink)(buf + at, size * n - at);
        } catch (...) {
          *c->error = std::current_exception();
          return 0;
        }
      } else {
        if (c->resp->body.size() < (16u << 20)) c->resp->body.append(buf, size * n);
      }
      return size * n;
    });
    // libcurl reports the status only after the transfer, and the sink needs it before the first
    // body byte: it is read from each status line (a redirect or a 100 starts a new response).
    struct StatusTap {
      static std::size_t header(char* buf, std::size_t size, std::size_t n, void* p) {
        auto* c = static_cast<Ctx*>(p);
        std::string_view line(buf, size * n);
        if (line.rfind("HTTP/", 0) == 0) {
          const auto sp = line.find(' ');
          if (sp != std::string_view::npos) c->resp->status = std::atol(std::string(line.substr(sp + 1, 3)).c_str());
          c->resp->headers.clear();
          c->resp->challenges.clear();
          return size * n;
        }
        std::string l(line);
        while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
        if (const auto colon = l.find(':'); colon != std::string::npos) {
          std::string name = lower(l.substr(0, colon));
          std::string value = l.substr(colon + 1);
          value.erase(0, value.find_first_not_of(" \t"));
          if (name == "www-authenticate") c->resp->challenges.push_back(value);
          c->resp->headers[name] = value;
        }
        return size * n;
      }
    };
    detail::curl().easy_setopt(curl, CURLOPT_HEADERFUNCTION, &StatusTap::header);

    char errbuf[CURL_ERROR_SIZE] = {0};
    detail::curl().easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    const CURLcode rc = detail::curl().easy_perform(curl);
    detail::curl().slist_free_all(headers);
    if (sink_error) std::rethrow_exception(sink_error);
    if (rc != CURLE_OK) {
      std::string why = errbuf[0] ? errbuf : detail::curl().easy_strerror(rc);
      std::string hint;
      if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
        hint = "\n  hint: is the registry running and is " + ref.registry + " its address?";
      else if ((rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_SSL_CERTPROBLEM ||
                rc == CURLE_PEER_FAILED_VERIFICATION) &&
               !options.insecure && ref.is_local())
        hint = "\n  hint: a registry on this machine that serves plain HTTP needs --insecure";
      const bool transient = rc != CURLE_PEER_FAILED_VERIFICATION && rc != CURLE_COULDNT_RESOLVE_HOST &&
                             rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_SSL_CERTPROBLEM;
      throw RegistryError(what(r) + ": " + why + hint, 0, transient);
    }
    detail::curl().easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
    return resp;
  }

  std::string authorization_for(const std::string& scope) {
    std::lock_guard lock(shared->mutex);
    if (const auto it = shared->tokens.find(scope); it != shared->tokens.end()) return it->second;
    return shared->basic;
  }

  // Answers a 401: fetches a token (Bearer) or uses the credentials (Basic). False when there
  // is nothing new to try.
  bool authenticate(const Response& resp, const std::string& scope, const Request& r, const std::string& tried) {
    std::vector<Challenge> challenges;
    for (const auto& h : resp.challenges) {
      try {
        for (auto& c : parse_www_authenticate(h)) challenges.push_back(std::move(c));
      } catch (const std::invalid_argument& e) {
        throw RegistryError(what(r) + ": the registry's authentication challenge is malformed: " + e.what(), 401,
                            false);
      }
    }
    const auto& creds = credentials();
    for (const auto& c : challenges) {
      const std::string scheme = lower(c.scheme);
      if (scheme == "bearer") {
        const std::string token = fetch_token(c, scope, r);
        if (token == tried) return false;
        std::lock_guard lock(shared->mutex);
        shared->tokens[scope] = token;
        return true;
      }
      if (scheme == "basic") {
        if (!creds || creds->username.empty()) return false;  // an identity token is no password
        const std::string basic = "Basic " + base64_encode(creds->username + ":" + creds->password);
        if (basic == tried) return false;
        std::lock_guard lock(shared->mutex);
        shared->basic = basic;
        return true;
      }
    }
    return false;
  }

  std::string fetch_token(const Challenge& c, const std::string& scope, const Request& r) {
    const std::string realm = c.param("realm");
    if (realm.empty())
      throw RegistryError(what(r) + ": the registry asks for a Bearer token but names no realm to get it from", 401,
                          false);
    if (realm.rfind("https://", 0) != 0 && !(options.insecure && realm.rfind("http://", 0) == 0))
      throw RegistryError(what(r) + ": the token service '" + realm +
                              "' is not HTTPS (plain HTTP is allowed for a registry on this machine with --insecure)",
                          401, false);
    std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
    if (const auto s = c.param("service"); !s.empty()) url += "service=" + escape(s) + "&";
    std::set<std::string> scopes;
    for (const auto& list : {scope, c.param("scope")}) {
      std::size_t at = 0;
      while (at < list.size()) {
        const auto sp = list.find(' ', at);
        const auto one = list.substr(at, sp == std::string::npos ? std::string::npos : sp - at);
        if (!one.empty()) scopes.insert(one);
        if (sp == std::string::npos) break;
        at = sp + 1;
      }
    }
    for (const auto& s : scopes) url += "scope=" + escape(s) + "&";
    url.pop_back();
    Request t;
    t.url = url;
    t.follow = true;
    std::string auth, form, whose = "anonymous access";
    const auto& creds = credentials();
    if (creds && !creds->identity_token.empty()) {
      // An identity token (a refresh token, as `docker login` and credential helpers keep them)
      // is exchanged with OAuth2's refresh_token grant: a POST of a form to the realm.
      t.method = "POST";
      t.url = realm;
      form = "grant_type=refresh_token&client_id=vzkit&refresh_token=" + escape(creds->identity_token);
      if (const auto s = c.param("service"); !s.empty()) form += "&service=" + escape(s);
      std::string joined;
      for (const auto& s : scopes) joined += (joined.empty() ? "" : " ") + s;
      if (!joined.empty()) form += "&scope=" + escape(joined);
      t.body = form;
      t.has_body = true;
      t.headers = {"Content-Type: application/x-www-form-urlencoded"};
      whose = "the identity token from " + creds->file;
    } else if (creds && !creds->username.empty()) {
      auth = "Basic " + base64_encode(creds->username + ":" + creds->password);
      whose = "the credentials of '" + creds->username + "' from " + creds->file;
    }
    const auto resp = send(t, auth);
    if (resp.status == 401 || resp.status == 403 || (!form.empty() && resp.status == 400))
      throw RegistryError(ref.registry + ": the token service " + realm + " refused " + whose + " (" +
                              std::to_string(resp.status) + ")\n  hint: `vzkit login " + ref.registry + "`",
                          resp.status, false, "UNAUTHORIZED");
    if (resp.status != 200)
      throw RegistryError(ref.registry + ": the token service " + realm + " answered " + std::to_string(resp.status),
                          resp.status, resp.status >= 500);
    boost::system::error_code ec;
    const auto v = json::parse(resp.body, ec);
    if (!ec && v.is_object()) {
      for (const char* key : {"token", "access_token"})
        if (const auto* tk = v.as_object().if_contains(key); tk && tk->is_string() && !tk->as_string().empty())
          return "Bearer " + std::string(tk->as_string());
    }
    throw RegistryError(ref.registry + ": the token service " + realm + " answered without a token", 0, false);
  }

  // A request with authentication: on 401 it authenticates and tries again.
  Response exchange(const Request& r, const std::string& scope) {
    std::string auth = authorization_for(scope);
    for (int attempt = 0;; ++attempt) {
      Response resp = send(r, auth);
      if (resp.status != 401 || attempt >= 2) return checked(r, std::move(resp));
      if (!authenticate(resp, scope, r, auth)) return checked(r, std::move(resp));
      auth = authorization_for(scope);
    }
  }

  Response checked(const Request& r, Response resp) {
    if (resp.status < 400) return resp;
    const auto [code, message] = oci_error(resp.body);
    std::string text = what(r) + ": " + std::to_string(resp.status);
    if (!code.empty()) text += " " + code;
    if (!message.empty()) text += ": " + message;
    if (resp.status == 401) {
      const auto& creds = credentials();
      text += creds ? "\n  hint: the registry refused the credentials of '" + creds->username + "' from " + creds->file +
                          "; `vzkit login " + ref.registry + "` replaces them"
                    : "\n  hint: the registry wants credentials and none are stored for " + ref.registry +
                          "; `vzkit login " + ref.registry + "` stores them";
    } else if (resp.status == 403) {
      text += "\n  hint: the credentials are valid but may not do this to " + ref.repository;
    }
    throw RegistryError(text, resp.status, resp.status >= 500 || resp.status == 429, code);
  }

  std::string absolute(const std::string& location) const {
    if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return location;
    return base + (location.empty() || location[0] != '/' ? "/" : "") + location;
  }
};

Registry::Registry(const Reference& ref, const RegistryOptions& options) : m_impl(std::make_unique<Impl>()) {
  (void)detail::curl();  // opens libcurl and initializes it once
  if (options.insecure && !ref.is_local())
    throw std::invalid_argument("--insecure allows plain HTTP only for a registry on this machine (localhost or "
                                "127.0.0.1); " + ref.registry + " is reached over HTTPS\n  hint: leave out --insecure");
  m_impl->ref = ref;
  m_impl->options = options;
  m_impl->base = (options.insecure ? "http://" : "https://") + ref.api_host();
  m_impl->shared = std::make_shared<Shared>();
  if (options.credentials) {
    m_impl->shared->credentials = options.credentials;
    m_impl->shared->credentials_loaded = true;
  }
}

Registry::Registry(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Registry::~Registry() = default;
Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;

Registry Registry::fork() const {
  auto impl = std::make_unique<Impl>();
  impl->ref = m_impl->ref;
  impl->options = m_impl->options;
  impl->base = m_impl->base;
  impl->shared = m_impl->shared;
  return Registry(std::move(impl));
}

const Reference& Registry::reference() const { return m_impl->ref; }
std::string Registry::base_url() const { return m_impl->base; }

void Registry::ping() {
  Request r;
  r.url = m_impl->base + "/v2/";
  m_impl->exchange(r, "");
}

Registry::Manifest Registry::get_manifest(const std::string& version) {
  Request r;
  r.url = m_impl->repo_url("manifests/" + version);
  r.headers = {std::string("Accept: ") + kOciManifest + ", " + kDockerManifest + ", " + kOciIndex + ", " +
               kDockerManifestList};
  auto resp = m_impl->exchange(r, "repository:" + m_impl->ref.repository + ":pull");
  Manifest m;
  m.body = std::move(resp.body);
  m.media_type = resp.header("content-type");
  if (const auto semi = m.media_type.find(';'); semi != std::string::npos) m.media_type.resize(semi);
  m.digest = sha256_digest(m.body);
  if (valid_digest(version) && m.digest != version)
    throw RegistryError(m_impl->what(r) + ": the manifest's digest is " + m.digest + ", not the " + version +
                            " asked for (refused)",
                        0, false);
  return m;
}

std::string Registry::put_manifest(const std::string& tag, const std::string& body, const std::string& media_type) {
  Request r;
  r.method = "PUT";
  r.url = m_impl->repo_url("manifests/" + tag);
  r.headers = {"Content-Type: " + media_type};
  r.body = body;
  r.has_body = true;
  m_impl->exchange(r, "repository:" + m_impl->ref.repository + ":pull,push");
  return sha256_digest(body);
}

std::optional<std::uint64_t> Registry::blob_size(const std::string& digest) {
  Request r;
  r.method = "HEAD";
  r.url = m_impl->repo_url("blobs/" + digest);
  r.follow = true;
  const std::string scope = "repository:" + m_impl->ref.repository + ":pull";
  std::string auth = m_impl->authorization_for(scope);
  for (int attempt = 0;; ++attempt) {
    Response resp = m_impl->send(r, auth);
    if (resp.status == 404) return std::nullopt;
    if (resp.status == 401 && attempt < 2 && m_impl->authenticate(resp, scope, r, auth)) {
      auth = m_impl->authorization_for(scope);
      continue;
    }
    m_impl->checked(r, resp);
    const auto len = resp.header("content-length");
    return len.empty() ? 0 : std::stoull(len);
  }
}

void Registry::get_blob(const std::string& digest, const std::function<void(const char*, std::size_t)>& sink,
                        std::uint64_t offset) {
  Request r;
  r.url = m_impl->repo_url("blobs/" + digest);
  r.follow = true;
  r.sink = &sink;
  if (offset > 0) {
    r.headers = {"Range: bytes=" + std::to_string(offset) + "-"};
    r.range_from = offset;
  }
  m_impl->exchange(r, "repository:" + m_impl->ref.repository + ":pull");
}

Registry::Sent Registry::push_blob(const std::string& digest, std::string_view data, std::uint64_t chunk,
                                   const std::string& mount_from) {
  if (blob_size(digest)) return Sent::existed;
  const std::string repo = m_impl->ref.repository;
  std::string scope = "repository:" + repo + ":pull,push";
  Request start;
  start.method = "POST";
  start.url = m_impl->repo_url("blobs/uploads/");
  start.has_body = true;
  if (!mount_from.empty() && mount_from != repo) {
    start.url += "?mount=" + escape(digest) + "&from=" + escape(mount_from);
    scope += " repository:" + mount_from + ":pull";
  }
  auto resp = m_impl->exchange(start, scope);
  if (resp.status == 201) return Sent::mounted;
  std::string location = resp.header("location");
  if (location.empty())
    throw RegistryError(m_impl->what(start) + ": the registry started an upload without a Location", resp.status, false);
  std::uint64_t at = 0;
  if (chunk > 0) {
    while (at < data.size()) {
      const std::uint64_t n = std::min<std::uint64_t>(chunk, data.size() - at);
      Request patch;
      patch.method = "PATCH";
      patch.url = m_impl->absolute(location);
      patch.headers = {"Content-Type: application/octet-stream",
                       "Content-Range: " + std::to_string(at) + "-" + std::to_string(at + n - 1)};
      patch.body = data.substr(at, n);
      patch.has_body = true;
      resp = m_impl->exchange(patch, scope);
      location = resp.header("location");
      if (location.empty())
        throw RegistryError(m_impl->what(patch) + ": the registry took a chunk without a Location", resp.status, false);
      at += n;
    }
  }
  Request put;
  put.method = "PUT";
  put.url = m_impl->absolute(location);
  put.url += (put.url.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + escape(digest);
  put.headers = {"Content-Type: application/octet-stream"};
  put.body = data.substr(at);
  put.has_body = true;
  m_impl->exchange(put, scope);
  return Sent::uploaded;
}

}  // namespace vzkit::images
