#include "commands.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

namespace vzkit::app {

namespace json = boost::json;

host::Host load_plugins(const Globals& g, bool quiet) {
  host::Options o;
  o.plugin_paths = g.plugin_paths;
  o.default_plugins = !g.no_default_plugins;
  host::Host h(o);
  if (!quiet) {
    for (const auto& e : h.load_problems()) spdlog::warn("plugin {} not loaded: {}", e.file, e.reason);
    if (h.plugins().empty())
      spdlog::warn("no plugins were found; add a folder with --plugin-path or set VZKIT_PLUGIN_PATH");
  }
  return h;
}

namespace {
// Strings from outside (file names from argv) may not be UTF-8; JSON output must be.
json::value utf8_only(const json::value& v) {
  if (v.is_string()) return json::string(host::valid_utf8(std::string(v.get_string())));
  if (v.is_array()) {
    json::array a;
    for (const auto& e : v.get_array()) a.push_back(utf8_only(e));
    return a;
  }
  if (v.is_object()) {
    json::object o;
    for (const auto& kv : v.get_object()) o[host::valid_utf8(std::string(kv.key()))] = utf8_only(kv.value());
    return o;
  }
  return v;
}
}  // namespace

void print_json(const json::value& v) { std::cout << host::pretty_json(json::serialize(utf8_only(v))); }

int reported(const std::function<int()>& fn) {
  try {
    return fn();
  } catch (const host::PlanError& e) {
    print_diagnostics(e.diagnostics);
    return e.invalid_input ? 2 : 1;
  } catch (const host::InputError& e) {
    spdlog::error("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}

int cmd_plugins(const Globals& g, bool as_json) {
  auto h = load_plugins(g, as_json);
  if (as_json) {
    json::array plugins, errors;
    for (const auto& p : h.plugins()) {
      json::object o{{"name", p.name},       {"version", p.version}, {"summary", p.summary},
                     {"engines", json::value_from(p.engines)},      {"slots", json::value_from(p.slots)},
                     {"file", p.file},       {"origin", p.origin},   {"abi", p.abi},
                     {"save_restore", p.save_restore},
                     {"save_restore_engines", json::value_from(p.save_restore_engines)}};
      if (!p.min_macos.empty()) o["min_macos"] = p.min_macos;
      plugins.push_back(std::move(o));
    }
    for (const auto& e : h.load_problems()) errors.push_back({{"file", e.file}, {"reason", e.reason}});
    print_json(json::object{{"plugins", plugins}, {"errors", errors}});
    return 0;
  }
  std::size_t w = 4;
  for (const auto& p : h.plugins()) w = std::max(w, p.name.size());
  std::printf("%-*s  %-8s  %-9s  %s\n", static_cast<int>(w), "NAME", "VERSION", "ENGINES", "SUMMARY");
  for (const auto& p : h.plugins()) {
    std::string engines;
    for (const auto& e : p.engines) engines += (engines.empty() ? "" : ",") + e;
    std::printf("%-*s  %-8s  %-9s  %s\n", static_cast<int>(w), p.name.c_str(), p.version.c_str(), engines.c_str(),
                p.summary.c_str());
    std::printf("%-*s  from %s (%s)\n", static_cast<int>(w), "", p.file.c_str(), p.origin.c_str());
  }
  return 0;
}

int cmd_plugin_check(const std::vector<std::string>& files, bool as_json) {
  bool all_passed = true;
  json::array reports;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto r = host::Host::check_plugin(files[i]);
    all_passed = all_passed && r.passed();
    if (as_json) reports.push_back(json::parse(r.json()));
    else std::cout << (i > 0 ? "\n" : "") << r.text();
  }
  if (as_json) print_json(files.size() == 1 ? reports.at(0) : json::value(reports));
  return all_passed ? 0 : 1;
}

int cmd_schema(const Globals& g, const std::optional<std::string>& plugin, bool markdown) {
  auto h = load_plugins(g);
  if (markdown) {
    if (plugin) {
      spdlog::error("--markdown prints the reference of every loaded plugin; leave out the plugin name");
      return 2;
    }
    std::cout << h.spec_reference();
    return 0;
  }
  if (!plugin) {
    std::cout << host::pretty_json(h.spec_schema());
    return 0;
  }
  const auto schema = h.plugin_schema(*plugin);
  if (!schema) {
    spdlog::error("no plugin named '{}' is loaded; `vzkit plugins` lists them", *plugin);
    return 2;
  }
  std::cout << host::pretty_json(*schema);
  return 0;
}

void print_diagnostics(const std::vector<host::Diagnostic>& ds) {
  // The first ones are enough to act on; thousands would bury them (--json has them all).
  constexpr std::size_t kShown = 100;
  const std::vector<host::Diagnostic> shown(ds.begin(), ds.begin() + static_cast<std::ptrdiff_t>(std::min(ds.size(), kShown)));
  const std::string text = host::format(shown);  // written with its length: it may hold a NUL
  std::fwrite(text.data(), 1, text.size(), stderr);
  if (ds.size() > kShown) std::fprintf(stderr, "... and %zu more (--json lists every one)\n", ds.size() - kShown);
  std::size_t errors = 0, warnings = 0;
  for (const auto& d : ds) (d.error ? errors : warnings)++;
  if (errors || warnings)
    std::fprintf(stderr, "%zu error%s, %zu warning%s\n", errors, errors == 1 ? "" : "s", warnings,
                 warnings == 1 ? "" : "s");
}

int cmd_validate(const Globals& g, const std::string& file, const std::string& engine, bool as_json) {
  auto h = load_plugins(g, as_json);
  const auto v = h.validate_file(file, engine);
  if (as_json) {
    print_json(json::object{{"file", file},
                            {"engine", v.engine.empty() ? json::value() : json::value(v.engine)},
                            {"valid", v.valid},
                            {"diagnostics", json::parse(host::to_json(v.diagnostics))}});
  } else {
    print_diagnostics(v.diagnostics);
    if (v.valid) std::printf("%s: valid%s\n", file.c_str(), v.engine.empty() ? "" : (" for " + v.engine).c_str());
  }
  return v.valid ? 0 : 2;
}

int cmd_plan(const Globals& g, const std::string& file, const std::string& engine, const std::string& format,
             const std::string& accel) {
  // Without --engine, --format argv means qemu and swift vz; json, the VM's own or the default engine.
  const std::string wanted = !engine.empty() ? engine : format == "argv" ? "qemu" : format == "swift" ? "vz" : "";
  if (format == "argv" && wanted != "qemu") {
    spdlog::error("--format argv is the QEMU command line; use it with --engine qemu");
    return 2;
  }
  if (format == "swift" && wanted != "vz") {
    spdlog::error("--format swift builds a VZVirtualMachineConfiguration; use it with --engine vz");
    return 2;
  }
  auto h = load_plugins(g);
  host::PlanOptions o;
  o.engine = wanted;
  o.accel = accel;
  o.files_may_be_missing = true;
  host::Plan plan;
  if (const int rc = reported([&] {
        plan = h.plan_file(file, o);
        return 0;
      }))
    return rc;
  print_diagnostics(plan.warnings);
  if (format == "json") {
    std::cout << plan.model_json;
  } else if (format == "argv") {
    // Runnable as printed: headless, as `vzkit run` is by default (it adds its QMP sockets too).
    auto argv = plan.qemu_argv;
    argv.insert(argv.end(), {"-display", "none"});
    std::cout << host::shell_join(argv) << "\n";
  } else {
    std::cout << plan.swift;
  }
  return 0;
}

int cmd_rosetta_setup(const Globals& g, const std::string& tag, const std::string& mount_point) {
  auto h = load_plugins(g);
  const auto text = h.describe(
      "rosetta", json::serialize(json::object{{"topic", "guest-setup"}, {"tag", tag}, {"mount_point", mount_point}}));
  if (!text) {
    spdlog::error("no loaded plugin named 'rosetta' describes its guest setup; `vzkit plugins` lists what is loaded");
    return 1;
  }
  std::cout << *text;
  return 0;
}

int cmd_rosetta_status(bool as_json) {
  const auto facts = host::vz_host_facts();
  if (!facts) {
    if (as_json) print_json(json::object{{"rosetta", "not-supported"}, {"engine", nullptr}});
    else std::printf("not-supported: Rosetta for Linux guests runs on a Mac with Apple silicon (the vz engine)\n");
    return 0;
  }
  if (as_json) {
    std::cout << host::pretty_json(*facts);
    return 0;
  }
  const auto v = json::parse(*facts);
  const auto* r = v.as_object().if_contains("rosetta");
  const std::string state = r && r->is_string() ? std::string(r->get_string()) : "unknown";
  std::printf("%s\n", state.c_str());
  if (state == "not-installed") std::printf("install it with: vzkit rosetta install\n");
  return 0;
}

int cmd_rosetta_install() {
  return reported([] {
    host::install_rosetta();
    std::printf("Rosetta for Linux guests is installed\n");
    return 0;
  });
}

}  // namespace vzkit::app
