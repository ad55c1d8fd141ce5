#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/guest_clock.hpp>
#include <vzkit/kernel/saved_state.hpp>
#include <vzkit/kernel/state_commands.hpp>
#include <vzkit/kernel/supervisor.hpp>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <unistd.h>

#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace vzkit::kernel {

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

void record_failure(const fs::path& run_dir, json::object facts, const std::string& message) {
  facts["state"] = "error";
  facts["supervisor_pid"] = ::getpid();
  facts["since"] = static_cast<std::int64_t>(std::time(nullptr));
  facts["message"] = message;
  try {
    write_atomic(run_dir / "state.json", json::serialize(facts));
  } catch (const std::exception&) {
    // Nothing more to say where nothing can be written; the exit status still tells.
  }
}

int supervise(asio::io_context& io, Machine& machine, const SuperviseOptions& options) {
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  asio::steady_timer grace(io);
  bool started = false;
  bool failed = false;
  int stop_requests = 0;
  std::string reported_error;  // said once, not again when the start fails with it
  // Completions may arrive on the engine's own thread: bring them to this one.
  auto here = [&io](std::function<void(const std::string&)> fn) {
    return [&io, fn = std::move(fn)](const std::string& err) { asio::post(io, [fn, err] { fn(err); }); };
  };
  auto ignore = [](const std::string&) {};

  auto record = [&](MachineState s, const std::string& message) {
    json::object st = options.facts;
    st["state"] = to_string(s);
    st["supervisor_pid"] = ::getpid();
    if (options.more_facts) options.more_facts(st);
    st["since"] = static_cast<std::int64_t>(std::time(nullptr));
    if (!message.empty()) st["message"] = message;
    try {
      write_atomic(options.run_dir / "state.json", json::serialize(st));
    } catch (const std::exception&) {
      // A full disk must not stop the VM; `vzkit list` then shows an older state.
    }
  };

  auto orderly_stop = [&] {
    ++stop_requests;
    if (stop_requests == 1 && machine.can_request_stop()) {
      if (options.report) std::cerr << "vzkit: asking the guest to power off (again to stop it at once)\n";
      machine.request_stop(here([&](const std::string& err) {
        if (!err.empty()) machine.stop(ignore);
      }));
      grace.expires_after(options.stop_grace);
      grace.async_wait([&](const boost::system::error_code& ec) {
        if (ec) return;
        if (options.report) std::cerr << "vzkit: the guest did not power off in time; stopping it\n";
        machine.stop(ignore);
      });
    } else {
      machine.stop(ignore);
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

  auto on_event = [&](const MachineEvent& e) {
    switch (e.kind) {
      case MachineEvent::Kind::state_changed:
        record(e.state, e.message);
        if (options.report && (e.state == MachineState::running || e.state == MachineState::paused ||
                               e.state == MachineState::stopped))
          std::cerr << "vzkit: " << to_string(e.state) << "\n";
        if (started && (e.state == MachineState::stopped || e.state == MachineState::error)) {
          failed = failed || e.state == MachineState::error;
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
        reported_error = e.message;
        break;
    }
  };
  machine.set_event_handler([&](const MachineEvent& e) { asio::post(io, [&on_event, e] { on_event(e); }); });

  // A resumed guest runs on from its state, which no longer fits its disks: the state goes. Its
  // clock is set from the host's when it has a guest agent (else it lags by the time it was saved).
  auto resumed = [&] {
    std::error_code ec;
    fs::remove_all(options.restore_from, ec);
    if (options.report) std::cerr << "vzkit: resumed from the saved state\n";
    const fs::path agent = options.run_dir / "qga.sock";
    if (fs::exists(agent, ec))
      std::thread([agent, report = options.report] {
        const std::string why = set_guest_clock(agent);
        if (report && !why.empty()) std::cerr << "vzkit: warning: the guest's clock was not set: " << why << "\n";
      }).detach();
    if (options.on_restored) options.on_restored();
  };
  started = true;
  auto on_start = here([&](const std::string& err) {
    if (err.empty()) {
      if (!options.restore_from.empty()) resumed();
      return;
    }
    failed = true;
    if (err != reported_error) std::cerr << "vzkit: error: the machine did not start: " << err << "\n";
    // A start that fails without leaving the stopped state ends the run here.
    if (machine.state() == MachineState::stopped || machine.state() == MachineState::error) {
      record(MachineState::error, err);
      grace.cancel();
      signals.cancel();
      io.stop();
    }
  });
  if (options.restore_from.empty()) machine.start(on_start);
  else machine.restore_state((options.restore_from / kStateFile).string(), on_start);
  io.run();
  // Completions posted just before the loop stopped (a failed start reported after its state
  // change) still count.
  io.restart();
  io.poll();
  machine.set_event_handler(nullptr);
  return failed ? 1 : 0;
}

// ---- the control socket ----------------------------------------------------------------------

using local = asio::local::stream_protocol;

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
  Impl(asio::io_context& io, const fs::path& path, Machine& m) : io(io), acceptor(io), path(path), machine(m) {}

  struct Connection : std::enable_shared_from_this<Connection> {
    explicit Connection(std::shared_ptr<Impl> owner, local::socket s) : owner(std::move(owner)), socket(std::move(s)) {}
    std::shared_ptr<Impl> owner;
    local::socket socket;
    asio::streambuf in;
    std::deque<std::string> out;

    void send(const json::value& v) {
      out.push_back(json::serialize(v) + "\n");
      if (out.size() == 1) write_next();
    }
    void write_next() {
      asio::async_write(socket, asio::buffer(out.front()), [self = shared_from_this()](auto ec, std::size_t) {
        if (ec) return;
        self->out.pop_front();
        if (!self->out.empty()) self->write_next();
      });
    }
    void read() {
      asio::async_read_until(socket, in, '\n', [self = shared_from_this()](auto ec, std::size_t) {
        if (ec) return;
        std::istream is(&self->in);
        std::string line;
        std::getline(is, line);
        self->handle(line);
        self->read();
      });
    }
    static json::object arguments(const json::value& v) {
      const auto* a = v.get_object().if_contains("arguments");
      return a && a->is_object() ? a->get_object() : json::object{};
    }
    void handle(const std::string& line) {
      json::value v;
      try {
        v = json::parse(line);
      } catch (const std::exception&) {
        send(json::object{{"error", json::object{{"class", "GenericError"}, {"desc", "not a JSON object"}}}});
        return;
      }
      if (!v.is_object() || !v.get_object().contains("execute") || !v.at("execute").is_string()) {
        send(json::object{{"error", json::object{{"class", "GenericError"}, {"desc", "expected {\"execute\": ...}"}}}});
        return;
      }
      const std::string command(v.at("execute").as_string());
      const json::value id = v.get_object().contains("id") ? v.at("id") : json::value();
      auto reply = [self = shared_from_this(), id](const std::string& error, json::value result) {
        json::object r;
        if (error.empty()) r["return"] = std::move(result);
        else r["error"] = json::object{{"class", "GenericError"}, {"desc", error}};
        if (!id.is_null()) r["id"] = id;
        self->send(r);
      };
      // A completion may arrive on the engine's thread; the reply is written from this one.
      auto done = [reply, &io = owner->io](const std::string& err) {
        asio::post(io, [reply, err] { reply(err, json::object{}); });
      };
      Machine& m = owner->machine;
      if (command == "qmp_capabilities") reply("", json::object{});
      else if (command == "query-status")
        reply("", json::object{{"status", to_string(m.state())}, {"running", m.state() == MachineState::running}});
      else if (command == "system_powerdown") m.request_stop(done);
      else if (command == "quit") m.stop(done);
      else if (command == "stop") m.pause(done);
      else if (command == "cont") m.resume(done);
      else if (handle_state_command(owner->io, m, command, arguments(v), reply,
                                    [self = shared_from_this()](json::object e) { self->send(e); })) {
      } else reply("'" + command + "' is not available for this engine", nullptr);
    }
  };

  void listen() {
    std::error_code ec;
    fs::remove(path, ec);  // left by an earlier run; the bundle's lock is ours
    acceptor.open();
    acceptor.bind(local::endpoint(path.string()));
    acceptor.listen();
    accept();
  }
  void accept() {
    acceptor.async_accept([self = shared_from_this()](auto ec, local::socket s) {
      if (ec) return;
      auto c = std::make_shared<Connection>(self, std::move(s));
      c->send(json::object{{"QMP", json::object{{"version", json::object{{"vzkit", 1}}}, {"capabilities", json::array{}}}}});
      c->read();
      self->accept();
    });
  }

  asio::io_context& io;
  local::acceptor acceptor;
  fs::path path;
  Machine& machine;
};

ControlServer::ControlServer(asio::io_context& io, const fs::path& socket_path, Machine& machine)
    : m_impl(std::make_shared<Impl>(io, socket_path, machine)) {
  m_impl->listen();
}

ControlServer::~ControlServer() {
  boost::system::error_code ec;
  m_impl->acceptor.close(ec);
  std::error_code fec;
  fs::remove(m_impl->path, fec);
}

}  // namespace vzkit::kernel
