// A QMP (QEMU Machine Protocol) client over a unix socket, on Boost.Asio: one JSON object per
// line; replies matched to commands by id; events handed to a callback.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace vzkit::bridge::qemu {

class QmpClient {
 public:
  /// error is empty on success; `result` is the command's "return" value.
  using Reply = std::function<void(const std::string& error, const boost::json::value& result)>;
  using EventHandler = std::function<void(const boost::json::object& event)>;
  using Done = std::function<void(const std::string& error)>;

  explicit QmpClient(boost::asio::io_context& io);
  ~QmpClient();

  /// Connects to `path`, retrying until `timeout` (the socket appears some milliseconds after
  /// QEMU starts), reads the greeting and negotiates capabilities.
  void connect(const std::string& path, std::chrono::milliseconds timeout, Done done);
  /// Sends a command; `reply` runs when its answer arrives (or with an error if the connection
  /// closes first).
  void execute(const std::string& command, boost::json::object arguments, Reply reply);
  /// The same, passing the open descriptor `fd` along with the command (SCM_RIGHTS), as QMP's
  /// getfd and add-fd expect. The descriptor is duplicated by QEMU; the caller still owns it.
  void execute_with_fd(const std::string& command, boost::json::object arguments, int fd, Reply reply);
  void set_event_handler(EventHandler handler) { m_on_event = std::move(handler); }
  /// Called once when the connection ends (QEMU exited or closed it).
  void set_close_handler(Done handler) { m_on_close = std::move(handler); }
  bool connected() const { return m_ready; }
  void close();

 private:
  void try_connect();
  void read_line();
  void handle_line(const std::string& line);
  void write_next();
  void fail_all(const std::string& why);

  boost::asio::io_context& m_io;
  boost::asio::local::stream_protocol::socket m_socket;
  boost::asio::steady_timer m_retry;
  boost::asio::streambuf m_buffer;
  std::string m_path;
  std::chrono::steady_clock::time_point m_deadline;
  Done m_connected;
  bool m_ready = false;
  bool m_closed = false;
  std::uint64_t m_next_id = 1;
  std::map<std::uint64_t, Reply> m_pending;
  std::deque<std::string> m_outbox;
  std::deque<int> m_outbox_fds;  ///< the descriptor sent with each outbox entry, -1 for none
  EventHandler m_on_event;
  Done m_on_close;
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
};

/// Runs one command on a QMP socket synchronously (for commands sent by another vzkit process
/// to a running VM's control socket). Throws std::runtime_error on failure.
boost::json::value qmp_call(const std::string& socket_path, const std::string& command,
                            boost::json::object arguments = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// How qmp_call() waits for a command that takes long (saving a machine's state).
struct QmpCallOptions {
  std::chrono::milliseconds timeout{10000};  ///< for the answer; 0: no limit
  QmpClient::EventHandler on_event;          ///< the events that arrive meanwhile
  /// Asked every 200 ms while waiting; false ends the call with `gone` as its error (the process
  /// that should answer died without closing the socket).
  std::function<bool()> keep_waiting;
  std::string gone = "the other end went away before it answered";
};
boost::json::value qmp_call(const std::string& socket_path, const std::string& command, boost::json::object arguments,
                            const QmpCallOptions& options);

}  // namespace vzkit::bridge::qemu
