#include "commands.hpp"

#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/swift_export.hpp>
#include <vzkit/kernel/validate.hpp>
#include <vzkit/qemu/machine.hpp>
#include <vzkit/vz/configuration.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

namespace vzkit::app {

namespace json = boost::json;
using namespace vzkit::kernel;

kernel::PluginHost load_plugins(const Globals& g, bool quiet_errors) {
  SearchOptions o;
  for (const auto& p : g.plugin_paths) o.plugin_paths.emplace_back(p);
  if (g.no_default_plugins) o.use_environment = o.use_installed = o.use_user_folder = false;
  PluginHost host;
  auto path = plugin_search_path(o);
  for (const auto& e : path) spdlog::debug("plugin search path: {} ({})", e.path.string(), e.origin);
  host.load(path);
  if (!quiet_errors)
    for (const auto& e : host.errors()) spdlog::warn("plugin {} not loaded: {}", e.file.string(), e.reason);
  if (host.plugins().empty() && !quiet_errors)
    spdlog::warn("no plugins were found; add a folder with --plugin-path or set VZKIT_PLUGIN_PATH");
  return host;
}

int cmd_plugins(const Globals& g, bool as_json) {
  auto host = load_plugins(g, as_json);
  if (as_json) {
    json::array plugins, errors;
    for (const auto* p : host.plugins()) {
      const auto& m = p->manifest();
      json::object o{{"name", m.name},
                     {"version", m.version},
                     {"summary", m.summary},
                     {"engines", json::value_from(m.engines)},
                     {"slots", json::value_from(m.slots)},
                     {"file", p->file().string()},
                     {"origin", p->origin()},
                     {"abi", std::to_string(p->abi_major()) + "." + std::to_string(p->abi_minor())},
                     {"save_restore", m.save_restore}};
      if (!m.min_macos.empty()) o["min_macos"] = m.min_macos;
      plugins.push_back(std::move(o));
    }
    for (const auto& e : host.errors()) errors.push_back({{"file", e.file.string()}, {"reason", e.reason}});
    std::cout << pretty_json(json::object{{"plugins", plugins}, {"errors", errors}});
    return 0;
  }
  std::size_t w = 4;
  for (const auto* p : host.plugins()) w = std::max(w, p->name().size());
  std::printf("%-*s  %-8s  %-9s  %s\n", static_cast<int>(w), "NAME", "VERSION", "ENGINES", "SUMMARY");
  for (const auto* p : host.plugins()) {
    const auto& m = p->manifest();
    std::string engines;
    for (const auto& e : m.engines) engines += (engines.empty() ? "" : ",") + e;
    std::printf("%-*s  %-8s  %-9s  %s\n", static_cast<int>(w), m.name.c_str(), m.version.c_str(), engines.c_str(),
                m.summary.c_str());
    std::printf("%-*s  from %s (%s)\n", static_cast<int>(w), "", p->file().string().c_str(), p->origin().c_str());
  }
  return 0;
}

int cmd_schema(const Globals& g, const std::optional<std::string>& plugin) {
  auto host = load_plugins(g);
  if (!plugin) {
    std::cout << pretty_json(spec_schema(host));
    return 0;
  }
  const auto* p = host.find(*plugin);
  if (!p) {
    spdlog::error("no plugin named '{}' is loaded; `vzkit plugins` lists them", *plugin);
    return 2;
  }
  std::cout << pretty_json(p->manifest().schema);
  return 0;
}

void print_diagnostics(const Diagnostics& ds) {
  std::string text = format(ds);
  std::fputs(text.c_str(), stderr);
  std::size_t errors = 0, warnings = 0;
  for (const auto& d : ds) (d.severity == Severity::error ? errors : warnings)++;
  if (errors || warnings)
    std::fprintf(stderr, "%zu error%s, %zu warning%s\n", errors, errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
}

namespace {

// Loads and validates a spec; every diagnostic ends up in `all`. nullopt when one is an error.
std::optional<Spec> checked_spec(const PluginHost& host, const std::string& file, const std::string& engine,
                                 Diagnostics& all) {
  ValidateOptions o;
  o.engine = engine;
  return validated(load_spec(file), host, o, all);
}

}  // namespace

int cmd_validate(const Globals& g, const std::string& file, const std::string& engine, bool as_json) {
  auto host = load_plugins(g, as_json);
  Diagnostics ds;
  auto spec = checked_spec(host, file, engine, ds);
  if (as_json) {
    std::cout << pretty_json(json::object{{"file", file},
                                          {"engine", engine.empty() ? json::value() : json::value(engine)},
                                          {"valid", !has_errors(ds)},
                                          {"diagnostics", to_json(ds)}});
  } else {
    print_diagnostics(ds);
    if (!has_errors(ds)) std::printf("%s: valid%s\n", file.c_str(), engine.empty() ? "" : (" for " + engine).c_str());
  }
  return has_errors(ds) ? 2 : 0;
}

int cmd_plan(const Globals& g, const std::string& file, const std::string& engine, const std::string& format,
             const std::string& accel) {
  if (format == "argv" && engine != "qemu") {
    spdlog::error("--format argv is the QEMU command line; use it with --engine qemu");
    return 2;
  }
  if (format == "swift" && engine != "vz") {
    spdlog::error("--format swift builds a VZVirtualMachineConfiguration; use it with --engine vz");
    return 2;
  }
  auto host = load_plugins(g);
  Diagnostics ds;
  auto spec = checked_spec(host, file, engine, ds);
  if (!spec) {
    print_diagnostics(ds);
    return 2;
  }
  print_diagnostics(ds);  // warnings only
  Plan plan;
  try {
    AssembleOptions o;
    o.engine = engine;
    o.accel = accel;
    plan = assemble(*spec, host, o);
  } catch (const AssembleError& e) {
    print_diagnostics(e.diagnostics);
    return 1;
  }
  if (format == "json") {
    std::cout << pretty_json(plan.model);
  } else if (format == "argv") {
    // Runnable as printed: headless, as `vzkit run` is by default (it adds its QMP sockets too).
    auto argv = qemu::to_argv(json::value_to<qemu::Machine>(plan.model));
    argv.insert(argv.end(), {"-display", "none"});
    std::cout << shell_join(argv) << "\n";
  } else {
    std::cout << to_swift(json::value_to<vz::Configuration>(plan.model), spec->name);
  }
  return 0;
}

int cmd_rosetta_setup(const Globals& g, const std::string& tag, const std::string& mount_point) {
  auto host = load_plugins(g);
  const auto* p = host.find("rosetta");
  if (!p) {
    spdlog::error("the rosetta plugin is not loaded; `vzkit plugins` lists what is");
    return 1;
  }
  auto text = p->describe(json::object{{"topic", "guest-setup"}, {"tag", tag}, {"mount_point", mount_point}});
  if (!text || text->empty()) {
    spdlog::error("the rosetta plugin at {} does not describe its guest setup", p->file().string());
    return 1;
  }
  std::cout << *text;
  return 0;
}

}  // namespace vzkit::app
