// The supervising process of a VM run by Virtualization.framework. Plain C++ over VzMachine: VZ
// has no monitor socket of its own, so the kernel's ControlServer answers run/ctl.sock.
#include <vzkit/bridge/vz/vz_bridge.hpp>
#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/supervisor.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>
#include <sstream>

namespace vzkit::bridge::vz {

std::optional<vzkit::vz::Configuration> read_plan(const std::string& file, std::string& error) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = "cannot read '" + file + "'";
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    return boost::json::value_to<vzkit::vz::Configuration>(boost::json::parse(text.str()));
  } catch (const std::exception& e) {
    error = file + ": not a vz plan: " + e.what();
    return std::nullopt;
  }
}

int supervise(const vzkit::vz::Configuration& plan, const SuperviseOptions& options) {
  namespace json = boost::json;
  const auto console_log = options.run_dir / "console.log";
  BuildOptions build = options.build;
  int owned_in = -1, owned_out = -1;
  if (!options.console_from_stdin) build.console_input_fd = owned_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (!options.console_to_stdout) {
    owned_out = ::open(console_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (owned_out < 0) {
      const std::string why = "cannot write " + console_log.string() + ": " + std::strerror(errno);
      std::cerr << "vzkit: error: " << why << "\n";
      kernel::record_failure(options.run_dir, options.facts, why);
      return 1;
    }
    build.console_output_fd = owned_out;
  }
  struct Closer {
    int a, b;
    ~Closer() {
      if (a >= 0) ::close(a);
      if (b >= 0) ::close(b);
    }
  } closer{owned_in, owned_out};

  // Declared before the machine, so it outlives completions the machine's queue may still post.
  boost::asio::io_context io;
  kernel::Diagnostics problems;
  auto machine = VzMachine::create(plan, build, problems);
  if (!machine) {
    std::cerr << kernel::format(problems);
    kernel::record_failure(options.run_dir, options.facts,
                           problems.empty() ? "VZ refused the configuration" : problems.front().message);
    return 1;
  }
  std::optional<kernel::ControlServer> control;
  try {
    control.emplace(io, options.run_dir / "ctl.sock", *machine);
  } catch (const std::exception& e) {
    // e.g. a socket path longer than the system allows (104 bytes on macOS)
    const std::string why = "cannot serve " + (options.run_dir / "ctl.sock").string() + ": " + e.what();
    std::cerr << "vzkit: error: " << why << "\n";
    kernel::record_failure(options.run_dir, options.facts, why);
    return 1;
  }
  // The plan's socket forwards (the guest agent's run/qga.sock): clients reach the guest's vsock ports.
  std::vector<std::unique_ptr<SocketForwarder>> forwards;
  for (const auto& f : plan.socket_forwards) {
    try {
      forwards.push_back(std::make_unique<SocketForwarder>(io, *machine, f));
    } catch (const std::exception& e) {
      const std::string why = e.what() + std::string(f.origin ? " (" + f.origin->plugin + " at " + f.origin->path + ")" : "");
      std::cerr << "vzkit: error: " << why << "\n";
      kernel::record_failure(options.run_dir, options.facts, why);
      return 1;
    }
  }
  kernel::SuperviseOptions o;
  o.run_dir = options.run_dir;
  o.stop_grace = options.stop_grace;
  o.report = options.report;
  o.facts = options.facts;
  o.facts["console_log"] = options.console_to_stdout ? json::value(nullptr) : json::value(console_log.string());
  o.restore_from = options.restore_from;
  return kernel::supervise(io, *machine, o);
}

}  // namespace vzkit::bridge::vz
