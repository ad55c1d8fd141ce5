#include <vzkit/bridge/qemu/migration.hpp>
#include <vzkit/bridge/qemu/qemu_machine.hpp>
#include <vzkit/bridge/qemu/qmp_client.hpp>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include <signal.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>

namespace vzkit::bridge::qemu {

namespace asio = boost::asio;
namespace bp = boost::process;
namespace fs = std::filesystem;
namespace json = boost::json;
using vzkit::qemu::Backend;

namespace {

// Children die with the supervisor (even on SIGKILL; Linux only, other systems have no
// parent-death signal and rely on the supervisor's orderly stop) and live in their own process
// group, so a Ctrl-C at the terminal reaches only the supervisor, which then stops the guest.
struct DieWithParent : bp::extend::handler {
  template <class Executor>
  void on_exec_setup(Executor&) const {
#if defined(__linux__)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    ::setpgid(0, 0);
  }
};

std::string tail_of(const fs::path& file, std::size_t max_bytes = 600) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  in.seekg(static_cast<std::streamoff>(size > max_bytes ? size - max_bytes : 0));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::vector<Forward> parse_usernet(const std::string& text) {
  // "  TCP[HOST_FORWARD]   3       127.0.0.1 42793       10.0.2.15    22     0     0"
  std::vector<Forward> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string kind, fd, src, src_port, dst, dst_port;
    if (!(words >> kind >> fd >> src >> src_port >> dst >> dst_port)) continue;
    if (kind != "TCP[HOST_FORWARD]" && kind != "UDP[HOST_FORWARD]") continue;
    try {
      out.push_back({kind[0] == 'T' ? "tcp" : "udp", src, std::stoi(src_port), std::stoi(dst_port)});
    } catch (const std::exception&) {
    }
  }
  return out;
}

std::vector<std::string> runtime_argv(const vzkit::qemu::Machine& plan, const RunOptions& options) {
  vzkit::qemu::Machine m = plan;
  const RunFiles files(options.run_dir);
  int consoles = 0;
  for (auto& c : m.chardevs) {
    if (c.type != "stdio") continue;
    const std::string* id = vzkit::qemu::find_property(c.properties, "id");
    const fs::path sock = consoles == 0 ? files.console_socket() : files.dir / ("console-" + std::to_string(consoles) + ".sock");
    const fs::path log = consoles == 0 ? files.console_log() : files.dir / ("console-" + std::to_string(consoles) + ".log");
    ++consoles;
    c.type = "socket";
    c.properties = {{"id", id ? *id : "console"}, {"path", sock.string()}, {"server", "on"}, {"wait", "off"},
                    {"logfile", log.string()}, {"logappend", "on"}};
  }
  auto argv = vzkit::qemu::to_argv(m);
  argv.insert(argv.end(), {"-S", "-name", options.name.empty() ? "vzkit" : options.name});
  argv.insert(argv.end(), {"-qmp", "unix:" + files.qmp().string() + ",server=on,wait=off"});
  argv.insert(argv.end(), {"-qmp", "unix:" + files.control().string() + ",server=on,wait=off"});
  if (options.display == "gtk") argv.insert(argv.end(), {"-display", "gtk"});
  else if (options.display == "vnc") argv.insert(argv.end(), {"-display", "none", "-vnc", "127.0.0.1:0,to=99"});
  else argv.insert(argv.end(), {"-display", "none"});
  if (options.incoming) argv.insert(argv.end(), {"-incoming", "defer"});
  return argv;
}

struct QemuMachine::Impl {
  Impl(QemuMachine& self, asio::io_context& io, vzkit::qemu::Machine plan, RunOptions options)
      : self(self), io(io), plan(std::move(plan)), options(std::move(options)), files(this->options.run_dir),
        qmp(io), kill_timer(io), wait_timer(io), console(io), stdin_fd(io) {}

  QemuMachine& self;
  asio::io_context& io;
  vzkit::qemu::Machine plan;
  RunOptions options;
  RunFiles files;
  QmpClient qmp;
  asio::steady_timer kill_timer;
  asio::steady_timer wait_timer;
  asio::local::stream_protocol::socket console;
  asio::posix::stream_descriptor stdin_fd;
  std::array<char, 4096> console_buf{};
  std::array<char, 1024> stdin_buf{};
  std::unique_ptr<bp::child> qemu;
  std::vector<std::unique_ptr<bp::child>> helpers;
  bool stop_requested = false;
  bool guest_shutdown = false;
  bool helper_failed = false;
  std::string failure;
  std::string restore_from;  // the state file a restore_state() start loads
  Completion pending_start, pending_pause, pending_resume;
  std::vector<Completion> pending_stop;

  bool starting_up() const {
    return self.m_state == MachineState::starting || self.m_state == MachineState::restoring;
  }
  void set_state(MachineState s, const std::string& message = {}) {
    if (self.m_state == s) return;
    self.m_state = s;
    emit({MachineEvent::Kind::state_changed, s, message});
  }
  void emit(const MachineEvent& e) {
    if (self.m_on_event) self.m_on_event(e);
  }
  static void finish(Completion& c, const std::string& err) {
    if (auto done = std::move(c)) {
      c = nullptr;
      done(err);
    }
  }

  // ---- start ----

  void start() {
    std::error_code ec;
    fs::create_directories(files.dir, ec);
    for (const auto& f : {files.qmp(), files.control(), files.console_socket()}) fs::remove(f, ec);
    helpers.clear();
    stop_requested = guest_shutdown = helper_failed = false;
    failure.clear();
    start_helper(0);
  }

  void start_helper(std::size_t i) {
    if (i == plan.helpers.size()) {
      start_qemu();
      return;
    }
    const auto& h = plan.helpers[i];
    std::error_code ec;
    if (h.socket) fs::remove(*h.socket, ec);
    const fs::path log = files.dir / (h.name + "-" + std::to_string(i) + ".log");
    std::vector<std::string> args(h.argv.begin() + 1, h.argv.end());
    try {
      helpers.push_back(std::make_unique<bp::child>(
          bp::exe = h.argv.at(0), bp::args = args, bp::std_in < bp::null, bp::std_out > log.string(),
          bp::std_err > log.string(), io, DieWithParent{},
          bp::on_exit([this, i, name = h.name, log](int code, const std::error_code&) { on_helper_exit(i, name, code, log); })));
    } catch (const std::exception& e) {
      fail_start("cannot start helper " + h.name + " (" + h.argv.at(0) + "): " + e.what());
      return;
    }
    if (!h.socket) {
      start_helper(i + 1);
      return;
    }
    wait_for_socket(i, *h.socket, std::chrono::steady_clock::now() + options.helper_timeout);
  }

  void wait_for_socket(std::size_t i, const std::string& socket, std::chrono::steady_clock::time_point deadline) {
    std::error_code ec;
    if (fs::exists(socket, ec)) {
      start_helper(i + 1);
      return;
    }
    if (!starting_up()) return;  // the helper already failed
    if (std::chrono::steady_clock::now() > deadline) {
      fail_start("helper " + plan.helpers[i].name + " did not create its socket " + socket + " in time");
      return;
    }
    wait_timer.expires_after(std::chrono::milliseconds(2));
    wait_timer.async_wait([this, i, socket, deadline](const boost::system::error_code& e) {
      if (!e) wait_for_socket(i, socket, deadline);
    });
  }

  void start_qemu() {
    self.m_argv = runtime_argv(plan, options);
    std::vector<std::string> args(self.m_argv.begin() + 1, self.m_argv.end());
    try {
      qemu = std::make_unique<bp::child>(
          bp::search_path(self.m_argv[0]), bp::args = args, bp::std_in < bp::null, bp::std_out > files.qemu_log().string(),
          bp::std_err > files.qemu_log().string(), io, DieWithParent{},
          bp::on_exit([this](int code, const std::error_code&) { on_qemu_exit(code); }));
    } catch (const std::exception& e) {
      fail_start("cannot start " + self.m_argv[0] + ": " + e.what() + " (is QEMU installed?)");
      return;
    }
    qmp.set_event_handler([this](const json::object& e) { on_qmp_event(e); });
    qmp.connect(files.qmp().string(), std::chrono::seconds(30), [this](const std::string& err) {
      if (!err.empty()) {
        fail_start(err);
        return;
      }
      read_forwards();
    });
  }

  bool has_forwards() const {
    for (const auto& n : plan.netdevs)
      if (n.type == "user" && vzkit::qemu::find_property(n.properties, "hostfwd")) return true;
    return false;
  }

  // The host ports QEMU bound (a 0 in the plan is a free port it chose), before the CPUs start.
  void read_forwards() {
    if (!has_forwards()) {
      restore_or_console();
      return;
    }
    qmp.execute("human-monitor-command", {{"command-line", "info usernet"}},
                [this](const std::string& err, const json::value& r) {
                  if (err.empty() && r.is_string()) self.m_forwards = parse_usernet(std::string(r.get_string()));
                  restore_or_console();
                });
  }
  // A resumed VM takes its state from the file before its CPUs start; then the console.
  void restore_or_console() {
    if (restore_from.empty()) {
      connect_console(std::chrono::steady_clock::now() + std::chrono::seconds(5));
      return;
    }
    migrate_from_file(io, qmp, restore_from, [this](const std::string& e) {
      if (!e.empty()) return fail_start(e);
      connect_console(std::chrono::steady_clock::now() + std::chrono::seconds(5));
    });
  }


  bool has_console() const {
    for (const auto& c : plan.chardevs)
      if (c.type == "stdio") return true;
    return false;
  }

  // The console socket is connected before the CPUs start (-S), so the relay misses nothing.
  void connect_console(std::chrono::steady_clock::time_point deadline) {
    if (!options.console_to_stdout || !has_console()) {
      run_cpus();
      return;
    }
    boost::system::error_code ec;
    if (console.is_open()) console.close(ec);
    console.connect(asio::local::stream_protocol::endpoint(files.console_socket().string()), ec);
    if (ec) {
      if (std::chrono::steady_clock::now() > deadline) {
        fail_start("cannot connect to the console socket: " + ec.message());
        return;
      }
      wait_timer.expires_after(std::chrono::milliseconds(5));
      wait_timer.async_wait([this, deadline](const boost::system::error_code& e) {
        if (!e) connect_console(deadline);
      });
      return;
    }
    relay_console();
    if (options.console_from_stdin) relay_stdin();
    run_cpus();
  }

  void relay_console() {
    console.async_read_some(asio::buffer(console_buf), [this](const boost::system::error_code& ec, std::size_t n) {
      if (ec) return;
      if (options.console_output) {
        options.console_output(console_buf.data(), n);
        relay_console();
        return;
      }
      std::size_t off = 0;
      while (off < n) {
        ssize_t w = ::write(STDOUT_FILENO, console_buf.data() + off, n - off);
        if (w <= 0) break;
        off += static_cast<std::size_t>(w);
      }
      relay_console();
    });
  }

  void relay_stdin() {
    boost::system::error_code ec;
    if (!stdin_fd.is_open()) stdin_fd.assign(::dup(STDIN_FILENO), ec);
    if (ec) return;
    stdin_fd.async_read_some(asio::buffer(stdin_buf), [this](const boost::system::error_code& e, std::size_t n) {
      if (e) return;
      boost::system::error_code we;
      asio::write(console, asio::buffer(stdin_buf.data(), n), we);
      if (!we) relay_stdin();
    });
  }

  void run_cpus() {
    qmp.execute("cont", {}, [this](const std::string& err, const json::value&) {
      if (!err.empty()) {
        fail_start("cannot start the CPUs: " + err);
        return;
      }
      set_state(MachineState::running);
      finish(pending_start, "");
    });
  }

  // A start failure told from QEMU's own output when it printed an error (a port in use, a locked
  // disk), rather than as what it did to the QMP connection ("Connection reset by peer").
  std::string explained(const std::string& why) const {
    std::ifstream in(files.qemu_log(), std::ios::binary);
    std::string output(64 * 1024, '\0');
    in.read(output.data(), static_cast<std::streamsize>(output.size()));
    output.resize(static_cast<std::size_t>(in.gcount()));
    const auto f = explain_start_failure(plan, output);
    return f ? describe(*f, files.qemu_log().string(), options.spec_path_of) : why;
  }

  void fail_start(const std::string& why_given) {
    const std::string why = qemu ? explained(why_given) : why_given;
    failure = why;
    force_quit();
    if (!qemu || !qemu->running()) {
      stop_helpers();
      set_state(MachineState::error, why);
      emit({MachineEvent::Kind::error, MachineState::error, why});
      finish(pending_start, why);
    }
    // else: on_qemu_exit reports it once QEMU is gone.
  }

  // ---- events ----

  void on_qmp_event(const json::object& e) {
    const auto* name = e.if_contains("event");
    if (!name || !name->is_string()) return;
    const std::string event(name->get_string());
    if (event == "STOP") {
      if (self.m_state == MachineState::running || self.m_state == MachineState::pausing) {
        set_state(MachineState::paused);
        finish(pending_pause, "");
      }
    } else if (event == "RESUME") {
      if (self.m_state == MachineState::paused || self.m_state == MachineState::resuming) {
        set_state(MachineState::running);
        finish(pending_resume, "");
      }
    } else if (event == "SHUTDOWN") {
      bool by_guest = false;
      if (const auto* d = e.if_contains("data"); d && d->is_object())
        if (const auto* g = d->get_object().if_contains("guest"); g && g->is_bool()) by_guest = g->get_bool();
      if (!by_guest) stop_requested = true;  // quit or a signal from the host: an orderly stop
      if (by_guest && !guest_shutdown) {
        guest_shutdown = true;
        emit({MachineEvent::Kind::guest_shutdown, self.m_state, "the guest powered off"});
      }
      if (self.m_state == MachineState::running || self.m_state == MachineState::paused) set_state(MachineState::stopping);
    }
  }

  void on_helper_exit(std::size_t i, const std::string& name, int code, const fs::path& log) {
    if (stop_requested || guest_shutdown || !qemu || !qemu->running()) return;  // expected at shutdown
    const std::string origin = plan.helpers[i].origin ? " (" + plan.helpers[i].origin->plugin + " at " +
                                                            plan.helpers[i].origin->path + ")"
                                                      : "";
    std::string why = "helper " + name + origin + " exited with status " + std::to_string(code);
    if (auto t = tail_of(log); !t.empty()) why += ": " + t;
    helper_failed = true;
    failure = why;
    emit({MachineEvent::Kind::error, self.m_state, why});
    if (starting_up()) {
      fail_start(why);
      return;
    }
    force_quit();
  }

  void on_qemu_exit(int code) {
    kill_timer.cancel();
    wait_timer.cancel();
    boost::system::error_code ec;
    console.close(ec);
    stdin_fd.close(ec);
    qmp.close();
    stop_helpers();
    const bool clean = failure.empty() && !helper_failed && (stop_requested || guest_shutdown);
    if (clean) {
      set_state(MachineState::stopped);
    } else {
      std::string why = failure;
      if (why.empty()) {
        why = "QEMU exited unexpectedly with status " + std::to_string(code);
        if (auto t = tail_of(files.qemu_log()); !t.empty()) why += ": " + t;
        if (starting_up()) why = explained(why);
        emit({MachineEvent::Kind::error, MachineState::error, why});
      }
      set_state(MachineState::error, why);
      finish(pending_start, why);
    }
    finish(pending_pause, "the machine stopped");
    finish(pending_resume, "the machine stopped");
    for (auto& c : pending_stop) finish(c, "");
    pending_stop.clear();
  }

  // ---- stopping ----

  void force_quit() {
    stop_requested = true;
    if (!qemu || !qemu->running()) return;
    if (qmp.connected()) qmp.execute("quit", {}, [](const std::string&, const json::value&) {});
    else kill_qemu();
    kill_timer.expires_after(options.kill_after);
    kill_timer.async_wait([this](const boost::system::error_code& e) {
      if (!e) kill_qemu();
    });
  }

  void kill_qemu() {
    std::error_code ec;
    if (qemu && qemu->running(ec)) qemu->terminate(ec);  // SIGKILL
  }

  void stop_helpers() {
    for (auto& h : helpers) {
      std::error_code ec;
      if (h && h->running(ec)) {
        ::kill(h->id(), SIGTERM);
      }
    }
  }
};

QemuMachine::QemuMachine(asio::io_context& io, vzkit::qemu::Machine plan, RunOptions options)
    : m_impl(std::make_unique<Impl>(*this, io, std::move(plan), std::move(options))) {}

QemuMachine::~QemuMachine() {
  if (m_impl->qemu) {
    std::error_code ec;
    if (m_impl->qemu->running(ec)) m_impl->qemu->terminate(ec);
  }
  for (auto& h : m_impl->helpers) {
    std::error_code ec;
    if (h && h->running(ec)) h->terminate(ec);
  }
}

int QemuMachine::qemu_pid() const {
  std::error_code ec;
  return m_impl->qemu && m_impl->qemu->running(ec) ? m_impl->qemu->id() : -1;
}

namespace {
void refuse(asio::io_context& io, Completion done, const std::string& op, MachineState s) {
  asio::post(io, [done = std::move(done), op, s] {
    if (done) done("cannot " + op + " a machine that is " + std::string(to_string(s)));
  });
}
}  // namespace

void QemuMachine::start(Completion done) {
  if (!can_start()) return refuse(m_impl->io, std::move(done), "start", m_state);
  m_impl->restore_from.clear();
  m_impl->options.incoming = false;
  m_impl->pending_start = std::move(done);
  m_impl->set_state(MachineState::starting);
  m_impl->start();
}

void QemuMachine::restore_state(const std::string& file, Completion done) {
  if (!can_start()) return refuse(m_impl->io, std::move(done), "restore", m_state);
  m_impl->restore_from = file;
  m_impl->options.incoming = true;
  m_impl->pending_start = std::move(done);
  m_impl->set_state(MachineState::restoring);
  m_impl->start();
}

void QemuMachine::check_save(SaveCheck done) {
  if (m_state != MachineState::running && m_state != MachineState::paused) {
    const std::string why = "cannot save a machine that is " + std::string(to_string(m_state));
    asio::post(m_impl->io, [done = std::move(done), why] { done(why, {}); });
    return;
  }
  check_migration(m_impl->qmp, m_impl->plan, std::move(done));
}

void QemuMachine::save_state(const std::string& file, SaveProgress progress, Completion done) {
  if (m_state == MachineState::running) {
    pause([this, file, progress = std::move(progress), done = std::move(done)](const std::string& err) mutable {
      if (!err.empty()) return done("cannot pause the machine: " + err);
      save_state(file, std::move(progress), std::move(done));
    });
    return;
  }
  if (m_state != MachineState::paused) return refuse(m_impl->io, std::move(done), "save", m_state);
  m_impl->set_state(MachineState::saving);
  migrate_to_file(m_impl->io, m_impl->qmp, file, std::move(progress), [this, done = std::move(done)](const std::string& err) {
    if (m_state == MachineState::saving) m_impl->set_state(MachineState::paused);
    done(err);
  });
}

void QemuMachine::pause(Completion done) {
  if (!can_pause()) return refuse(m_impl->io, std::move(done), "pause", m_state);
  m_impl->pending_pause = std::move(done);
  m_impl->set_state(MachineState::pausing);
  m_impl->qmp.execute("stop", {}, [this](const std::string& err, const json::value&) {
    if (!err.empty()) {
      m_impl->set_state(MachineState::running);
      Impl::finish(m_impl->pending_pause, err);
    }
  });
}

void QemuMachine::resume(Completion done) {
  if (!can_resume()) return refuse(m_impl->io, std::move(done), "resume", m_state);
  m_impl->pending_resume = std::move(done);
  m_impl->set_state(MachineState::resuming);
  m_impl->qmp.execute("cont", {}, [this](const std::string& err, const json::value&) {
    if (!err.empty()) {
      m_impl->set_state(MachineState::paused);
      Impl::finish(m_impl->pending_resume, err);
    }
  });
}

void QemuMachine::request_stop(Completion done) {
  if (!can_request_stop()) return refuse(m_impl->io, std::move(done), "request a stop of", m_state);
  m_impl->qmp.execute("system_powerdown", {}, [done = std::move(done)](const std::string& err, const json::value&) {
    if (done) done(err);
  });
}

void QemuMachine::stop(Completion done) {
  if (!can_stop() && m_state != MachineState::stopping && m_state != MachineState::starting &&
      m_state != MachineState::restoring && m_state != MachineState::saving)
    return refuse(m_impl->io, std::move(done), "stop", m_state);
  m_impl->pending_stop.push_back(std::move(done));
  m_impl->set_state(MachineState::stopping);
  m_impl->force_quit();
}

}  // namespace vzkit::bridge::qemu
