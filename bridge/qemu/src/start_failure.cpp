#include <vzkit/bridge/qemu/start_failure.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <charconv>
#include <string_view>
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

// What QEMU's messages say, read by hand rather than with std::regex: libstdc++'s engine recurses
// once per character and overflows the stack on a long line.

// "Could not set up host forwarding rule '[tcp|udp]:ADDRESS:PORT-...": protocol, address, port.
struct Forward {
  std::string protocol, address, port;
};
std::optional<Forward> forward_in(std::string_view message) {
  static constexpr std::string_view lead = "Could not set up host forwarding rule '";
  for (auto at = message.find(lead); at != std::string_view::npos; at = message.find(lead, at + 1)) {
    std::string_view rest = message.substr(at + lead.size());
    Forward f;
    if (rest.substr(0, 3) == "tcp" || rest.substr(0, 3) == "udp") {
      f.protocol = std::string(rest.substr(0, 3));
      rest.remove_prefix(3);
    }
    if (rest.empty() || rest.front() != ':') continue;
    rest.remove_prefix(1);
    const auto colon = rest.find_first_of(":\n");
    if (colon == std::string_view::npos || rest[colon] != ':') continue;
    f.address = std::string(rest.substr(0, colon));
    rest.remove_prefix(colon + 1);
    const auto digits = rest.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string_view::npos || rest[digits] != '-') continue;
    f.port = std::string(rest.substr(0, digits));
    return f;
  }
  return std::nullopt;
}

// "Could not open 'FILE': REASON" (REASON to the end of its line).
std::optional<std::pair<std::string, std::string>> open_failure_in(std::string_view message) {
  static constexpr std::string_view lead = "Could not open '";
  for (auto at = message.find(lead); at != std::string_view::npos; at = message.find(lead, at + 1)) {
    const std::string_view rest = message.substr(at + lead.size());
    const auto quote = rest.find('\'');
    if (quote == std::string_view::npos || rest.substr(quote, 3) != "': ") continue;
    if (rest.substr(0, quote).find('\n') != std::string_view::npos) continue;
    const std::string_view reason = rest.substr(quote + 3);
    return std::make_pair(std::string(rest.substr(0, quote)), std::string(reason.substr(0, reason.find('\n'))));
  }
  return std::nullopt;
}

// "Is another process using the image [FILE]?": FILE (up to the last "]?" of that line).
std::optional<std::string> locked_image_in(std::string_view message) {
  static constexpr std::string_view lead = "Is another process using the image [";
  const auto at = message.find(lead);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = message.substr(at + lead.size());
  rest = rest.substr(0, rest.find('\n'));
  const auto end = rest.rfind("]?");
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(rest.substr(0, end));
}

// False when the port is none QEMU could have been given (the message is then QEMU's own).
bool explain_forward(StartFailure& f, const Forward& fw) {
  int number = 0;
  const auto [end, err] = std::from_chars(fw.port.data(), fw.port.data() + fw.port.size(), number);
  if (err != std::errc() || end != fw.port.data() + fw.port.size() || number < 1 || number > 65535) return false;
  const std::string protocol = fw.protocol.empty() ? "tcp" : fw.protocol, &address = fw.address, &port = fw.port;
  f.value = port;
  const int bind_err = bind_error(protocol, address, number);
  if (bind_err == EACCES) {
    f.cause = "host port " + port + " needs root (ports below 1024 are privileged)";
    f.hint = "use a host port of 1024 or more in {where}";
    return true;
  }
  f.cause = "host port " + port + " is in use";
  if (const auto inode = socket_on(protocol, number); !inode.empty())
    if (const auto who = holder_of("socket:[" + inode + "]"); !who.empty()) f.cause += " by " + who;
  f.hint = "port " + port + " is in use: change {where}, or stop what listens on it";
  return true;
}

void explain_lock(StartFailure& f, const std::string& error) {
  const auto image = locked_image_in(error);
  if (!image) {
    f.cause = "a disk image is in use by another process";
    f.hint = "stop the other VM or process that uses it";
    return;
  }
  f.value = *image;
  const std::string who = holder_of(*image);
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
  if (const auto forward = forward_in(message); forward && explain_forward(f, *forward)) return f;
  if (message.find("Failed to get") != std::string::npos && message.find("lock") != std::string::npos) {
    explain_lock(f, message);
    return f;
  }
  if (const auto open = open_failure_in(message)) {
    f.value = open->first;
    f.cause = "cannot open " + f.value + ": " + open->second;
    f.hint = "check the file named in {where}";
    return f;
  }
  f.cause = message.substr(0, message.find('\n'));
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
