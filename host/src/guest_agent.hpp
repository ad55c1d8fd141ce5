// A client of the QEMU guest agent (qemu-ga) on a unix socket: QEMU's virtio-serial chardev, or
// the VZ runner's bridge to the guest's vsock port; both live at run/qga.sock. One JSON object per
// line, like QMP, but without a greeting; the channel may hold a reply meant for an earlier
// client, so each connection starts with guest-sync-delimited (a 0xFF byte before the request and
// before its reply, and a random id that the reply must echo) and skips whatever comes before.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

namespace vzkit::host::detail {

/// The agent answered with an error ({"error": {"class", "desc"}}): `what()` is its desc.
struct AgentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The agent did not answer in time, or the channel closed.
struct AgentUnreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class AgentClient {
 public:
  /// Connects and synchronises; throws AgentUnreachable when the socket cannot be connected or
  /// the agent does not answer within `timeout`.
  AgentClient(const std::string& socket_path, std::chrono::milliseconds timeout);
  ~AgentClient();

  /// Runs one command and returns its "return" value. Throws AgentError or AgentUnreachable.
  boost::json::value call(const std::string& command, boost::json::object arguments,
                          std::chrono::milliseconds timeout);
  /// Sends a command whose success has no reply (guest-shutdown).
  void send(const std::string& command, boost::json::object arguments);

 private:
  void write(const std::string& bytes, std::chrono::steady_clock::time_point deadline);
  /// The next line (without its newline); throws AgentUnreachable after `deadline`.
  std::string read_line(std::chrono::steady_clock::time_point deadline);
  void run_until(std::chrono::steady_clock::time_point deadline, const bool& done, const char* what);

  boost::asio::io_context m_io;
  boost::asio::local::stream_protocol::socket m_socket;
  boost::asio::streambuf m_buffer;
  std::string m_path;
};

}  // namespace vzkit::host::detail
