// Suspend and resume of the VMs on disk (sdk/include/vzkit/host_suspend.hpp). The supervisor of a
// running VM does the saving (kernel/state_commands.hpp, over its control socket); this side
// checks the devices first, asks for the save, shows its progress and waits for the VM to stop.
#include <vzkit/host.hpp>

#include "host_impl.hpp"
#include "suspend_impl.hpp"

#include <vzkit/bridge/qemu/qmp_client.hpp>
#include <vzkit/bridge/qemu/supervisor.hpp>
#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/saved_state.hpp>
#include <vzkit/kernel/supervisor.hpp>
#include <vzkit/kernel/version.hpp>

#include <boost/json.hpp>

#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

namespace vzkit::host {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace qb = vzkit::bridge::qemu;
using namespace detail;

SaveRefused::SaveRefused(const std::string& message, std::vector<Diagnostic> d)
    : std::runtime_error(message), diagnostics(std::move(d)) {}
SaveRefused::~SaveRefused() = default;

namespace detail {

kernel::Bundle running_bundle(const std::string& name, const char* doing) {
  std::string err;
  auto b = kernel::open_bundle(name, err);
  if (!b) throw std::runtime_error(err);
  if (!kernel::BundleLock::is_held(*b))
    throw std::runtime_error("VM '" + name + "' is not running, so there is nothing to " + doing +
                             "\n  hint: start it with `vzkit run " + name + "`");
  return *b;
}

fs::path control_socket(const kernel::Bundle& b) {
  // QEMU's own monitor has run/ctl.sock; VZ's supervisor answers there itself.
  return b.engine() == "qemu" ? qb::supervisor_socket(b.run_dir()) : b.run_dir() / "ctl.sock";
}

json::value read_json_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

std::uint64_t memory_of(const json::value& plan) {
  if (!plan.is_object()) return 0;
  const auto& o = plan.get_object();
  if (const auto* m = o.if_contains("memory_mib"); m && m->is_number()) return m->to_number<std::uint64_t>() << 20;
  if (const auto* m = o.if_contains("memory_size"); m && m->is_number()) return m->to_number<std::uint64_t>();
  return 0;
}

SavedState saved_state_of(const fs::path& dir, const json::object& meta) {
  SavedState s;
  s.dir = dir.string();
  auto num = [&](const char* k) -> const json::value* {
    const auto* v = meta.if_contains(k);
    return v && v->is_number() ? v : nullptr;
  };
  if (const auto* v = num("state_bytes")) s.bytes = v->to_number<std::uint64_t>();
  if (const auto* v = num("memory_bytes")) s.memory_bytes = v->to_number<std::uint64_t>();
  if (const auto* v = num("save_seconds")) s.seconds = v->to_number<double>();
  if (const auto* v = num("saved_at")) s.saved_at = v->to_number<std::int64_t>();
  if (const auto* v = meta.if_contains("digest"); v && v->is_string()) s.digest = std::string(v->get_string());
  return s;
}

// One command on the supervisor's control socket, with its events, waiting as long as the
// supervisor lives (a save of a large guest takes a while).
json::value control_call(const kernel::Bundle& b, const std::string& command, json::object arguments,
                         const std::function<void(const json::object&)>& on_event) {
  qb::QmpCallOptions o;
  o.timeout = std::chrono::milliseconds(0);
  o.on_event = on_event;
  // The supervisor may die (killed) without closing the socket cleanly: its lock tells.
  o.keep_waiting = [&b] { return kernel::BundleLock::is_held(b); };
  o.gone = "the VM's supervisor ended before it answered";
  try {
    return qb::qmp_call(control_socket(b).string(), command, std::move(arguments), o);
  } catch (const std::runtime_error& e) {
    // qmp_call says "COMMAND: why"; the command's name means nothing to the user.
    const std::string what = e.what();
    const std::string prefix = command + ": ";
    throw std::runtime_error(what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what);
  }
}

std::string spec_path_plugin(const json::value& spec, const std::string& path) {
  if (path.rfind("devices[", 0) != 0) return {};
  try {
    const auto& d = spec.at("devices").at(std::stoul(path.substr(8)));
    return std::string(d.at("plugin").as_string());
  } catch (const std::exception&) {
    return {};
  }
}

}  // namespace detail

std::vector<Diagnostic> check_save(const Host& host, const std::string& name) {
  const auto b = running_bundle(name, "suspend");
  const std::string engine = b.engine();
  json::value spec;
  try {
    spec = read_json_file(b.spec_file());
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot read the spec of VM '" + name + "': " + e.what());
  }
  std::vector<Diagnostic> out;
  const std::string file = b.spec_file().string();
  const auto& infos = host.plugins();
  std::vector<std::string> flagged;
  if (const auto* devices = spec.is_object() ? spec.get_object().if_contains("devices") : nullptr;
      devices && devices->is_array()) {
    for (std::size_t i = 0; i < devices->get_array().size(); ++i) {
      const auto& d = devices->get_array()[i];
      const auto* p = d.is_object() ? d.get_object().if_contains("plugin") : nullptr;
      if (!p || !p->is_string()) continue;
      const std::string plugin(p->get_string());
      const auto info = std::find_if(infos.begin(), infos.end(), [&](const PluginInfo& x) { return x.name == plugin; });
      if (info == infos.end()) continue;  // validation reports unknown plugins; the engine still has a say
      const auto& on = info->save_restore_engines;
      if (std::find(on.begin(), on.end(), engine) != on.end()) continue;
      const std::string path = "devices[" + std::to_string(i) + "]";
      const auto note = info->save_restore_notes.find(engine);
      Diagnostic diag;
      diag.code = "suspend.device-not-saveable";
      diag.file = file;
      diag.path = path;
      diag.plugin = plugin;
      diag.message = "a " + plugin + " device cannot be saved on the " + engine + " engine" +
                     (note != info->save_restore_notes.end() ? ": " + note->second : std::string());
      diag.hint = "remove it from the VM's spec to make the VM suspendable, or stop the VM with `vzkit stop " +
                  name + "`";
      out.push_back(std::move(diag));
      flagged.push_back(path);
    }
  }
  json::value r = control_call(b, "vzkit-check-save", {}, nullptr);
  if (const auto* list = r.is_object() ? r.get_object().if_contains("blockers") : nullptr; list && list->is_array())
    for (const auto& e : list->get_array()) {
      if (!e.is_object()) continue;
      const auto* path = e.get_object().if_contains("path");
      const auto* reason = e.get_object().if_contains("reason");
      const std::string at = path && path->is_string() ? std::string(path->get_string()) : "";
      if (!at.empty() && std::find(flagged.begin(), flagged.end(), at) != flagged.end()) continue;
      Diagnostic diag;
      diag.code = "suspend.engine-blocked";
      diag.file = file;
      diag.path = at;
      diag.plugin = spec_path_plugin(spec, at);
      diag.message = "the " + engine + " engine cannot save this device: " +
                     (reason && reason->is_string() ? std::string(reason->get_string()) : "no reason given");
      diag.hint = "remove the device from the VM's spec to make the VM suspendable";
      out.push_back(std::move(diag));
    }
  return out;
}

SavedState suspend(const Host& host, const std::string& name, const StateProgress& progress) {
  if (auto refused = check_save(host, name); !refused.empty()) {
    throw SaveRefused("VM '" + name + "' cannot be suspended; it runs on, untouched", std::move(refused));
  }
  const auto b = running_bundle(name, "suspend");
  json::value plan;
  try {
    plan = read_json_file(b.run_dir() / "plan.json");
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot read the plan VM '" + name + "' runs with: " + e.what());
  }
  const fs::path dir = kernel::suspended_dir(b.dir);
  json::object meta{{"engine", b.engine()},
                    {"digest", kernel::plan_digest(plan, b.dir)},
                    {"memory_bytes", memory_of(plan)},
                    {"vzkit", kernel::kVersion}};
  auto on_event = [&](const json::object& e) {
    const auto* name_of = e.if_contains("event");
    const auto* data = e.if_contains("data");
    if (!progress || !name_of || !name_of->is_string() || name_of->get_string() != "VZKIT_SAVE_PROGRESS" || !data ||
        !data->is_object())
      return;
    auto n = [&](const char* k) {
      const auto* v = data->get_object().if_contains(k);
      return v && v->is_number() ? v->to_number<std::uint64_t>() : std::uint64_t(0);
    };
    progress(n("done"), n("total"));
  };
  try {
    control_call(b, "vzkit-save",
                 json::object{{"dir", dir.string()}, {"meta", meta}, {"plan", plan}, {"then", "stop"}}, on_event);
  } catch (const std::exception& e) {
    throw std::runtime_error("VM '" + name + "' was not suspended: " + e.what());
  }
  // The supervisor stops the machine once the state is in place.
  for (int i = 0; i < 600 && kernel::BundleLock::is_held(b); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto saved = kernel::read_saved_state(dir);
  if (!saved) throw std::runtime_error("VM '" + name + "' reported its state saved, but " + dir.string() + " holds none");
  auto out = saved_state_of(dir, *saved);
  if (kernel::BundleLock::is_held(b))
    throw std::runtime_error("VM '" + name + "' saved its state in " + dir.string() +
                             " but has not stopped yet\n  hint: `vzkit stop " + name + " --force` stops it");
  return out;
}

std::optional<SavedState> suspended_state(const std::string& name) {
  std::string err;
  auto b = kernel::open_bundle(name, err);
  if (!b) throw std::runtime_error(err);
  const fs::path dir = kernel::suspended_dir(b->dir);
  const auto meta = kernel::read_saved_state(dir);
  if (!meta) return std::nullopt;
  return saved_state_of(dir, *meta);
}

namespace detail {

std::string prepare_resume(const kernel::Bundle& b, const json::value& plan, bool fresh,
                           std::vector<std::string>& supervisor_args, std::vector<Diagnostic>& warnings) {
  std::error_code ec;
  kernel::remove_partials(b.dir, true);  // a save that was killed halfway (the lock is ours): never used
  const fs::path dir = kernel::suspended_dir(b.dir);
  if (!fs::exists(dir, ec)) return {};
  if (fresh) {
    fs::remove_all(dir, ec);
    return {};
  }
  const auto meta = kernel::read_saved_state(dir);
  if (!meta) {
    fs::remove_all(dir, ec);
    Diagnostic w;
    w.error = false;
    w.code = "suspend.state-incomplete";
    w.file = dir.string();
    w.message = "the saved state of VM '" + b.name + "' was incomplete and has been discarded; the VM boots afresh";
    warnings.push_back(std::move(w));
    return {};
  }
  const std::string digest = kernel::plan_digest(plan, b.dir);
  const auto* saved_digest = meta->if_contains("digest");
  if (!saved_digest || !saved_digest->is_string() || saved_digest->get_string() != digest) {
    std::string changes;
    try {
      for (const auto& c : kernel::plan_changes(read_json_file(dir / kernel::kStatePlan), plan, b.dir))
        changes += "\n  " + c;
    } catch (const std::exception& e) {
      changes = std::string("\n  (the saved plan cannot be read: ") + e.what() + ")";
    }
    if (changes.empty()) changes = "\n  (the engine or its version)";
    throw InputError("VM '" + b.name + "' was suspended with another machine than its spec makes now, so it cannot "
                     "resume; what changed:" + changes +
                     "\n  hint: change the spec back to resume it, or run `vzkit run " + b.name +
                     " --fresh` to discard the saved state and boot");
  }
  supervisor_args.insert(supervisor_args.end(), {"--restore", dir.string()});
  const auto s = saved_state_of(dir, *meta);
  char when[64] = "an earlier run";
  const std::time_t t = static_cast<std::time_t>(s.saved_at);
  if (std::tm tm{}; s.saved_at > 0 && ::localtime_r(&t, &tm)) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  return "resuming VM '" + b.name + "' from the state saved at " + when + " (" + std::to_string(s.bytes >> 20) +
         " MiB; `vzkit run " + b.name + " --fresh` boots afresh instead)";
}

}  // namespace detail

}  // namespace vzkit::host
