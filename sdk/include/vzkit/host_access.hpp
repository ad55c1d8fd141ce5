// The way into a running guest, for front-ends: its address, an ssh command line with the right
// user, key, port and host keys, commands and file copies through the QEMU guest agent (qemu-ga,
// over virtio-serial on QEMU and vsock on VZ, both reached at run/qga.sock), and its serial
// console. Part of the host API (host.hpp includes it); docs/way-in.md describes the whole path.
//
// Every call that cannot do what was asked throws std::runtime_error with a message that says
// what to do ("VM 'web' has no guest agent: add {"plugin": "guest-agent"} or use vzkit ssh").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vzkit::host {

/// What a command run in the guest did.
struct ExecResult {
  int exit_code = 0;   ///< its exit status, or 128 + the signal that ended it
  int signal = 0;      ///< the signal that ended it, 0 if it exited
  std::string out;     ///< its stdout (the agent keeps at most 16 MiB)
  std::string err;     ///< its stderr
  bool truncated = false;  ///< the agent cut stdout or stderr short
};

/// Where the guest is reached.
struct GuestAddress {
  std::string address;  ///< the guest's own IPv4 address ("" when only a forward is known)
  std::string source;   ///< "agent", "dhcp-leases" (VZ NAT) or "forward"
  std::string ssh_host; ///< where ssh connects: the address, or 127.0.0.1 with a forward
  int ssh_port = 22;
};

/// How `vzkit ssh` logs in to a VM, as its bundle records it (`vzkit create --image` writes it).
struct SshLogin {
  std::string user;          ///< the user cloud-init creates
  std::string identity;      ///< the private key file ("" = ssh's own default keys)
  std::string known_hosts;   ///< the VM's own known_hosts file in its bundle
  std::string host_key_alias;  ///< the name its host keys are kept under in that file
};

/// A running VM's guest.
class Guest {
 public:
  /// The VM `name` (it need not run yet; each call checks). Throws when there is no such VM.
  explicit Guest(const std::string& name);

  const std::string& name() const { return m_name; }
  /// Whether its spec has the guest-agent device.
  bool has_agent() const;

  /// Runs argv[0] (a path, or a name the agent finds on the guest's PATH) with the arguments,
  /// `input` on its stdin, and waits for it at most `timeout`.
  ExecResult exec(const std::vector<std::string>& argv, const std::optional<std::string>& input,
                  std::chrono::seconds timeout) const;
  /// Copies a guest file to `local_path` (written beside it and renamed when complete), or a
  /// local file into the guest. `progress` gets the bytes copied so far and the total (0 unknown).
  void copy_from_guest(const std::string& guest_path, const std::string& local_path,
                       const std::function<void(std::uint64_t, std::uint64_t)>& progress = {}) const;
  void copy_to_guest(const std::string& local_path, const std::string& guest_path,
                     const std::function<void(std::uint64_t, std::uint64_t)>& progress = {}) const;

  /// The guest's address: from the agent (guest-network-get-interfaces), on VZ from the host's
  /// DHCP leases, else the forward of guest port 22. Waits up to `wait` for one to appear; throws
  /// "no address yet: ... (waited N s)" when none does.
  GuestAddress address(std::chrono::seconds wait) const;

  /// The ssh command line (argv[0] "ssh") that logs in to the guest and runs `command` (none:
  /// a login shell; one argument: a command line for the guest's shell, as ssh takes it; several:
  /// each quoted, so the guest runs exactly those words, as exec() does). Host keys are checked against the bundle's known_hosts, which is learnt
  /// first from what cloud-init printed on this run's console, else from the agent; host-key
  /// checking is never turned off. `extra` are options put before the destination.
  std::vector<std::string> ssh_argv(const std::vector<std::string>& command,
                                    const std::vector<std::string>& extra = {}) const;
  SshLogin ssh_login() const;

  /// Asks the guest agent to power the guest off (guest-shutdown). False when the VM has no
  /// agent or it does not answer.
  bool shutdown_by_agent() const;

  /// The unix socket of the running VM's serial console, for attaching a terminal to it. Throws
  /// saying why when the console cannot be attached (it is relayed to the terminal of a
  /// foreground run; the engine offers none).
  std::string console_socket() const;
  /// The file whose lock gives the one writer of the console its turn (flock).
  std::string console_lock_file() const;

 private:
  std::string m_name;
};

/// The IPv4 address macOS's DHCP server (bootpd, for VZ NAT) leased to `mac`, from the text of
/// /var/db/dhcpd_leases; the newest lease when there are several. MACs compare by value
/// (bootpd writes "1,2:4:56:..." without leading zeros). nullopt when there is none.
std::optional<std::string> lease_for_mac(const std::string& leases_text, const std::string& mac);

/// The host keys cloud-init printed on a console (between "-----BEGIN SSH HOST KEY KEYS-----" and
/// "-----END SSH HOST KEY KEYS-----"; the last such block), one "TYPE BASE64" per entry.
std::vector<std::string> host_keys_in_console(const std::string& console_text);

}  // namespace vzkit::host
