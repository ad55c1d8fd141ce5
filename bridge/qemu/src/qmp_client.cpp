#include <vzkit/bridge/qemu/qmp_client.hpp>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <istream>
#include <stdexcept>

namespace vzkit::bridge::qemu {

namespace asio = boost::asio;
namespace json = boost::json;

QmpClient::QmpClient(asio::io_context& io) : m_io(io), m_socket(io), m_retry(io) {}

QmpClient::~QmpClient() {
  *m_alive = false;
  boost::system::error_code ec;
  m_socket.close(ec);
}

void QmpClient::connect(const std::string& path, std::chrono::milliseconds timeout, Done done) {
  m_path = path;
  m_deadline = std::chrono::steady_clock::now() + timeout;
  m_connected = std::move(done);
  try_connect();
}

void QmpClient::try_connect() {
  boost::system::error_code ec;
  if (m_socket.is_open()) m_socket.close(ec);
  m_socket.open(asio::local::stream_protocol(), ec);
  if (!ec) m_socket.connect(asio::local::stream_protocol::endpoint(m_path), ec);
  if (ec) {
    if (std::chrono::steady_clock::now() >= m_deadline) {
      auto done = std::move(m_connected);
      if (done) done("cannot connect to QMP socket " + m_path + ": " + ec.message());
      return;
    }
    m_retry.expires_after(std::chrono::milliseconds(5));
    m_retry.async_wait([this, alive = m_alive](const boost::system::error_code& e) {
      if (*alive && !e) try_connect();
    });
    return;
  }
  read_line();
}

void QmpClient::read_line() {
  asio::async_read_until(m_socket, m_buffer, '\n',
                         [this, alive = m_alive](const boost::system::error_code& ec, std::size_t) {
                           if (!*alive) return;
                           if (ec) {
                             fail_all(ec == asio::error::eof
                                          ? "the other end closed the QMP connection on " + m_path
                                          : ec.message());
                             return;
                           }
                           std::istream in(&m_buffer);
                           std::string line;
                           std::getline(in, line);
                           handle_line(line);
                           if (!m_closed) read_line();
                         });
}

void QmpClient::handle_line(const std::string& line) {
  json::value v;
  try {
    v = json::parse(line);
  } catch (const std::exception&) {
    return;  // not ours to interpret; QMP speaks one JSON object per line
  }
  if (!v.is_object()) return;
  auto& o = v.get_object();
  if (o.contains("QMP")) {  // greeting: negotiate, then we are ready
    execute("qmp_capabilities", {}, [this](const std::string& err, const json::value&) {
      m_ready = err.empty();
      auto done = std::move(m_connected);
      if (done) done(err);
    });
    return;
  }
  if (o.contains("event")) {
    if (m_on_event) m_on_event(o);
    return;
  }
  const auto* id = o.if_contains("id");
  if (!id || !(id->is_uint64() || id->is_int64())) return;
  auto it = m_pending.find(id->to_number<std::uint64_t>());
  if (it == m_pending.end()) return;
  Reply reply = std::move(it->second);
  m_pending.erase(it);
  if (const auto* e = o.if_contains("error")) {
    std::string desc = e->is_object() && e->get_object().contains("desc") ? std::string(e->at("desc").as_string())
                                                                           : json::serialize(*e);
    reply(desc, nullptr);
  } else {
    const auto* r = o.if_contains("return");
    reply("", r ? *r : json::value());
  }
}

void QmpClient::execute(const std::string& command, json::object arguments, Reply reply) {
  execute_with_fd(command, std::move(arguments), -1, std::move(reply));
}

void QmpClient::execute_with_fd(const std::string& command, json::object arguments, int fd, Reply reply) {
  if (m_closed) {
    asio::post(m_io, [reply] { reply("the QMP connection is closed", nullptr); });
    return;
  }
  const std::uint64_t id = m_next_id++;
  json::object msg{{"execute", command}, {"id", id}};
  if (!arguments.empty()) msg["arguments"] = std::move(arguments);
  m_pending.emplace(id, std::move(reply));
  m_outbox.push_back(json::serialize(msg) + "\n");
  m_outbox_fds.push_back(fd);
  if (m_outbox.size() == 1) write_next();
}

namespace {

// One message with a descriptor attached: QEMU reads the descriptor with the first byte of the
// command, so the whole line goes in one sendmsg (waiting for room when the socket is full).
std::string send_with_fd(int socket, const std::string& text, int fd) {
  std::size_t sent = 0;
  while (sent < text.size()) {
    iovec io{const_cast<char*>(text.data() + sent), text.size() - sent};
    msghdr msg{};
    msg.msg_iov = &io;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (sent == 0) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    const ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      pollfd p{socket, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    if (n < 0) return std::strerror(errno);
    sent += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

void QmpClient::write_next() {
  if (m_outbox.empty()) return;
  if (m_outbox_fds.front() >= 0) {
    const std::string err = send_with_fd(m_socket.native_handle(), m_outbox.front(), m_outbox_fds.front());
    if (!err.empty()) {
      fail_all("cannot write to QMP: " + err);
      return;
    }
    m_outbox.pop_front();
    m_outbox_fds.pop_front();
    write_next();
    return;
  }
  asio::async_write(m_socket, asio::buffer(m_outbox.front()),
                    [this, alive = m_alive](const boost::system::error_code& ec, std::size_t) {
                      if (!*alive) return;
                      if (ec) {
                        fail_all("cannot write to QMP: " + ec.message());
                        return;
                      }
                      m_outbox.pop_front();
                      m_outbox_fds.pop_front();
                      write_next();
                    });
}

void QmpClient::fail_all(const std::string& why) {
  if (m_closed) return;
  m_closed = true;
  m_ready = false;
  auto pending = std::move(m_pending);
  m_pending.clear();
  m_outbox.clear();
  m_outbox_fds.clear();
  for (auto& [id, reply] : pending) reply(why, nullptr);
  if (auto done = std::move(m_connected)) done(why);
  if (auto on_close = std::move(m_on_close)) on_close(why);
}

void QmpClient::close() {
  boost::system::error_code ec;
  m_retry.cancel();
  m_socket.close(ec);
  fail_all("closed");
}

json::value qmp_call(const std::string& socket_path, const std::string& command, json::object arguments,
                     std::chrono::milliseconds timeout) {
  QmpCallOptions o;
  o.timeout = timeout;
  return qmp_call(socket_path, command, std::move(arguments), o);
}

json::value qmp_call(const std::string& socket_path, const std::string& command, json::object arguments,
                     const QmpCallOptions& options) {
  asio::io_context io;
  QmpClient client(io);
  std::string error;
  json::value result;
  bool finished = false;
  auto end = [&](const std::string& why) {
    if (finished) return;
    error = why;
    finished = true;
    client.close();
  };
  if (options.on_event) client.set_event_handler(options.on_event);
  // Retrying the connection gets part of the time; the rest is for the answer.
  const auto connect_for = options.timeout.count() > 0 ? std::min(options.timeout / 2, std::chrono::milliseconds(2000))
                                                       : std::chrono::milliseconds(2000);
  client.connect(socket_path, connect_for, [&](const std::string& err) {
    if (finished) return;
    if (!err.empty()) return end(err);
    client.execute(command, std::move(arguments), [&](const std::string& e, const json::value& r) {
      result = r;
      end(e);
    });
  });
  asio::steady_timer guard(io);
  if (options.timeout.count() > 0) {
    guard.expires_after(options.timeout);
    guard.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) end("no answer on " + socket_path + " within " + std::to_string(options.timeout.count()) + " ms");
    });
  }
  asio::steady_timer watch(io);
  std::function<void()> arm = [&] {
    watch.expires_after(std::chrono::milliseconds(200));
    watch.async_wait([&](const boost::system::error_code& ec) {
      if (ec || finished) return;
      if (!options.keep_waiting()) return end(options.gone);
      arm();
    });
  };
  if (options.keep_waiting) arm();
  while (!finished && io.run_one()) {
  }
  if (!error.empty()) throw std::runtime_error(command + ": " + error);
  return result;
}

}  // namespace vzkit::bridge::qemu
