// The vzkit command's subcommands, on the host API (<vzkit/host.hpp>) alone. Each returns the
// process exit status: 0 success, 1 failure of the operation, 2 invalid input (every problem
// printed).
#pragma once

#include <vzkit/host.hpp>

#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace vzkit::app {

struct Globals {
  std::vector<std::string> plugin_paths;
  bool no_default_plugins = false;  ///< only --plugin-path (tests, plugin authors)
  int verbosity = 0;
};

/// clone, set, convert (disk_commands.cpp): added to `app`; parsing the one given sets `command`,
/// which runs it and returns its exit status.
void add_disk_commands(CLI::App& app, const Globals& g, std::function<int()>& command);
/// pull, push, images, prune, login, logout (image_commands.cpp), the same way.
void add_image_commands(CLI::App& app, const Globals& g, std::function<int()>& command);
/// `vzkit clone REF NEW`: a VM made from an image (pulled first when the store lacks it).
int clone_image(const std::string& ref, const std::string& name, bool insecure, const std::string& platform,
                bool as_json);

/// Prints diagnostics to stderr with a closing count.
void print_diagnostics(const std::vector<host::Diagnostic>& ds);

/// Prints JSON for scripts to stdout, indented.
void print_json(const boost::json::value& v);

/// Runs `fn`, turning the host API's errors into messages and exit statuses: PlanError prints
/// its diagnostics (2 for an invalid spec, 1 when assembly failed), InputError 2, others 1.
int reported(const std::function<int()>& fn);

/// Loads plugins along the search path; load problems are logged as warnings unless `quiet`.
host::Host load_plugins(const Globals& g, bool quiet = false);

int cmd_plugins(const Globals& g, bool json);
int cmd_plugin_check(const std::vector<std::string>& files, bool json);
int cmd_schema(const Globals& g, const std::optional<std::string>& plugin, bool markdown);
int cmd_validate(const Globals& g, const std::string& spec, const std::string& engine, bool json);
int cmd_plan(const Globals& g, const std::string& spec, const std::string& engine, const std::string& format,
             const std::string& accel);
int cmd_rosetta_setup(const Globals& g, const std::string& tag, const std::string& mount_point);
int cmd_rosetta_status(bool json);
int cmd_rosetta_install();

struct RunArgs {
  std::string target;          ///< VM name or spec file
  bool console = false;        ///< interactive: forward stdin to the guest console
  bool detach = false;         ///< run in the background
  bool gui = false;            ///< the engine's own window
  bool vnc = false;            ///< VNC on 127.0.0.1
  std::string accel = "auto";  ///< auto, kvm, tcg
  int stop_timeout = 10;       ///< seconds the guest gets to power off on Ctrl-C
  bool quiet = false;          ///< no state messages
  std::string engine;          ///< "" = the VM's own
  bool yes = false;            ///< install what the VM needs without asking
  bool recovery = false;       ///< vz, macOS guests: start up from macOS Recovery
  bool fresh = false;          ///< boot afresh, discarding a suspended state
};

struct CreateArgs {
  host::CreateOptions vm;
  bool json = false;
  std::vector<std::string> flags;  ///< the options given ("--cpus", "--disk", ...)
};

int cmd_create(const Globals& g, const CreateArgs& a);
int cmd_run(const Globals& g, const RunArgs& a);
int cmd_supervise(const std::vector<std::string>& args);
int cmd_stop(const std::string& name, bool force, int timeout);
int cmd_pause(const std::string& name, bool pause);
int cmd_list(bool json);
int cmd_inspect(const std::string& name, bool json);
int cmd_delete(const std::string& name);
int cmd_screenshot(const std::string& name, const std::string& file);
int cmd_logs(const std::string& name, int previous, bool follow);

/// ip, ssh, exec, cp, console (access_commands.cpp): added to `app`; parsing the one given sets
/// `command`, which runs it and returns its exit status.
void add_access_commands(CLI::App& app, std::function<int()>& command);
/// Adds `suspend` and `snapshot` (snapshot_commands.cpp); the one given sets `command`, which
/// main runs once logging is set up.
void add_snapshot_commands(CLI::App& app, const Globals& g, std::function<int()>& command);

}  // namespace vzkit::app
