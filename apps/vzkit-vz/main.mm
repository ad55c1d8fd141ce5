// vzkit-vz: runs one VM from a vz plan without a window, supervised as `vzkit run` supervises
// every VM (run/state.json, run/ctl.sock for `vzkit stop|pause|resume`, signals). `vzkit run`
// executes it with a plan it has just made; it loads no plugins and reads the plan as data, so on
// a Mac it is the binary signed with the virtualization entitlement and the hardened runtime
// (docs/vz.md). `vzkit run --gui` executes vzkit-window instead, which does the same around a
// VZVirtualMachineView.
//
//   vzkit-vz PLAN.json --run-dir DIR [--console-log] [--console-input] [--stop-timeout S] [--quiet]
//   vzkit-vz --host-bounds [--hardware-model FILE]   what VZ allows on this Mac, as JSON
//   vzkit-vz --install-rosetta                        install Rosetta for Linux guests
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

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

int usage(const char* problem) {
  if (problem) std::fprintf(stderr, "vzkit-vz: %s\n", problem);
  std::fprintf(problem ? stderr : stdout,
               "usage: vzkit-vz PLAN.json --run-dir DIR [--console-log] [--console-input] [--stop-timeout S] "
               "[--quiet]\n"
               "  PLAN.json        a vz plan (`vzkit plan SPEC --engine vz`)\n"
               "  --run-dir DIR    where state.json and ctl.sock are kept while the VM runs\n"
               "  --console-log    write the serial console to DIR/console.log instead of this terminal\n"
               "  --console-input  forward this terminal's input to the guest console\n"
               "  --stop-timeout S seconds the guest gets to power off after a stop request (10)\n"
               "  --quiet          print no state changes\n"
               "       vzkit-vz --host-bounds [--hardware-model FILE]\n"
               "       vzkit-vz --install-rosetta\n");
  return problem ? 2 : 0;
}

}  // namespace

#if !defined(__APPLE__)
// The Linux build runs against the recording fake; its tests set the fake host's Rosetta state.
void configure_fake_host() {
  const char* rosetta = std::getenv("VZKIT_FAKE_ROSETTA");
  if (!rosetta) return;
  const std::string r = rosetta;
  VZFakeSetRosettaAvailability(r == "installed"       ? VZLinuxRosettaAvailabilityInstalled
                               : r == "not-installed" ? VZLinuxRosettaAvailabilityNotInstalled
                                                      : VZLinuxRosettaAvailabilityNotSupported);
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
    else if (!arg.empty() && arg[0] != '-' && plan_file.empty()) plan_file = arg;
    else return usage(("unexpected argument '" + arg + "'").c_str());
  }
  if (plan_file.empty() || o.run_dir.empty()) return usage("a plan and --run-dir are required");

  std::ifstream in(plan_file, std::ios::binary);
  if (!in) return usage(("cannot read '" + plan_file + "'").c_str());
  std::stringstream text;
  text << in.rdbuf();
  vzkit::vz::Configuration plan;
  try {
    plan = boost::json::value_to<vzkit::vz::Configuration>(boost::json::parse(text.str()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vzkit-vz: %s: not a vz plan: %s\n", plan_file.c_str(), e.what());
    return 2;
  }
  o.facts = boost::json::object{{"engine", "vz"}, {"plan", plan_file}};
  int rc = 1;
  @autoreleasepool {
    rc = vzkit::bridge::vz::supervise(plan, o);
  }
  return rc;
}
