// vzkit-vz: runs one VM from a vz plan without a window, supervised as `vzkit run` supervises
// every VM (run/state.json, run/ctl.sock for `vzkit stop|pause|resume`, signals). `vzkit run`
// executes it with a plan it has just made; it loads no plugins and reads the plan as data, so on
// a Mac it is the binary signed with the virtualization entitlement and the hardened runtime
// (docs/vz.md). `vzkit run --gui` executes vzkit-window instead, which does the same around a
// VZVirtualMachineView.
//
//   vzkit-vz PLAN.json --run-dir DIR [--console-log] [--console-input] [--stop-timeout S] [--quiet] [--recovery]
//   vzkit-vz --host-bounds [--hardware-model FILE]   what VZ allows on this Mac, as JSON
//   vzkit-vz --validate PLAN.json                     check a plan with VZ (validateWithError:) without running it
//   vzkit-vz --install-rosetta                        install Rosetta for Linux guests
//   vzkit-vz --install-macos latest|IPSW DIR [--disk-size BYTES] [--download-dir DIR]
//                                                     install macOS into a VM folder (for `vzkit create --macos`);
//                                                     progress on stderr, the result as JSON on stdout
//
// On Linux it is built against vzkit's recording fake of Virtualization.framework
// (tests/vz_api), so the whole `vzkit create/run/stop` path of the vz engine is tested there
// (VZKIT_VZ_RUNNER points vzkit at it); it is not installed.
#include <vzkit/bridge/vz/objc_bridge.h>
#include <vzkit/bridge/vz/vz_bridge.hpp>
#include <vzkit/vz/configuration.hpp>

#if !defined(__APPLE__)
#import <VZFake/VZFake.h>
#endif

#include <boost/json.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

// run.cpp: supervises the plan; anything thrown is reported and recorded instead of aborting.
int vzkit_vz_run(const vzkit::vz::Configuration& plan, const vzkit::bridge::vz::SuperviseOptions& options);

namespace {

int usage(const char* problem) {
  if (problem) std::fprintf(stderr, "vzkit-vz: %s\n", problem);
  std::fprintf(problem ? stderr : stdout,
               "usage: vzkit-vz PLAN.json --run-dir DIR [--console-log] [--console-input] [--stop-timeout S] "
               "[--quiet] [--recovery]\n"
               "  PLAN.json        a vz plan (`vzkit plan SPEC --engine vz`)\n"
               "  --run-dir DIR    where state.json and ctl.sock are kept while the VM runs\n"
               "  --console-log    write the serial console to DIR/console.log instead of this terminal\n"
               "  --console-input  forward this terminal's input to the guest console\n"
               "  --stop-timeout S seconds the guest gets to power off after a stop request (10)\n"
               "  --quiet          print no state changes\n"
               "  --recovery       start a macOS guest from macOS Recovery\n"
               "       vzkit-vz --host-bounds [--hardware-model FILE]\n"
               "       vzkit-vz --validate PLAN.json\n"
               "       vzkit-vz --install-rosetta\n"
               "       vzkit-vz --install-macos latest|IPSW DIR [--disk-size BYTES] [--download-dir DIR]\n");
  return problem ? 2 : 0;
}

// A progress bar on a terminal; elsewhere (a log) a line at every tenth.
class Progress {
 public:
  void operator()(const std::string& phase, double fraction) {
    std::lock_guard<std::mutex> g(m_lock);
    const int percent = static_cast<int>(fraction * 100);
    if (phase == m_phase && percent == m_percent) return;
    if (phase != m_phase && !m_phase.empty() && m_tty) std::fprintf(stderr, "\n");
    const bool tenth = phase != m_phase || percent / 10 != m_percent / 10;
    m_phase = phase;
    m_percent = percent;
    if (m_tty) {
      const int filled = percent * 40 / 100;
      std::fprintf(stderr, "\r%-12s [%s%s] %3d%%", phase.c_str(), std::string(filled, '#').c_str(),
                   std::string(40 - filled, ' ').c_str(), percent);
    } else if (tenth) {
      std::fprintf(stderr, "%s: %d%%\n", phase.c_str(), percent);
    }
    std::fflush(stderr);
  }
  ~Progress() {
    if (m_tty && !m_phase.empty()) std::fprintf(stderr, "\n");
  }

 private:
  std::mutex m_lock;
  std::string m_phase;
  int m_percent = -1;
  bool m_tty = ::isatty(STDERR_FILENO);
};

int install(int argc, char** argv) {
  if (argc < 4) return usage("--install-macos needs a source (latest or a .ipsw file) and a folder");
  vzkit::bridge::vz::InstallOptions o;
  o.source = argv[2];
  o.dir = argv[3];
  o.download_dir = o.dir;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--disk-size") o.disk_bytes = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--download-dir") o.download_dir = argv[i + 1];
    else return usage(("unexpected argument '" + k + "'").c_str());
  }
  auto progress = std::make_shared<Progress>();
  o.progress = [progress](const std::string& phase, double fraction) { (*progress)(phase, fraction); };
  vzkit::bridge::vz::InstallResult r;
  @autoreleasepool {
    r = vzkit::bridge::vz::install_macos(o);
  }
  progress.reset();
  if (!r.error.empty()) {
    std::fprintf(stderr, "vzkit-vz: %s\n", r.error.c_str());
    return 1;
  }
  std::printf("%s\n", boost::json::serialize(boost::json::object{{"build_version", r.build_version},
                                                                   {"cpu_count", r.cpu_count},
                                                                   {"memory_bytes", r.memory_bytes}})
                          .c_str());
  std::fprintf(stderr, "installed macOS %s\n", r.build_version.c_str());
  return 0;
}

}  // namespace

#if !defined(__APPLE__)
// The Linux build runs against the recording fake; its tests set the fake host: Rosetta's state
// (VZKIT_FAKE_ROSETTA), the macOS version (VZKIT_FAKE_MACOS, e.g. 13), nested virtualization
// support (VZKIT_FAKE_NESTED=1) and the virtualization entitlement (VZKIT_FAKE_ENTITLED=0).
void configure_fake_host() {
  if (const char* rosetta = std::getenv("VZKIT_FAKE_ROSETTA")) {
    const std::string r = rosetta;
    VZFakeSetRosettaAvailability(r == "installed"       ? VZLinuxRosettaAvailabilityInstalled
                                 : r == "not-installed" ? VZLinuxRosettaAvailabilityNotInstalled
                                                        : VZLinuxRosettaAvailabilityNotSupported);
  }
  if (const char* macos = std::getenv("VZKIT_FAKE_MACOS")) VZFakeSetHostOperatingSystemVersion(std::atoi(macos));
  if (const char* nested = std::getenv("VZKIT_FAKE_NESTED")) VZFakeSetNestedVirtualizationSupported(std::string(nested) == "1");
  if (const char* entitled = std::getenv("VZKIT_FAKE_ENTITLED")) VZFakeSetVirtualizationEntitlement(std::string(entitled) != "0");
}
#endif

int main(int argc, char** argv) {
#if !defined(__APPLE__)
  configure_fake_host();
#endif
  if (argc >= 2 && std::string(argv[1]) == "--host-bounds") {
    const std::string model = argc >= 4 && std::string(argv[2]) == "--hardware-model" ? argv[3] : "";
    @autoreleasepool {
      std::printf("%s\n", vzkit::bridge::vz::host_bounds_json(model).c_str());
    }
    return 0;
  }
  if (argc == 3 && std::string(argv[1]) == "--validate") {
    // A plan made elsewhere (`vzkit plan SPEC --engine vz`), checked by building its VZ objects
    // and asking VZ (validateWithError:) without running it.
    std::string error;
    const auto plan = vzkit::bridge::vz::read_plan(argv[2], error);
    if (!plan) {
      std::fprintf(stderr, "vzkit-vz: %s\n", error.c_str());
      return 2;
    }
    vzkit::kernel::Diagnostics problems;
    @autoreleasepool {
      problems = vzkit::bridge::vz::validate(*plan);
    }
    if (problems.empty()) {
      std::printf("%s: VZ accepts the configuration\n", argv[2]);
      return 0;
    }
    std::fprintf(stderr, "%s", vzkit::kernel::format(problems).c_str());
    return 2;
  }
  if (argc >= 2 && std::string(argv[1]) == "--install-macos") return install(argc, argv);
  if (argc >= 2 && std::string(argv[1]) == "--install-rosetta") {
    std::string why;
    @autoreleasepool {
      why = vzkit::bridge::vz::install_rosetta();
    }
    if (!why.empty()) {
      std::fprintf(stderr, "vzkit-vz: cannot install Rosetta: %s\n", why.c_str());
      return 1;
    }
    return 0;
  }
  std::string plan_file;
  vzkit::bridge::vz::SuperviseOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) return {};
      return argv[++i];
    };
    if (arg == "-h" || arg == "--help") return usage(nullptr);
    if (arg == "--run-dir") o.run_dir = value();
    else if (arg == "--console-log") o.console_to_stdout = false;
    else if (arg == "--console-input") o.console_from_stdin = true;
    else if (arg == "--stop-timeout") o.stop_grace = std::chrono::seconds(std::atoi(value().c_str()));
    else if (arg == "--quiet") o.report = false;
    else if (arg == "--recovery") o.build.macos_recovery = true;
    else if (arg == "--restore") o.restore_from = value();
    else if (!arg.empty() && arg[0] != '-' && plan_file.empty()) plan_file = arg;
    else return usage(("unexpected argument '" + arg + "'").c_str());
  }
  if (plan_file.empty() || o.run_dir.empty()) return usage("a plan and --run-dir are required");

  std::string error;
  const auto plan = vzkit::bridge::vz::read_plan(plan_file, error);
  if (!plan) {
    std::fprintf(stderr, "vzkit-vz: %s\n", error.c_str());
    return 2;
  }
  o.facts = boost::json::object{{"engine", "vz"}, {"plan", plan_file}};
  if (o.build.macos_recovery) o.facts["recovery"] = true;
  int rc = 1;
  @autoreleasepool {
    rc = vzkit_vz_run(*plan, o);
  }
  return rc;
}
