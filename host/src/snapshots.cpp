// Named snapshots of a VM (sdk/include/vzkit/host_suspend.hpp): <bundle>/snapshots/TAG/ holds a
// copy of each file the VM writes (its disks and NVRAM, found in its plan), snapshot.json, and
// with --running the saved state (state/). Copies are copy-on-write clones where the filesystem
// has them (kernel::copy_file_cow). A snapshot is built as snapshots/.TAG.partial-PID and renamed
// when complete.
#include <vzkit/host.hpp>

#include "host_impl.hpp"
#include "suspend_impl.hpp"

#include <vzkit/bridge/qemu/qmp_client.hpp>
#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/file_copy.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/saved_state.hpp>
#include <vzkit/kernel/version.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <ctime>
#include <thread>

namespace vzkit::host {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace detail;

namespace {

constexpr const char* kSnapshotMeta = "snapshot.json";

fs::path snapshots_dir(const kernel::Bundle& b) { return b.dir / "snapshots"; }

kernel::Bundle bundle_named(const std::string& name) {
  std::string err;
  auto b = kernel::open_bundle(name, err);
  if (!b) throw std::runtime_error(err);
  return *b;
}

void check_tag(const std::string& tag) {
  if (!valid_snapshot_tag(tag))
    throw InputError("'" + tag + "' is not a valid snapshot tag (letters, digits, '.', '_', '-', starting with a "
                     "letter or digit, at most 64 characters)");
}

std::string property(const json::value& entry, const char* key) {
  const auto* props = entry.is_object() ? entry.get_object().if_contains("properties") : nullptr;
  if (!props || !props->is_object()) return {};
  const auto* v = props->get_object().if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The files a plan lets the guest write: QEMU's writable block files and pflash drives, VZ's
// writable disk images, EFI variable store and Mac auxiliary storage.
std::vector<fs::path> writable_files(const json::value& plan) {
  std::vector<fs::path> out;
  auto add = [&](const std::string& p) {
    if (!p.empty() && std::find(out.begin(), out.end(), fs::path(p)) == out.end()) out.emplace_back(p);
  };
  if (!plan.is_object()) return out;
  const auto& o = plan.get_object();
  auto list = [&](const char* key) -> const json::array* {
    const auto* v = o.if_contains(key);
    return v && v->is_array() ? &v->get_array() : nullptr;
  };
  if (const auto* blockdevs = list("blockdevs"))
    for (const auto& b : *blockdevs)
      if (property(b, "read-only") != "on") add(property(b, "filename"));
  if (const auto* drives = list("drives"))
    for (const auto& d : *drives)
      if (property(d, "readonly") != "on" && property(d, "read-only") != "on") add(property(d, "file"));
  std::function<void(const json::value&, const std::string&)> walk = [&](const json::value& v, const std::string& key) {
    if (v.is_array()) {
      for (const auto& e : v.get_array()) walk(e, key);
      return;
    }
    if (!v.is_object()) return;
    const auto& obj = v.get_object();
    if (key == "attachment" || key == "variable_store" || key == "auxiliary_storage") {
      const auto* url = obj.if_contains("url");
      const auto* ro = obj.if_contains("read_only");
      if (url && url->is_string() && !(ro && ro->is_bool() && ro->get_bool())) add(std::string(url->get_string()));
    }
    for (const auto& kv : obj) walk(kv.value(), std::string(kv.key()));
  };
  if (!o.contains("blockdevs") && !o.contains("drives")) walk(plan, "");
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& f : out)
    if (fs::is_regular_file(f, ec)) files.push_back(f);
  return files;
}

std::uint64_t on_disk(const fs::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) {
      try {
        total += kernel::allocated_bytes(e.path());
      } catch (const std::exception&) {
      }
    }
  return total;
}

SnapshotInfo info_of(const fs::path& dir) {
  const json::value v = read_json_file(dir / kSnapshotMeta);
  SnapshotInfo s;
  s.tag = dir.filename().string();
  const auto& o = v.as_object();
  if (const auto* c = o.if_contains("created"); c && c->is_number()) s.created = c->to_number<std::int64_t>();
  if (const auto* m = o.if_contains("method"); m && m->is_string()) s.method = std::string(m->get_string());
  if (const auto* f = o.if_contains("files"); f && f->is_array())
    for (const auto& e : f->get_array())
      if (e.is_object() && e.get_object().contains("path")) s.files.emplace_back(e.at("path").as_string());
  s.running = kernel::read_saved_state(dir / "state").has_value();
  s.bytes_on_disk = on_disk(dir);
  return s;
}

// The stored name of the VM's file `f` inside a snapshot: its name, made unique.
std::string stored_name(const fs::path& f, std::size_t index) { return std::to_string(index) + "-" + f.filename().string(); }

}  // namespace

bool valid_snapshot_tag(const std::string& tag) { return kernel::valid_vm_name(tag); }

SnapshotInfo create_snapshot(const Host& host, const std::string& name, const std::string& tag,
                             const SnapshotOptions& options) {
  check_tag(tag);
  const auto b = bundle_named(name);
  const fs::path final_dir = snapshots_dir(b) / tag;
  std::error_code ec;
  if (fs::exists(final_dir, ec))
    throw InputError("VM '" + name + "' already has a snapshot '" + tag + "'\n  hint: delete it first with `vzkit "
                     "snapshot " + name + " delete " + tag + "`, or pick another tag");
  const bool running = kernel::BundleLock::is_held(b);
  const auto suspended = suspended_state(name);
  if (options.running && !running && !suspended)
    throw InputError("VM '" + name + "' neither runs nor is suspended, so there is no machine state for "
                     "--running\n  hint: take the snapshot without --running, or start the VM first");
  // The files the guest writes, from the plan it runs with (or would run with).
  json::value plan;
  if (running) {
    plan = read_json_file(b.run_dir() / "plan.json");
  } else {
    PlanOptions po;
    po.engine = "";
    po.files_may_be_missing = true;
    plan = json::parse(host.plan_file(name, po).model_json);
  }
  const auto files = writable_files(plan);
  fs::create_directories(snapshots_dir(b));
  kernel::remove_partials(snapshots_dir(b));
  const fs::path partial = kernel::begin_partial(final_dir);
  auto say = [&](const std::string& phase, std::uint64_t done, std::uint64_t total) {
    if (options.progress) options.progress(phase, done, total);
  };
  bool paused_here = false;
  auto resume_guest = [&] {
    if (!paused_here) return;
    paused_here = false;
    try {
      Library{}.resume(name);
    } catch (const std::exception&) {
      // A guest that cannot be resumed says so in `vzkit list`; the snapshot is still whole.
    }
  };
  try {
    if (running) {
      if (options.running) {
        // The state goes first (the machine stays paused after it), then the disks as they are then.
        json::object meta{{"engine", b.engine()},
                          {"digest", kernel::plan_digest(plan, b.dir)},
                          {"memory_bytes", memory_of(plan)},
                          {"vzkit", kernel::kVersion}};
        if (auto refused = check_save(host, name); !refused.empty())
          throw SaveRefused("VM '" + name + "' cannot be saved for a --running snapshot; it runs on, untouched",
                            std::move(refused));
        const bool was_running = Library{}.inspect(name).state == "running";
        control_call(b, "vzkit-save",
                     json::object{{"dir", (partial / "state").string()}, {"meta", meta}, {"plan", plan}, {"then", "pause"}},
                     [&](const json::object& e) {
                       const auto* d = e.if_contains("data");
                       if (!d || !d->is_object()) return;
                       auto n = [&](const char* k) {
                         const auto* v = d->get_object().if_contains(k);
                         return v && v->is_number() ? v->to_number<std::uint64_t>() : std::uint64_t(0);
                       };
                       say("saving the machine state", n("done"), n("total"));
                     });
        paused_here = was_running;
      } else if (Library{}.inspect(name).state == "running") {
        // Disks copied under a running guest would not be consistent: it waits while they are.
        Library{}.pause(name);
        paused_here = true;
      }
    } else if (options.running && suspended) {
      say("copying the saved state", 0, suspended->bytes);
      kernel::copy_saved_state(suspended->dir, partial / "state");
    }
    json::array stored;
    std::string method;
    for (std::size_t i = 0; i < files.size(); ++i) {
      const std::string phase = "copying " + files[i].filename().string();
      kernel::CopyOptions co;
      co.progress = [&](std::uint64_t done, std::uint64_t total) { say(phase, done, total); };
      const auto r = kernel::copy_file_cow(files[i], partial / stored_name(files[i], i), co);
      method = method.empty() || method == kernel::to_string(r.method) ? kernel::to_string(r.method) : "mixed";
      stored.push_back(json::object{{"path", files[i].string()}, {"file", stored_name(files[i], i)}, {"bytes", r.size}});
    }
    resume_guest();
    kernel::write_atomic(partial / kSnapshotMeta,
                         kernel::pretty_json(json::object{{"tag", tag},
                                                          {"created", static_cast<std::int64_t>(std::time(nullptr))},
                                                          {"engine", b.engine()},
                                                          {"method", method.empty() ? "none" : method},
                                                          {"files", stored}}));
    fs::rename(partial, final_dir);
  } catch (...) {
    resume_guest();
    fs::remove_all(partial, ec);
    throw;
  }
  return info_of(final_dir);
}

std::vector<SnapshotInfo> list_snapshots(const std::string& name) {
  const auto b = bundle_named(name);
  std::vector<SnapshotInfo> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(snapshots_dir(b), ec)) {
    if (!e.is_directory(ec) || e.path().filename().string().front() == '.') continue;
    try {
      out.push_back(info_of(e.path()));
    } catch (const std::exception&) {
      // Not a complete snapshot (its snapshot.json is written last): not listed.
    }
  }
  std::sort(out.begin(), out.end(), [](const SnapshotInfo& x, const SnapshotInfo& y) {
    return x.created != y.created ? x.created < y.created : x.tag < y.tag;
  });
  return out;
}

SnapshotInfo restore_snapshot(const std::string& name, const std::string& tag,
                              const std::function<void(const std::string&, std::uint64_t, std::uint64_t)>& progress) {
  check_tag(tag);
  const auto b = bundle_named(name);
  const fs::path dir = snapshots_dir(b) / tag;
  std::error_code ec;
  if (!fs::is_regular_file(dir / kSnapshotMeta, ec)) {
    std::vector<std::string> tags;
    for (const auto& s : list_snapshots(name)) tags.push_back(s.tag);
    std::string hint = tags.empty() ? "it has none; take one with `vzkit snapshot " + name + " create TAG`"
                                    : "`vzkit snapshot " + name + " list` shows them";
    if (const auto near = closest_name(tag, tags); !near.empty()) hint = "did you mean '" + near + "'?";
    throw InputError("VM '" + name + "' has no snapshot '" + tag + "'\n  hint: " + hint);
  }
  // Holding the lock keeps the VM from starting while its files are replaced.
  std::string holder;
  auto lock = kernel::BundleLock::try_acquire(b, holder);
  if (!lock)
    throw std::runtime_error("VM '" + name + "' is running (" + holder + "); a snapshot is restored into a stopped "
                             "VM\n  hint: stop it with `vzkit stop " + name + "` (or `vzkit suspend " + name +
                             "`), then restore");
  const json::value meta = read_json_file(dir / kSnapshotMeta);
  for (const auto& e : meta.at("files").as_array()) {
    const fs::path target(std::string(e.at("path").as_string()));
    const fs::path stored = dir / std::string(e.at("file").as_string());
    // Each file is put in place whole: copied beside its place, then renamed over it.
    const fs::path tmp = target.parent_path() / ("." + target.filename().string() + ".restore-" + std::to_string(::getpid()));
    fs::remove(tmp, ec);
    kernel::CopyOptions co;
    const std::string phase = "restoring " + target.filename().string();
    co.progress = [&](std::uint64_t done, std::uint64_t total) {
      if (progress) progress(phase, done, total);
    };
    co.perms = fs::status(target, ec).permissions();
    if (ec) co.perms = fs::perms::owner_read | fs::perms::owner_write;
    kernel::copy_file_cow(stored, tmp, co);
    fs::rename(tmp, target);
  }
  // The machine state must go with the disks it was saved with, or not at all.
  const fs::path suspended = kernel::suspended_dir(b.dir);
  fs::remove_all(suspended, ec);
  if (kernel::read_saved_state(dir / "state")) {
    if (progress) progress("restoring the machine state", 0, 0);
    kernel::copy_saved_state(dir / "state", suspended);
  }
  return info_of(dir);
}

void delete_snapshot(const std::string& name, const std::string& tag) {
  check_tag(tag);
  const auto b = bundle_named(name);
  const fs::path dir = snapshots_dir(b) / tag;
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw InputError("VM '" + name + "' has no snapshot '" + tag + "'");
  // Renamed first, so a listing never sees half of it.
  const fs::path gone = snapshots_dir(b) / ("." + tag + ".old-" + std::to_string(::getpid()));
  fs::rename(dir, gone);
  fs::remove_all(gone, ec);
}

}  // namespace vzkit::host
