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
#include <iostream>

namespace vzkit::bridge::vz {

int supervise(const vzkit::vz::Configuration& plan, const SuperviseOptions& options) {
  namespace json = boost::json;
  const auto console_log = options.run_dir / "console.log";
  BuildOptions build = options.build;
  int owned_in = -1, owned_out = -1;
  if (!options.console_from_stdin) build.console_input_fd = owned_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (!options.console_to_stdout) {
    owned_out = ::open(console_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (owned_out < 0) {
      std::cerr << "vzkit: error: cannot write " << console_log << ": " << std::strerror(errno) << "\n";
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

  kernel::Diagnostics problems;
  auto machine = VzMachine::create(plan, build, problems);
  if (!machine) {
    std::cerr << kernel::format(problems);
    json::object st = options.facts;
    st["state"] = "error";
    st["supervisor_pid"] = ::getpid();
    st["since"] = static_cast<std::int64_t>(std::time(nullptr));
    st["message"] = problems.empty() ? "VZ refused the configuration" : problems.front().message;
    try {
      kernel::write_atomic(options.run_dir / "state.json", json::serialize(st));
    } catch (const std::exception&) {
    }
    return 1;
  }
  boost::asio::io_context io;
  kernel::ControlServer control(io, options.run_dir / "ctl.sock", *machine);
  kernel::SuperviseOptions o;
  o.run_dir = options.run_dir;
  o.stop_grace = options.stop_grace;
  o.report = options.report;
  o.facts = options.facts;
  o.facts["console_log"] = options.console_to_stdout ? json::value(nullptr) : json::value(console_log.string());
  return kernel::supervise(io, *machine, o);
}

}  // namespace vzkit::bridge::vz
