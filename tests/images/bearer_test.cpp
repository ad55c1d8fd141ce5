// The Bearer token flow of the registry client (images/src/registry.cpp) against a small HTTP
// server on 127.0.0.1 that plays a registry and its token service: the 401 names the realm, the
// token is fetched with the credentials as Basic, cached, and refused credentials are reported.
#include <vzkit/images/auth.hpp>
#include <vzkit/images/registry.hpp>

#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

namespace {

using namespace vzkit::images;
namespace asio = boost::asio;
using asio::ip::tcp;

class FakeRegistry {
 public:
  FakeRegistry() : m_acceptor(m_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    m_thread = std::thread([this] { serve(); });
  }
  ~FakeRegistry() {
    m_stop = true;
    boost::system::error_code ec;
    tcp::socket s(m_io);
    s.connect(m_acceptor.local_endpoint(), ec);  // wakes accept()
    m_thread.join();
  }
  std::string addr() const { return "127.0.0.1:" + std::to_string(m_acceptor.local_endpoint().port()); }
  std::atomic<int> token_requests{0};
  std::string last_token_query;

 private:
  void serve() {
    while (!m_stop) {
      tcp::socket s(m_io);
      boost::system::error_code ec;
      m_acceptor.accept(s, ec);
      if (ec || m_stop) return;
      asio::streambuf buf;
      asio::read_until(s, buf, "\r\n\r\n", ec);
      if (ec) continue;
      std::istream in(&buf);
      std::string method, target, version, line;
      in >> method >> target >> version;
      std::getline(in, line);
      std::string auth;
      while (std::getline(in, line) && line != "\r")
        if (line.rfind("Authorization: ", 0) == 0) auth = line.substr(15, line.size() - 16);
      asio::write(s, asio::buffer(answer(target, auth)), ec);
    }
  }

  std::string answer(const std::string& target, const std::string& auth) {
    auto reply = [](const std::string& status, const std::string& headers, const std::string& body) {
      return "HTTP/1.1 " + status + "\r\n" + headers + "Content-Length: " + std::to_string(body.size()) +
             "\r\nConnection: close\r\n\r\n" + body;
    };
    if (target.rfind("/token?", 0) == 0) {
      ++token_requests;
      last_token_query = target;
      if (auth != "Basic " + base64_encode("alice:s3cret")) return reply("401 Unauthorized", "", "");
      return reply("200 OK", "Content-Type: application/json\r\n", R"({"token": "tok-123", "expires_in": 300})");
    }
    if (target == "/v2/team/app/manifests/v1") {
      if (auth != "Bearer tok-123")
        return reply("401 Unauthorized",
                     "WWW-Authenticate: Bearer realm=\"http://" + addr() +
                         "/token\",service=\"fake\",scope=\"repository:team/app:pull\"\r\n",
                     R"({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})");
      return reply("200 OK", "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n", R"({"schemaVersion": 2})");
    }
    return reply("404 Not Found", "", "");
  }

  asio::io_context m_io;
  tcp::acceptor m_acceptor;
  std::thread m_thread;
  std::atomic<bool> m_stop{false};
};

Credentials creds(const std::string& password) {
  Credentials c;
  c.username = "alice";
  c.password = password;
  c.file = "the test";
  return c;
}

TEST(RegistryBearer, FetchesATokenFromTheRealmAndKeepsIt) {
  FakeRegistry fake;
  Registry reg(parse_reference(fake.addr() + "/team/app:v1"), RegistryOptions{true, creds("s3cret")});
  const auto m = reg.get_manifest("v1");
  EXPECT_EQ(m.body, R"({"schemaVersion": 2})");
  EXPECT_EQ(m.media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(fake.token_requests, 1);
  EXPECT_NE(fake.last_token_query.find("service=fake"), std::string::npos) << fake.last_token_query;
  EXPECT_NE(fake.last_token_query.find("scope=repository%3Ateam%2Fapp%3Apull"), std::string::npos)
      << fake.last_token_query;
  auto other = reg.fork();  // another thread's handle shares the token
  other.get_manifest("v1");
  EXPECT_EQ(fake.token_requests, 1);
}

TEST(RegistryBearer, RefusedCredentialsAreReported) {
  FakeRegistry fake;
  Registry reg(parse_reference(fake.addr() + "/team/app:v1"), RegistryOptions{true, creds("wrong")});
  try {
    reg.get_manifest("v1");
    FAIL() << "no error";
  } catch (const RegistryError& e) {
    const std::string w = e.what();
    EXPECT_NE(w.find("refused the credentials of 'alice' from the test"), std::string::npos) << w;
    EXPECT_NE(w.find("vzkit login " + fake.addr()), std::string::npos) << w;
    EXPECT_FALSE(e.transient);
  }
}

TEST(RegistryBearer, InsecureOnlyForThisMachine) {
  EXPECT_THROW(Registry(parse_reference("ghcr.io/a/b:1"), RegistryOptions{true, std::nullopt}), std::invalid_argument);
  EXPECT_NO_THROW(Registry(parse_reference("localhost:5000/a/b:1"), RegistryOptions{true, std::nullopt}));
}

}  // namespace
