// The host API's disk operations (sdk/include/vzkit/host_disks.hpp): the disks a VM attaches,
// clones, `vzkit set` and `vzkit convert`. The storage plugins (virtio-blk, usb-storage) say in
// their schemas how a device names its image: `path`, resolved in the spec's folder, or with
// virtio-blk's create_size in the VM's own folder; `read_only`; `format`.
#include <vzkit/host.hpp>
#include <vzkit/host_disks.hpp>

#include "host_impl.hpp"

#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/file_copy.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/subprocess.hpp>
#include <vzkit/units.hpp>

#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace vzkit::host {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace detail;

namespace {

json::object read_spec_object(const kernel::Bundle& b) {
  std::ifstream in(b.spec_file(), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    auto v = json::parse(ss.str());
    if (v.is_object()) return std::move(v.as_object());
  } catch (const std::exception&) {
  }
  throw std::runtime_error("the spec of VM '" + b.name + "' (" + b.spec_file().string() +
                           ") cannot be read as a JSON object; fix it, or delete the VM");
}

json::array& devices_of(json::object& spec) {
  static json::array none;
  if (auto* d = spec.if_contains("devices"); d && d->is_array()) return d->as_array();
  none.clear();
  return none;
}

std::string string_at(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

bool is_disk_device(const json::object& d) {
  const auto plugin = string_at(d, "plugin");
  return (plugin == "virtio-blk" || plugin == "usb-storage") && !string_at(d, "path").empty();
}

fs::path resolve(const fs::path& base, const std::string& given) {
  const fs::path p(given);
  return (p.is_absolute() ? p : base / p).lexically_normal();
}

bool inside(const fs::path& file, const fs::path& folder) {
  const auto f = file.lexically_normal().string(), d = (folder.lexically_normal() / "").string();
  return f.compare(0, d.size(), d) == 0;
}

std::string header_format(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return {};
  char head[4] = {};
  const auto n = ::pread(fd, head, sizeof head, 0);
  ::close(fd);
  if (n < 0) return {};
  return n == 4 && std::string(head, 4) == std::string("QFI\xfb", 4) ? "qcow2" : "raw";
}

bool is_iso9660(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return false;
  char id[5] = {};
  const auto n = ::pread(fd, id, sizeof id, 0x8001);  // the primary volume descriptor's "CD001"
  ::close(fd);
  return n == 5 && std::string(id, 5) == "CD001";
}

std::string qemu_img() {
  const auto p = kernel::find_program("qemu-img");
  if (p.empty())
    throw std::runtime_error("qemu-img is not installed (Debian: apt-get install qemu-utils; macOS: brew install qemu)");
  return p;
}

std::uint64_t qcow2_virtual_size(const fs::path& file) {
  const auto r = kernel::run_child({qemu_img(), "info", "--output=json", "-U", file.string()});
  if (!r.ok()) throw std::runtime_error("qemu-img cannot read '" + file.string() + "': " + r.err);
  return json::parse(r.out).at("virtual-size").to_number<std::uint64_t>();
}

VmDisk disk_of(const kernel::Bundle& b, const json::object& d, int index) {
  VmDisk k;
  k.device = index;
  k.spec_path = "devices[" + std::to_string(index) + "]";
  k.plugin = string_at(d, "plugin");
  const std::string given = string_at(d, "path");
  const bool created = k.plugin == "virtio-blk" && d.contains("create_size");
  k.file = resolve(created ? b.dir : b.spec_dir(), given).string();
  const auto* ro = d.if_contains("read_only");
  k.read_only = ro && ro->is_bool() ? ro->as_bool() : k.plugin == "usb-storage";
  k.owned = inside(k.file, b.dir);
  std::error_code ec;
  k.exists = fs::is_regular_file(k.file, ec);
  if (!k.exists) return k;
  k.format = string_at(d, "format");
  if (k.format.empty()) k.format = header_format(k.file);
  k.size = fs::file_size(k.file, ec);
  k.allocated = kernel::allocated_bytes(k.file);
  if (k.format == "qcow2") {
    try {
      k.size = qcow2_virtual_size(k.file);
    } catch (const std::exception&) {
      // the file's size stands in
    }
  }
  return k;
}

// The VM, stopped and locked for the whole operation, so that it cannot start meanwhile.
struct Stopped {
  kernel::Bundle bundle;
  kernel::BundleLock lock;
};

Stopped lock_stopped(const std::string& name, const std::string& doing) {
  auto b = open_or_throw(name);
  std::string holder;
  auto lock = kernel::BundleLock::try_acquire(b, holder);
  if (!lock)
    throw std::runtime_error("VM '" + name + "' is running (" + holder + "); " + doing +
                             " needs it stopped: `vzkit stop " + name + "`");
  return {std::move(b), std::move(*lock)};
}

std::string random_mac() {
  std::random_device rd;
  unsigned bytes[6];
  for (auto& x : bytes) x = rd() & 0xff;
  bytes[0] = (bytes[0] & 0xfc) | 0x02;  // unicast, locally administered
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4],
                bytes[5]);
  return text;
}

// A file name in `folder` not taken yet and not in `used`: NAME, else NAME-2.EXT, ...
std::string free_name(const fs::path& folder, const std::string& name, std::set<std::string>& used) {
  std::string candidate = name;
  const fs::path p(name);
  for (int k = 2; used.count(candidate) || fs::exists(folder / candidate); ++k)
    candidate = p.stem().string() + "-" + std::to_string(k) + p.extension().string();
  used.insert(candidate);
  return candidate;
}

}  // namespace

std::vector<VmDisk> vm_disks(const std::string& name) {
  const auto b = open_or_throw(name);
  auto spec = read_spec_object(b);
  std::vector<VmDisk> out;
  auto& devices = devices_of(spec);
  for (std::size_t i = 0; i < devices.size(); ++i)
    if (devices[i].is_object() && is_disk_device(devices[i].as_object()))
      out.push_back(disk_of(b, devices[i].as_object(), static_cast<int>(i)));
  return out;
}

// ---- clone --------------------------------------------------------------------------------------

Cloned clone_vm(const CloneOptions& a) {
  check_name(a.name);
  if (a.name == a.source) throw InputError("a clone needs a name of its own, not '" + a.source + "'");
  std::string err;
  if (kernel::open_bundle(a.name, err))
    throw InputError("a VM named '" + a.name + "' exists already; choose another name, or `vzkit delete " + a.name +
                     "` first");
  auto src = lock_stopped(a.source, "cloning");
  const auto& b = src.bundle;
  auto spec = read_spec_object(b);
  spec["name"] = a.name;
  Cloned out;
  out.name = a.name;
  out.dir = (kernel::vms_dir() / a.name).string();

  // Its own identity.
  auto& devices = devices_of(spec);
  for (std::size_t i = 0; i < devices.size(); ++i) {
    if (!devices[i].is_object()) continue;
    auto& d = devices[i].as_object();
    const std::string at = "devices[" + std::to_string(i) + "]";
    const auto plugin = string_at(d, "plugin");
    if (plugin == "network" && d.contains("mac")) {
      d["mac"] = random_mac();
      out.changes.push_back(at + ".mac: " + std::string(d["mac"].as_string()) + " (a new address in place of " +
                            "the source's fixed one)");
    } else if (plugin == "network") {
      out.changes.push_back(at + ": a new MAC address (it follows the VM's name)");
    } else if (plugin == "mac-platform") {
      // A VZMacMachineIdentifier is opaque data only Virtualization.framework makes; two Macs
      // must not share one.
      throw std::runtime_error("VM '" + a.source + "' is a macOS VM (" + at +
                               "): its clone needs a new machine identifier, which only Virtualization.framework "
                               "makes; clone it with vzkit on a Mac with Apple silicon");
    }
  }

  // Files: the VM's own (disks, NVRAM, identifiers), and writable disks it uses from elsewhere.
  struct Job {
    fs::path from, rel;
  };
  std::vector<Job> jobs;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(b.dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path rel = it->path().lexically_relative(b.dir);
    const std::string first = rel.begin()->string();
    if (first == "run" || first == "lock" || first == "bundle.json" || first == "spec.json" ||
        first.find(".partial-") != std::string::npos) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) jobs.push_back({it->path(), rel});
  }
  if (ec) throw std::runtime_error("cannot read the folder of VM '" + a.source + "': " + ec.message());
  std::set<std::string> used;
  for (const auto& j : jobs) used.insert(j.rel.begin()->string());
  for (std::size_t i = 0; i < devices.size(); ++i) {
    if (!devices[i].is_object() || !is_disk_device(devices[i].as_object())) continue;
    auto& d = devices[i].as_object();
    const auto disk = disk_of(b, d, static_cast<int>(i));
    if (disk.owned || !disk.exists) continue;
    if (disk.read_only) {
      out.changes.push_back(disk.spec_path + ": shares the read-only image " + disk.file + " with '" + a.source + "'");
      continue;
    }
    const std::string name = free_name(b.dir, fs::path(disk.file).filename().string(), used);
    jobs.push_back({disk.file, name});
    d["path"] = (fs::path(out.dir) / name).string();
    d.erase("create_size");
    out.changes.push_back(disk.spec_path + ".path: its own copy of " + disk.file);
  }

  std::uint64_t total = 0, done = 0;
  for (const auto& j : jobs) total += fs::file_size(j.from, ec);
  kernel::Bundle made = kernel::create_bundle(
      a.name, kernel::pretty_json(spec),
      b.meta.contains("spec_dir") ? b.spec_dir() : fs::path(), b.engine(),
      [&](const fs::path& tmp) {
        for (const auto& j : jobs) {
          fs::create_directories((tmp / j.rel).parent_path());
          kernel::CopyOptions o;
          const std::uint64_t before = done;
          if (a.progress) o.progress = [&](std::uint64_t d, std::uint64_t) { a.progress(before + d, total); };
          const auto r = kernel::copy_file_cow(j.from, tmp / j.rel, o);
          done = before + r.size;
          out.files.push_back({(fs::path(out.dir) / j.rel).string(), kernel::to_string(r.method), r.size,
                               r.bytes_copied});
        }
        if (a.progress) a.progress(total, total);
      },
      json::object{{"cloned_from", a.source}});
  out.dir = made.dir.string();
  return out;
}

// ---- set ----------------------------------------------------------------------------------------

namespace {

// Validates spec text for the VM (its engine, its paths); PlanError with every problem.
std::vector<Diagnostic> validated(const Host& host, const kernel::Bundle& b, const json::object& spec,
                                  const std::string& what) {
  const auto v = host.validate(kernel::pretty_json(spec), b.spec_dir().string(), b.engine(),
                               "VM '" + b.name + "' " + what);
  if (!v.valid) throw PlanError(v.diagnostics);
  return warnings_of(v.diagnostics);
}

// A size as create_size takes it, exactly: "64GiB", "1536MiB", or bytes.
std::string exact_size(std::uint64_t bytes) {
  for (const auto& [unit, name] : {std::pair{1ull << 40, "TiB"}, {1ull << 30, "GiB"}, {1ull << 20, "MiB"}})
    if (bytes % unit == 0) return std::to_string(bytes / unit) + name;
  return std::to_string(bytes);
}

int pick_disk(const std::vector<VmDisk>& disks, int device, const std::string& vm) {
  if (device >= 0) {
    for (std::size_t i = 0; i < disks.size(); ++i)
      if (disks[i].device == device) return static_cast<int>(i);
    throw InputError("devices[" + std::to_string(device) + "] of VM '" + vm +
                     "' is not a disk; `vzkit inspect " + vm + "` shows its devices");
  }
  for (std::size_t i = 0; i < disks.size(); ++i)
    if (!disks[i].read_only) return static_cast<int>(i);
  throw InputError("VM '" + vm + "' has no writable disk to resize");
}

}  // namespace

SetResult set_vm(const Host& host, const SetOptions& a) {
  if (!a.cpus && a.memory.empty() && a.disk_size.empty() && !a.remove_iso)
    throw InputError("nothing to change: give --cpus, --memory, --disk-size or --remove-iso");
  if (a.device >= 0 && a.disk_size.empty()) throw InputError("--device chooses the disk --disk-size resizes");
  auto vm = lock_stopped(a.name, "changing its settings");
  const auto& b = vm.bundle;
  auto spec = read_spec_object(b);
  SetResult out;
  auto shown = [](const json::value* v) { return v ? json::serialize(*v) : std::string("(unset)"); };
  if (a.cpus) {
    out.changes.push_back("cpus: " + shown(spec.if_contains("cpus")) + " -> " + std::to_string(*a.cpus));
    spec["cpus"] = *a.cpus;
  }
  if (!a.memory.empty()) {
    out.changes.push_back("memory: " + shown(spec.if_contains("memory")) + " -> \"" + a.memory + "\"");
    spec["memory"] = a.memory;
  }
  auto& devices = devices_of(spec);
  if (a.remove_iso) {
    json::array kept;
    int removed = 0;
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const bool iso = devices[i].is_object() && is_disk_device(devices[i].as_object()) && [&] {
        const auto d = disk_of(b, devices[i].as_object(), static_cast<int>(i));
        return d.read_only && (is_iso9660(d.file) || fs::path(d.file).extension() == ".iso");
      }();
      if (iso) {
        out.changes.push_back("devices[" + std::to_string(i) + "] removed (the installer image " +
                              string_at(devices[i].as_object(), "path") + ")");
        ++removed;
      } else {
        kept.push_back(devices[i]);
      }
    }
    if (removed == 0) throw InputError("VM '" + a.name + "' has no read-only installer image (ISO) attached");
    devices = std::move(kept);
  }

  // The disk to resize, found in the spec as it will be.
  std::optional<VmDisk> disk;
  std::uint64_t new_size = 0;
  if (!a.disk_size.empty()) {
    const auto size = parse_size(a.disk_size);
    if (!size || *size == 0)
      throw InputError("--disk-size '" + a.disk_size + "' is not a size; write a number with a unit, e.g. 64GiB");
    if (*size % 512 != 0)
      throw InputError("--disk-size '" + a.disk_size + "' is not a whole number of 512-byte sectors; try " +
                       suggest_size(a.disk_size, 512, 1ull << 30));
    new_size = *size;
    std::vector<VmDisk> disks;
    for (std::size_t i = 0; i < devices.size(); ++i)
      if (devices[i].is_object() && is_disk_device(devices[i].as_object()))
        disks.push_back(disk_of(b, devices[i].as_object(), static_cast<int>(i)));
    disk = disks[static_cast<std::size_t>(pick_disk(disks, a.device, a.name))];
    if (!disk->exists)
      throw std::runtime_error(disk->spec_path + " of VM '" + a.name + "': the image " + disk->file +
                               " does not exist yet (it is made when the VM first runs)");
    if (disk->read_only) throw InputError(disk->spec_path + " of VM '" + a.name + "' is read-only; it is not resized");
    if (new_size < disk->size && !a.force)
      throw InputError("--disk-size " + a.disk_size + " would shrink " + disk->spec_path + " (" + disk->file +
                       ") from " + format_size(disk->size) + ", cutting off the guest's data beyond " +
                       format_size(new_size) + "; shrink the guest's filesystem first and add --force");
    auto& d = devices[static_cast<std::size_t>(disk->device)].as_object();
    if (d.contains("create_size")) d["create_size"] = exact_size(new_size);
    out.changes.push_back(disk->spec_path + " (" + fs::path(disk->file).filename().string() + "): " +
                          format_size(disk->size) + " -> " + format_size(new_size));
  }

  out.warnings = validated(host, b, spec, "(with the new settings)");
  if (disk && new_size != disk->size) {
    if (disk->format == "qcow2") {
      std::vector<std::string> argv{qemu_img(), "resize", "-q"};
      if (new_size < disk->size) argv.push_back("--shrink");
      argv.insert(argv.end(), {"-f", "qcow2", disk->file, std::to_string(new_size)});
      if (const auto r = kernel::run_child(argv); !r.ok())
        throw std::runtime_error("qemu-img could not resize " + disk->file + ": " + r.err);
    } else {
      kernel::resize_file(disk->file, new_size, a.force);
    }
  }
  kernel::write_atomic(b.spec_file(), kernel::pretty_json(spec));
  return out;
}

// ---- convert ------------------------------------------------------------------------------------

Converted convert_vm(const Host& host, const ConvertOptions& a) {
  if (a.format != "raw" && a.format != "qcow2") throw InputError("--format is raw or qcow2, not '" + a.format + "'");
  auto vm = lock_stopped(a.name, "converting its disks");
  const auto& b = vm.bundle;
  auto spec = read_spec_object(b);
  auto& devices = devices_of(spec);
  std::vector<VmDisk> todo;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    if (!devices[i].is_object() || !is_disk_device(devices[i].as_object())) continue;
    if (a.device >= 0 && static_cast<int>(i) != a.device) continue;
    auto d = disk_of(b, devices[i].as_object(), static_cast<int>(i));
    if (!d.exists || d.format == a.format || (a.device < 0 && d.read_only)) continue;
    if (!d.owned)
      throw InputError(d.spec_path + " of VM '" + a.name + "' uses " + d.file +
                       " from outside its folder, which other VMs may share; clone the VM first (`vzkit clone " +
                       a.name + " NEW`), which gives the clone its own copy");
    todo.push_back(d);
  }
  if (todo.empty()) {
    if (a.device >= 0)
      throw InputError("devices[" + std::to_string(a.device) + "] of VM '" + a.name +
                       "' is not a disk whose image exists in another format");
    throw InputError("every disk of VM '" + a.name + "' is " + a.format + " already");
  }
  for (const auto& d : todo) {
    auto& o = devices[static_cast<std::size_t>(d.device)].as_object();
    o["format"] = a.format;
    // create_size makes raw images; the image exists now, so the device names it by its path.
    if (o.erase("create_size")) o["path"] = d.file;
  }

  // Each image is converted under a temporary name beside it; only when all are done do they
  // replace the originals, and the spec is checked against them before the originals go.
  struct Step {
    VmDisk disk;
    fs::path tmp, old;
  };
  std::vector<Step> steps;
  const std::string pid = std::to_string(::getpid());
  auto name_beside = [&](const fs::path& f, const char* what) {
    return f.parent_path() / ("." + f.filename().string() + what + pid);
  };
  std::error_code ec;
  auto undo = [&](std::size_t renamed) {
    for (std::size_t k = 0; k < renamed; ++k) fs::rename(steps[k].old, steps[k].disk.file, ec);
    for (const auto& st : steps) fs::remove(st.tmp, ec);
  };
  for (const auto& d : todo) {
    steps.push_back({d, name_beside(d.file, ".partial-"), name_beside(d.file, ".before-convert-")});
    std::vector<std::string> argv{qemu_img(), "convert"};
    if (a.show_progress) argv.push_back("-p");
    argv.insert(argv.end(), {"-f", d.format, "-O", a.format});
    if (a.format == "raw") argv.insert(argv.end(), {"-S", "4k"});  // runs of zeros stay holes
    argv.insert(argv.end(), {d.file, steps.back().tmp.string()});
    kernel::ChildOptions how;
    if (a.show_progress) how.out = kernel::Output::inherit;
    const auto r = kernel::run_child(argv, how);
    if (r.ok()) fs::permissions(steps.back().tmp, fs::status(d.file, ec).permissions(), ec);
    if (!r.ok()) {
      undo(0);
      throw std::runtime_error("qemu-img could not convert " + d.file + " (" + r.describe() + "): " + r.err +
                               "\n  nothing was changed");
    }
  }
  for (std::size_t k = 0; k < steps.size(); ++k) {
    fs::rename(steps[k].disk.file, steps[k].old, ec);
    if (!ec) fs::rename(steps[k].tmp, steps[k].disk.file, ec);
    if (ec) {
      undo(k + 1);
      throw std::runtime_error("cannot replace " + steps[k].disk.file + ": " + ec.message() + "; nothing was changed");
    }
  }
  try {
    (void)validated(host, b, spec, "(after converting)");
    kernel::write_atomic(b.spec_file(), kernel::pretty_json(spec));
  } catch (...) {
    undo(steps.size());
    throw;
  }
  Converted out;
  for (const auto& st : steps) {
    fs::remove(st.old, ec);
    out.changes.push_back(st.disk.spec_path + " (" + fs::path(st.disk.file).filename().string() + "): " +
                          st.disk.format + " -> " + a.format);
  }
  return out;
}

}  // namespace vzkit::host
