// Commands that create, run and control VMs kept as bundles under $VZKIT_HOME/vms.
#include "commands.hpp"

#include <vzkit/bridge/qemu/accel.hpp>
#include <vzkit/bridge/qemu/qmp_client.hpp>
#include <vzkit/bridge/qemu/supervisor.hpp>
#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/validate.hpp>
#include <vzkit/qemu/machine.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace vzkit::app {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace qb = vzkit::bridge::qemu;
using namespace vzkit::kernel;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses and validates spec text for `engine`, printing every diagnostic. nullopt on errors.
std::optional<Spec> checked(const PluginHost& host, const std::string& text, const std::string& file,
                            const fs::path& dir, const std::string& engine, const fs::path& bundle_dir) {
  ValidateOptions o;
  o.engine = engine;
  o.bundle_dir = bundle_dir.string();
  Diagnostics all;
  auto spec = validated(parse_spec(text, file, dir), host, o, all);
  print_diagnostics(all);
  return spec;
}

std::optional<Bundle> open_or_report(const std::string& name) {
  std::string err;
  auto b = open_bundle(name, err);
  if (!b) spdlog::error("{}", err);
  return b;
}

bool wait_until_unlocked(const Bundle& b, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (BundleLock::is_held(b)) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

std::string vm_state(const Bundle& b) {
  if (!BundleLock::is_held(b)) return "stopped";
  auto st = qb::read_state(b.run_dir());
  if (const auto* s = st.if_contains("state"); s && s->is_string()) return std::string(s->get_string());
  return "starting";
}

std::string installer_spec(const CreateArgs& a) {
  json::array devices{
      json::object{{"plugin", "efi-boot"}},
      json::object{{"plugin", "usb-storage"}, {"path", fs::absolute(a.iso).lexically_normal().string()}, {"read_only", true}},
      json::object{{"plugin", "virtio-blk"}, {"path", "disk.img"}, {"create_size", a.disk}},
      json::object{{"plugin", "virtio-gpu"}, {"width", 1280}, {"height", 720}},
      json::object{{"plugin", "network"}},
      json::object{{"plugin", "keyboard"}},
      json::object{{"plugin", "pointing"}},
      json::object{{"plugin", "entropy"}},
      json::object{{"plugin", "serial-console"}}};
  return pretty_json(json::object{{"name", a.name}, {"cpus", a.cpus}, {"memory", a.memory}, {"devices", devices}});
}

}  // namespace

int cmd_create(const Globals& g, const CreateArgs& a) {
  if (a.from.empty() == a.iso.empty()) {
    spdlog::error("give either --from SPEC, or --iso IMAGE with --disk SIZE");
    return 2;
  }
  if (!a.iso.empty() && a.disk.empty()) {
    spdlog::error("--iso needs --disk SIZE for the new system disk, e.g. --disk 64GiB");
    return 2;
  }
  if (!valid_vm_name(a.name)) {
    spdlog::error("'{}' is not a valid VM name (letters, digits, '.', '_', '-', starting with a letter or digit)", a.name);
    return 2;
  }
  auto host = load_plugins(g);
  std::string text;
  std::string file;
  fs::path spec_dir;  // empty: the spec's paths resolve inside the bundle
  if (!a.from.empty()) {
    file = a.from;
    std::error_code ec;
    if (!fs::is_regular_file(a.from, ec)) {
      spdlog::error("cannot read the spec file '{}'", a.from);
      return 2;
    }
    text = read_file(a.from);
    spec_dir = fs::absolute(a.from).parent_path();
    // The bundle is named on the command line; the spec's own name must agree.
    auto parsed = parse_spec(text, file, spec_dir);
    if (parsed.spec && parsed.spec->document.is_object()) {
      parsed.spec->document.get_object()["name"] = a.name;
      text = pretty_json(parsed.spec->document);
    }
  } else {
    file = "(generated installer spec)";
    text = installer_spec(a);
  }
  try {
    Bundle b = create_bundle(a.name, text, spec_dir, a.engine, [&](const fs::path& tmp) {
      auto spec = checked(host, text, file, spec_dir.empty() ? tmp : spec_dir, a.engine, tmp);
      if (!spec) throw std::invalid_argument("the spec is invalid");
      AssembleOptions o;
      o.engine = a.engine;
      o.bundle_dir = tmp.string();
      o.materialize = true;  // per-VM NVRAM copies, sparse disks
      assemble(*spec, host, o);
    });
    if (a.json) {
      std::cout << pretty_json(json::object{{"name", b.name}, {"dir", b.dir.string()}, {"engine", a.engine}});
    } else {
      std::printf("created VM '%s' in %s\nstart it with: vzkit run %s\n", b.name.c_str(), b.dir.string().c_str(),
                  b.name.c_str());
    }
    return 0;
  } catch (const std::invalid_argument&) {
    return 2;  // diagnostics already printed
  } catch (const AssembleError& e) {
    print_diagnostics(e.diagnostics);
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}

int cmd_run(const Globals& g, const RunArgs& a) {
  if (a.gui && a.vnc) {
    spdlog::error("choose one of --gui and --vnc");
    return 2;
  }
  if (a.gui && !std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY")) {
    spdlog::error("--gui needs a graphical session (DISPLAY or WAYLAND_DISPLAY is not set); use --vnc instead");
    return 2;
  }
  auto host = load_plugins(g);
  std::error_code ec;
  const bool is_file = fs::is_regular_file(a.target, ec);
  std::optional<Bundle> bundle;
  std::optional<Spec> spec;
  std::string text, file;
  fs::path spec_dir;
  if (is_file) {
    // A spec file runs directly: its bundle (named after the spec) is made or refreshed.
    file = a.target;
    text = read_file(a.target);
    spec_dir = fs::absolute(a.target).parent_path();
    // The bundle is named after the spec; anything wrong with the name is reported in full.
    auto parsed = parse_spec(text, file, spec_dir);
    const json::value* n = parsed.spec && parsed.spec->document.is_object()
                               ? parsed.spec->document.get_object().if_contains("name")
                               : nullptr;
    if (!n || !n->is_string() || !valid_vm_name(std::string(n->get_string()))) {
      checked(host, text, file, spec_dir, "qemu", {});
      return 2;
    }
    const std::string vm_name(n->get_string());
    spec = checked(host, text, file, spec_dir, "qemu", vms_dir() / vm_name);
    if (!spec) return 2;  // nothing was created
    std::string err;
    bundle = open_bundle(vm_name, err);
    if (!bundle) {
      try {
        bundle = create_bundle(vm_name, text, spec_dir, "qemu", nullptr);
      } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
      }
    }
  } else {
    if (a.target.size() > 5 && a.target.substr(a.target.size() - 5) == ".json") {
      spdlog::error("cannot read the spec file '{}'", a.target);
      return 2;
    }
    bundle = open_or_report(a.target);
    if (!bundle) return 1;
    file = bundle->spec_file().string();
    text = read_file(bundle->spec_file());
    spec_dir = bundle->spec_dir();
  }
  std::string holder;
  auto lock = BundleLock::try_acquire(*bundle, holder);
  if (!lock) {
    spdlog::error("VM '{}' is already running: {}\n  hint: stop it with `vzkit stop {}`, or watch it with `vzkit inspect {}`",
                  bundle->name, holder, bundle->name, bundle->name);
    return 1;
  }
  if (is_file) {
    update_bundle(*bundle, text, spec_dir);
  } else {
    spec = checked(host, text, file, spec_dir, "qemu", bundle->dir);
    if (!spec) return 2;
  }

  const auto choice = qb::choose_accelerator(a.accel, effective_arch(*spec, "qemu"), vzkit_home() / "cache" / "accel");
  if (!choice.warning.empty()) spdlog::warn("{}", choice.warning);
  AssembleOptions o;
  o.engine = "qemu";
  o.bundle_dir = bundle->dir.string();
  o.materialize = true;
  o.accel = choice.accel;
  Plan plan;
  try {
    plan = assemble(*spec, host, o);
  } catch (const AssembleError& e) {
    print_diagnostics(e.diagnostics);
    return 1;
  }
  fs::remove_all(bundle->run_dir(), ec);  // left by an earlier run; we hold the lock
  fs::create_directories(bundle->run_dir());
  write_atomic(bundle->run_dir() / "plan.json", pretty_json(plan.model));
  lock->describe_holder("vzkit run " + bundle->name + " (starting)");

  std::vector<std::string> args = {"vzkit", "__supervise", bundle->dir.string(), "--lock-fd", std::to_string(lock->fd()),
                                   "--stop-timeout", std::to_string(a.stop_timeout), "--accel", choice.accel};
  if (a.console) args.push_back("--console");
  if (a.detach) args.push_back("--detach");
  if (a.gui) args.push_back("--gui");
  if (a.vnc) args.push_back("--vnc");
  if (a.quiet) args.push_back("--quiet");
  lock->keep_across_exec();

  auto exec_supervisor = [&] {
    std::vector<char*> argv;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv("/proc/self/exe", argv.data());
    spdlog::error("cannot start the supervisor: {}", std::strerror(errno));
    std::_Exit(1);
  };

  if (!a.detach) exec_supervisor();  // the supervisor replaces this process and loads no plugins

  const pid_t pid = ::fork();
  if (pid < 0) {
    spdlog::error("cannot fork: {}", std::strerror(errno));
    return 1;
  }
  if (pid == 0) {
    ::setsid();
    const int devnull = ::open("/dev/null", O_RDWR);
    const int log = ::open((bundle->run_dir() / "supervisor.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(log >= 0 ? log : devnull, STDOUT_FILENO);
    ::dup2(log >= 0 ? log : devnull, STDERR_FILENO);
    exec_supervisor();
  }
  // Parent: wait until the VM runs (or fails), then report.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::string state;
  while (std::chrono::steady_clock::now() < deadline) {
    auto st = qb::read_state(bundle->run_dir());
    if (const auto* s = st.if_contains("state"); s && s->is_string()) state = std::string(s->get_string());
    if (state == "running" || state == "error" || state == "stopped") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (state != "running") {
    spdlog::error("VM '{}' did not start (state '{}'); see {}", bundle->name, state.empty() ? "unknown" : state,
                  (bundle->run_dir() / "supervisor.log").string());
    return 1;
  }
  std::printf("VM '%s' is running in the background (supervisor pid %d)\n  console log: %s\n  stop it with: vzkit stop %s\n",
              bundle->name.c_str(), static_cast<int>(pid), (bundle->run_dir() / "console.log").string().c_str(),
              bundle->name.c_str());
  return 0;
}

int cmd_supervise(const std::string& bundle_dir, int lock_fd, const RunArgs& a) {
  auto lock = BundleLock::adopt(lock_fd);
  const fs::path dir(bundle_dir);
  lock.describe_holder("vzkit run " + dir.filename().string());  // this process holds it now
  vzkit::qemu::Machine plan;
  try {
    plan = json::value_to<vzkit::qemu::Machine>(json::parse(read_file(dir / "run" / "plan.json")));
  } catch (const std::exception& e) {
    spdlog::error("cannot read the plan in {}: {}", (dir / "run" / "plan.json").string(), e.what());
    return 1;
  }
  qb::SuperviseOptions o;
  o.run.name = dir.filename().string();
  o.run.run_dir = dir / "run";
  o.run.display = a.gui ? "gtk" : a.vnc ? "vnc" : "none";
  o.run.console_to_stdout = !a.detach;
  o.run.console_from_stdin = a.console && !a.detach;
  o.stop_grace = std::chrono::seconds(a.stop_timeout);
  o.report = !a.quiet;
  o.facts = json::object{{"engine", "qemu"}, {"accel", a.accel}, {"bundle", dir.string()}};
  return qb::supervise(plan, o);
}

int cmd_stop(const std::string& name, bool force, int timeout) {
  auto b = open_or_report(name);
  if (!b) return 1;
  if (!BundleLock::is_held(*b)) {
    std::printf("VM '%s' is not running\n", name.c_str());
    return 0;
  }
  const std::string ctl = (b->run_dir() / "ctl.sock").string();
  auto send = [&](const char* command) {
    try {
      qb::qmp_call(ctl, command);
      return true;
    } catch (const std::exception& e) {
      spdlog::debug("{}", e.what());
      return false;
    }
  };
  if (!force) {
    send("system_powerdown");
    if (wait_until_unlocked(*b, std::chrono::seconds(timeout))) {
      std::printf("VM '%s' stopped (the guest powered off)\n", name.c_str());
      return 0;
    }
    std::fprintf(stderr, "vzkit: the guest did not power off within %d s; stopping it\n", timeout);
  }
  send("quit");
  if (wait_until_unlocked(*b, std::chrono::seconds(10))) {
    std::printf("VM '%s' stopped\n", name.c_str());
    return 0;
  }
  // The supervisor itself does not answer: end it; its children die with it.
  auto st = qb::read_state(b->run_dir());
  if (const auto* pid = st.if_contains("supervisor_pid"); pid && pid->is_int64() && pid->get_int64() > 1)
    ::kill(static_cast<pid_t>(pid->get_int64()), SIGKILL);
  if (wait_until_unlocked(*b, std::chrono::seconds(5))) {
    std::printf("VM '%s' stopped (its supervisor had to be killed)\n", name.c_str());
    return 0;
  }
  spdlog::error("VM '{}' did not stop", name);
  return 1;
}

int cmd_pause(const std::string& name, bool pause) {
  auto b = open_or_report(name);
  if (!b) return 1;
  if (!BundleLock::is_held(*b)) {
    spdlog::error("VM '{}' is not running", name);
    return 1;
  }
  try {
    qb::qmp_call((b->run_dir() / "ctl.sock").string(), pause ? "stop" : "cont");
  } catch (const std::exception& e) {
    spdlog::error("cannot {} VM '{}': {}", pause ? "pause" : "resume", name, e.what());
    return 1;
  }
  // The supervisor records the new state when QEMU reports it.
  const std::string want = pause ? "paused" : "running";
  for (int i = 0; i < 100 && vm_state(*b) != want; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::printf("VM '%s' is %s\n", name.c_str(), vm_state(*b).c_str());
  return 0;
}

int cmd_list(bool as_json) {
  auto bundles = list_bundles();
  if (as_json) {
    json::array out;
    for (const auto& b : bundles)
      out.push_back(json::object{{"name", b.name}, {"state", vm_state(b)}, {"engine", b.engine()}, {"dir", b.dir.string()}});
    std::cout << pretty_json(out);
    return 0;
  }
  if (bundles.empty()) {
    std::printf("no VMs in %s; create one with `vzkit create NAME --from SPEC`\n", vms_dir().string().c_str());
    return 0;
  }
  std::printf("%-24s  %-9s  %-6s  %s\n", "NAME", "STATE", "ENGINE", "FOLDER");
  for (const auto& b : bundles)
    std::printf("%-24s  %-9s  %-6s  %s\n", b.name.c_str(), vm_state(b).c_str(), b.engine().c_str(), b.dir.string().c_str());
  return 0;
}

int cmd_inspect(const std::string& name, bool as_json) {
  auto b = open_or_report(name);
  if (!b) return 1;
  json::object info{{"name", b->name}, {"dir", b->dir.string()}, {"engine", b->engine()},
                    {"spec_dir", b->spec_dir().string()}, {"state", vm_state(*b)}};
  std::string holder;
  if (BundleLock::is_held(*b, &holder)) {
    info["holder"] = holder;
    info["run"] = qb::read_state(b->run_dir());
  }
  json::array files;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(b->dir, ec))
    if (f.is_regular_file())
      files.push_back(json::object{{"file", f.path().filename().string()}, {"bytes", f.file_size()}});
  info["files"] = std::move(files);
  try {
    info["spec"] = json::parse(read_file(b->spec_file()));
  } catch (const std::exception&) {
    info["spec"] = nullptr;
  }
  if (as_json) {
    std::cout << pretty_json(info);
    return 0;
  }
  std::printf("VM '%s' (%s engine): %s\n  folder: %s\n  paths in its spec resolve in: %s\n", b->name.c_str(),
              b->engine().c_str(), vm_state(*b).c_str(), b->dir.string().c_str(), b->spec_dir().string().c_str());
  if (info.contains("holder")) std::printf("  held by: %s\n", holder.c_str());
  for (const auto& f : info["files"].as_array())
    std::printf("  %-20s %12lld bytes\n", std::string(f.at("file").as_string()).c_str(),
                static_cast<long long>(f.at("bytes").to_number<std::int64_t>()));
  std::printf("spec:\n%s", pretty_json(info["spec"]).c_str());
  return 0;
}

int cmd_delete(const std::string& name) {
  auto b = open_or_report(name);
  if (!b) return 1;
  try {
    delete_bundle(*b);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  std::printf("deleted VM '%s'\n", name.c_str());
  return 0;
}

int cmd_screenshot(const std::string& name, const std::string& file) {
  auto b = open_or_report(name);
  if (!b) return 1;
  if (!BundleLock::is_held(*b)) {
    spdlog::error("VM '{}' is not running", name);
    return 1;
  }
  const fs::path target = fs::absolute(file);
  const fs::path tmp = target.string() + ".tmp";
  try {
    qb::qmp_call((b->run_dir() / "ctl.sock").string(), "screendump",
                 json::object{{"filename", tmp.string()}, {"format", "png"}});
    fs::rename(tmp, target);
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    spdlog::error("cannot take a screenshot of VM '{}': {}\n  hint: the VM needs a display device such as virtio-gpu",
                  name, e.what());
    return 1;
  }
  std::printf("saved %s\n", target.string().c_str());
  return 0;
}

}  // namespace vzkit::app
