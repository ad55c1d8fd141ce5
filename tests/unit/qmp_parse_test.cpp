// What the QMP client and the control socket make of lines they did not expect (the parsers the
// qmp fuzz target runs, tests/fuzz/qmp_fuzzer.cpp). A reply the client cannot read is an error
// for its command, or ignored, never an exception out of the event loop (which ends the
// supervisor with the VM).
#include "test_support.hpp"

#include <vzkit/bridge/qemu/qmp_client.hpp>
#include <vzkit/kernel/supervisor.hpp>

#include <boost/asio.hpp>

#include <thread>

namespace {

using namespace vzkit;
namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace qb = vzkit::bridge::qemu;
using Kind = qb::QmpMessage::Kind;

// A QMP server that greets, answers qmp_capabilities, and answers the n-th command after it
// with replies[n] ("ID" replaced by the command's id; lines separated by '\n').
struct ScriptedQmp {
  explicit ScriptedQmp(std::vector<std::string> replies)
      : dir(fresh_dir()),
        acceptor(io, asio::local::stream_protocol::endpoint((dir / "qmp.sock").string())),
        server([this, replies = std::move(replies)] { serve(replies); }) {}
  ~ScriptedQmp() {
    acceptor.close();
    server.join();
    fs::remove_all(dir);
  }
  std::string path() const { return (dir / "qmp.sock").string(); }
  static fs::path fresh_dir() {
    static int n = 0;
    const auto d = fs::temp_directory_path() / ("vzkit-qmp-parse-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
  }

  void serve(const std::vector<std::string>& replies) {
    asio::io_context sio;
    asio::local::stream_protocol::socket s(sio);
    boost::system::error_code ec;
    acceptor.accept(s, ec);
    if (ec) return;
    auto send = [&](const std::string& line) { asio::write(s, asio::buffer(line + "\n"), ec); };
    send(R"({"QMP": {"version": {}, "capabilities": []}})");
    asio::streambuf buf;
    std::size_t n = 0;
    while (asio::read_until(s, buf, '\n', ec)) {
      std::istream in(&buf);
      std::string line;
      std::getline(in, line);
      const auto v = boost::json::parse(line).as_object();
      const auto id = boost::json::serialize(v.at("id"));
      if (v.at("execute") == "qmp_capabilities" || n >= replies.size()) {
        send(R"({"return": {}, "id": )" + id + "}");
        continue;
      }
      std::string reply = replies[n++];
      for (std::size_t at; (at = reply.find("ID")) != std::string::npos;) reply.replace(at, 2, id);
      send(reply);
    }
  }

  fs::path dir;
  asio::io_context io;
  asio::local::stream_protocol::acceptor acceptor;
  std::thread server;
};

struct Answer {
  bool came = false;
  std::string error;
  boost::json::value result;
};

// Sends each command in turn and collects the answers; fails the test if the loop throws.
std::vector<Answer> ask(ScriptedQmp& server, std::size_t commands) {
  asio::io_context io;
  qb::QmpClient client(io);
  std::vector<Answer> answers(commands);
  client.connect(server.path(), std::chrono::seconds(5), [&](const std::string& err) {
    EXPECT_EQ(err, "");
    for (std::size_t i = 0; i < commands; ++i)
      client.execute("cmd" + std::to_string(i), {}, [&answers, i](const std::string& e, const boost::json::value& r) {
        answers[i] = {true, e, r};
      });
  });
  asio::steady_timer guard(io, std::chrono::seconds(5));
  guard.async_wait([&](const boost::system::error_code&) { io.stop(); });
  auto all_came = [&] {
    for (const auto& a : answers)
      if (!a.came) return false;
    return true;
  };
  try {
    while (!all_came() && io.run_one()) {
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the QMP client's loop threw: " << e.what();
  }
  client.close();
  return answers;
}

TEST(QmpParse, AnErrorWhoseDescriptionIsNotAStringIsStillAnErrorForItsCommand) {
  ScriptedQmp server({R"({"id": ID, "error": {"class": "GenericError", "desc": 5}})", R"({"return": {"ok": 1}, "id": ID})"});
  const auto a = ask(server, 2);
  ASSERT_TRUE(a[0].came);
  EXPECT_EQ(a[0].error, R"({"class":"GenericError","desc":5})");
  ASSERT_TRUE(a[1].came);  // the connection goes on
  EXPECT_EQ(a[1].error, "");
  EXPECT_EQ(a[1].result, boost::json::value(boost::json::object{{"ok", 1}}));
}

TEST(QmpParse, AReplyWithANegativeIdIsNobodysAndIgnored) {
  ScriptedQmp server({"{\"return\": {}, \"id\": -1}\n{\"return\": 7, \"id\": ID}"});
  const auto a = ask(server, 1);
  ASSERT_TRUE(a[0].came);
  EXPECT_EQ(a[0].error, "");
  EXPECT_EQ(a[0].result, boost::json::value(7));
}

TEST(QmpParse, AnErrorWithAnEmptyDescriptionIsNotTakenForSuccess) {
  ScriptedQmp server({R"({"id": ID, "error": {"class": "GenericError", "desc": ""}})"});
  const auto a = ask(server, 1);
  ASSERT_TRUE(a[0].came);
  EXPECT_NE(a[0].error, "");
}

TEST(QmpParse, LinesAreGreetingsEventsRepliesOrIgnored) {
  EXPECT_EQ(qb::parse_qmp_line(R"({"QMP": {"version": {}}})").kind, Kind::greeting);
  const auto e = qb::parse_qmp_line(R"({"event": "STOP", "timestamp": {"seconds": 1}})");
  EXPECT_EQ(e.kind, Kind::event);
  EXPECT_EQ(e.event.at("event"), boost::json::value("STOP"));
  const auto r = qb::parse_qmp_line(R"({"return": [1, 2], "id": 18446744073709551615})");
  EXPECT_EQ(r.kind, Kind::reply);
  EXPECT_EQ(r.id, 18446744073709551615ull);
  EXPECT_EQ(r.result, boost::json::value(boost::json::array{1, 2}));
  const auto no_return = qb::parse_qmp_line(R"({"id": 3})");
  EXPECT_EQ(no_return.kind, Kind::reply);
  EXPECT_TRUE(no_return.result.is_null());
  EXPECT_EQ(no_return.error, "");
  for (const char* other : {"", "not json", "[1]", "{\"id\": 1.5}", "{\"id\": \"1\"}", "{\"id\": -3}", "{\"return\": {}}",
                            "{\"id\": 1", "\xff\xfe"})
    EXPECT_EQ(qb::parse_qmp_line(other).kind, Kind::other) << other;
}

TEST(QmpParse, ControlRequestsNameACommandOrSayWhyNot) {
  const auto ok = kernel::parse_control_request(R"({"execute": "quit", "id": {"n": 1}})");
  EXPECT_EQ(ok.error, "");
  EXPECT_EQ(ok.command, "quit");
  EXPECT_EQ(ok.id, boost::json::value(boost::json::object{{"n", 1}}));
  EXPECT_TRUE(kernel::parse_control_request(R"({"execute": "stop"})").id.is_null());
  EXPECT_EQ(kernel::parse_control_request("{").error, "not a JSON object");
  for (const char* bad : {"[]", "{}", R"({"execute": 1})", "7"}) {
    const auto r = kernel::parse_control_request(bad);
    EXPECT_EQ(r.error, "expected {\"execute\": ...}") << bad;
    EXPECT_EQ(r.command, "") << bad;
  }
}

}  // namespace
