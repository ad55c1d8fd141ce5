#include <vzkit/bridge/qemu/start_failure.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace vzkit::bridge::qemu {

namespace fs = std::filesystem;

namespace {

// QEMU's fatal error: its first line that is not a warning ("qemu-system-x86_64: -netdev ...:
// Could not ..."), with the lines that continue it ("Is another process using the image ...?").
std::string error_of(const std::string& output) {
  std::istringstream in(output);
  std::string line, error;
  while (std::getline(in, line)) {
    const bool from_qemu = line.rfind("qemu-system-", 0) == 0 && line.find(": ") != std::string::npos;
    if (!error.empty()) {
      if (from_qemu || line.empty()) break;
      error += "\n" + line;
      continue;
    }
    if (from_qemu && line.compare(line.find(": ") + 2, 8, "warning:") != 0) error = line.substr(line.find(": ") + 2);
  }
  return error;
}

// The plan entry `-option arg` came from, when the plan has one with exactly that rendering.
std::optional<vzkit::qemu::Origin> origin_of(const vzkit::qemu::Machine& m, const std::string& option,
                                             const std::string& arg) {
  using vzkit::qemu::join_properties;
  auto in = [&](const std::vector<vzkit::qemu::Backend>& list, auto head) -> std::optional<vzkit::qemu::Origin> {
    for (const auto& b : list)
      if (join_properties(head(b), b.properties) == arg) return b.origin;
    return std::nullopt;
  };
  auto type = [](const vzkit::qemu::Backend& b) { return b.type; };
  if (option == "-device")
    for (const auto& d : m.devices)
      if (join_properties(d.driver, d.properties) == arg) return d.origin;
  if (option == "-blockdev")
    return in(m.blockdevs, [](const vzkit::qemu::Backend& b) { return "driver=" + vzkit::qemu::escape_value(b.type); });
  if (option == "-netdev") return in(m.netdevs, type);
  if (option == "-chardev") return in(m.chardevs, type);
  if (option == "-object") return in(m.objects, type);
  if (option == "-drive") return in(m.drives, [](const vzkit::qemu::Backend&) { return std::string(); });
  return std::nullopt;
}

// Who has `target` open: "pid 1234 (python3)", or "VM 'web' (QEMU pid 1234)" for a QEMU that vzkit
// named. `target` is a path or "socket:[INODE]". "" when no process readable here has it open.
std::string holder_of(const std::string& target) {
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator("/proc", ec)) {
    const std::string pid = proc.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == std::to_string(::getpid())) continue;
    bool has = false;
    std::error_code fec;
    for (const auto& fd : fs::directory_iterator(proc.path() / "fd", fec)) {
      std::error_code lec;
      if (fs::read_symlink(fd.path(), lec).string() == target) {
        has = true;
        break;
      }
    }
    if (!has) continue;
    std::ifstream cmdline(proc.path() / "cmdline", std::ios::binary);
    std::vector<std::string> args;
    for (std::string a; std::getline(cmdline, a, '\0');) args.push_back(a);
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == "-name" && !args.empty() && args[0].find("qemu-system") != std::string::npos)
        return "VM '" + args[i + 1] + "' (QEMU pid " + pid + ")";
    std::ifstream comm(proc.path() / "comm");
    std::string name;
    std::getline(comm, name);
    return "pid " + pid + (name.empty() ? "" : " (" + name + ")");
  }
  return {};
}

// The socket inode listening on `port` (tcp) or bound to it (udp), from /proc/net.
std::string socket_on(const std::string& protocol, int port) {
  for (const char* family : {"", "6"}) {
    std::ifstream in("/proc/net/" + protocol + family);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string slot, local, remote, state, queues, timer, retr, uid, timeout, inode;
      f >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      const bool bound = protocol == "tcp" ? state == "0A" : true;  // 0A: LISTEN
      if (bound && std::stoi(local.substr(colon + 1), nullptr, 16) == port && inode != "0") return inode;
    }
  }
  return {};
}

// Why QEMU cannot bind `port`: the errno of a bind of our own, 0 when it now succeeds.
int bind_error(const std::string& protocol, const std::string& address, int port) {
  const int s = ::socket(AF_INET, protocol == "udp" ? SOCK_DGRAM : SOCK_STREAM, 0);
  if (s < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (!address.empty()) ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  const int rc = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  const int err = rc == 0 ? 0 : errno;
  ::close(s);
  return err;
}

void explain_forward(StartFailure& f, const std::smatch& m) {
  const std::string protocol = m[1].str().empty() ? "tcp" : m[1].str(), address = m[2], port = m[3];
  f.value = port;
  const int err = bind_error(protocol, address, std::stoi(port));
  if (err == EACCES) {
    f.cause = "host port " + port + " needs root (ports below 1024 are privileged)";
    f.hint = "use a host port of 1024 or more in {where}";
    return;
  }
  f.cause = "host port " + port + " is in use";
  if (const auto inode = socket_on(protocol, std::stoi(port)); !inode.empty())
    if (const auto who = holder_of("socket:[" + inode + "]"); !who.empty()) f.cause += " by " + who;
  f.hint = "port " + port + " is in use: change {where}, or stop what listens on it";
}

void explain_lock(StartFailure& f, const std::string& error) {
  static const std::regex image(R"(Is another process using the image \[(.*)\]\?)");
  std::smatch m;
  if (!std::regex_search(error, m, image)) {
    f.cause = "a disk image is in use by another process";
    f.hint = "stop the other VM or process that uses it";
    return;
  }
  f.value = m[1];
  const std::string who = holder_of(m[1]);
  f.cause = "disk image " + f.value + " is in use by " + (who.empty() ? "another process" : who);
  const auto vm = who.rfind("VM '", 0) == 0 ? who.substr(4, who.find('\'', 4) - 4) : std::string();
  f.hint = (vm.empty() ? std::string("stop the process that uses it") : "stop that VM first (`vzkit stop " + vm + "`)") +
           ", or give this VM a disk of its own in {where}";
}

}  // namespace

std::optional<StartFailure> explain_start_failure(const vzkit::qemu::Machine& plan, const std::string& qemu_output) {
  const std::string error = error_of(qemu_output);
  if (error.empty()) return std::nullopt;
  StartFailure f;
  f.qemu_says = error;
  std::string message = error;
  // "-option arg: message": the option names the plan entry.
  if (error[0] == '-') {
    const auto space = error.find(' ');
    const auto colon = error.find(": ", space);
    if (space != std::string::npos && colon != std::string::npos) {
      f.origin = origin_of(plan, error.substr(0, space), error.substr(space + 1, colon - space - 1));
      message = error.substr(colon + 2);
    }
  }
  static const std::regex forward(R"(Could not set up host forwarding rule '(tcp|udp)?:([^:]*):([0-9]+)-)");
  static const std::regex open(R"(Could not open '([^']*)': (.*))");
  std::smatch m;
  if (std::regex_search(message, m, forward)) {
    explain_forward(f, m);
  } else if (message.find("Failed to get") != std::string::npos && message.find("lock") != std::string::npos) {
    explain_lock(f, message);
  } else if (std::regex_search(message, m, open)) {
    f.value = m[1];
    f.cause = "cannot open " + f.value + ": " + m[2].str();
    f.hint = "check the file named in {where}";
  } else {
    f.cause = message.substr(0, message.find('\n'));
  }
  return f;
}

std::string describe(const StartFailure& f, const std::string& log_file, const SpecPathOf& spec_path_of) {
  std::string where = f.origin ? f.origin->path : "the spec";
  if (f.origin && !f.value.empty() && spec_path_of)
    if (auto p = spec_path_of(f.origin->path, f.value); !p.empty()) where = p;
  std::string text = "QEMU did not start: ";
  if (f.origin) text += f.origin->path + " (" + f.origin->plugin + "): ";
  text += f.cause;
  std::string says = f.qemu_says;
  for (std::size_t at = 0; (at = says.find('\n', at)) != std::string::npos; at += 9) says.replace(at, 1, "\n        ");
  text += "\n  qemu: " + says + "\n  log: " + log_file;
  if (!f.hint.empty()) {
    std::string hint = f.hint;
    if (const auto at = hint.find("{where}"); at != std::string::npos) hint.replace(at, 7, where);
    text += "\n  hint: " + hint;
  }
  return text;
}

}  // namespace vzkit::bridge::qemu
