// A small HTTP/1.1 server on 127.0.0.1 for the registry client's tests: each connection carries
// one request, answered by a handler, then closed. A reply may be cut short (its Content-Length
// promises more than is sent) to play a connection that drops midway.
#pragma once

#include <boost/asio.hpp>

#include <atomic>
#include <cctype>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <thread>

namespace vzkit::images::testing {

class FakeHttp {
 public:
  struct Request {
    std::string method, target;
    std::map<std::string, std::string> headers;  ///< names in lower case
    std::string body;                            ///< as long as its Content-Length
    std::string header(const std::string& name) const {
      const auto it = headers.find(name);
      return it == headers.end() ? std::string() : it->second;
    }
  };
  struct Reply {
    std::string status = "200 OK";
    std::string headers;  ///< "Name: value\r\n" lines
    std::string body;
    std::size_t send_only = std::string::npos;  ///< body bytes sent before the connection is closed
  };
  using Handler = std::function<Reply(const Request&)>;

  explicit FakeHttp(Handler handler)
      : m_handler(std::move(handler)),
        m_acceptor(m_io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    m_thread = std::thread([this] { serve(); });
  }
  ~FakeHttp() {
    m_stop = true;
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket s(m_io);
    s.connect(m_acceptor.local_endpoint(), ec);  // wakes accept()
    m_thread.join();
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(m_acceptor.local_endpoint().port()); }

 private:
  void serve() {
    namespace asio = boost::asio;
    while (!m_stop) {
      asio::ip::tcp::socket s(m_io);
      boost::system::error_code ec;
      m_acceptor.accept(s, ec);
      if (ec || m_stop) return;
      asio::streambuf buf;
      asio::read_until(s, buf, "\r\n\r\n", ec);
      if (ec) continue;
      std::istream in(&buf);
      Request req;
      std::string version, line;
      in >> req.method >> req.target >> version;
      std::getline(in, line);
      while (std::getline(in, line) && line != "\r") {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto value = line.find_first_not_of(' ', colon + 1);
        req.headers[name] = value == std::string::npos ? std::string() : line.substr(value);
      }
      if (const auto len = req.header("content-length"); !len.empty()) {
        const std::size_t n = std::stoull(len);
        std::string rest(std::istreambuf_iterator<char>(in), {});  // what came with the headers
        req.body = rest.substr(0, n);
        if (req.body.size() < n) {
          std::string more(n - req.body.size(), '\0');
          asio::read(s, asio::buffer(more), ec);
          req.body += more;
        }
      }
      const Reply r = m_handler(req);
      const std::string head = "HTTP/1.1 " + r.status + "\r\n" + r.headers +
                               "Content-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n";
      asio::write(s, asio::buffer(head), ec);
      asio::write(s, asio::buffer(r.body.data(), std::min(r.send_only, r.body.size())), ec);
      s.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    }
  }

  Handler m_handler;
  boost::asio::io_context m_io;
  boost::asio::ip::tcp::acceptor m_acceptor;
  std::thread m_thread;
  std::atomic<bool> m_stop{false};
};

}  // namespace vzkit::images::testing
