#include <vzkit/images/index.hpp>

#include <vzkit/images/registry.hpp>
#include <vzkit/kernel/validate.hpp>

#include <boost/json.hpp>

namespace vzkit::images {

namespace json = boost::json;

std::string Platform::str() const { return os + "/" + arch + (variant.empty() ? "" : "/" + variant); }

Platform parse_platform(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (true) {
    const auto slash = text.find('/', at);
    parts.push_back(text.substr(at, slash == std::string::npos ? std::string::npos : slash - at));
    if (slash == std::string::npos) break;
    at = slash + 1;
  }
  bool ok = parts.size() == 2 || parts.size() == 3;
  for (const auto& p : parts) {
    ok = ok && !p.empty();
    for (char c : p) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.');
  }
  if (!ok)
    throw std::invalid_argument("--platform '" + text + "' is not OS/ARCH or OS/ARCH/VARIANT (e.g. linux/arm64, " +
                                "darwin/arm64, linux/amd64)");
  return {parts[0], parts[1], parts.size() == 3 ? parts[2] : std::string()};
}

std::string host_oci_arch() {
  const auto m = kernel::host_arch();
  return m == "x86_64" ? "amd64" : m == "aarch64" || m == "arm64" ? "arm64" : m;
}

bool is_index(const std::string& media_type, const std::string& body) {
  if (media_type == kOciIndex || media_type == kDockerManifestList) return true;
  boost::system::error_code ec;
  const auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return false;
  const auto* mt = v.as_object().if_contains("mediaType");
  if (mt && mt->is_string()) return mt->as_string() == kOciIndex || mt->as_string() == kDockerManifestList;
  // An OCI index may leave out its mediaType; it has "manifests" where a manifest has "layers".
  return v.as_object().contains("manifests") && !v.as_object().contains("layers");
}

std::vector<IndexEntry> parse_index(const std::string& text, const std::string& where) {
  const auto o = parse_schema2(text, "the image index", where);
  const auto* ms = o.if_contains("manifests");
  if (!ms || !ms->is_array()) throw FormatError(where + ": manifests: missing or not an array");
  std::vector<IndexEntry> out;
  for (std::size_t i = 0; i < ms->as_array().size(); ++i) {
    const std::string path = "manifests[" + std::to_string(i) + "]";
    const auto& m = ms->as_array()[i];
    IndexEntry e;
    e.manifest = parse_descriptor(m, path, where);
    if (const auto* p = m.as_object().if_contains("platform"); p && !p->is_null()) {
      if (!p->is_object()) throw FormatError(where + ": " + path + ".platform: expected an object");
      auto str = [&](const char* key) -> std::string {
        const auto* x = p->as_object().if_contains(key);
        if (!x) return {};
        if (!x->is_string()) throw FormatError(where + ": " + path + ".platform." + key + ": expected a string");
        return std::string(x->as_string());
      };
      e.platform = Platform{str("os"), str("architecture"), str("variant")};
      if (e.platform->os.empty() || e.platform->arch.empty())
        throw FormatError(where + ": " + path + ".platform: needs both os and architecture");
    }
    out.push_back(std::move(e));
  }
  return out;
}

const IndexEntry& choose_manifest(const std::vector<IndexEntry>& entries, const std::optional<Platform>& wanted,
                                  const std::string& where) {
  const std::string arch = host_oci_arch();
  std::vector<std::string> offered;
  for (const auto& e : entries) {
    if (e.manifest.media_type != kOciManifest && e.manifest.media_type != kDockerManifest) continue;
    if (!e.platform) continue;
    const auto& p = *e.platform;
    const bool match = wanted ? p.satisfies(*wanted) : (p.os == "linux" || p.os == "darwin") && p.arch == arch;
    if (match) return e;
    offered.push_back(p.str());
  }
  std::string list;
  for (const auto& o : offered) list += (list.empty() ? "" : ", ") + o;
  const std::string what = wanted ? wanted->str() : "linux or darwin on " + arch + " (this machine)";
  throw FormatError(where + ": is an image index with no manifest for " + what + "; it offers " +
                    (list.empty() ? "no image manifest with a platform" : list) +
                    (offered.empty() ? std::string()
                                     : "\n  hint: choose one with --platform OS/ARCH (e.g. --platform " + offered[0] + ")"));
}

}  // namespace vzkit::images
