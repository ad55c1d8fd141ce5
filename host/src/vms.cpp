// The host API's VMs on disk (sdk/include/vzkit/host.hpp): bundles, running them under a
// supervising process, and controlling a running VM through its control socket.
#include <vzkit/host.hpp>

#include "host_impl.hpp"
#include "suspend_impl.hpp"

#include <vzkit/bridge/qemu/accel.hpp>
#include <vzkit/bridge/qemu/qmp_client.hpp>
#include <vzkit/bridge/qemu/supervisor.hpp>
#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/subprocess.hpp>
#include <vzkit/kernel/supervisor.hpp>
#include <vzkit/kernel/validate.hpp>
#include <vzkit/qemu/machine.hpp>
#include <vzkit/units.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace vzkit::host {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace qb = vzkit::bridge::qemu;
using namespace detail;

namespace {

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}


bool wait_until_unlocked(const kernel::Bundle& b, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (kernel::BundleLock::is_held(b)) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The state a run recorded; "starting" before it recorded any.
std::string state_in(const json::object& st) {
  if (const auto* s = st.if_contains("state"); s && s->is_string()) return std::string(s->get_string());
  return "starting";
}

std::string state_of(const kernel::Bundle& b) {
  if (!kernel::BundleLock::is_held(b)) return "stopped";
  return state_in(kernel::read_state(b.run_dir()));
}

void require_running(const kernel::Bundle& b) {
  if (!kernel::BundleLock::is_held(b))
    throw std::runtime_error("VM '" + b.name + "' is not running; start it with `vzkit run " + b.name + "`");
}


// An installer VM boots EFI programs (boot menus, installers, memtest86+) that need a framebuffer:
// on QEMU x86_64 its display is virtio-vga (model "vga"); VZ has the Virtio GPU alone.
std::string installer_spec(const CreateOptions& a, const std::string& engine) {
  json::object gpu{{"plugin", "virtio-gpu"}, {"width", 1280}, {"height", 720}};
  if (engine == "qemu" && kernel::host_arch() == "x86_64") gpu["model"] = "vga";
  json::array devices{
      json::object{{"plugin", "efi-boot"}},
      json::object{{"plugin", "usb-storage"},
                   {"path", fs::absolute(a.installer).lexically_normal().string()},
                   {"read_only", true}},
      json::object{{"plugin", "virtio-blk"}, {"path", "disk.img"}, {"create_size", a.disk_size}},
      gpu,
      json::object{{"plugin", "network"}},
      json::object{{"plugin", "keyboard"}},
      json::object{{"plugin", "pointing"}},
      json::object{{"plugin", "entropy"}},
      json::object{{"plugin", "serial-console"}}};
  return kernel::pretty_json(
      json::object{{"name", a.name}, {"cpus", a.cpus}, {"memory", a.memory}, {"devices", devices}});
}

// The flags of an installer VM, checked as flags before a spec is made from them: a mistake
// names the flag and suggests a value for it (`--disk 8` is 8 bytes: "did you mean --disk 8GiB?").
void check_installer_flags(const CreateOptions& a) {
  std::error_code ec;
  if (!fs::is_regular_file(a.installer, ec))
    throw InputError("--iso '" + a.installer + "' is not a file" +
                     (fs::exists(a.installer, ec) ? "" : " (looked for " + fs::absolute(a.installer).string() + ")") +
                     "\n  hint: give the installer image, e.g. --iso debian-12.7.0-amd64-netinst.iso");
  // `least`: the smallest value accepted; `meant`: a bare number below it is read in the binary unit
  // that makes it at least this much.
  auto size_flag = [](const std::string& flag, const std::string& text, std::uint64_t granularity,
                      std::uint64_t least, std::uint64_t meant, const std::string& what) {
    const auto bytes = kernel::parse_size(text);
    if (!bytes)
      throw InputError(flag + " '" + text + "' is not a size\n  hint: write a number with a unit, e.g. " + flag +
                       (flag == "--disk" ? " 64GiB" : " 4GiB") + " (K/M/G/T are binary units, KB/MB/GB/TB decimal)");
    if (*bytes % granularity == 0 && *bytes >= least) return;
    const std::string bare = text.find_first_not_of("0123456789.") == std::string::npos
                                 ? " (a size without a unit is in bytes)" : "";
    throw InputError(flag + " '" + text + "' is " + std::to_string(*bytes) + " bytes" + bare + ", not " + what +
                     "\n  hint: did you mean " + flag + " " + vzkit::suggest_size(text, granularity, meant) + "?");
  };
  size_flag("--disk", a.disk_size, 512, 1ull << 20, 1ull << 30, "a whole number of 512-byte sectors of at least 1MiB");
  size_flag("--memory", a.memory, 1ull << 20, 64ull << 20, 64ull << 20, "a whole number of MiB of at least 64MiB");
  if (a.cpus < 1) throw InputError("--cpus must be at least 1, got " + std::to_string(a.cpus));
}

// Diagnostics about the spec generated from `vzkit create --iso` flags, told as the flags.
std::vector<Diagnostic> as_flags(std::vector<Diagnostic> ds) {
  static const std::pair<const char*, const char*> flags[] = {
      {"cpus", "--cpus"}, {"memory", "--memory"}, {"devices[1].path", "--iso"}, {"devices[2].create_size", "--disk"}};
  for (auto& d : ds) {
    d.file = "vzkit create";
    for (const auto& [path, flag] : flags)
      if (d.path == path) d.path = flag;
  }
  return ds;
}


// Parses and validates spec text; throws PlanError with every diagnostic when it is invalid.
kernel::Spec checked(const kernel::PluginHost& plugins, const kernel::ValidateOptions& options,
                     const std::string& text, const std::string& file, const fs::path& dir,
                     std::vector<Diagnostic>& warnings) {
  kernel::Diagnostics all;
  auto spec = kernel::validated(kernel::parse_spec(text, file, dir), plugins, options, all);
  if (!spec) throw PlanError(convert(all));
  warnings = warnings_of(convert(all));
  return std::move(*spec);
}

}  // namespace

namespace detail {

kernel::Bundle open_or_throw(const std::string& name) {
  std::string err;
  auto b = kernel::open_bundle(name, err);
  if (!b) throw std::runtime_error(err);
  return *b;
}

VmInfo info_of(const kernel::Bundle& b, bool details) {
  VmInfo v;
  v.name = b.name;
  v.dir = b.dir.string();
  v.engine = b.engine();
  v.spec_dir = b.spec_dir().string();
  v.spec_file = b.run_spec_file();
  v.run_json = "{}";
  // The lock and the state file are read once.
  std::string holder;
  if (kernel::BundleLock::is_held(b, &holder)) {
    const auto st = kernel::read_state(b.run_dir());
    v.state = state_in(st);
    if (details) {
      v.holder = std::move(holder);
      v.run_json = json::serialize(st);
    }
  } else {
    v.state = "stopped";
  }
  if (!details) return v;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(b.dir, ec))
    if (f.is_regular_file(ec)) v.files.push_back({f.path().filename().string(), f.file_size(ec)});
  std::sort(v.files.begin(), v.files.end(), [](const VmFile& x, const VmFile& y) { return x.name < y.name; });
  try {
    v.spec_json = json::serialize(json::parse(read_file(b.spec_file())));
  } catch (const std::exception&) {
    v.spec_json.clear();
  }
  return v;
}

void check_name(const std::string& name) {
  if (!kernel::valid_vm_name(name))
    throw InputError("'" + name +
                     "' is not a valid VM name (letters, digits, '.', '_', '-', starting with a letter or digit, at "
                     "most 64 characters)");
}

}  // namespace detail


// ---- Library ----------------------------------------------------------------------------------

std::string Library::dir() const { return kernel::vms_dir().string(); }

std::vector<VmInfo> Library::list() const {
  std::vector<VmInfo> out;
  for (const auto& b : kernel::list_bundles()) out.push_back(info_of(b, false));
  return out;
}

VmInfo Library::inspect(const std::string& name) const { return info_of(open_or_throw(name), true); }

void Library::remove(const std::string& name) const { kernel::delete_bundle(open_or_throw(name)); }

StopOutcome Library::stop(const std::string& name, bool force, std::chrono::seconds timeout,
                          const std::function<void()>& on_timeout, const std::function<void()>& on_asked,
                          const std::function<void()>& on_agent) const {
  const auto b = open_or_throw(name);
  if (!kernel::BundleLock::is_held(b)) return StopOutcome::not_running;
  const std::string ctl = (b.run_dir() / "ctl.sock").string();
  auto send = [&](const char* command) {
    try {
      qb::qmp_call(ctl, command);
    } catch (const std::exception&) {
      // The supervisor may be gone or busy; what happens next is decided by waiting on the lock.
    }
  };
  if (!force) {
    send("system_powerdown");
    if (on_asked) on_asked();
    // A guest that ignores the power button may still listen to its agent.
    const Guest guest(name);
    const auto button = guest.has_agent() ? std::min<std::chrono::seconds>(timeout / 3, std::chrono::seconds(10)) : timeout;
    const auto started = std::chrono::steady_clock::now();
    if (wait_until_unlocked(b, button)) return StopOutcome::powered_off;
    if (button < timeout) {
      if (guest.shutdown_by_agent() && on_agent) on_agent();
      const auto left = timeout - std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
      if (wait_until_unlocked(b, std::max<std::chrono::seconds>(left, std::chrono::seconds(1)))) return StopOutcome::powered_off;
    }
    if (on_timeout) on_timeout();
  }
  send("quit");
  if (wait_until_unlocked(b, std::chrono::seconds(10))) return StopOutcome::stopped;
  // The supervisor itself does not answer: end it, and QEMU's process group (on Linux it would die
  // with the supervisor; elsewhere nothing else would end it).
  auto st = kernel::read_state(b.run_dir());
  if (const auto* pid = st.if_contains("qemu_pid"); pid && pid->is_int64() && pid->get_int64() > 1)
    ::kill(-static_cast<pid_t>(pid->get_int64()), SIGKILL);
  if (const auto* pid = st.if_contains("supervisor_pid"); pid && pid->is_int64() && pid->get_int64() > 1)
    ::kill(static_cast<pid_t>(pid->get_int64()), SIGKILL);
  if (wait_until_unlocked(b, std::chrono::seconds(5))) return StopOutcome::killed;
  throw std::runtime_error("VM '" + name + "' did not stop; see " + (b.run_dir() / "supervisor.log").string());
}

namespace {

std::string pause_or_resume(const std::string& name, bool pause) {
  const auto b = open_or_throw(name);
  require_running(b);
  try {
    qb::qmp_call((b.run_dir() / "ctl.sock").string(), pause ? "stop" : "cont");
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot ") + (pause ? "pause" : "resume") + " VM '" + name + "': " + e.what());
  }
  // The supervisor records the new state when the engine reports it.
  const std::string want = pause ? "paused" : "running";
  for (int i = 0; i < 100 && state_of(b) != want; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return state_of(b);
}

}  // namespace

std::string Library::pause(const std::string& name) const { return pause_or_resume(name, true); }
std::string Library::resume(const std::string& name) const { return pause_or_resume(name, false); }

std::string Library::console_log(const std::string& name, int previous) const {
  const auto b = open_or_throw(name);
  if (previous < 0 || previous > kernel::kKeptRunLogs)
    throw InputError("--previous " + std::to_string(previous) + " is not kept: vzkit keeps the logs of the last " +
                     std::to_string(kernel::kKeptRunLogs) + " runs before the current one (1 to " +
                     std::to_string(kernel::kKeptRunLogs) + ")");
  const fs::path log = b.run_dir() / (previous == 0 ? "console.log" : "console.log." + std::to_string(previous));
  std::error_code ec;
  if (fs::is_regular_file(log, ec)) return log.string();
  std::string kept;
  for (int k = 0; k <= kernel::kKeptRunLogs; ++k)
    if (fs::is_regular_file(b.run_dir() / (k == 0 ? "console.log" : "console.log." + std::to_string(k)), ec))
      kept += (kept.empty() ? "" : ", ") + (k == 0 ? std::string("the last run") : "--previous " + std::to_string(k));
  throw std::runtime_error(
      "VM '" + name + "' has no console log " +
      (previous == 0 ? std::string("yet") : "of the run " + std::to_string(previous) + " before the last") +
      (kept.empty() ? "; it is written while the VM runs with a serial console (`vzkit run " + name + "`)"
                    : "; there is one of " + kept));
}

bool Library::is_running(const std::string& name) const { return kernel::BundleLock::is_held(open_or_throw(name)); }

void Library::screenshot(const std::string& name, const std::string& png_file) const {
  const auto b = open_or_throw(name);
  require_running(b);
  if (b.engine() == "vz")
    throw std::runtime_error("VM '" + name + "' runs on the vz engine, which offers no screenshots from outside its "
                             "window\n  hint: run it with --gui and use the Mac's own screenshot tools");
  const fs::path target = fs::absolute(png_file);
  const fs::path tmp = target.string() + ".tmp";
  try {
    qb::qmp_call((b.run_dir() / "ctl.sock").string(), "screendump",
                 json::object{{"filename", tmp.string()}, {"format", "png"}});
    fs::rename(tmp, target);
  } catch (const std::exception& e) {
    std::error_code ec;
    fs::remove(tmp, ec);
    const bool no_display = std::string(e.what()).find("device") != std::string::npos ||
                            std::string(e.what()).find("console") != std::string::npos;
    throw std::runtime_error("cannot take a screenshot of VM '" + name + "': " + e.what() +
                             (no_display ? "\n  hint: the VM needs a display device such as virtio-gpu" : ""));
  }
}

namespace {

// The program that runs vz plans: $VZKIT_VZ_RUNNER if set, else, on a Mac, vzkit-vz (headless) or
// vzkit-window beside this binary: the binaries signed with the virtualization entitlement, which
// load no plugins (docs/vz.md). Empty when there is none.
fs::path vz_runner(bool window) {
  if (const char* env = std::getenv("VZKIT_VZ_RUNNER"); env && *env && !window) return env;
#if defined(__APPLE__)
  std::error_code ec;
  const auto p = boost::dll::program_location().parent_path() / (window ? "vzkit-window" : "vzkit-vz");
  if (fs::exists(p, ec)) return p;
#endif
  return {};
}

// Whether this vzkit can run `engine`, and if not, what to do instead.
void require_engine(const std::string& vm, const std::string& engine, bool window) {
  if (engine == "qemu") return;
  if (engine != "vz")
    throw std::runtime_error("VM '" + vm + "' names the engine '" + engine + "', which this vzkit does not have");
  if (!vz_runner(window).empty()) return;
#if defined(__APPLE__)
  throw std::runtime_error(std::string("VM '") + vm + "' needs " + (window ? "vzkit-window" : "vzkit-vz") +
                           " beside vzkit (" + boost::dll::program_location().parent_path().string() +
                           "); build it (it needs Virtualization.framework, Xcode 14 or later) or reinstall vzkit");
#else
  if (window)
    throw InputError("VM '" + vm + "' is for the vz engine, whose window (vzkit-window) needs a Mac; run it "
                     "without --gui");
  throw std::runtime_error("VM '" + vm +
                           "' is for the vz engine (Apple's Virtualization.framework), which runs on a Mac with "
                           "Apple silicon; this vzkit runs the qemu engine\n  hint: make a QEMU VM from the same "
                           "spec with `vzkit create NAME --from SPEC --engine qemu`");
#endif
}

}  // namespace

// ---- Creating -----------------------------------------------------------------------------------

namespace {

// The spec of a VM made by the macOS installer: the files it made, the machine it asked for.
std::string macos_spec(const std::string& name, std::uint64_t cpus, std::uint64_t memory_bytes) {
  json::array devices{
      json::object{{"plugin", "mac-platform"}},  // hardware-model.bin, machine-id.bin, aux.img
      json::object{{"plugin", "virtio-blk"}, {"path", "disk.img"}},
      json::object{{"plugin", "mac-graphics"}, {"width", 1920}, {"height", 1200}, {"pixels_per_inch", 80}},
      json::object{{"plugin", "network"}},
      json::object{{"plugin", "keyboard"}, {"type", "usb"}},
      json::object{{"plugin", "pointing"}},
      json::object{{"plugin", "trackpad"}},
      json::object{{"plugin", "entropy"}}};
  return kernel::pretty_json(json::object{{"name", name},
                                          {"cpus", cpus},
                                          {"memory", std::to_string(memory_bytes >> 20) + "MiB"},
                                          {"devices", devices}});
}

struct Installed {
  std::uint64_t cpus = 0, memory_bytes = 0;
  std::string build_version;
};

// Runs the VZ runner's macOS installer into `dir` (its progress goes to this terminal).
Installed install_macos(const std::string& source, const fs::path& dir, std::uint64_t disk_bytes) {
  const fs::path runner = vz_runner(false);
  if (runner.empty()) require_engine("(new)", "vz", false);  // throws, saying why
  const fs::path downloads = kernel::vzkit_home() / "cache" / "ipsw";
  fs::create_directories(downloads);
  // Ctrl-C reaches the installer too, which stops in order (keeping a partial download to resume);
  // this process waits for it, so the half-made VM folder is removed.
  kernel::ChildOptions how;
  how.err = kernel::Output::inherit;
  how.ignore_interrupts = true;
  const auto child = kernel::run_child({runner.string(), "--install-macos", source, dir.string(), "--disk-size",
                                        std::to_string(disk_bytes), "--download-dir", downloads.string()},
                                       how);
  const std::string& text = child.out;
  const int rc = child.ok() ? 0 : 1;
  if (rc != 0) throw std::runtime_error("macOS was not installed (see above); nothing was created");
  Installed r;
  try {
    const auto v = json::parse(text);
    r.cpus = v.at("cpu_count").to_number<std::uint64_t>();
    r.memory_bytes = v.at("memory_bytes").to_number<std::uint64_t>();
    r.build_version = std::string(v.at("build_version").as_string());
  } catch (const std::exception& e) {
    throw std::runtime_error(runner.string() + " reported no result for the installation (" + e.what() + ")");
  }
  return r;
}

}  // namespace

Created Host::create_vm(const CreateOptions& a) const {
  const int sources = !a.spec_file.empty() + !a.installer.empty() + !a.macos.empty() + !a.image.empty();
  if (sources != 1)
    throw InputError("give one of: a spec to copy (--from SPEC), an installer image (--iso IMAGE) with a disk size, "
                     "a cloud disk image to boot (--image DISK.img), or macOS to install (--macos latest|PATH.ipsw)");
  if (!a.installer.empty() && a.disk_size.empty())
    throw InputError("an installer needs the size of the new system disk, e.g. --disk 64GiB");
  if (!a.macos.empty() && !a.engine.empty() && a.engine != "vz")
    throw InputError("a macOS VM runs on the vz engine (a Mac with Apple silicon), not " + a.engine);
  check_name(a.name);
  std::string text, file;
  fs::path spec_dir;  // empty: the spec's paths resolve inside the bundle
  std::uint64_t macos_disk = 0;
  if (!a.macos.empty()) {
    const auto size = kernel::parse_size(a.disk_size.empty() ? "64GiB" : a.disk_size);
    if (!size || *size < (16ull << 30) || *size % 512 != 0)
      throw InputError("--disk '" + a.disk_size +
                       "' is not a size of at least 16GiB in whole 512-byte sectors (macOS needs room), e.g. 64GiB");
    macos_disk = *size;
    if (a.macos != "latest" && !fs::is_regular_file(a.macos))
      throw InputError("cannot read the restore image '" + a.macos + "'; give a .ipsw file, or `latest`");
#if !defined(__APPLE__)
    if (vz_runner(false).empty())
      throw std::runtime_error("installing macOS needs a Mac with Apple silicon (Virtualization.framework); this "
                               "vzkit runs Linux guests on QEMU");
#endif
    require_engine(a.name, "vz", false);
    file = "(macOS installer spec)";
  } else if (!a.spec_file.empty()) {
    // A spec file, or another VM: the new one gets the same spec, with files of its own.
    kernel::Diagnostic why;
    auto source = read_spec_source(a.spec_file, why);
    if (!source) throw PlanError(convert(kernel::Diagnostics{why}));
    file = source->file;
    text = source->text;
    // A generated spec's paths resolve in its VM's folder; the copy's, in the copy's.
    if (!source->bundle || source->bundle->meta.contains("spec_dir")) spec_dir = source->spec_dir;
    // The VM is named by the caller; the spec's own name must agree.
    auto parsed = kernel::parse_spec(text, file, spec_dir);
    if (parsed.spec && parsed.spec->document.is_object()) {
      parsed.spec->document.get_object()["name"] = a.name;
      text = kernel::pretty_json(parsed.spec->document);
    }
  } else if (!a.installer.empty()) {
    check_installer_flags(a);
    file = "vzkit create";
  } else if (!a.image.empty()) {
    check_image_flags(a);
    file = "vzkit create --image";
  }
  const std::string engine = !a.macos.empty() ? "vz" : a.engine.empty() ? default_engine() : a.engine;
  if (!a.installer.empty()) text = installer_spec(a, engine);
  Created out;
  const json::object meta = a.image.empty() ? json::object{} : json::object{{"access", cloud_image_access(a)}};
  kernel::Bundle b = kernel::create_bundle(a.name, text, spec_dir, engine, [&](const fs::path& tmp) {
    if (!a.image.empty()) text = make_cloud_image_vm(a, engine, tmp, [&](const std::string& line) {
      if (a.progress) a.progress(line);
    });
    if (!a.macos.empty()) {
      const auto installed = install_macos(a.macos == "latest" ? a.macos : fs::absolute(a.macos).string(), tmp,
                                           macos_disk);
      text = macos_spec(a.name, installed.cpus, installed.memory_bytes);  // written once this returns
    }
    std::optional<kernel::Spec> spec;
    try {
      spec = checked(m_impl->plugins, m_impl->validate_options(engine, tmp.string()), text, file,
                     spec_dir.empty() ? tmp : spec_dir, out.warnings);
    } catch (const PlanError& e) {
      if (a.installer.empty()) throw;
      throw PlanError(as_flags(e.diagnostics));
    }
    if (!a.installer.empty()) out.warnings = as_flags(out.warnings);
    kernel::AssembleOptions o;
    o.engine = engine;
    o.bundle_dir = tmp.string();
    o.materialize = true;  // per-VM NVRAM copies, sparse disks, the cloud-init seed
    try {
      kernel::assemble(*spec, m_impl->plugins, o);
    } catch (const kernel::AssembleError& e) {
      throw PlanError(convert(e.diagnostics), false);
    }
  }, meta);
  out.vm = info_of(b, false);
  return out;
}

// ---- Running ------------------------------------------------------------------------------------

struct PreparedRun::Impl {
  kernel::Bundle bundle;
  kernel::BundleLock lock;
  std::string name, dir, accel, accel_warning;
  std::vector<Diagnostic> warnings;
  std::vector<std::string> args;  // the supervisor's command line
  std::string resuming;           // set when it resumes a saved state
};

PreparedRun::PreparedRun(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
PreparedRun::PreparedRun(PreparedRun&&) noexcept = default;
PreparedRun::~PreparedRun() = default;
const std::string& PreparedRun::name() const { return m_impl->name; }
const std::string& PreparedRun::dir() const { return m_impl->dir; }
const std::string& PreparedRun::accel() const { return m_impl->accel; }
const std::string& PreparedRun::accel_warning() const { return m_impl->accel_warning; }
const std::vector<Diagnostic>& PreparedRun::warnings() const { return m_impl->warnings; }
const std::string& PreparedRun::resuming() const { return m_impl->resuming; }


std::optional<std::string> vz_host_facts() {
  const fs::path runner = vz_runner(false);
  if (runner.empty()) return std::nullopt;
  kernel::ChildOptions how;
  how.err = kernel::Output::inherit;
  const auto child = kernel::run_child({runner.string(), "--host-bounds"}, how);
  if (!child.ok()) throw std::runtime_error(runner.string() + " --host-bounds failed (" + child.describe() + ")");
  return child.out;
}

void install_rosetta() {
  const fs::path runner = vz_runner(false);
  if (runner.empty()) throw std::runtime_error("Rosetta for Linux guests is installed on a Mac with Apple silicon");
  kernel::ChildOptions how;
  how.out = how.err = kernel::Output::inherit;
  if (!kernel::run_child({runner.string(), "--install-rosetta"}, how).ok())
    throw std::runtime_error("Rosetta was not installed (see above)");
}

namespace {

// `vzkit run --recovery`: macOS Recovery exists only for a macOS guest, and only VZ starts one.
void require_macos_guest(const std::string& vm, const std::string& engine, const kernel::Spec& spec) {
  if (engine != "vz")
    throw InputError("--recovery starts a macOS guest from macOS Recovery, which only the vz engine does; VM '" + vm +
                     "' runs on the " + engine + " engine\n  hint: run it without --recovery");
  const bool mac = std::any_of(spec.devices.begin(), spec.devices.end(),
                               [](const kernel::DeviceEntry& d) { return d.plugin == "mac-platform"; });
  if (!mac)
    throw InputError("--recovery starts a macOS guest from macOS Recovery, and VM '" + vm +
                     "' is not a macOS guest (it has no mac-platform device)\n  hint: run it without --recovery");
}

// A vz VM with a Rosetta share needs Rosetta on the Mac: offer to install it, or say how.
// `facts`: the VZ engine's facts about this host (empty when unknown: the runner then reports it).
void require_rosetta(const kernel::Spec& spec, const RunOptions& a, const json::object& facts) {
  const bool wants = std::any_of(spec.devices.begin(), spec.devices.end(),
                                 [](const kernel::DeviceEntry& d) { return d.plugin == "rosetta"; });
  if (!wants) return;
  const auto* r = facts.if_contains("rosetta");
  const std::string state = r && r->is_string() ? std::string(r->get_string()) : "";
  if (state == "installed" || state.empty()) return;
  if (state == "not-supported")
    throw std::runtime_error("VM '" + spec.name + "' shares Rosetta, which this Mac does not support (it needs "
                             "Apple silicon and macOS 13 or later)\n  hint: remove the rosetta device from its spec");
  if (a.confirm && a.confirm("VM '" + spec.name + "' uses Rosetta, which is not installed on this Mac. Install it now?")) {
    install_rosetta();
    return;
  }
  throw std::runtime_error("VM '" + spec.name + "' uses Rosetta, which is not installed on this Mac\n  hint: install it "
                           "with `vzkit rosetta install` (macOS asks you to accept Apple's license)");
}

}  // namespace

namespace {

// A spec run may use only a VM that runs of the same spec file made: never one `vzkit create`
// made, nor one of another spec that happens to have the same name.
void require_made_by_runs_of(const kernel::Bundle& b, const std::string& own, const std::string& target) {
  const std::string made_by = b.run_spec_file();
  if (made_by == own) return;
  throw InputError("VM '" + b.name + "' already exists (" +
                   (made_by.empty() ? "made by `vzkit create`" : "made by running " + made_by) + "); running " +
                   target + " would change it, and a spec run never changes an existing VM\n  hint: run that VM "
                   "with `vzkit run " + b.name + "`, or give this spec another \"name\" to run it as a VM of its own");
}

// Removes the folder of a VM made for a run that then could not start, unless cleared.
struct RemoveUnlessKept {
  fs::path dir;
  RemoveUnlessKept() = default;
  RemoveUnlessKept(const RemoveUnlessKept&) = delete;
  ~RemoveUnlessKept() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

}  // namespace

PreparedRun Host::prepare_run(const RunOptions& a) const {
  if (a.display != "none" && a.display != "window" && a.display != "vnc")
    throw InputError("display '" + a.display + "' is not one of none, window, vnc");
  if (a.supervisor_command.empty()) throw InputError("RunOptions.supervisor_command is required");
  std::error_code ec;
  kernel::Diagnostic why;
  auto source = read_spec_source(a.target, why);
  if (!source) throw PlanError(convert(kernel::Diagnostics{why}));
  // A spec file runs as a VM of its own (docs/architecture.md): `target` names no VM.
  const bool is_file = !source->bundle;
  std::optional<kernel::Bundle> bundle = std::move(source->bundle);
  const std::string& text = source->text;
  const std::string& file = source->file;
  const fs::path& spec_dir = source->spec_dir;
  std::string engine;
  std::vector<Diagnostic> warnings;
  std::optional<kernel::Spec> spec;
  RemoveUnlessKept made_now;  // a VM this run makes is removed again if the run cannot start
  if (is_file) {
    engine = a.engine.empty() ? default_engine() : a.engine;  // until its bundle says otherwise
    const std::string vm_name = spec_name(text);
    if (!kernel::valid_vm_name(vm_name)) {
      // Everything wrong with it, the name included, is reported in full.
      checked(m_impl->plugins, m_impl->validate_options(engine), text, file, spec_dir, warnings);
      check_name(vm_name);
    }
    const std::string own = fs::weakly_canonical(fs::absolute(a.target)).string();
    std::string err;
    bundle = kernel::open_bundle(vm_name, err);
    if (bundle) require_made_by_runs_of(*bundle, own, a.target);
    if (bundle && a.engine.empty()) engine = bundle->engine();
    if (bundle && bundle->engine() != engine)
      throw InputError("VM '" + vm_name + "' was created for the " + bundle->engine() + " engine, not " + engine +
                       "\n  hint: run it with --engine " + bundle->engine() + ", or delete it first (`vzkit delete " +
                       vm_name + "`)");
    require_engine(vm_name, engine, a.display == "window");
    spec = checked(m_impl->plugins, m_impl->validate_options(engine, (kernel::vms_dir() / vm_name).string()), text,
                   file, spec_dir, warnings);
    if (!bundle) {
      bundle = kernel::create_bundle(vm_name, text, spec_dir, engine, nullptr, json::object{{"spec_file", own}});
      made_now.dir = bundle->dir;
    }
  } else {
    engine = bundle->engine();
    if (!a.engine.empty() && a.engine != engine)
      throw InputError("VM '" + bundle->name + "' was created for the " + engine + " engine, not " + a.engine);
    require_engine(bundle->name, engine, a.display == "window");
  }
  if (engine == "vz" && a.display == "vnc")
    throw InputError("the vz engine has no VNC server; use --gui for a window, or run without a display");
  std::string holder;
  auto lock = kernel::BundleLock::try_acquire(*bundle, holder);
  if (!lock)
    throw std::runtime_error("VM '" + bundle->name + "' is already running: " + holder +
                             "\n  hint: stop it with `vzkit stop " + bundle->name + "`, or watch it with `vzkit inspect " +
                             bundle->name + "`");
  if (is_file) kernel::update_bundle(*bundle, text, spec_dir);
  else spec = checked(m_impl->plugins, m_impl->validate_options(engine, bundle->dir.string()), text, file, spec_dir,
                      warnings);
  if (engine == "vz") require_rosetta(*spec, a, m_impl->vz_facts());  // asked once, for validation
  if (a.recovery) require_macos_guest(bundle->name, engine, *spec);

  qb::AccelChoice choice;
  if (engine == "qemu")
    choice = qb::choose_accelerator(a.accel, kernel::effective_arch(*spec, "qemu"),
                                    kernel::vzkit_home() / "cache" / "accel");
  kernel::AssembleOptions o;
  o.engine = engine;
  o.bundle_dir = bundle->dir.string();
  o.materialize = true;
  o.accel = choice.accel;
  kernel::Plan plan;
  try {
    plan = kernel::assemble(*spec, m_impl->plugins, o);
  } catch (const kernel::AssembleError& e) {
    throw PlanError(convert(e.diagnostics), false);
  }
  std::vector<std::string> resume_args;  // --restore DIR when the VM resumes a saved state
  std::string resuming = prepare_resume(*bundle, plan.model, a.fresh, resume_args, warnings);
  kernel::clear_run_dir(*bundle);  // left by an earlier run, but its logs; the lock is ours
  fs::create_directories(bundle->run_dir());
  kernel::write_atomic(bundle->run_dir() / "plan.json", kernel::pretty_json(plan.model));
  lock->describe_holder("vzkit run " + bundle->name + " (starting)");

  made_now.dir.clear();  // prepared: the VM stays
  auto impl = std::make_unique<PreparedRun::Impl>(
      PreparedRun::Impl{*bundle, std::move(*lock), bundle->name, bundle->dir.string(), choice.accel, choice.warning,
                        std::move(warnings), a.supervisor_command, std::move(resuming)});
  auto& args = impl->args;
  args.insert(args.end(), {impl->dir, "--lock-fd", std::to_string(impl->lock.fd()), "--engine", engine,
                           "--stop-timeout", std::to_string(a.stop_timeout), "--display", a.display});
  if (!choice.accel.empty()) args.insert(args.end(), {"--accel", choice.accel});
  if (a.console_input) args.push_back("--console-input");
  if (a.quiet) args.push_back("--quiet");
  if (a.recovery) args.push_back("--recovery");
  args.insert(args.end(), resume_args.begin(), resume_args.end());
  return PreparedRun(std::move(impl));
}

namespace {

[[noreturn]] void exec_args(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  throw std::runtime_error("cannot start the supervisor " + args[0] + ": " + std::strerror(errno));
}

}  // namespace

void PreparedRun::exec_attached() {
  m_impl->lock.keep_across_exec();
  exec_args(m_impl->args);  // the supervisor replaces this process
}

int PreparedRun::start_detached(std::chrono::seconds timeout) {
  m_impl->lock.keep_across_exec();
  // Everything the child needs is made before the fork: it only calls async-signal-safe functions.
  auto args = m_impl->args;
  args.push_back("--detach");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const fs::path run_dir = m_impl->bundle.run_dir();
  const std::string log_path = (run_dir / "supervisor.log").string();
  const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    if (devnull >= 0) ::close(devnull);
    if (log >= 0) ::close(log);
    throw std::runtime_error(std::string("cannot fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::setsid();
    ::dup2(devnull, STDIN_FILENO);  // dup2 clears close-on-exec on the copies
    ::dup2(log >= 0 ? log : devnull, STDOUT_FILENO);
    ::dup2(log >= 0 ? log : devnull, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    static const char msg[] = "vzkit: error: cannot start the supervisor\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(1);
  }
  if (devnull >= 0) ::close(devnull);
  if (log >= 0) ::close(log);
  // The supervisor holds the lock now; this process lets go of its copy of the descriptor.
  m_impl->lock.hand_over();
  // Wait until the VM runs, fails, or its supervisor exits.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string state;
  json::object st;
  int status = 0;
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline) {
    st = kernel::read_state(run_dir);
    if (const auto* s = st.if_contains("state"); s && s->is_string()) state = std::string(s->get_string());
    if (state == "running" || state == "error" || state == "stopped") break;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (state == "running") return static_cast<int>(pid);
  if (exited || state == "error") {  // what it recorded last
    st = kernel::read_state(run_dir);
    state = state_in(st);
  }
  std::string why;
  if (const auto* m = st.if_contains("message"); m && m->is_string() && state == "error")
    throw std::runtime_error("VM '" + m_impl->name + "' did not start: " + std::string(m->get_string()) +
                             "\n  supervisor log: " + log_path);
  if (exited)
    why = "its supervisor exited" +
          (WIFEXITED(status) ? " with status " + std::to_string(WEXITSTATUS(status)) : std::string(" on a signal"));
  else if (state.empty() || state == "starting")
    why = "it is still starting after " + std::to_string(timeout.count()) + " s (supervisor pid " +
          std::to_string(pid) + "; `vzkit list` shows when it runs)";
  else
    why = "state '" + state + "'";
  throw std::runtime_error("VM '" + m_impl->name + "' did not start: " + why + "; see " + log_path);
}

std::string default_engine() {
#if defined(__APPLE__)
  return "vz";
#else
  return "qemu";
#endif
}

namespace {

// Where `value` (a host port, a file) is given under the device at `device_path` ("devices[3]") of
// the VM's spec: the first key holding that number, or a path that resolves to that file.
std::string find_in_spec(const fs::path& bundle_dir, const std::string& device_path, const std::string& value) {
  const auto b = kernel::bundle_of_spec_file(bundle_dir / "spec.json");
  if (!b || device_path.rfind("devices[", 0) != 0) return {};
  json::value spec;
  try {
    spec = json::parse(read_file(b->spec_file()));
    spec = spec.at("devices").at(std::stoul(device_path.substr(8)));
  } catch (const std::exception&) {
    return {};
  }
  auto same_file = [&](const std::string& p) {
    for (const fs::path& base : {b->spec_dir(), b->dir})
      if ((base / p).lexically_normal() == fs::path(value).lexically_normal()) return true;
    return false;
  };
  std::function<std::string(const json::value&, const std::string&)> find = [&](const json::value& v,
                                                                                 const std::string& at) {
    if (v.is_int64() || v.is_uint64()) return json::serialize(v) == value ? at : std::string();
    if (v.is_string()) return same_file(std::string(v.get_string())) ? at : std::string();
    if (v.is_array())
      for (std::size_t i = 0; i < v.get_array().size(); ++i)
        if (auto p = find(v.get_array()[i], at + "[" + std::to_string(i) + "]"); !p.empty()) return p;
    if (v.is_object())
      for (const auto& kv : v.get_object())
        if (auto p = find(kv.value(), at + "." + std::string(kv.key())); !p.empty()) return p;
    return std::string();
  };
  return find(spec, device_path);
}

}  // namespace

int supervise_main(const std::vector<std::string>& args) {
  // The arguments prepare_run() appended: DIR --lock-fd N --stop-timeout S --accel A --display D [flags]
  if (args.empty()) throw InputError("the supervising mode needs the VM's folder");
  const fs::path dir(args[0]);
  int lock_fd = -1, stop_timeout = 10;
  std::string accel = "tcg", display = "none", engine = "qemu", restore;
  bool console_input = false, quiet = false, detach = false, recovery = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const auto& k = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw InputError("supervising mode: " + k + " needs a value");
      return args[++i];
    };
    if (k == "--lock-fd") lock_fd = std::stoi(value());
    else if (k == "--stop-timeout") stop_timeout = std::stoi(value());
    else if (k == "--accel") accel = value();
    else if (k == "--engine") engine = value();
    else if (k == "--display") display = value();
    else if (k == "--console-input") console_input = true;
    else if (k == "--quiet") quiet = true;
    else if (k == "--detach") detach = true;
    else if (k == "--recovery") recovery = true;
    else if (k == "--restore") restore = value();
    else throw InputError("supervising mode: unknown argument '" + k + "'");
  }
  if (lock_fd < 0) throw InputError("supervising mode: --lock-fd is required");
  auto lock = kernel::BundleLock::adopt(lock_fd);
  lock.describe_holder("vzkit run " + dir.filename().string());  // this process holds it now
  const fs::path plan_file = dir / "run" / "plan.json";
  if (engine == "vz") {
    // VZ runs in a program of its own (vzkit-vz, or vzkit-window for a window), which this process
    // becomes: the lock's descriptor and the process id survive the exec.
    const bool window = display == "window";
    const fs::path runner = vz_runner(window);
    if (runner.empty()) require_engine(dir.filename().string(), engine, window);  // throws, saying why
    std::vector<std::string> argv = {runner.string(), plan_file.string(), "--run-dir", (dir / "run").string(),
                                     "--stop-timeout", std::to_string(stop_timeout)};
    if (window) argv.insert(argv.end(), {"--title", dir.filename().string()});
    if (detach) argv.push_back("--console-log");
    if (console_input && !detach) argv.push_back("--console-input");
    if (quiet) argv.push_back("--quiet");
    if (recovery) argv.push_back("--recovery");
    if (!restore.empty()) argv.insert(argv.end(), {"--restore", restore});
    lock.keep_across_exec();
    exec_args(argv);
  }
  vzkit::qemu::Machine plan;
  try {
    plan = json::value_to<vzkit::qemu::Machine>(json::parse(read_file(plan_file)));
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot read the plan in " + plan_file.string() + ": " + e.what());
  }
  qb::SuperviseOptions o;
  o.run.name = dir.filename().string();
  o.run.spec_path_of = [dir](const std::string& device, const std::string& value) {
    return find_in_spec(dir, device, value);
  };
  o.run.run_dir = dir / "run";
  o.run.display = display == "window" ? "gtk" : display;
  o.run.console_to_stdout = !detach;
  o.run.console_from_stdin = console_input && !detach;
  o.stop_grace = std::chrono::seconds(stop_timeout);
  o.report = !quiet;
  o.facts = json::object{{"engine", "qemu"}, {"accel", accel}, {"bundle", dir.string()}};
  // A detached run leaves the console socket free for `vzkit console`.
  if (detach && std::any_of(plan.chardevs.begin(), plan.chardevs.end(), [](const auto& c) { return c.type == "stdio"; }))
    o.facts["console_socket"] = qb::RunFiles(o.run.run_dir).console_socket().string();
  o.restore_from = restore;
  return qb::supervise(plan, o);
}

}  // namespace vzkit::host
