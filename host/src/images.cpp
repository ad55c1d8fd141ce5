// The host API's images (sdk/include/vzkit/host_images.hpp): a VM's files and spec become an
// image (push), and an image in the store becomes a VM (clone), on the images library.
#include <vzkit/host.hpp>

#include "host_impl.hpp"

#include <vzkit/images/auth.hpp>
#include <vzkit/images/digest.hpp>
#include <vzkit/images/format.hpp>
#include <vzkit/images/index.hpp>
#include <vzkit/images/registry.hpp>
#include <vzkit/images/transfer.hpp>
#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/file_copy.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/validate.hpp>

#include <boost/json.hpp>

#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace vzkit::host {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace im = vzkit::images;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The spec keys that name a VM's files, by plugin: what a push carries and a clone recreates.
struct FileKey {
  const char* plugin;
  const char* key;
  enum Base { spec, bundle, disk } base;  ///< where a relative path resolves (disk: the bundle with create_size)
  im::ImageFile::Kind kind;
  const char* fallback;  ///< the plugin's default when the key is absent ("" none)
  bool folder = false;
};

const FileKey kFileKeys[] = {
    {"linux-boot", "kernel", FileKey::spec, im::ImageFile::Kind::file, ""},
    {"linux-boot", "initrd", FileKey::spec, im::ImageFile::Kind::file, ""},
    {"virtio-blk", "path", FileKey::disk, im::ImageFile::Kind::disk, ""},
    {"usb-storage", "path", FileKey::spec, im::ImageFile::Kind::disk, ""},
    {"efi-boot", "variable_store", FileKey::bundle, im::ImageFile::Kind::nvram, "efi-vars.fd"},
    {"mac-platform", "hardware_model", FileKey::bundle, im::ImageFile::Kind::file, "hardware-model.bin"},
    {"mac-platform", "auxiliary_storage", FileKey::bundle, im::ImageFile::Kind::nvram, "aux.img"},
    {"virtiofs", "path", FileKey::spec, im::ImageFile::Kind::file, "", true},
};

std::string arch_name(const std::string& machine) {
  return machine == "x86_64" ? "amd64" : machine == "aarch64" || machine == "arm64" ? "arm64" : machine;
}

const char* plugin_of(const json::value& d) {
  if (!d.is_object()) return "";
  const auto* p = d.as_object().if_contains("plugin");
  return p && p->is_string() ? p->as_string().c_str() : "";
}

im::TransferOptions transfer_options(const ImageTransferOptions& o) {
  if (o.jobs < 1 || o.jobs > 16) throw InputError("--jobs must be between 1 and 16, got " + std::to_string(o.jobs));
  im::TransferOptions t;
  t.insecure = o.insecure;
  t.jobs = o.jobs;
  t.limit_rate = o.limit_rate;
  if (!o.platform.empty()) {
    try {
      im::parse_platform(o.platform);
    } catch (const std::invalid_argument& e) {
      throw InputError(e.what());
    }
    t.platform = o.platform;
  }
  if (o.progress)
    t.progress = [fn = o.progress](const im::TransferEvent& e) {
      fn({e.kind, e.bytes, e.total, e.skipped, e.chunks, e.chunks_total, e.seconds, e.message});
    };
  return t;
}

// Reference and option mistakes are the user's input.
template <class F>
auto as_input(F&& f) {
  try {
    return f();
  } catch (const im::ReferenceError& e) {
    throw InputError(e.what());
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  }
}

// A reference the user wrote, and whether --insecure may be used with it: InputError if not.
im::Reference check_reference(const std::string& ref, bool insecure) {
  return as_input([&] {
    auto r = im::parse_reference(ref);
    im::Registry probe(r, im::RegistryOptions{insecure, std::nullopt});
    return r;
  });
}

ImageInfo info_of(const im::Store& store, const im::PulledImage& img, const std::string& pulled) {
  ImageInfo i;
  i.ref = img.ref.str();
  i.digest = img.digest;
  i.index = img.index_digest;
  i.os = img.os;
  i.arch = img.arch;
  i.engine = img.layout.engine;
  i.from_tart = img.from_tart;
  i.pulled = pulled;
  i.compressed = img.layout.compressed_size;
  i.size = img.layout.disk_size;
  for (const auto& f : img.layout.files) {
    i.files.push_back(f.name);
    std::error_code ec;
    if (const auto it = img.files.find(f.name); it != img.files.end() && fs::exists(it->second, ec))
      i.on_disk += kernel::allocated_bytes(it->second);
  }
  i.spec_json = img.spec_text;
  (void)store;
  return i;
}

}  // namespace

bool is_image_reference(const std::string& text) { return im::looks_like_reference(text); }

std::string Images::login_file() { return im::login_file().string(); }

std::string Images::credentials_place(const std::string& registry) {
  return as_input([&] { return im::credentials_place(im::parse_reference(registry + "/login-check").registry); });
}

PullReport Images::pull(const std::string& ref, const ImageTransferOptions& options) const {
  const im::Store store;
  const auto t = transfer_options(options);
  check_reference(ref, options.insecure);
  const auto pulled = im::pull(store, ref, t);
  PullReport r;
  const auto entry = store.find_ref(pulled.ref.str());
  r.image = info_of(store, pulled, entry ? entry->pulled : im::utc_now());
  r.downloaded = pulled.downloaded;
  r.reused = pulled.reused;
  r.resumed_chunks = pulled.resumed_chunks;
  return r;
}

PushReport Images::push(const std::string& vm, const std::string& ref, const ImagePushOptions& options) const {
  auto stopped = detail::lock_stopped(vm, "pushing it");
  const auto* bundle = &stopped.bundle;
  stopped.lock.describe_holder("vzkit push " + ref);
  auto t = transfer_options(options);

  boost::system::error_code ec;
  auto parsed = json::parse(read_file(bundle->spec_file()), ec);
  if (ec || !parsed.is_object()) throw std::runtime_error(bundle->spec_file().string() + ": not a JSON object");
  auto spec = parsed.as_object();
  im::PushSource src;
  src.engine = bundle->engine();
  src.os = "linux";
  src.arch = src.engine == "vz" ? "arm64" : arch_name(kernel::host_arch());
  std::set<std::string> names;
  auto unique_name = [&](const fs::path& p) {
    std::string base = p.filename().string();
    for (auto& c : base)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
    if (base.empty() || base[0] == '.') base = "file" + base;
    std::string name = base;
    for (int k = 2; names.count(name); ++k) name = std::to_string(k) + "-" + base;
    names.insert(name);
    return name;
  };
  bool have_disk = false;
  if (auto* ds = spec.if_contains("devices"); ds && ds->is_array()) {
    for (auto& d : ds->as_array()) {
      const std::string plugin = plugin_of(d);
      if (plugin == "mac-platform") src.os = "darwin";
      if (plugin == "network" && src.mac.empty())
        if (const auto* m = d.as_object().if_contains("mac"); m && m->is_string()) src.mac = m->as_string();
      for (const auto& k : kFileKeys) {
        if (plugin != k.plugin) continue;
        auto& o = d.as_object();
        const auto* v = o.if_contains(k.key);
        std::string given = v && v->is_string() ? std::string(v->as_string()) : std::string(k.fallback);
        if (given.empty()) continue;
        fs::path path = given;
        if (path.is_relative()) {
          const bool in_bundle = k.base == FileKey::bundle || (k.base == FileKey::disk && o.contains("create_size"));
          path = (in_bundle ? bundle->dir : bundle->spec_dir()) / path;
        }
        std::error_code fec;
        if (k.folder) {
          // A shared folder is the host's, not the VM's: a clone gets an empty one of its own.
          o[k.key] = unique_name(path);
          continue;
        }
        if (!fs::is_regular_file(path, fec)) {
          if (!v) continue;  // a default that was never made (no NVRAM yet)
          throw std::runtime_error("VM '" + vm + "': " + plugin + " " + k.key + " '" + path.string() +
                                   "' is not a file; an image carries the VM's files");
        }
        const std::string name = unique_name(path);
        auto kind = k.kind;
        if (kind == im::ImageFile::Kind::disk) {
          if (have_disk) kind = im::ImageFile::Kind::file;  // tart's format has one disk: the first
          have_disk = true;
        }
        src.files.push_back({name, path, kind});
        o[k.key] = name;
      }
    }
  }
  if (!have_disk)
    throw std::runtime_error("VM '" + vm + "' has no disk (virtio-blk or usb-storage); an image is a VM's disk and "
                             "its settings");
  // tart's format keeps the disk first.
  std::stable_partition(src.files.begin(), src.files.end(),
                        [](const im::PushFile& f) { return f.kind == im::ImageFile::Kind::disk; });
  if (src.os == "darwin") {
    for (const auto& f : src.files)
      if (f.name.find("hardware") != std::string::npos) src.hardware_model_b64 = im::base64_encode(read_file(f.path));
    for (const auto& d : spec["devices"].as_array())
      if (std::string(plugin_of(d)) == "mac-platform") {
        const auto* v = d.as_object().if_contains("machine_identifier");
        fs::path id = v && v->is_string() ? std::string(v->as_string()) : std::string("machine-id.bin");
        if (id.is_relative()) id = bundle->dir / id;
        std::error_code fec;
        if (fs::is_regular_file(id, fec)) src.ecid_b64 = im::base64_encode(read_file(id));
      }
  }
  if (src.mac.empty()) {
    // tart's config needs one; derived from the name, so pushing the same VM again sends the same config
    const auto h = im::sha256_digest("vzkit-mac\n" + vm).substr(7);
    src.mac = h.substr(0, 2);
    src.mac[1] = "26ae"[std::stoi(h.substr(1, 1), nullptr, 16) & 3];  // locally administered, unicast
    for (int i = 1; i < 6; ++i) src.mac += ":" + h.substr(2 * i, 2);
  }
  src.spec_text = kernel::pretty_json(spec);
  im::PushOptions po;
  static_cast<im::TransferOptions&>(po) = t;
  po.chunk_size = options.chunk_size;
  po.upload_chunk = options.upload_chunk;
  if (po.chunk_size < (1u << 20) || po.chunk_size > (1ull << 30))
    throw InputError("--chunk-size must be between 1MiB and 1GiB");
  check_reference(ref, options.insecure);
  const im::Store store;
  const auto r = im::push(store, src, ref, po);
  return {r.ref.str(), r.digest, r.uploaded, r.blobs_uploaded, r.blobs_existed, r.blobs_mounted};
}

VmInfo Images::clone(const std::string& ref, const std::string& name, const ImageTransferOptions& options) const {
  if (!kernel::valid_vm_name(name))
    throw InputError("'" + name +
                     "' is not a valid VM name (letters, digits, '.', '_', '-', starting with a letter or digit, at "
                     "most 64 characters)");
  std::string err;
  if (kernel::open_bundle(name, err)) throw InputError("a VM named '" + name + "' exists already");
  const auto parsed_ref = check_reference(ref, options.insecure);
  const im::Store store;
  const auto known = store.find_ref(parsed_ref.str());
  bool fetch = !known;
  if (known && !options.platform.empty()) {
    // The store has the reference, perhaps for another platform than the one asked for.
    transfer_options(options);
    const auto have = known->platform.empty() ? [&] {
      const auto img = im::cached(store, ref);
      return img.os + "/" + img.arch;
    }() : known->platform;
    try {
      fetch = !im::parse_platform(have).satisfies(im::parse_platform(options.platform));
    } catch (const std::invalid_argument&) {
      fetch = true;  // the stored image names no platform: the pull decides
    }
  }
  if (fetch) pull(ref, options);
  const auto lock = store.lock();  // no prune while the files are copied
  const auto img = im::cached(store, ref);

  auto spec = json::parse(img.spec_text).as_object();
  spec["name"] = name;
  bool darwin = false;
  if (auto* ds = spec.if_contains("devices"); ds && ds->is_array())
    for (auto& d : ds->as_array()) {
      const std::string plugin = plugin_of(d);
      if (plugin == "network") d.as_object()["mac"] = detail::random_mac();  // never the source's
      if (plugin == "mac-platform") darwin = true;
    }
  if (darwin)
    throw std::runtime_error("image " + img.ref.str() + " is a macOS guest: a VM made from it needs a new machine "
                             "identifier, which only Virtualization.framework makes; clone it with vzkit on a Mac "
                             "with Apple silicon");
  const std::string engine = !img.layout.engine.empty() ? img.layout.engine : img.from_tart ? "vz" : default_engine();
  json::object meta{{"image", img.ref.str()}, {"image_digest", img.digest}};
  kernel::create_bundle(
      name, kernel::pretty_json(spec), {}, engine,
      [&](const fs::path& dir) {
        for (const auto& [file, from] : img.files) kernel::copy_file_cow(from, dir / file);
        if (!img.hardware_model.empty() && !fs::exists(dir / "hardware-model.bin"))
          kernel::write_atomic(dir / "hardware-model.bin", img.hardware_model);
        // Shared folders a spec names inside the VM: empty ones of its own.
        for (const auto& d : spec["devices"].as_array())
          if (std::string(plugin_of(d)) == "virtiofs")
            if (const auto* p = d.as_object().if_contains("path"); p && p->is_string() && fs::path(std::string(p->as_string())).is_relative())
              fs::create_directories(dir / std::string(p->as_string()));
      },
      meta);
  return Library().inspect(name);
}

std::vector<ImageInfo> Images::list() const {
  const im::Store store;
  std::vector<ImageInfo> out;
  for (const auto& r : store.refs()) {
    try {
      const auto img = im::cached(store, r.name);
      out.push_back(info_of(store, img, r.pulled));
    } catch (const std::exception& e) {
      ImageInfo i;
      i.ref = r.name;
      i.digest = r.digest;
      i.pulled = r.pulled;
      i.engine = std::string("damaged: ") + e.what();
      out.push_back(std::move(i));
    }
  }
  return out;
}

PruneReport Images::prune(bool all) const {
  const im::Store store;
  std::error_code ec;
  if (!fs::exists(store.root(), ec)) return {};
  const auto lock = store.lock();
  const auto p = store.prune(all);
  return {p.bytes, p.entries, p.refs};
}

std::string Images::login(const std::string& registry, const std::string& username, const std::string& password,
                          bool insecure) const {
  if (username.empty()) throw InputError("a user name is needed (--username)");
  const auto ref = as_input([&] { return im::parse_reference(registry + "/login-check"); });
  im::Credentials c;
  c.username = username;
  c.password = password;
  c.file = "the command line";
  auto reg = as_input([&] { return im::Registry(ref, im::RegistryOptions{insecure, c}); });
  reg.ping();
  return im::store_credentials(ref.registry, username, password);
}

bool Images::logout(const std::string& registry) const {
  return im::remove_credentials(as_input([&] { return im::parse_reference(registry + "/login-check").registry; }));
}

}  // namespace vzkit::host
