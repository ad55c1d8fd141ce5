// vzkit-plan: the planning step on its own, for Macs where the vzkit CLI does not build yet.
//
//   vzkit-plan SPEC > plan.json      then      vzkit-window plan.json
//
// Loads the plugins (from --plugin-path, VZKIT_PLUGIN_PATH, beside the binary, ~/.vzkit/plugins),
// validates SPEC for the vz engine and prints the vz plan as JSON. It needs no entitlement and is
// not signed with one: third-party plugin code runs here, never in the process that calls VZ.
#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/plugin_host.hpp>
#include <vzkit/kernel/spec.hpp>
#include <vzkit/kernel/validate.hpp>

#include <boost/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

int main(int argc, char** argv) {
  namespace k = vzkit::kernel;
  std::string spec_file;
  k::SearchOptions search;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--plugin-path" && i + 1 < argc) {
      search.plugin_paths.emplace_back(argv[++i]);
    } else if (arg == "-h" || arg == "--help") {
      std::printf("usage: vzkit-plan SPEC [--plugin-path PATH]...\n");
      return 0;
    } else if (spec_file.empty()) {
      spec_file = arg;
    } else {
      std::fprintf(stderr, "vzkit-plan: unexpected argument '%s'\n", arg.c_str());
      return 2;
    }
  }
  if (spec_file.empty()) {
    std::fprintf(stderr, "usage: vzkit-plan SPEC [--plugin-path PATH]...\n");
    return 2;
  }
  std::ifstream in(spec_file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "vzkit-plan: cannot read '%s'\n", spec_file.c_str());
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();

  k::PluginHost plugins;
  plugins.load(k::plugin_search_path(search));
  const auto dir = std::filesystem::absolute(spec_file).parent_path();
  auto parsed = k::parse_spec(text.str(), spec_file, dir);
  if (!parsed.spec) {
    std::cerr << k::format(parsed.diagnostics);
    return 2;
  }
  k::ValidateOptions validate_options;
  validate_options.engine = "vz";
  auto diagnostics = k::validate(*parsed.spec, plugins, validate_options);
  if (k::has_errors(diagnostics)) {
    std::cerr << k::format(diagnostics);
    return 2;
  }
  k::AssembleOptions assemble_options;
  assemble_options.engine = "vz";
  try {
    std::cout << boost::json::serialize(k::assemble(*parsed.spec, plugins, assemble_options).model) << "\n";
  } catch (const k::AssembleError& e) {
    std::cerr << k::format(e.diagnostics);
    return 2;
  }
  return 0;
}
