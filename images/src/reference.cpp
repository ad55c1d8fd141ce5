#include <vzkit/images/reference.hpp>

#include <vzkit/images/digest.hpp>

#include <cctype>

namespace vzkit::images {

namespace {

bool component_ok(const std::string& c) {
  // lower-case alphanumerics separated by '.', '_', '__' or '-' runs (OCI distribution spec)
  if (c.empty() || !std::isalnum(static_cast<unsigned char>(c.front())) ||
      !std::isalnum(static_cast<unsigned char>(c.back())))
    return false;
  for (char ch : c)
    if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '.' ||
          ch == '_' || ch == '-'))
      return false;
  return true;
}

bool tag_ok(const std::string& t) {
  if (t.empty() || t.size() > 128 || !(std::isalnum(static_cast<unsigned char>(t[0])) || t[0] == '_')) return false;
  for (char ch : t)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-')) return false;
  return true;
}

}  // namespace

std::string Reference::str() const {
  std::string s = registry + "/" + repository;
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::api_host() const { return registry == "docker.io" ? "registry-1.docker.io" : registry; }

bool Reference::is_local() const {
  const auto host = registry.substr(0, registry.rfind(':') == std::string::npos ? registry.size() : registry.rfind(':'));
  return host == "localhost" || host == "127.0.0.1";
}

Reference parse_reference(const std::string& text) {
  const std::string hint = "\n  hint: write REGISTRY/REPOSITORY[:TAG], e.g. ghcr.io/cirruslabs/macos-sequoia-base:latest "
                           "or 127.0.0.1:5000/demo:v1";
  if (text.empty()) throw ReferenceError("an image reference is empty" + hint);
  Reference r;
  std::string rest = text;
  if (const auto at = rest.find('@'); at != std::string::npos) {
    r.digest = rest.substr(at + 1);
    rest.resize(at);
    if (!valid_digest(r.digest))
      throw ReferenceError("'" + text + "': the digest '" + r.digest + "' is not sha256: and 64 hex digits" + hint);
  }
  std::string first = rest.substr(0, rest.find('/'));
  if (rest.find('/') != std::string::npos &&
      (first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost")) {
    r.registry = first;
    rest = rest.substr(first.size() + 1);
  } else {
    r.registry = "docker.io";
  }
  if (const auto colon = rest.rfind(':'); colon != std::string::npos) {
    r.tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (!tag_ok(r.tag))
      throw ReferenceError("'" + text + "': the tag '" + r.tag +
                           "' is not valid (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')" +
                           hint);
  }
  if (r.tag.empty() && r.digest.empty()) r.tag = "latest";
  if (rest.empty()) throw ReferenceError("'" + text + "' names no repository" + hint);
  std::size_t start = 0;
  while (true) {
    const auto slash = rest.find('/', start);
    const std::string c = rest.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!component_ok(c))
      throw ReferenceError("'" + text + "': the repository part '" + c +
                           "' is not valid (lower-case letters, digits and '.', '_', '-' between them)" + hint);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (r.registry == "docker.io" && rest.find('/') == std::string::npos) rest = "library/" + rest;
  r.repository = rest;
  return r;
}

bool looks_like_reference(const std::string& text) {
  return text.find('/') != std::string::npos || text.find(':') != std::string::npos ||
         text.find('@') != std::string::npos;
}

}  // namespace vzkit::images
