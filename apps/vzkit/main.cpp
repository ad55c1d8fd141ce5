#include "commands.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

namespace {

void set_up_logging(int verbosity) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("vzkit"));
  spdlog::set_pattern("vzkit: %^%l%$: %v");
  spdlog::set_level(verbosity >= 2 ? spdlog::level::trace : verbosity == 1 ? spdlog::level::debug : spdlog::level::warn);
  vzkit::host::set_log_handler([](vzkit::host::LogLevel level, const std::string& message) {
    if (level == vzkit::host::LogLevel::debug) spdlog::debug("{}", message);
    else if (level == vzkit::host::LogLevel::info) spdlog::info("{}", message);
    else spdlog::warn("{}", message);
  });
}

// The option `name` ("--plugin-path", "-v") as `at` or a command above it accepts it.
const CLI::Option* find_option(const CLI::App* at, const std::string& name) {
  for (; at; at = at->get_parent())
    if (const auto* o = at->get_option_no_throw(name)) return o;
  return nullptr;
}

// CLI11 reports a misspelled command as "A subcommand is required" (or an unexpected argument).
// This finds the first word that should name a command and does not, and says which was meant:
// "unknown command 'lst'; did you mean 'list'?". Empty when every command word is known.
std::string unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  std::string words;  // the commands named so far: "plugin "
  std::size_t positionals_seen = 0;  // arguments of the command `at` given so far
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") return {};
    if (a.size() > 1 && a[0] == '-') {
      const std::string name = a.substr(0, a.find('='));
      const auto* o = find_option(at, name);
      if (o && name.size() == a.size() && o->get_items_expected_min() > 0) ++i;  // skip its value
      continue;
    }
    // Option groups are unnamed subcommands to CLI11; commands have names.
    const auto subs = at->get_subcommands([](CLI::App* sub) { return !sub->get_name().empty(); });
    if (subs.empty()) return {};  // the command's own arguments
    std::vector<std::string> names;
    for (const auto* sub : subs) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), a) != names.end()) {
      at = at->get_subcommand(a);
      words += a + " ";
      positionals_seen = 0;
      continue;
    }
    // A command that takes arguments before its own commands ("snapshot VM create TAG").
    const auto positionals = at->get_options([](const CLI::Option* o) { return o->get_positional(); });
    if (positionals_seen < positionals.size()) {
      ++positionals_seen;
      words += a + " ";
      continue;
    }
    std::string message = "unknown command '" + words + a + "'";
    if (const auto near = vzkit::host::closest_name(a, names); !near.empty())
      message += "; did you mean '" + words + near + "'?";
    std::string all;
    for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
    return message + "\n  hint: `vzkit " + words + "--help` lists the commands: " + all;
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vzkit::app;
  // `vzkit __supervise ...` is the process `vzkit run` re-executes into: it runs one prepared VM
  // and loads no plugins. Its arguments belong to the host API (vzkit::host::supervise_main).
  if (argc >= 2 && std::string_view(argv[1]) == "__supervise") {
    set_up_logging(0);
    return cmd_supervise(std::vector<std::string>(argv + 2, argv + argc));
  }
  CLI::App app{
      "vzkit composes virtual machines from device plugins and runs them.\n"
      "A VM spec is a JSON file: name, cpus, memory and a list of devices, each naming its plugin.\n"
      "Exit status: 0 success, 1 the operation failed, 2 invalid input (every problem is listed).",
      "vzkit"};
  app.set_version_flag("--version", std::string("vzkit ") + vzkit::host::version());
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(
      "Examples:\n"
      "  vzkit plugins                                 list the device plugins and where they come from\n"
      "  vzkit validate examples/linux-direct.json     check a spec, listing every problem (or a VM: validate web)\n"
      "  vzkit plan examples/linux-direct.json --format argv     the QEMU command line (files need not exist yet)\n"
      "  vzkit plan examples/macos.json --engine vz --format swift\n"
      "  vzkit run examples/linux-direct.json          boot a spec as a VM of its own, named after it\n"
      "  vzkit logs web --follow                       a VM's console (--previous N: the runs before)\n"
      "  vzkit create deb --iso debian.iso --disk 64GiB && vzkit run deb --gui\n"
      "  vzkit create web --image root.img --disk-size 20GiB && vzkit run web --detach && vzkit ssh web\n"
      "  vzkit create mac --macos latest && vzkit run mac --gui    (on a Mac with Apple silicon)\n"
      "  vzkit clone deb deb2 && vzkit set deb2 --disk-size 64GiB    a copy-on-write clone, grown\n"
      "Plugins are searched in: --plugin-path, $VZKIT_PLUGIN_PATH (':'-separated), the plugins\n"
      "installed beside the binary (../lib/vzkit/plugins), then $VZKIT_HOME/plugins (~/.vzkit/plugins).");

  Globals g;
  app.add_option("--plugin-path", g.plugin_paths, "Extra plugin file or folder, searched first (repeatable)")
      ->type_name("PATH")
      ->expected(1)  // one value per flag: `--plugin-path DIR spec.json` leaves the spec alone
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_flag("--no-default-plugins", g.no_default_plugins,
               "Load only the plugins given with --plugin-path (ignore the environment and installed plugins)");
  app.add_flag("-v,--verbose", g.verbosity, "More log output (repeat for more)");

  bool json = false;
  auto* plugins = app.add_subcommand("plugins", "List the loaded device plugins, their versions, engines and files");
  plugins->add_flag("--json", json, "Print JSON for scripts");

  auto* plugin = app.add_subcommand("plugin", "Tools for plugin authors");
  plugin->require_subcommand(1);
  std::vector<std::string> check_files;
  auto* plugin_check = plugin->add_subcommand(
      "check", "Load plugin files on their own and run the conformance checks on each: a valid, strict and documented "
               "schema, a complete manifest, examples that validate, unknown settings refused with a path, and plan "
               "fragments that round-trip for every engine it supports (exit 1 if any check fails)");
  plugin_check->add_option("file", check_files, "The plugin's shared library (.so, .dylib)")
      ->required()
      ->type_name("FILE");
  plugin_check->add_flag("--json", json, "Print the report as JSON for scripts");
  plugin_check->footer("Example:\n  vzkit plugin check build/lib/vzkit/plugins/vzkit-plugin-virtiofs.so");

  std::optional<std::string> schema_plugin;
  bool markdown = false;
  auto* schema = app.add_subcommand("schema", "Print the JSON Schema of a plugin's settings, or of a whole spec");
  schema->add_option("plugin", schema_plugin, "Plugin name; without it, the schema of a whole VM spec");
  schema->add_flag("--markdown", markdown,
                   "Print the spec reference (every setting of every loaded plugin, with types, defaults, ranges, "
                   "rules and examples) as Markdown; docs/spec.md is this output for the built-in plugins");

  std::string spec, engine, format = "json", accel;
  auto* validate = app.add_subcommand("validate", "Check a VM spec and list every problem (exit 2 if any error)");
  validate->add_option("spec", spec,
                       "The VM spec (JSON file), or a VM's name: its spec, with its paths resolved as when it runs")
      ->required()
      ->type_name("SPEC|VM");
  validate->add_option("--engine", engine,
                       "Also check that every device runs on this engine (a VM: its own engine unless given)")
      ->check(CLI::IsMember({"vz", "qemu"}));
  validate->add_flag("--json", json, "Print diagnostics as JSON for scripts");

  auto* plan = app.add_subcommand(
      "plan", "Assemble a spec into an engine's plan and print it. Files the spec names need not exist yet: a missing "
              "one is a warning (the plan only refers to it; validate, create and run report it as an error)");
  plan->add_option("spec", spec, "The VM spec (JSON file), or a VM's name")->required()->type_name("SPEC|VM");
  plan->add_option("--engine", engine,
                   "vz (Apple Virtualization.framework) or qemu; default: a VM's own engine, for a spec file " +
                       vzkit::host::default_engine())
      ->check(CLI::IsMember({"vz", "qemu"}));
  plan->add_option("--format", format,
                   "json: the engine's object model; argv: the QEMU command line; swift: Swift source that builds the "
                   "same VZVirtualMachineConfiguration")
      ->check(CLI::IsMember({"json", "argv", "swift"}))
      ->capture_default_str();
  plan->add_option("--accel", accel, "qemu: accelerator to put in the plan (tcg, kvm)")
      ->check(CLI::IsMember({"tcg", "kvm"}));

  std::string tag, mount_point = "/media/rosetta";
  auto* rosetta = app.add_subcommand("rosetta", "Rosetta for Linux guests on a Mac: is it installed, install it, and "
                                                "what the guest runs to use it");
  rosetta->require_subcommand(1);
  auto* rosetta_status = rosetta->add_subcommand("status", "Whether this Mac has Rosetta for Linux guests "
                                                           "(installed, not-installed, not-supported)");
  rosetta_status->add_flag("--json", json, "Print what the VZ engine reports about this host as JSON");
  auto* rosetta_install = rosetta->add_subcommand(
      "install", "Install Rosetta for Linux guests (macOS asks you to accept Apple's license, then downloads it)");
  auto* rosetta_guest = rosetta->add_subcommand(
      "guest-setup", "Print the Linux guest commands that mount a Rosetta share and register it for x86-64 binaries");
  rosetta_guest->add_option("tag", tag, "The share's tag, as in the spec's rosetta device")->required();
  rosetta_guest->add_option("--mount-point", mount_point, "Where the guest mounts the share")->capture_default_str();

  CreateArgs create_args;
  auto* create = app.add_subcommand("create", "Create a VM in $VZKIT_HOME/vms: from a spec, as an installer VM from "
                                              "an ISO and a new disk, or by installing macOS (a Mac)");
  create->add_option("name", create_args.vm.name, "Name of the new VM")->required();
  create->add_option("--from", create_args.vm.spec_file, "The VM spec to copy into the bundle")->type_name("SPEC");
  create->add_option("--iso", create_args.vm.installer, "Installer image attached read-only as a USB disk (EFI boot, new disk)")
      ->type_name("IMAGE");
  create->add_option("--macos", create_args.vm.macos,
                     "Install macOS into a new vz VM (a Mac with Apple silicon): `latest` downloads the newest "
                     "version this Mac supports (progress shown, reused later), or give a local .ipsw file")
      ->type_name("latest|IPSW");
  create->add_option("--disk", create_args.vm.disk_size,
                     "Size of the new sparse system disk with --iso (required) or --macos (default 64GiB)")
      ->type_name("SIZE");
  create->add_option("--image", create_args.vm.image,
                     "Boot a copy of this raw cloud disk image, set up by cloud-init (a user, its SSH key, the host "
                     "name), with the guest agent and an SSH forward: then `vzkit ssh/exec/cp/ip NAME` (docs/way-in.md)")
      ->type_name("DISK.img");
  create->add_option("--disk-size", create_args.vm.disk_size,
                     "With --image: grow the copy to this size (the guest's cloud-init grows its filesystem)")
      ->type_name("SIZE");
  create->add_option("--ssh-key", create_args.vm.ssh_key,
                     "With --image: the public key to log in with (default: a key made for the VM, kept in its "
                     "folder)")
      ->type_name("FILE.pub");
  create->add_option("--user-data", create_args.vm.user_data,
                     "With --image: cloud-init user-data of your own (#cloud-config or a script), run as well")
      ->type_name("FILE");
  create->add_option("--user", create_args.vm.user, "With --image: the user cloud-init creates")->capture_default_str();
  create->add_option("--cpus", create_args.vm.cpus, "Virtual CPUs with --iso or --image")->capture_default_str();
  create->add_option("--memory", create_args.vm.memory, "Memory with --iso or --image")->capture_default_str();
  create->add_option("--engine", create_args.vm.engine,
                     "Engine the VM runs on: vz (a Mac with Apple silicon) or qemu; default: " +
                         vzkit::host::default_engine())
      ->check(CLI::IsMember({"vz", "qemu"}));
  create->add_flag("--json", create_args.json, "Print JSON for scripts");

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run a VM (by name, or a spec file directly) until it stops; Ctrl-C asks the "
                                        "guest to power off");
  run->add_option("vm", run_args.target,
                  "VM name, or a spec file to run directly: it runs as a VM of its own named after the spec, made on "
                  "its first run and kept for the next ones (its disks, its NVRAM); a VM of that name made otherwise "
                  "is never changed, and the run is refused")
      ->required()
      ->type_name("VM|SPEC");
  run->add_flag("--console", run_args.console, "Interactive console: also send what you type to the guest");
  run->add_flag("--detach", run_args.detach, "Run in the background; the console goes to run/console.log");
  run->add_flag("--gui", run_args.gui,
                "Show the display in a window: QEMU's own (needs a graphical session), or on a Mac vzkit-window's "
                "(captures system keys, follows the window's size)");
  run->add_flag("--vnc", run_args.vnc, "Serve the display over VNC on 127.0.0.1 only");
  run->add_option("--accel", run_args.accel,
                  "Accelerator: auto (KVM if it really works here, else TCG), kvm, or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}))
      ->capture_default_str();
  run->add_option("--stop-timeout", run_args.stop_timeout, "Seconds the guest gets to power off after Ctrl-C")
      ->capture_default_str();
  run->add_flag("-q,--quiet", run_args.quiet, "Print only the guest console");
  run->add_flag("-y,--yes", run_args.yes,
                "Install what the VM needs without asking (Rosetta on a Mac); otherwise you are asked on a "
                "terminal, and told what is missing elsewhere");
  run->add_flag("--recovery", run_args.recovery,
                "Start a macOS guest (vz engine) from its Recovery system, to repair or reinstall macOS or change "
                "its security settings; the next run without it starts macOS as usual");
  run->add_option("--engine", run_args.engine,
                  "For a spec file: the engine to run it on (default: " + vzkit::host::default_engine() +
                      "); a VM made by `vzkit create` runs on the engine it was made for")
      ->check(CLI::IsMember({"vz", "qemu"}));
  run->add_flag("--fresh", run_args.fresh, "Boot afresh, discarding the state `vzkit suspend` saved");

  std::string vm;
  bool force = false;
  int timeout = 30;
  auto* stop = app.add_subcommand("stop", "Ask a running VM's guest to power off; stop it by force after a timeout");
  stop->add_option("vm", vm, "VM name")->required();
  stop->add_flag("--force", force, "Stop at once, without asking the guest");
  stop->add_option("--timeout", timeout, "Seconds to wait for the guest before stopping it by force")->capture_default_str();
  auto* pause = app.add_subcommand("pause", "Pause a running VM (its CPUs stop; memory is kept)");
  pause->add_option("vm", vm, "VM name")->required();
  auto* resume = app.add_subcommand("resume", "Resume a paused VM");
  resume->add_option("vm", vm, "VM name")->required();
  auto* list = app.add_subcommand("list", "List the VMs and their states");
  list->add_flag("--json", json, "Print JSON for scripts");
  auto* inspect = app.add_subcommand("inspect", "Show a VM's folder, files, state and spec");
  inspect->add_option("vm", vm, "VM name")->required();
  inspect->add_flag("--json", json, "Print JSON for scripts");
  auto* del = app.add_subcommand("delete", "Delete a stopped VM and all its files");
  del->add_option("vm", vm, "VM name")->required();
  int previous = 0;
  bool follow = false;
  auto* logs = app.add_subcommand("logs", "Print a VM's console log: of its current or last run, or of one before "
                                          "(run/ keeps the last 4 runs' logs, also QEMU's and the supervisor's)");
  logs->add_option("vm", vm, "VM name")->required();
  logs->add_option("-p,--previous", previous, "The log of the run N runs before the last (1 to 4)")
      ->type_name("N")
      ->check(CLI::Range(1, 4));
  logs->add_flag("-f,--follow", follow, "Keep printing what the guest writes while the VM runs");
  std::string shot;
  auto* screenshot = app.add_subcommand("screenshot", "Save a running VM's screen as PNG (needs a display device)");
  screenshot->add_option("vm", vm, "VM name")->required();
  screenshot->add_option("file", shot, "Where to write the PNG")->required();

  // Commands kept in files of their own: parsing the one given sets `file_command`.
  std::function<int()> file_command;
  add_disk_commands(app, g, file_command);
  add_access_commands(app, file_command);
  add_snapshot_commands(app, g, file_command);
  add_image_commands(app, g, file_command);

  if (const auto unknown = unknown_command(app, argc, argv); !unknown.empty()) {
    std::fprintf(stderr, "vzkit: error: %s\n", unknown.c_str());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version exit 0; a usage mistake is invalid input like any other (exit 2).
    return app.exit(e) == 0 ? 0 : 2;
  }
  set_up_logging(g.verbosity);

  try {
    if (*plugins) return cmd_plugins(g, json);
    if (*plugin_check) return cmd_plugin_check(check_files, json);
    if (*schema) return cmd_schema(g, schema_plugin, markdown);
    if (*validate) return cmd_validate(g, spec, engine, json);
    if (*plan) return cmd_plan(g, spec, engine, format, accel);
    if (*rosetta_status) return cmd_rosetta_status(json);
    if (*rosetta_install) return cmd_rosetta_install();
    if (*rosetta_guest) return cmd_rosetta_setup(g, tag, mount_point);
    if (*create) {
      for (const auto* o : create->get_options())
        if (o->count() > 0 && !o->get_lnames().empty()) create_args.flags.push_back("--" + o->get_lnames().front());
      return cmd_create(g, create_args);
    }
    if (*run) return cmd_run(g, run_args);
    if (*stop) return cmd_stop(vm, force, timeout);
    if (*pause) return cmd_pause(vm, true);
    if (*resume) return cmd_pause(vm, false);
    if (*list) return cmd_list(json);
    if (*inspect) return cmd_inspect(vm, json);
    if (*del) return cmd_delete(vm);
    if (*screenshot) return cmd_screenshot(vm, shot);
    if (*logs) return cmd_logs(vm, previous, follow);
    if (file_command) return file_command();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 1;
}
