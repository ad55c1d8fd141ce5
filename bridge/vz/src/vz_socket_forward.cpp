// SocketForwarder: a unix socket on the host whose clients are connected to a vsock port in the
// guest (the guest agent's channel on VZ, docs/way-in.md). Plain C++ on the supervisor's Asio
// loop; the connection to the guest comes from VzMachine::connect_to_guest.
#include <vzkit/bridge/vz/vz_bridge.hpp>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>

#include <array>
#include <filesystem>
#include <iostream>

namespace vzkit::bridge::vz {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using local = asio::local::stream_protocol;

namespace {

/// One client and its guest connection, relayed both ways; both close when either side does.
struct Relay : std::enable_shared_from_this<Relay> {
  Relay(local::socket client, asio::posix::stream_descriptor guest) : client(std::move(client)), guest(std::move(guest)) {}
  local::socket client;
  asio::posix::stream_descriptor guest;
  std::array<char, 65536> up{}, down{};

  void start() {
    pump(client, guest, up);
    pump(guest, client, down);
  }
  template <class From, class To>
  void pump(From& from, To& to, std::array<char, 65536>& buf) {
    from.async_read_some(asio::buffer(buf), [self = shared_from_this(), &from, &to, &buf](auto ec, std::size_t n) {
      if (ec) return self->close();
      asio::async_write(to, asio::buffer(buf.data(), n), [self, &from, &to, &buf](auto wec, std::size_t) {
        if (wec) return self->close();
        self->pump(from, to, buf);
      });
    });
  }
  void close() {
    boost::system::error_code ec;
    client.close(ec);
    guest.close(ec);
  }
};

}  // namespace

struct SocketForwarder::Impl : std::enable_shared_from_this<SocketForwarder::Impl> {
  Impl(asio::io_context& io, const VzMachine& m, const vzkit::vz::SocketForward& f)
      : io(io), acceptor(io), machine(m), port(f.port), path(f.socket_path) {}
  asio::io_context& io;
  local::acceptor acceptor;
  const VzMachine& machine;
  std::uint32_t port;
  fs::path path;
  bool open = true;

  void accept() {
    acceptor.async_accept([self = shared_from_this()](auto ec, local::socket client) {
      if (ec || !self->open) return;
      auto shared_client = std::make_shared<local::socket>(std::move(client));
      // The answer comes on the VM's queue: back to this loop before touching the sockets.
      self->machine.connect_to_guest(self->port, [self, shared_client](int fd, const std::string& error) {
        asio::post(self->io, [self, shared_client, fd, error] {
          if (fd < 0 || !self->open) {
            if (fd >= 0) ::close(fd);
            if (!error.empty()) std::cerr << "vzkit: " << self->path.filename().string() << ": " << error << "\n";
            boost::system::error_code ec;
            shared_client->close(ec);
            return;
          }
          std::make_shared<Relay>(std::move(*shared_client), asio::posix::stream_descriptor(self->io, fd))->start();
        });
      });
      self->accept();
    });
  }
};

SocketForwarder::SocketForwarder(asio::io_context& io, const VzMachine& machine, const vzkit::vz::SocketForward& forward)
    : m_impl(std::make_shared<Impl>(io, machine, forward)) {
  std::error_code fec;
  fs::remove(m_impl->path, fec);  // left by an earlier run; the bundle's lock is ours
  boost::system::error_code ec;
  m_impl->acceptor.open(local(), ec);
  if (!ec) m_impl->acceptor.bind(local::endpoint(m_impl->path.string()), ec);
  if (!ec) m_impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + m_impl->path.string() + ": " + ec.message());
  m_impl->accept();
}

SocketForwarder::~SocketForwarder() {
  m_impl->open = false;
  boost::system::error_code ec;
  m_impl->acceptor.close(ec);
  std::error_code fec;
  fs::remove(m_impl->path, fec);
}

}  // namespace vzkit::bridge::vz
