#include <vzkit/bridge/qemu/supervisor.hpp>
#include <vzkit/kernel/bundle.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <system_error>

namespace vzkit::bridge::qemu {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;

json::object read_state(const fs::path& run_dir) {
  std::ifstream in(run_dir / "state.json");
  if (!in) return {};
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    auto v = json::parse(ss.str());
    if (v.is_object()) return v.get_object();
  } catch (const std::exception&) {
  }
  return {};
}

int supervise(const vzkit::qemu::Machine& plan, const SuperviseOptions& options) {
  asio::io_context io;
  QemuMachine machine(io, plan, options.run);
  const RunFiles files(options.run.run_dir);
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  asio::steady_timer grace(io);
  bool started = false;
  bool failed = false;
  int stop_requests = 0;

  auto record = [&](MachineState s, const std::string& message) {
    json::object st = options.facts;
    st["state"] = to_string(s);
    st["supervisor_pid"] = ::getpid();
    st["qemu_pid"] = machine.qemu_pid();
    st["since"] = static_cast<std::int64_t>(std::time(nullptr));
    st["console_log"] = files.console_log().string();
    if (!message.empty()) st["message"] = message;
    try {
      kernel::write_atomic(files.dir / "state.json", json::serialize(st));
    } catch (const std::exception&) {
    }
  };

  auto orderly_stop = [&] {
    ++stop_requests;
    if (stop_requests == 1 && machine.can_request_stop()) {
      if (options.report) std::cerr << "vzkit: asking the guest to power off (again to stop it at once)\n";
      machine.request_stop([&](const std::string& err) {
        if (!err.empty()) machine.stop([](const std::string&) {});
      });
      grace.expires_after(options.stop_grace);
      grace.async_wait([&](const boost::system::error_code& ec) {
        if (ec) return;
        if (options.report) std::cerr << "vzkit: the guest did not power off in time; stopping it\n";
        machine.stop([](const std::string&) {});
      });
    } else {
      machine.stop([](const std::string&) {});
    }
  };

  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      orderly_stop();
      wait_signal();
    });
  };
  wait_signal();

  machine.set_event_handler([&](const MachineEvent& e) {
    switch (e.kind) {
      case MachineEvent::Kind::state_changed:
        record(e.state, e.message);
        if (options.report && (e.state == MachineState::running || e.state == MachineState::paused ||
                               e.state == MachineState::stopped))
          std::cerr << "vzkit: " << to_string(e.state) << "\n";
        if (started && (e.state == MachineState::stopped || e.state == MachineState::error)) {
          failed = e.state == MachineState::error;
          grace.cancel();
          signals.cancel();
          io.stop();
        }
        break;
      case MachineEvent::Kind::guest_shutdown:
        if (options.report) std::cerr << "vzkit: the guest powered off\n";
        break;
      case MachineEvent::Kind::error:
        std::cerr << "vzkit: error: " << e.message << "\n";
        break;
    }
  });

  started = true;
  machine.start([&](const std::string& err) {
    if (!err.empty()) failed = true;
  });
  io.run();
  return failed ? 1 : 0;
}

}  // namespace vzkit::bridge::qemu
