#include <vzkit/images/store.hpp>

#include <vzkit/images/digest.hpp>
#include <vzkit/images/format.hpp>
#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/file_copy.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/plugin_host.hpp>

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

namespace vzkit::images {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string hex_of(const std::string& digest) {
  if (!valid_digest(digest)) throw std::invalid_argument("not a sha256 digest: '" + digest + "'");
  return digest.substr(7);
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json::object read_object(const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return {};
  boost::system::error_code jec;
  auto v = json::parse(read_text(p), jec);
  if (jec || !v.is_object())
    throw std::runtime_error(p.string() + ": damaged (not a JSON object)\n  hint: `vzkit prune --all` starts the "
                             "image store afresh");
  return std::move(v.as_object());
}

std::uint64_t size_on_disk(const fs::path& p) {
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    std::uint64_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(p, ec))
      if (e.is_regular_file(ec)) n += kernel::allocated_bytes(e.path());
    return n;
  }
  return fs::is_regular_file(p, ec) ? kernel::allocated_bytes(p) : 0;
}

}  // namespace

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Store::Store(fs::path root) : m_root(root.empty() ? kernel::vzkit_home() / "images" : std::move(root)) {}

fs::path Store::blob_path(const std::string& digest) const { return m_root / "blobs" / "sha256" / hex_of(digest); }

bool Store::has_blob(const std::string& digest) const {
  std::error_code ec;
  return fs::is_regular_file(blob_path(digest), ec);
}

void Store::put_blob(const std::string& digest, std::string_view data) const {
  if (const auto got = sha256_digest(data); got != digest)
    throw std::runtime_error("blob " + digest + " has the digest " + got + ": refused");
  const auto p = blob_path(digest);
  fs::create_directories(p.parent_path());
  kernel::write_atomic(p, std::string(data));
}

std::string Store::read_blob(const std::string& digest) const {
  const auto p = blob_path(digest);
  std::error_code ec;
  if (!fs::is_regular_file(p, ec))
    throw std::runtime_error("the image store has no blob " + digest + " (" + p.string() +
                             ")\n  hint: pull the image again");
  auto text = read_text(p);
  if (sha256_digest(text) != digest)
    throw std::runtime_error(p.string() + " is damaged (its content does not match its digest)\n  hint: `vzkit "
                             "prune` removes it; pull the image again");
  return text;
}

fs::path Store::file_path(const std::string& key) const { return m_root / "files" / "sha256" / hex_of(key); }

bool Store::has_file(const std::string& key) const {
  std::error_code ec;
  return fs::is_regular_file(file_path(key), ec);
}

fs::path Store::partial_dir(const std::string& key) const { return m_root / "partial" / hex_of(key); }

std::vector<Store::Ref> Store::refs() const {
  std::vector<Ref> out;
  const auto o = read_object(m_root / "refs.json");
  if (const auto* r = o.if_contains("refs"); r && r->is_object())
    for (const auto& [name, v] : r->as_object()) {
      if (!v.is_object()) continue;
      Ref ref;
      ref.name = name;
      if (const auto* d = v.as_object().if_contains("digest"); d && d->is_string()) ref.digest = d->as_string();
      if (const auto* p = v.as_object().if_contains("pulled"); p && p->is_string()) ref.pulled = p->as_string();
      if (const auto* x = v.as_object().if_contains("index"); x && x->is_string()) ref.index = x->as_string();
      if (const auto* x = v.as_object().if_contains("platform"); x && x->is_string()) ref.platform = x->as_string();
      if (valid_digest(ref.digest)) out.push_back(std::move(ref));
    }
  return out;
}

std::optional<Store::Ref> Store::find_ref(const std::string& name) const {
  for (auto& r : refs())
    if (r.name == name) return r;
  return std::nullopt;
}

void Store::set_ref(const std::string& name, const std::string& digest, const std::string& index,
                    const std::string& platform) const {
  auto o = read_object(m_root / "refs.json");
  auto& r = o["refs"];
  if (!r.is_object()) r = json::object{};
  json::object entry{{"digest", digest}, {"pulled", utc_now()}};
  if (!index.empty()) {
    entry["index"] = index;
    entry["platform"] = platform;
  }
  r.as_object()[name] = std::move(entry);
  fs::create_directories(m_root);
  kernel::write_atomic(m_root / "refs.json", kernel::pretty_json(o) + "\n");
}

bool Store::remove_ref(const std::string& name) const {
  auto o = read_object(m_root / "refs.json");
  auto* r = o.if_contains("refs");
  if (!r || !r->is_object() || !r->as_object().erase(name)) return false;
  kernel::write_atomic(m_root / "refs.json", kernel::pretty_json(o) + "\n");
  return true;
}

void Store::note_locations(const std::string& repository, const std::vector<std::string>& digests) const {
  auto o = read_object(m_root / "locations.json");
  for (const auto& d : digests) {
    auto& list = o[d];
    if (!list.is_array()) list = json::array{};
    bool known = false;
    for (const auto& x : list.as_array()) known = known || (x.is_string() && x.as_string() == repository);
    if (!known) list.as_array().push_back(json::string(repository));
  }
  fs::create_directories(m_root);
  kernel::write_atomic(m_root / "locations.json", json::serialize(o) + "\n");
}

std::vector<std::string> Store::locations(const std::string& digest) const {
  std::vector<std::string> out;
  const auto o = read_object(m_root / "locations.json");
  if (const auto* l = o.if_contains(digest); l && l->is_array())
    for (const auto& x : l->as_array())
      if (x.is_string()) out.emplace_back(x.as_string());
  return out;
}

void Store::needed_by(const std::string& manifest_digest, std::vector<std::string>& blobs,
                      std::vector<std::string>& files) const {
  blobs.push_back(manifest_digest);
  const auto m = Manifest::parse(read_blob(manifest_digest), manifest_digest);
  blobs.push_back(m.config.digest);
  const auto layout = layout_of(m, manifest_digest);
  blobs.push_back(layout.tart_config_digest);
  if (!layout.spec_digest.empty()) blobs.push_back(layout.spec_digest);
  for (const auto& f : layout.files) files.push_back(f.key());
}

Store::Pruned Store::prune(bool all) const {
  Pruned out;
  std::error_code ec;
  if (!fs::exists(m_root, ec)) return out;
  std::set<std::string> keep_blobs, keep_files;
  for (const auto& r : refs()) {
    if (all) {
      remove_ref(r.name);
      ++out.refs;
      continue;
    }
    std::vector<std::string> blobs, files;
    try {
      needed_by(r.digest, blobs, files);
    } catch (const std::exception&) {
      remove_ref(r.name);  // its manifest is gone or damaged: the reference is of no use
      ++out.refs;
      continue;
    }
    if (valid_digest(r.index)) blobs.push_back(r.index);
    for (auto& b : blobs) keep_blobs.insert(b.substr(7));
    for (auto& f : files) keep_files.insert(f.substr(7));
  }
  auto sweep = [&](const fs::path& dir, const std::set<std::string>& keep) {
    if (!fs::is_directory(dir, ec)) return;
    std::vector<fs::path> doomed;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (!keep.count(e.path().filename().string())) doomed.push_back(e.path());
    for (const auto& p : doomed) {
      out.bytes += size_on_disk(p);
      fs::remove_all(p, ec);
      ++out.entries;
    }
  };
  sweep(m_root / "blobs" / "sha256", keep_blobs);
  sweep(m_root / "files" / "sha256", keep_files);
  sweep(m_root / "partial", {});
  if (all) fs::remove(m_root / "locations.json", ec);
  return out;
}

Store::Lock::Lock(const fs::path& file) {
  fs::create_directories(file.parent_path());
  m_fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (m_fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + file.string());
  while (::flock(m_fd, LOCK_EX) != 0) {
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "cannot lock " + file.string());
  }
}

Store::Lock::~Lock() {
  if (m_fd >= 0) ::close(m_fd);
}

Store::Lock Store::lock() const { return Lock(m_root / "lock"); }

}  // namespace vzkit::images
