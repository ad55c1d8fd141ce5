#include <vzkit/kernel/guest_clock.hpp>

#include <boost/json.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace vzkit::kernel {

namespace json = boost::json;

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string set_guest_clock(const std::filesystem::path& socket, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left_ms = [&] {
    return static_cast<int>(std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count()));
  };
  Fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) return std::strerror(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.string().size() >= sizeof addr.sun_path) return "the agent's socket path is too long";
  std::strcpy(addr.sun_path, socket.c_str());
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return "cannot connect to the guest agent at " + socket.string() + ": " + std::strerror(errno);
  auto send = [&](const std::string& text) {
    std::size_t off = 0;
    while (off < text.size()) {
      const ssize_t n = ::send(s.fd, text.data() + off, text.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  };
  std::string buffer;
  // The next line after `skip_to_ff` (a 0xFF byte, the start of guest-sync-delimited's reply).
  auto read_line = [&](bool skip_to_ff) -> std::optional<std::string> {
    for (;;) {
      if (skip_to_ff) {
        const auto ff = buffer.find('\xff');
        if (ff != std::string::npos) {
          buffer.erase(0, ff + 1);
          skip_to_ff = false;
        }
      }
      if (!skip_to_ff)
        if (const auto nl = buffer.find('\n'); nl != std::string::npos) {
          std::string line = buffer.substr(0, nl);
          buffer.erase(0, nl + 1);
          return line;
        }
      pollfd p{s.fd, POLLIN, 0};
      if (::poll(&p, 1, left_ms()) <= 0) return std::nullopt;
      char chunk[4096];
      const ssize_t n = ::recv(s.fd, chunk, sizeof chunk, 0);
      if (n <= 0) return std::nullopt;
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  };
  // The channel may hold replies meant for an earlier client: a random id marks ours.
  const std::uint32_t id = std::random_device{}() & 0x7fffffff;
  if (!send("\xff" + json::serialize(json::object{{"execute", "guest-sync-delimited"},
                                                    {"arguments", json::object{{"id", id}}}}) + "\n"))
    return "cannot write to the guest agent";
  for (bool first = true;; first = false) {
    auto line = read_line(first);
    if (!line) return "the guest agent did not answer within " + std::to_string(timeout.count()) + " ms";
    try {
      const auto v = json::parse(*line);
      if (v.is_object() && v.get_object().contains("return") && v.at("return").is_number() &&
          v.at("return").to_number<std::uint64_t>() == id)
        break;
    } catch (const std::exception&) {
    }
  }
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  if (!send(json::serialize(json::object{{"execute", "guest-set-time"}, {"arguments", json::object{{"time", now}}}}) +
            "\n"))
    return "cannot write to the guest agent";
  auto reply = read_line(false);
  if (!reply) return "the guest agent did not answer guest-set-time";
  try {
    const auto v = json::parse(*reply);
    if (v.is_object() && v.get_object().contains("error"))
      return "the guest agent refused guest-set-time: " + json::serialize(v.at("error"));
  } catch (const std::exception&) {
    return "the guest agent answered guest-set-time with '" + *reply + "'";
  }
  return {};
}

}  // namespace vzkit::kernel
