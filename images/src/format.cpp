#include <vzkit/images/format.hpp>

#include <vzkit/images/auth.hpp>
#include <vzkit/images/digest.hpp>
#include <vzkit/images/index.hpp>
#include <vzkit/images/registry.hpp>
#include <vzkit/units.hpp>

#include <boost/json.hpp>

#include <cstdio>
#include <set>

namespace vzkit::images {

namespace json = boost::json;

std::string Descriptor::annotation(const std::string& key) const {
  const auto it = annotations.find(key);
  return it == annotations.end() ? std::string() : it->second;
}

namespace {

json::object descriptor_json(const Descriptor& d) {
  json::object o{{"mediaType", d.media_type}, {"size", d.size}, {"digest", d.digest}};
  if (!d.annotations.empty()) {
    json::object a;
    for (const auto& [k, v] : d.annotations) a[k] = v;
    o["annotations"] = std::move(a);
  }
  return o;
}

std::map<std::string, std::string> annotations_of(const json::object& o, const std::string& path,
                                                  const std::string& where) {
  std::map<std::string, std::string> out;
  const auto* a = o.if_contains("annotations");
  if (!a || a->is_null()) return out;
  if (!a->is_object()) throw FormatError(where + ": " + path + ".annotations: expected an object");
  for (const auto& [k, v] : a->as_object()) {
    if (!v.is_string())
      throw FormatError(where + ": " + path + ".annotations." + std::string(k) + ": expected a string");
    out[std::string(k)] = std::string(v.as_string());
  }
  return out;
}

// A file name an image may give: one plain component, so no image writes outside the VM's folder.
bool safe_name(const std::string& n) {
  if (n.empty() || n.size() > 128 || n[0] == '.') return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

std::uint64_t size_annotation(const Descriptor& d, const std::string& path, const std::string& where) {
  const std::string v = d.annotation(kTartUncompressedSize);
  if (v.empty())
    throw FormatError(where + ": " + path + ".annotations." + kTartUncompressedSize +
                      ": missing (each disk chunk must say its uncompressed size)");
  try {
    std::size_t used = 0;
    const auto n = std::stoull(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    throw FormatError(where + ": " + path + ".annotations." + kTartUncompressedSize + ": '" + v + "' is not a number");
  }
}

std::uint64_t parse_memory(const json::object& spec) {
  if (const auto* m = spec.if_contains("memory")) {
    if (m->is_string())
      if (const auto b = vzkit::parse_size(std::string(m->as_string()))) return *b;
    if (m->is_uint64()) return m->as_uint64();
    if (m->is_int64() && m->as_int64() > 0) return static_cast<std::uint64_t>(m->as_int64());
  }
  return 4ull << 30;
}

}  // namespace

Descriptor parse_descriptor(const json::value& v, const std::string& path, const std::string& where) {
  if (!v.is_object()) throw FormatError(where + ": " + path + ": expected an object");
  const auto& o = v.as_object();
  Descriptor d;
  const auto* mt = o.if_contains("mediaType");
  const auto* dg = o.if_contains("digest");
  const auto* sz = o.if_contains("size");
  if (!mt || !mt->is_string()) throw FormatError(where + ": " + path + ".mediaType: missing or not a string");
  if (!dg || !dg->is_string() || !valid_digest(dg->as_string()))
    throw FormatError(where + ": " + path + ".digest: missing or not sha256: with 64 hex digits");
  if (!sz || !(sz->is_uint64() || (sz->is_int64() && sz->as_int64() >= 0)))
    throw FormatError(where + ": " + path + ".size: missing or not a size");
  d.media_type = mt->as_string();
  d.digest = dg->as_string();
  d.size = sz->is_uint64() ? sz->as_uint64() : static_cast<std::uint64_t>(sz->as_int64());
  d.annotations = annotations_of(o, path, where);
  return d;
}

std::string Manifest::text() const {
  json::object o{{"schemaVersion", 2}, {"mediaType", kOciManifest}, {"config", descriptor_json(config)}};
  json::array ls;
  for (const auto& l : layers) ls.push_back(descriptor_json(l));
  o["layers"] = std::move(ls);
  if (!annotations.empty()) {
    json::object a;
    for (const auto& [k, v] : annotations) a[k] = v;
    o["annotations"] = std::move(a);
  }
  return json::serialize(o);
}

json::object parse_schema2(const std::string& text, const std::string& what, const std::string& where) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) throw FormatError(where + ": " + what + " is not valid JSON (" + ec.message() + ")");
  if (!v.is_object()) throw FormatError(where + ": " + what + " is not a JSON object");
  const auto* sv = v.as_object().if_contains("schemaVersion");
  if (!sv || !sv->is_number() || sv->to_number<int>() != 2)
    throw FormatError(where + ": " + what + ": schemaVersion: expected 2");
  return std::move(v.as_object());
}

Manifest Manifest::parse(const std::string& text, const std::string& where) {
  const auto o = parse_schema2(text, "the manifest", where);
  if (const auto* mt = o.if_contains("mediaType");
      mt && mt->is_string() && (mt->as_string() == kOciIndex || mt->as_string() == kDockerManifestList))
    throw FormatError(where + ": is an image index (several platforms) where an image manifest was expected (an "
                      "index that names another index, which vzkit does not follow)\n  hint: name one of its "
                      "manifests by digest (REF@sha256:...)");
  Manifest m;
  const auto* config = o.if_contains("config");
  if (!config) throw FormatError(where + ": config: missing");
  m.config = parse_descriptor(*config, "config", where);
  const auto* layers = o.if_contains("layers");
  if (!layers || !layers->is_array()) throw FormatError(where + ": layers: missing or not an array");
  for (std::size_t i = 0; i < layers->as_array().size(); ++i)
    m.layers.push_back(parse_descriptor(layers->as_array()[i], "layers[" + std::to_string(i) + "]", where));
  m.annotations = annotations_of(o, "", where);
  return m;
}

std::string ImageFile::key() const {
  Sha256 h;
  h.update(kind == Kind::nvram ? "raw\n" : "lz4\n");
  for (const auto& c : chunks) h.update(c.digest + " " + std::to_string(c.size) + "\n");
  return h.digest();
}

ImageLayout layout_of(const Manifest& m, const std::string& where) {
  ImageLayout out;
  std::map<std::string, std::size_t> by_name;  // file name -> index in out.files
  auto file = [&](const std::string& name, ImageFile::Kind kind, const std::string& path) -> ImageFile& {
    if (!safe_name(name))
      throw FormatError(where + ": " + path + ".annotations." + kVzkitFileName + ": '" + name +
                        "' is not a plain file name (letters, digits, '.', '_', '-'; not starting with '.')");
    if (const auto it = by_name.find(name); it != by_name.end()) {
      if (out.files[it->second].kind != kind)
        throw FormatError(where + ": " + path + ": the file '" + name + "' has layers of two kinds");
      return out.files[it->second];
    }
    by_name[name] = out.files.size();
    out.files.push_back({name, kind, {}, 0});
    return out.files.back();
  };
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const auto& l = m.layers[i];
    const std::string path = "layers[" + std::to_string(i) + "]";
    out.compressed_size += l.size;
    const std::string named = l.annotation(kVzkitFileName);
    if (l.media_type == kTartConfig) {
      if (!out.tart_config_digest.empty()) throw FormatError(where + ": " + path + ": a second tart config layer");
      out.tart_config_digest = l.digest;
    } else if (l.media_type == kTartDiskV1) {
      throw FormatError(where + ": " + path + ": the disk is in tart's legacy format (" + kTartDiskV1 +
                        "), which tart itself no longer pulls\n  hint: push the image again with a current tart");
    } else if (l.media_type == kTartDisk) {
      auto& f = file(named.empty() ? "disk.img" : named, ImageFile::Kind::disk, path);
      const auto n = size_annotation(l, path, where);
      f.chunks.push_back(l);
      f.size += n;
    } else if (l.media_type == kVzkitFile) {
      if (named.empty())
        throw FormatError(where + ": " + path + ".annotations." + kVzkitFileName + ": missing (which file is it part of?)");
      auto& f = file(named, ImageFile::Kind::file, path);
      f.size += size_annotation(l, path, where);
      f.chunks.push_back(l);
    } else if (l.media_type == kTartNvram) {
      auto& f = file(named.empty() ? "nvram.bin" : named, ImageFile::Kind::nvram, path);
      if (!f.chunks.empty()) throw FormatError(where + ": " + path + ": a second NVRAM layer");
      f.chunks.push_back(l);
      f.size = l.size;
    } else if (l.media_type == kVzkitSpec) {
      if (!out.spec_digest.empty()) throw FormatError(where + ": " + path + ": a second vzkit spec layer");
      out.spec_digest = l.digest;
      out.engine = l.annotation(kVzkitEngine);
    }
    // Other media types are someone else's additions: skipped, as tart skips vzkit's.
  }
  if (out.tart_config_digest.empty())
    throw FormatError(where + ": has no VM config layer (" + std::string(kTartConfig) +
                      "): it is not a VM image made by vzkit or tart");
  bool disk = false;
  for (const auto& f : out.files) {
    disk = disk || f.kind == ImageFile::Kind::disk;
    out.disk_size += f.size;
  }
  if (!disk) throw FormatError(where + ": has no disk layer (" + std::string(kTartDisk) + ")");
  return out;
}

std::string tart_config_for(const json::object& spec, const std::string& os, const std::string& arch,
                            const std::string& mac, const std::string& hardware_model, const std::string& ecid) {
  std::int64_t cpus = 1;
  if (const auto* c = spec.if_contains("cpus"); c && c->is_int64()) cpus = c->as_int64();
  const std::uint64_t memory = parse_memory(spec);
  std::int64_t width = 1024, height = 768;
  if (const auto* ds = spec.if_contains("devices"); ds && ds->is_array())
    for (const auto& d : ds->as_array()) {
      if (!d.is_object()) continue;
      const auto* plugin = d.as_object().if_contains("plugin");
      if (!plugin || !plugin->is_string() ||
          (plugin->as_string() != "virtio-gpu" && plugin->as_string() != "mac-graphics"))
        continue;
      if (const auto* w = d.as_object().if_contains("width"); w && w->is_int64()) width = w->as_int64();
      if (const auto* h = d.as_object().if_contains("height"); h && h->is_int64()) height = h->as_int64();
      break;
    }
  json::object c{{"version", 1},
                 {"os", os},
                 {"arch", arch},
                 {"cpuCountMin", cpus},
                 {"cpuCount", cpus},
                 {"memorySizeMin", memory},
                 {"memorySize", memory},
                 {"macAddress", mac},
                 {"display", json::object{{"width", width}, {"height", height}}},
                 {"diskFormat", "raw"}};
  if (os == "darwin") {
    c["hardwareModel"] = hardware_model;
    c["ecid"] = ecid;
  }
  return json::serialize(c);
}

TartVm vm_from_tart_config(const std::string& text, const std::string& name, const std::string& where) {
  boost::system::error_code ec;
  const auto v = json::parse(text, ec);
  if (ec || !v.is_object()) throw FormatError(where + ": the tart config is not a JSON object");
  const auto& c = v.as_object();
  auto number = [&](const char* key) -> std::uint64_t {
    const auto* x = c.if_contains(key);
    if (!x || !(x->is_uint64() || (x->is_int64() && x->as_int64() > 0)))
      throw FormatError(where + ": tart config: " + key + ": missing or not a positive number");
    return x->is_uint64() ? x->as_uint64() : static_cast<std::uint64_t>(x->as_int64());
  };
  auto text_of = [&](const char* key, const char* fallback) -> std::string {
    const auto* x = c.if_contains(key);
    if (!x) {
      if (fallback) return fallback;
      throw FormatError(where + ": tart config: " + key + ": missing");
    }
    if (!x->is_string()) throw FormatError(where + ": tart config: " + key + ": expected a string");
    return std::string(x->as_string());
  };
  TartVm vm;
  vm.os = text_of("os", "darwin");
  vm.arch = text_of("arch", "arm64");
  if (vm.os != "darwin" && vm.os != "linux")
    throw FormatError(where + ": tart config: os: '" + vm.os + "' (expected darwin or linux)");
  const auto cpus = number("cpuCount");
  const auto memory = number("memorySize");
  const std::string mac = text_of("macAddress", nullptr);
  std::int64_t width = 1024, height = 768;
  if (const auto* d = c.if_contains("display"); d && d->is_object()) {
    if (const auto* w = d->as_object().if_contains("width"); w && w->is_int64()) width = w->as_int64();
    if (const auto* h = d->as_object().if_contains("height"); h && h->is_int64()) height = h->as_int64();
  }
  if (const auto* f = c.if_contains("diskFormat"); f && f->is_string() && f->as_string() != "raw")
    throw FormatError(where + ": tart config: diskFormat: '" + std::string(f->as_string()) +
                      "' (vzkit reads raw disks only)");
  const std::string mem = memory % (1ull << 20) == 0 ? std::to_string(memory >> 20) + "MiB" : std::to_string(memory);
  json::array devices;
  if (vm.os == "darwin") {
    const std::string model = text_of("hardwareModel", nullptr);
    try {
      vm.hardware_model = base64_decode(model);
    } catch (const std::invalid_argument&) {
      throw FormatError(where + ": tart config: hardwareModel: not base64");
    }
    devices.push_back(json::object{{"plugin", "mac-platform"},
                                   {"hardware_model", "hardware-model.bin"},
                                   {"machine_identifier", "machine-id.bin"},
                                   {"auxiliary_storage", "nvram.bin"}});
    devices.push_back(json::object{{"plugin", "mac-graphics"}, {"width", width}, {"height", height}});
  } else {
    devices.push_back(json::object{{"plugin", "efi-boot"}, {"variable_store", "nvram.bin"}, {"create", false}});
    devices.push_back(json::object{{"plugin", "virtio-gpu"}, {"width", width}, {"height", height}});
  }
  devices.push_back(json::object{{"plugin", "virtio-blk"}, {"path", "disk.img"}});
  devices.push_back(json::object{{"plugin", "network"}, {"mac", mac}});
  devices.push_back(json::object{{"plugin", "keyboard"}});
  devices.push_back(json::object{{"plugin", "pointing"}});
  devices.push_back(json::object{{"plugin", "entropy"}});
  vm.spec = json::object{{"name", name}, {"cpus", cpus}, {"memory", mem}, {"devices", std::move(devices)}};
  return vm;
}


}  // namespace vzkit::images
