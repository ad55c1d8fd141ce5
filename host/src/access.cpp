// The way into a running guest (sdk/include/vzkit/host_access.hpp): the guest agent for exec,
// cp, addresses and shutdown; ssh with the bundle's own key and known_hosts; the console socket.
#include <vzkit/host.hpp>

#include "guest_agent.hpp"

#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/subprocess.hpp>
#include <vzkit/kernel/supervisor.hpp>

#include <boost/beast/core/detail/base64.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <memory>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace vzkit::host {

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using detail::AgentClient;
using detail::AgentError;
using detail::AgentUnreachable;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string base64_encode(std::string_view bytes) {
  namespace b64 = boost::beast::detail::base64;
  std::string out(b64::encoded_size(bytes.size()), '\0');
  out.resize(b64::encode(out.data(), bytes.data(), bytes.size()));
  return out;
}

std::string base64_decode(std::string_view text) {
  namespace b64 = boost::beast::detail::base64;
  std::string out(b64::decoded_size(text.size()), '\0');
  const auto [written, read] = b64::decode(out.data(), text.data(), text.size());
  std::size_t data = text.size();  // the padding is not counted as read
  while (data > 0 && text.size() - data < 2 && text[data - 1] == '=') --data;
  if (read != data) throw std::runtime_error("the guest agent sent data that is not base64");
  out.resize(written);
  return out;
}

kernel::Bundle bundle_of(const std::string& name) {
  std::string err;
  auto b = kernel::open_bundle(name, err);
  if (!b) throw std::runtime_error(err);
  return *b;
}

json::object spec_of(const kernel::Bundle& b) {
  try {
    auto v = json::parse(read_text(b.spec_file()));
    if (v.is_object()) return v.get_object();
  } catch (const std::exception&) {
  }
  return {};
}

/// The first device entry of the spec using `plugin`, or nullptr.
const json::object* device_of(const json::object& spec, std::string_view plugin) {
  const auto* devices = spec.if_contains("devices");
  if (!devices || !devices->is_array()) return nullptr;
  for (const auto& d : devices->get_array())
    if (d.is_object())
      if (const auto* p = d.get_object().if_contains("plugin"); p && p->is_string() && p->get_string() == plugin)
        return &d.get_object();
  return nullptr;
}

void require_running(const kernel::Bundle& b) {
  if (!kernel::BundleLock::is_held(b))
    throw std::runtime_error("VM '" + b.name + "' is not running; start it with `vzkit run " + b.name + " --detach`");
  const auto st = kernel::read_state(b.run_dir());
  const auto* s = st.if_contains("state");
  const std::string state = s && s->is_string() ? std::string(s->get_string()) : "starting";
  if (state != "running")
    throw std::runtime_error("VM '" + b.name + "' is " + state + ", not running" +
                             (state == "paused" ? "\n  hint: resume it with `vzkit resume " + b.name + "`" : ""));
}

/// An exclusive flock on `file`, waited for up to `timeout`; -1 when it stays taken.
int lock_file(const fs::path& file, std::chrono::milliseconds timeout) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot open " + file.string() + ": " + std::strerror(errno));
  const auto deadline = Clock::now() + timeout;
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (Clock::now() >= deadline) {
      ::close(fd);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return fd;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// A connected, synchronised agent of a running VM, and its turn on the channel: the agent
/// serves one client at a time, so vzkit's clients queue on run/qga.lock.
struct Agent {
  Fd turn;
  std::unique_ptr<AgentClient> client;
};

std::string no_agent(const std::string& name) {
  return "VM '" + name + "' has no guest agent: add {\"plugin\": \"guest-agent\"} to the devices of its spec or use "
         "`vzkit ssh " + name + "`";
}

Agent connect_agent(const kernel::Bundle& b, std::chrono::milliseconds timeout) {
  if (!device_of(spec_of(b), "guest-agent")) throw std::runtime_error(no_agent(b.name));
  require_running(b);
  Agent a;
  a.turn.fd = lock_file(b.run_dir() / "qga.lock", std::chrono::seconds(60));
  if (a.turn.fd < 0)
    throw std::runtime_error("the guest agent of VM '" + b.name + "' has been busy with another vzkit command for 60 s");
  const auto seconds = std::to_string(std::max<long long>(1, timeout.count() / 1000));
  try {
    a.client = std::make_unique<AgentClient>((b.run_dir() / "qga.sock").string(), timeout);
  } catch (const AgentUnreachable& e) {
    throw std::runtime_error("the guest agent of VM '" + b.name + "' does not answer (waited " + seconds + " s): " +
                             e.what() + "\n  hint: the guest may still be booting; qemu-ga must run in it (Debian: "
                             "apt-get install qemu-guest-agent), or use `vzkit ssh " + b.name + "`");
  }
  return a;
}

json::value call(Agent& a, const std::string& command, json::object args = {},
                 std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  try {
    return a.client->call(command, std::move(args), timeout);
  } catch (const AgentError& e) {
    throw std::runtime_error("the guest agent refused " + command + ": " + e.what());
  } catch (const AgentUnreachable& e) {
    throw std::runtime_error("the guest agent stopped answering during " + command + ": " + e.what());
  }
}

std::int64_t int_of(const json::value& v, std::string_view key) {
  if (const auto* x = v.is_object() ? v.get_object().if_contains(key) : nullptr; x && x->is_number())
    return x->to_number<std::int64_t>();
  throw std::runtime_error("the guest agent's answer has no " + std::string(key) + ": " + json::serialize(v));
}

bool bool_of(const json::value& v, std::string_view key) {
  const auto* x = v.is_object() ? v.get_object().if_contains(key) : nullptr;
  return x && x->is_bool() && x->get_bool();
}

std::string string_of(const json::value& v, std::string_view key) {
  const auto* x = v.is_object() ? v.get_object().if_contains(key) : nullptr;
  return x && x->is_string() ? std::string(x->get_string()) : std::string();
}

/// The MAC address of the VM's first network card, from the plan of its current run.
std::string mac_of_run(const kernel::Bundle& b) {
  try {
    const auto plan = json::parse(read_text(b.run_dir() / "plan.json"));
    if (const auto* nets = plan.as_object().if_contains("network_devices"); nets && nets->is_array())
      for (const auto& n : nets->get_array())
        if (auto mac = string_of(n, "mac_address"); !mac.empty()) return mac;
    if (const auto* devs = plan.as_object().if_contains("devices"); devs && devs->is_array())
      for (const auto& d : devs->get_array())
        if (const auto* props = d.as_object().if_contains("properties"); props && props->is_object())
          if (auto mac = string_of(*props, "mac"); !mac.empty()) return mac;
  } catch (const std::exception&) {
  }
  return {};
}

/// The host port forwarded to `guest_port` in the current run (run/state.json), or 0.
int forwarded_port(const kernel::Bundle& b, int guest_port, std::string* host_address = nullptr) {
  const auto st = kernel::read_state(b.run_dir());
  if (const auto* fw = st.if_contains("forwards"); fw && fw->is_array())
    for (const auto& f : fw->get_array())
      if (f.is_object() && string_of(f, "protocol") == "tcp" && int_of(f, "guest_port") == guest_port) {
        if (host_address) *host_address = string_of(f, "host_address");
        return static_cast<int>(int_of(f, "host_port"));
      }
  return 0;
}

/// The guest's first global IPv4 address as the agent lists it.
std::string agent_address(const json::value& interfaces) {
  if (!interfaces.is_array()) return {};
  for (const auto& i : interfaces.get_array()) {
    if (string_of(i, "name") == "lo") continue;
    const auto* addrs = i.is_object() ? i.get_object().if_contains("ip-addresses") : nullptr;
    if (!addrs || !addrs->is_array()) continue;
    for (const auto& a : addrs->get_array()) {
      const std::string ip = string_of(a, "ip-address");
      if (string_of(a, "ip-address-type") == "ipv4" && !ip.empty() && ip.rfind("127.", 0) != 0 &&
          ip.rfind("169.254.", 0) != 0)
        return ip;
    }
  }
  return {};
}

/// The MAC's six bytes, or nullopt (accepts bootpd's "1,2:4:56:78:9a:bc" form and leading zeros).
std::optional<std::array<int, 6>> mac_bytes(std::string text) {
  if (const auto comma = text.find(','); comma != std::string::npos) text.erase(0, comma + 1);
  std::array<int, 6> out{};
  std::istringstream in(text);
  std::string part;
  int n = 0;
  while (std::getline(in, part, ':')) {
    if (n == 6 || part.empty() || part.size() > 2 || part.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      return std::nullopt;
    out[static_cast<std::size_t>(n++)] = std::stoi(part, nullptr, 16);
  }
  if (n != 6) return std::nullopt;
  return out;
}

}  // namespace

std::optional<std::string> lease_for_mac(const std::string& text, const std::string& mac) {
  const auto want = mac_bytes(mac);
  if (!want) return std::nullopt;
  std::optional<std::string> best;
  unsigned long long best_lease = 0;
  std::map<std::string, std::string> entry;
  bool inside = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    if (line == "{") {
      inside = true;
      entry.clear();
    } else if (line == "}" && inside) {
      inside = false;
      const auto hw = mac_bytes(entry["hw_address"]);
      if (!hw || *hw != *want || entry["ip_address"].empty()) continue;
      unsigned long long lease = 0;
      try {
        lease = std::stoull(entry["lease"], nullptr, 0);
      } catch (const std::exception&) {
      }
      if (!best || lease >= best_lease) {
        best = entry["ip_address"];
        best_lease = lease;
      }
    } else if (inside) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) entry[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  return best;
}

std::vector<std::string> host_keys_in_console(const std::string& text) {
  static constexpr std::string_view begin = "-----BEGIN SSH HOST KEY KEYS-----";
  static constexpr std::string_view end = "-----END SSH HOST KEY KEYS-----";
  const auto b = text.rfind(begin);
  if (b == std::string::npos) return {};
  const auto e = text.find(end, b);
  if (e == std::string::npos) return {};
  std::vector<std::string> keys;
  std::istringstream lines(text.substr(b + begin.size(), e - b - begin.size()));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string type, data;
    if (!(words >> type >> data)) continue;
    if (type.rfind("ssh-", 0) == 0 || type.rfind("ecdsa-", 0) == 0 || type.rfind("sk-", 0) == 0)
      keys.push_back(type + " " + data);
  }
  return keys;
}

// ---- Guest ------------------------------------------------------------------------------------

Guest::Guest(const std::string& name) : m_name(name) { (void)bundle_of(name); }

bool Guest::has_agent() const { return device_of(spec_of(bundle_of(m_name)), "guest-agent") != nullptr; }

ExecResult Guest::exec(const std::vector<std::string>& argv, const std::optional<std::string>& input,
                       std::chrono::seconds timeout) const {
  if (argv.empty()) throw InputError("give the command to run in the guest, e.g. `vzkit exec " + m_name + " -- uname -a`");
  const auto b = bundle_of(m_name);
  auto agent = connect_agent(b, std::chrono::seconds(10));
  json::array args;
  for (std::size_t i = 1; i < argv.size(); ++i) args.emplace_back(argv[i]);
  json::object request{{"path", argv[0]}, {"arg", std::move(args)}, {"capture-output", true}};
  if (input) request["input-data"] = base64_encode(*input);
  json::value started;
  try {
    started = agent.client->call("guest-exec", std::move(request), std::chrono::seconds(30));
  } catch (const AgentError& e) {
    throw std::runtime_error("cannot run '" + argv[0] + "' in VM '" + m_name + "': " + e.what());
  } catch (const AgentUnreachable& e) {
    throw std::runtime_error("the guest agent stopped answering: " + std::string(e.what()));
  }
  const auto pid = int_of(started, "pid");
  // Short polls first: most commands end within milliseconds.
  const auto deadline = Clock::now() + timeout;
  auto pause = std::chrono::microseconds(500);
  for (;;) {
    const auto status = call(agent, "guest-exec-status", {{"pid", pid}});
    if (bool_of(status, "exited")) {
      ExecResult r;
      if (const auto* sig = status.as_object().if_contains("signal"); sig && sig->is_number()) {
        r.signal = sig->to_number<int>();
        r.exit_code = 128 + r.signal;
      } else {
        r.exit_code = static_cast<int>(int_of(status, "exitcode"));
      }
      r.out = base64_decode(string_of(status, "out-data"));
      r.err = base64_decode(string_of(status, "err-data"));
      r.truncated = bool_of(status, "out-truncated") || bool_of(status, "err-truncated");
      return r;
    }
    if (Clock::now() > deadline)
      throw std::runtime_error("'" + argv[0] + "' is still running in VM '" + m_name + "' after " +
                               std::to_string(timeout.count()) + " s (guest pid " + std::to_string(pid) +
                               "); it keeps running there\n  hint: give it longer with --timeout");
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(50));
  }
}

namespace {

constexpr std::size_t kChunk = 1u << 20;  // bytes per guest-file-read/-write

struct GuestFile {
  Agent& agent;
  std::int64_t handle;
  bool open = true;
  void close() {
    if (!open) return;
    open = false;
    call(agent, "guest-file-close", {{"handle", handle}});
  }
  ~GuestFile() {
    try {
      close();
    } catch (const std::exception&) {
    }
  }
};

std::int64_t open_in_guest(Agent& agent, const std::string& vm, const std::string& path, const char* mode) {
  try {
    return agent.client->call("guest-file-open", {{"path", path}, {"mode", mode}}, std::chrono::seconds(30))
        .to_number<std::int64_t>();
  } catch (const AgentError& e) {
    throw std::runtime_error("cannot open '" + path + "' in VM '" + vm + "' for " +
                             (mode[0] == 'r' ? "reading" : "writing") + ": " + e.what());
  }
}

}  // namespace

void Guest::copy_from_guest(const std::string& guest_path, const std::string& local_path,
                            const std::function<void(std::uint64_t, std::uint64_t)>& progress) const {
  const auto b = bundle_of(m_name);
  auto agent = connect_agent(b, std::chrono::seconds(10));
  const fs::path target = fs::absolute(local_path);
  const fs::path tmp = target.string() + ".vzkit-part";
  GuestFile file{agent, open_in_guest(agent, m_name, guest_path, "r")};
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  std::uint64_t copied = 0;
  try {
    for (;;) {
      const auto r = call(agent, "guest-file-read", {{"handle", file.handle}, {"count", kChunk}});
      const std::string bytes = base64_decode(string_of(r, "buf-b64"));
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!out) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
      copied += bytes.size();
      if (progress) progress(copied, 0);
      if (bool_of(r, "eof") || bytes.empty()) break;
    }
    file.close();
    out.close();
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
    fs::rename(tmp, target);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

void Guest::copy_to_guest(const std::string& local_path, const std::string& guest_path,
                          const std::function<void(std::uint64_t, std::uint64_t)>& progress) const {
  std::ifstream in(local_path, std::ios::binary);
  std::error_code ec;
  if (!in || !fs::is_regular_file(local_path, ec))
    throw InputError("cannot read '" + local_path + "' (give a regular file to copy into the guest)");
  const std::uint64_t total = fs::file_size(local_path, ec);
  const auto b = bundle_of(m_name);
  auto agent = connect_agent(b, std::chrono::seconds(10));
  GuestFile file{agent, open_in_guest(agent, m_name, guest_path, "w")};
  std::string buffer(kChunk, '\0');
  std::uint64_t copied = 0;
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    const auto n = static_cast<std::size_t>(in.gcount());
    call(agent, "guest-file-write", {{"handle", file.handle}, {"buf-b64", base64_encode({buffer.data(), n})}});
    copied += n;
    if (progress) progress(copied, total);
  }
  file.close();
}

GuestAddress Guest::address(std::chrono::seconds wait) const {
  const auto b = bundle_of(m_name);
  const auto deadline = Clock::now() + wait;
  const bool agent = has_agent();
  std::string why = "the VM is not running";
  for (;;) {
    if (kernel::BundleLock::is_held(b)) {
      GuestAddress a;
      std::string host = "127.0.0.1";
      const int port = forwarded_port(b, 22, &host);
      if (port > 0) {
        a.ssh_host = host;
        a.ssh_port = port;
        a.source = "forward";
      }
      if (agent) {
        try {
          auto client = connect_agent(b, std::chrono::seconds(3));
          a.address = agent_address(call(client, "guest-network-get-interfaces"));
          if (!a.address.empty()) a.source = "agent";
          else why = "the guest has no IPv4 address yet (its agent lists none)";
        } catch (const std::exception& e) {
          why = e.what();
        }
      }
      if (a.address.empty() && b.engine() == "vz") {
        const std::string mac = mac_of_run(b);
        if (auto ip = lease_for_mac(read_text("/var/db/dhcpd_leases"), mac)) {
          a.address = *ip;
          a.source = "dhcp-leases";
        } else {
          why = "the guest has not asked for one (no lease for " + (mac.empty() ? "its MAC" : mac) +
                " in /var/db/dhcpd_leases)";
        }
      }
      if (!a.address.empty() && a.ssh_host.empty()) {
        a.ssh_host = a.address;
        a.ssh_port = 22;
      }
      if (!a.address.empty() || (port > 0 && !agent && b.engine() != "vz")) return a;
      if (!agent && b.engine() != "vz") why = "VM '" + m_name + "' has no guest agent and no forward of port 22";
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error("no address yet: " + why + " (waited " + std::to_string(wait.count()) + " s)" +
                               (wait.count() == 0 ? "\n  hint: wait for it with --wait 60" : ""));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

SshLogin Guest::ssh_login() const {
  const auto b = bundle_of(m_name);
  SshLogin l;
  const auto* access = b.meta.if_contains("access");
  if (access && access->is_object()) {
    l.user = string_of(*access, "user");
    if (auto id = string_of(*access, "identity"); !id.empty()) l.identity = fs::path(id).is_absolute() ? id : (b.dir / id).string();
  }
  if (l.user.empty())
    if (const auto* ci = device_of(spec_of(b), "cloud-init")) l.user = string_of(*ci, "user");
  if (l.user.empty()) l.user = ::getenv("USER") ? ::getenv("USER") : "root";
  l.known_hosts = (b.dir / "known_hosts").string();
  l.host_key_alias = "vzkit-" + m_name;
  return l;
}

namespace {

// Writes the VM's known_hosts from `keys` when they differ from what it holds.
void learn_host_keys(const SshLogin& l, const std::vector<std::string>& keys) {
  std::string text;
  for (const auto& k : keys) text += l.host_key_alias + " " + k + "\n";
  if (read_text(l.known_hosts) == text) return;
  kernel::write_atomic(l.known_hosts, text);
}

std::vector<std::string> host_keys_from_agent(const kernel::Bundle& b) {
  auto agent = connect_agent(b, std::chrono::seconds(1));
  const auto started = call(agent, "guest-exec",
                            {{"path", "/bin/sh"},
                             {"arg", json::array{"-c", "cat /etc/ssh/ssh_host_*_key.pub"}},
                             {"capture-output", true}});
  const auto pid = int_of(started, "pid");
  for (int i = 0; i < 200; ++i) {
    const auto status = call(agent, "guest-exec-status", {{"pid", pid}});
    if (bool_of(status, "exited")) {
      std::vector<std::string> keys;
      std::istringstream lines(base64_decode(string_of(status, "out-data")));
      for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string type, data;
        if (words >> type >> data) keys.push_back(type + " " + data);
      }
      return keys;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

}  // namespace

std::vector<std::string> Guest::ssh_argv(const std::vector<std::string>& command,
                                         const std::vector<std::string>& extra) const {
  const auto b = bundle_of(m_name);
  require_running(b);
  const SshLogin login = ssh_login();
  // The host keys: from this run's console (cloud-init prints them at the end of boot), else
  // from the agent, else what the bundle learnt before.
  auto keys = host_keys_in_console(read_text(b.run_dir() / "console.log"));
  std::string agent_problem;
  std::error_code ec;
  const bool known = fs::exists(login.known_hosts, ec) && fs::file_size(login.known_hosts, ec) > 0;
  if (keys.empty() && !known && has_agent()) {
    try {
      keys = host_keys_from_agent(b);
    } catch (const std::exception& e) {
      agent_problem = e.what();
    }
  }
  if (!keys.empty()) learn_host_keys(login, keys);
  else if (!known)
    throw std::runtime_error(
        "the host keys of VM '" + m_name + "' are not known yet: cloud-init prints them on the console at the end of "
        "its first boot" + (agent_problem.empty() ? std::string() : ", and " + agent_problem) +
        "\n  hint: wait until the guest has booted (`vzkit logs " + m_name + " --follow`), then try again");
  std::string host = "127.0.0.1";
  int port = forwarded_port(b, 22, &host);
  if (port == 0) {
    const auto a = address(std::chrono::seconds(0));
    host = a.ssh_host;
    port = a.ssh_port;
  }
  std::vector<std::string> argv{"ssh",
                                "-o", "UserKnownHostsFile=" + login.known_hosts,
                                "-o", "StrictHostKeyChecking=yes",
                                "-o", "HostKeyAlias=" + login.host_key_alias,
                                "-o", "GlobalKnownHostsFile=/dev/null",
                                "-o", "ConnectTimeout=10",
                                "-o", "LogLevel=ERROR",
                                "-p", std::to_string(port),
                                "-l", login.user};
  if (!login.identity.empty()) argv.insert(argv.end(), {"-i", login.identity, "-o", "IdentitiesOnly=yes"});
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(host);
  // One argument is a command line for the guest's shell, as ssh takes it ('ls | wc -l'); several
  // are quoted each, so they arrive as the words given (`-- sh -c 'echo $((6*7))'`), as with exec.
  if (command.size() == 1) argv.insert(argv.end(), {"--", command[0]});
  else if (!command.empty()) argv.insert(argv.end(), {"--", shell_join(command)});
  return argv;
}

bool Guest::shutdown_by_agent() const {
  const auto b = bundle_of(m_name);
  if (!has_agent() || !kernel::BundleLock::is_held(b)) return false;
  try {
    auto agent = connect_agent(b, std::chrono::seconds(5));
    agent.client->send("guest-shutdown", {{"mode", "powerdown"}});  // no reply when it works
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

std::string Guest::console_socket() const {
  const auto b = bundle_of(m_name);
  require_running(b);
  const auto st = kernel::read_state(b.run_dir());
  const std::string socket = string_of(json::value(st), "console_socket");
  if (socket.empty()) {
    if (b.engine() == "vz")
      throw std::runtime_error("VM '" + m_name + "' runs on the vz engine, whose console is a log file only\n  hint: "
                               "read it with `vzkit logs " + m_name + " --follow`, or run it in the foreground with "
                               "`vzkit run " + m_name + " --console`");
    throw std::runtime_error("the console of VM '" + m_name + "' is relayed to the terminal of its foreground `vzkit run`"
                             "\n  hint: attach a console to VMs started with `vzkit run " + m_name + " --detach`");
  }
  return socket;
}

std::string Guest::console_lock_file() const { return (bundle_of(m_name).run_dir() / "console.lock").string(); }

}  // namespace vzkit::host
