// The vzkit command's subcommands. Each returns the process exit status:
// 0 success, 1 failure of the operation, 2 invalid input (diagnostics printed).
#pragma once

#include <vzkit/kernel/plugin_host.hpp>

#include <optional>
#include <string>
#include <vector>

namespace vzkit::app {

struct Globals {
  std::vector<std::string> plugin_paths;
  bool no_default_plugins = false;  ///< only --plugin-path (tests, plugin authors)
  int verbosity = 0;
};

/// Loads plugins along the search path; load errors are logged as warnings.
kernel::PluginHost load_plugins(const Globals& g, bool quiet_errors = false);

int cmd_plugins(const Globals& g, bool json);
int cmd_schema(const Globals& g, const std::optional<std::string>& plugin);
int cmd_validate(const Globals& g, const std::string& spec, const std::string& engine, bool json);
int cmd_plan(const Globals& g, const std::string& spec, const std::string& engine, const std::string& format,
             const std::string& accel);
int cmd_rosetta_setup(const Globals& g, const std::string& tag, const std::string& mount_point);

}  // namespace vzkit::app
