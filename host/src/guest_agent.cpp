#include "guest_agent.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <istream>
#include <random>
#include <thread>

namespace vzkit::host::detail {

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

AgentClient::AgentClient(const std::string& path, std::chrono::milliseconds timeout) : m_socket(m_io), m_path(path) {
  const auto deadline = Clock::now() + timeout;
  boost::system::error_code ec;
  m_socket.connect(asio::local::stream_protocol::endpoint(path), ec);
  if (ec) throw AgentUnreachable("cannot connect to " + path + ": " + ec.message());
  // guest-sync-delimited: the reply is preceded by 0xFF; what comes before it is someone else's.
  std::random_device random;
  const std::uint64_t id = (std::uint64_t{random()} << 20) ^ random();
  write("\xff" + json::serialize(json::object{{"execute", "guest-sync-delimited"}, {"arguments", {{"id", id}}}}) + "\n",
        deadline);
  for (;;) {
    std::string line = read_line(deadline);
    const auto mark = line.rfind('\xff');
    if (mark == std::string::npos) continue;
    line.erase(0, mark + 1);
    try {
      const auto v = json::parse(line);
      if (const auto* r = v.as_object().if_contains("return"); r && r->is_number() && r->to_number<std::uint64_t>() == id)
        return;
    } catch (const std::exception&) {
      // a fragment of an older reply: keep looking
    }
  }
}

AgentClient::~AgentClient() {
  boost::system::error_code ec;
  m_socket.close(ec);
}

void AgentClient::run_until(Clock::time_point deadline, const bool& done, const char* what) {
  m_io.restart();
  while (!done) {
    const auto now = Clock::now();
    if (now >= deadline) {
      boost::system::error_code ec;
      m_socket.cancel(ec);
      m_io.restart();
      m_io.run_for(std::chrono::milliseconds(100));  // let the cancelled operation finish
      throw AgentUnreachable(std::string("no answer from the guest agent while ") + what);
    }
    if (m_io.run_one_for(deadline - now) == 0 && m_io.stopped()) m_io.restart();
  }
}

void AgentClient::write(const std::string& bytes, Clock::time_point deadline) {
  bool done = false;
  boost::system::error_code error;
  asio::async_write(m_socket, asio::buffer(bytes), [&](const boost::system::error_code& ec, std::size_t) {
    error = ec;
    done = true;
  });
  run_until(deadline, done, "sending a request");
  if (error) throw AgentUnreachable("cannot write to " + m_path + ": " + error.message());
}

std::string AgentClient::read_line(Clock::time_point deadline) {
  bool done = false;
  boost::system::error_code error;
  asio::async_read_until(m_socket, m_buffer, '\n', [&](const boost::system::error_code& ec, std::size_t) {
    error = ec;
    done = true;
  });
  run_until(deadline, done, "waiting for its reply");
  if (error)
    throw AgentUnreachable(error == asio::error::eof ? "the guest agent's channel " + m_path + " closed"
                                                     : "cannot read from " + m_path + ": " + error.message());
  std::istream in(&m_buffer);
  std::string line;
  std::getline(in, line);
  return line;
}

json::value AgentClient::call(const std::string& command, json::object arguments, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  json::object request{{"execute", command}};
  if (!arguments.empty()) request["arguments"] = std::move(arguments);
  write(json::serialize(request) + "\n", deadline);
  for (;;) {
    const std::string line = read_line(deadline);
    json::value v;
    try {
      v = json::parse(line);
    } catch (const std::exception&) {
      continue;
    }
    if (!v.is_object()) continue;
    const auto& o = v.get_object();
    if (const auto* e = o.if_contains("error")) {
      const auto* desc = e->is_object() ? e->get_object().if_contains("desc") : nullptr;
      throw AgentError(desc && desc->is_string() ? std::string(desc->get_string()) : json::serialize(*e));
    }
    if (const auto* r = o.if_contains("return")) return *r;
  }
}

void AgentClient::send(const std::string& command, json::object arguments) {
  json::object request{{"execute", command}};
  if (!arguments.empty()) request["arguments"] = std::move(arguments);
  write(json::serialize(request) + "\n", Clock::now() + std::chrono::seconds(5));
}

}  // namespace vzkit::host::detail
