// The way into a running guest: vzkit ip, ssh, exec, cp and console (host API: host_access.hpp).
#include "commands.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>

namespace vzkit::app {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

struct AccessArgs {
  std::string vm;
  std::vector<std::string> command;
  std::string from, to;
  int wait = 0;
  int timeout = 300;
  bool json = false;
  bool no_stdin = false;
};

// ---- ip ----

int cmd_ip(const AccessArgs& a) {
  return reported([&] {
    const auto addr = host::Guest(a.vm).address(std::chrono::seconds(a.wait));
    if (a.json) {
      print_json(json::object{{"name", a.vm},
                              {"address", addr.address.empty() ? json::value(nullptr) : json::value(addr.address)},
                              {"source", addr.source},
                              {"ssh", json::object{{"host", addr.ssh_host}, {"port", addr.ssh_port}}}});
      return 0;
    }
    // The guest's own address when it is known; else where its port 22 is forwarded to.
    std::printf("%s\n", addr.address.empty() ? addr.ssh_host.c_str() : addr.address.c_str());
    if (addr.ssh_host != addr.address || addr.ssh_port != 22)
      std::fprintf(stderr, "vzkit: ssh reaches it at %s port %d (user-mode networking: `vzkit ssh %s`)\n",
                   addr.ssh_host.c_str(), addr.ssh_port, a.vm.c_str());
    return 0;
  });
}

// ---- ssh ----

int cmd_ssh(const AccessArgs& a) {
  return reported([&] {
    const auto argv = host::Guest(a.vm).ssh_argv(a.command);
    if (a.json) {
      json::array out(argv.begin(), argv.end());
      print_json(json::object{{"argv", out}});
      return 0;
    }
    std::vector<char*> args;
    for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    ::execvp("ssh", args.data());
    throw std::runtime_error(std::string("cannot run ssh: ") + std::strerror(errno) +
                             " (install OpenSSH's client: Debian openssh-client)");
  });
}

// ---- exec ----

/// stdin when it is a pipe or a file (not a terminal, not /dev/null): the command's input.
std::optional<std::string> piped_stdin() {
  struct stat st {};
  if (::fstat(STDIN_FILENO, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode)))
    return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

void write_all(int fd, const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

int cmd_exec(const AccessArgs& a) {
  return reported([&] {
    const auto input = a.no_stdin ? std::nullopt : piped_stdin();
    const auto r = host::Guest(a.vm).exec(a.command, input, std::chrono::seconds(a.timeout));
    if (a.json) {
      print_json(json::object{{"exit_code", r.exit_code},
                              {"signal", r.signal},
                              {"stdout", host::valid_utf8(r.out)},
                              {"stderr", host::valid_utf8(r.err)},
                              {"truncated", r.truncated}});
    } else {
      write_all(STDOUT_FILENO, r.out);
      write_all(STDERR_FILENO, r.err);
      if (r.truncated) std::fprintf(stderr, "vzkit: the guest agent cut the output short (it keeps 16 MiB)\n");
    }
    return r.exit_code;
  });
}

// ---- cp ----

/// "web:/etc/hosts" -> {"web", "/etc/hosts"}; a local path -> nullopt.
std::optional<std::pair<std::string, std::string>> guest_side(const std::string& arg) {
  const auto colon = arg.find(':');
  if (colon == std::string::npos || colon == 0 || arg[0] == '/' || arg[0] == '.') return std::nullopt;
  const std::string vm = arg.substr(0, colon);
  if (vm.find('/') != std::string::npos) return std::nullopt;
  return std::pair{vm, arg.substr(colon + 1)};
}

std::string base_name(const std::string& path) { return fs::path(path).filename().string(); }

int cmd_cp(const AccessArgs& a) {
  const auto from = guest_side(a.from), to = guest_side(a.to);
  if (!from == !to) {
    spdlog::error("{}", from ? "copy between a VM and this host: one side is NAME:PATH, the other a local path"
                             : "name the VM on one side as NAME:PATH, e.g. `vzkit cp web:/etc/os-release .` or "
                               "`vzkit cp notes.txt web:/tmp/`");
    return 2;
  }
  if ((from ? from->second : to->second).empty()) {
    spdlog::error("give the path in the guest after the VM's name, e.g. web:/tmp/file");
    return 2;
  }
  return reported([&] {
    const bool big_enough = [&] {
      std::error_code ec;
      return to && fs::file_size(a.from, ec) > (16u << 20);
    }();
    auto progress = [&](std::uint64_t done, std::uint64_t total) {
      if (!big_enough || a.json) return;
      std::fprintf(stderr, "\rvzkit: %llu of %llu MiB", static_cast<unsigned long long>(done >> 20),
                   static_cast<unsigned long long>(total >> 20));
    };
    std::string local, guest_path;
    if (from) {
      guest_path = from->second;
      local = a.to;
      std::error_code ec;
      if (fs::is_directory(local, ec)) local = (fs::path(local) / base_name(guest_path)).string();
      host::Guest(from->first).copy_from_guest(guest_path, local, progress);
    } else {
      local = a.from;
      guest_path = to->second;
      if (guest_path.back() == '/') guest_path += base_name(local);
      host::Guest(to->first).copy_to_guest(local, guest_path, progress);
    }
    if (big_enough && !a.json) std::fprintf(stderr, "\n");
    if (a.json) {
      std::error_code ec;
      print_json(json::object{{"from", from ? from->first + ":" + guest_path : local},
                              {"to", to ? to->first + ":" + guest_path : local},
                              {"bytes", fs::file_size(local, ec)}});
    }
    return 0;
  });
}

// ---- console ----

constexpr char kDetach = 0x1d;  // Ctrl-]

struct RawTerminal {
  bool active = false;
  termios saved{};
  RawTerminal() {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved) != 0) return;
    termios raw = saved;
    ::cfmakeraw(&raw);
    active = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  }
};

int cmd_console(const AccessArgs& a) {
  return reported([&] {
    const host::Guest guest(a.vm);
    const std::string socket_path = guest.console_socket();
    // One writer at a time: the console's lock file, with the holder's pid in it.
    const std::string lock_path = guest.console_lock_file();
    const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0) throw std::runtime_error("cannot open " + lock_path + ": " + std::strerror(errno));
    if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
      char holder[32] = {};
      (void)!::pread(lock, holder, sizeof holder - 1, 0);
      throw std::runtime_error("the console of VM '" + a.vm + "' is in use by another `vzkit console` (pid " +
                               std::string(holder) + "); one terminal at a time\n  hint: detach it there with Ctrl-], "
                               "or read the output with `vzkit logs " + a.vm + " --follow`");
    }
    const std::string pid = std::to_string(::getpid());
    (void)!::ftruncate(lock, 0);
    (void)!::pwrite(lock, pid.data(), pid.size(), 0);

    const int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
    if (sock < 0 || ::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot connect to the console of VM '" + a.vm + "' (" + socket_path +
                               "): " + std::strerror(errno));
    std::fprintf(stderr, "vzkit: connected to the console of '%s'; detach with Ctrl-]\r\n", a.vm.c_str());
    RawTerminal raw;
    char buf[4096];
    bool stdin_open = true;
    for (;;) {
      pollfd fds[2] = {{sock, POLLIN, 0}, {STDIN_FILENO, static_cast<short>(stdin_open ? POLLIN : 0), 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t n = ::read(sock, buf, sizeof buf);
        if (n <= 0) {
          ::close(sock);
          std::fprintf(stderr, "\r\nvzkit: the console closed (the VM stopped)\r\n");
          return 0;
        }
        write_all(STDOUT_FILENO, std::string(buf, static_cast<std::size_t>(n)));
      }
      if (fds[1].revents & (POLLIN | POLLHUP)) {
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n <= 0) {
          stdin_open = false;  // keep showing output until the console closes or Ctrl-] ... on a terminal
          if (!raw.active) continue;
          break;
        }
        const std::string typed(buf, static_cast<std::size_t>(n));
        const auto detach = typed.find(kDetach);
        write_all(sock, typed.substr(0, detach));
        if (detach != std::string::npos) break;
      }
    }
    ::close(sock);
    std::fprintf(stderr, "\r\nvzkit: detached from the console of '%s'\r\n", a.vm.c_str());
    return 0;
  });
}

}  // namespace

void add_access_commands(CLI::App& app, std::function<int()>& command) {
  static AccessArgs a;

  auto* ip = app.add_subcommand("ip", "Print a running VM's IPv4 address: from its guest agent, on VZ from the Mac's "
                                      "DHCP leases, else where its SSH port is forwarded to");
  ip->add_option("vm", a.vm, "VM name")->required();
  ip->add_option("--wait", a.wait, "Seconds to wait for an address to appear (a guest that is still booting)")
      ->type_name("S")
      ->capture_default_str();
  ip->add_flag("--json", a.json, "Print JSON: address, source (agent, dhcp-leases, forward) and where ssh connects");
  ip->footer("Example:\n  vzkit ip web --wait 60");
  ip->callback([&command] { command = [] { return cmd_ip(a); }; });

  auto* ssh = app.add_subcommand(
      "ssh", "Log in to a running VM with the system ssh: its user and key (vzkit create --image made them), its "
             "address or forwarded port, and its host keys, learnt from its console or its guest agent into the VM's "
             "own known_hosts (host keys are always checked)");
  ssh->add_option("vm", a.vm, "VM name")->required();
  ssh->add_option("command", a.command, "A command to run instead of a login shell (after --)");
  ssh->add_flag("--json", a.json, "Print the ssh command line as JSON instead of running it");
  ssh->footer("Examples:\n  vzkit ssh web\n  vzkit ssh web -- cat /etc/os-release\n"
              "  $(vzkit ssh web --json | jq -r '.argv | @sh')    the command line, for scp or rsync -e");
  ssh->callback([&command] { command = [] { return cmd_ssh(a); }; });

  auto* exec = app.add_subcommand(
      "exec", "Run a command in a running VM through its guest agent (no network, no login): its stdout, stderr and "
              "exit status are the command's; piped stdin goes to it. Needs the guest-agent device and qemu-ga in the "
              "guest");
  exec->add_option("vm", a.vm, "VM name")->required();
  exec->add_option("command", a.command, "The program and its arguments, after --")->required();
  exec->add_option("--timeout", a.timeout, "Seconds to wait for the command to end")->capture_default_str();
  exec->add_flag("-n,--no-stdin", a.no_stdin, "Do not send this process's stdin, even when it is a pipe");
  exec->add_flag("--json", a.json, "Print JSON: exit_code, signal, stdout, stderr");
  exec->footer("Examples:\n  vzkit exec web -- uname -a\n  vzkit exec web -- sh -c 'echo $((6*7)); exit 3'   prints 42, "
               "exits 3\n  echo hello | vzkit exec web -- tee /tmp/hello");
  exec->callback([&command] { command = [] { return cmd_exec(a); }; });

  auto* cp = app.add_subcommand("cp", "Copy a file from a running VM (NAME:PATH) to this host, or from this host into "
                                      "it, through its guest agent");
  cp->add_option("from", a.from, "NAME:PATH in the guest, or a local file")->required();
  cp->add_option("to", a.to, "A local path or folder, or NAME:PATH (a guest path ending in / keeps the file's name)")
      ->required();
  cp->add_flag("--json", a.json, "Print JSON: from, to, bytes");
  cp->footer("Examples:\n  vzkit cp web:/var/log/syslog .\n  vzkit cp app.tar.gz web:/tmp/");
  cp->callback([&command] { command = [] { return cmd_cp(a); }; });

  auto* console = app.add_subcommand(
      "console", "Attach this terminal to a running VM's serial console (a VM run with --detach); detach with Ctrl-]. "
                 "One terminal at a time");
  console->add_option("vm", a.vm, "VM name")->required();
  console->footer("Example:\n  vzkit run web --detach && vzkit console web     (press Enter for a login prompt)");
  console->callback([&command] { command = [] { return cmd_console(a); }; });
}

}  // namespace vzkit::app
