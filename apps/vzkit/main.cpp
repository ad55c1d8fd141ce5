#include "commands.hpp"

#include <vzkit/kernel/version.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  using namespace vzkit::app;
  CLI::App app{
      "vzkit composes virtual machines from device plugins and runs them.\n"
      "A VM spec is a JSON file: name, cpus, memory and a list of devices, each naming its plugin.\n"
      "Exit status: 0 success, 1 the operation failed, 2 invalid input (every problem is listed).",
      "vzkit"};
  app.set_version_flag("--version", std::string("vzkit ") + vzkit::kernel::kVersion);
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(
      "Examples:\n"
      "  vzkit plugins                                 list the device plugins and where they come from\n"
      "  vzkit validate examples/linux-direct.json     check a spec, listing every problem\n"
      "  vzkit plan examples/linux-direct.json --engine qemu --format argv\n"
      "  vzkit plan examples/macos.json --engine vz --format swift\n"
      "Plugins are searched in: --plugin-path, $VZKIT_PLUGIN_PATH (':'-separated), the plugins\n"
      "installed beside the binary (../lib/vzkit/plugins), then $VZKIT_HOME/plugins (~/.vzkit/plugins).");

  Globals g;
  app.add_option("--plugin-path", g.plugin_paths, "Extra plugin file or folder, searched first (repeatable)")
      ->type_name("PATH");
  app.add_flag("--no-default-plugins", g.no_default_plugins,
               "Load only the plugins given with --plugin-path (ignore the environment and installed plugins)");
  app.add_flag("-v,--verbose", g.verbosity, "More log output (repeat for more)");

  bool json = false;
  auto* plugins = app.add_subcommand("plugins", "List the loaded device plugins, their versions, engines and files");
  plugins->add_flag("--json", json, "Print JSON for scripts");

  std::optional<std::string> schema_plugin;
  auto* schema = app.add_subcommand("schema", "Print the JSON Schema of a plugin's settings, or of a whole spec");
  schema->add_option("plugin", schema_plugin, "Plugin name; without it, the schema of a whole VM spec");

  std::string spec, engine, format = "json", accel;
  auto* validate = app.add_subcommand("validate", "Check a VM spec and list every problem (exit 2 if any error)");
  validate->add_option("spec", spec, "The VM spec (JSON file)")->required()->type_name("SPEC");
  validate->add_option("--engine", engine, "Also check that every device runs on this engine")
      ->check(CLI::IsMember({"vz", "qemu"}));
  validate->add_flag("--json", json, "Print diagnostics as JSON for scripts");

  auto* plan = app.add_subcommand("plan", "Assemble a spec into an engine's plan and print it");
  plan->add_option("spec", spec, "The VM spec (JSON file)")->required()->type_name("SPEC");
  plan->add_option("--engine", engine, "vz (Apple Virtualization.framework) or qemu")
      ->required()
      ->check(CLI::IsMember({"vz", "qemu"}));
  plan->add_option("--format", format,
                   "json: the engine's object model; argv: the QEMU command line; swift: Swift source that builds the "
                   "same VZVirtualMachineConfiguration")
      ->check(CLI::IsMember({"json", "argv", "swift"}))
      ->capture_default_str();
  plan->add_option("--accel", accel, "qemu: accelerator to put in the plan (tcg, kvm)")
      ->check(CLI::IsMember({"tcg", "kvm"}));

  std::string tag, mount_point = "/media/rosetta";
  auto* rosetta = app.add_subcommand("rosetta-setup", "Print the Linux guest commands that mount a Rosetta share and "
                                                      "register it for x86-64 binaries");
  rosetta->add_option("tag", tag, "The share's tag, as in the spec's rosetta device")->required();
  rosetta->add_option("--mount-point", mount_point, "Where the guest mounts the share")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("vzkit");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("vzkit: %^%l%$: %v");
  spdlog::set_level(g.verbosity >= 2 ? spdlog::level::trace : g.verbosity == 1 ? spdlog::level::debug : spdlog::level::warn);

  try {
    if (*plugins) return cmd_plugins(g, json);
    if (*schema) return cmd_schema(g, schema_plugin);
    if (*validate) return cmd_validate(g, spec, engine, json);
    if (*plan) return cmd_plan(g, spec, engine, format, accel);
    if (*rosetta) return cmd_rosetta_setup(g, tag, mount_point);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 1;
}
