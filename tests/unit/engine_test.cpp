// The QEMU engine's pieces that need no guest: run-time argv, the QMP client against a scripted
// server, the accelerator probe under TCG, and bundle locks.
#include "test_support.hpp"

#include <vzkit/bridge/qemu/accel.hpp>
#include <vzkit/bridge/qemu/qemu_machine.hpp>
#include <vzkit/bridge/qemu/qmp_client.hpp>
#include <vzkit/bridge/qemu/start_failure.hpp>
#include <vzkit/kernel/bundle.hpp>

#include <boost/asio.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

namespace {

using namespace vzkit;
namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace qb = vzkit::bridge::qemu;

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("vzkit-unit-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(EngineArgv, ConsoleBecomesALoggedSocketAndQmpIsAdded) {
  qemu::Machine m;
  m.chardevs.push_back({"stdio", {{"id", "ser1"}, {"signal", "off"}}, {}});
  m.serial.push_back("chardev:ser1");
  qb::RunOptions o;
  o.name = "vm1";
  o.run_dir = "/r";
  auto argv = qb::runtime_argv(m, o);
  std::string line;
  for (const auto& a : argv) line += a + " ";
  EXPECT_NE(line.find("-chardev socket,id=ser1,path=/r/console.sock,server=on,wait=off,logfile=/r/console.log,logappend=on "),
            std::string::npos) << line;
  EXPECT_NE(line.find("-S -name vm1 "), std::string::npos);
  EXPECT_NE(line.find("-qmp unix:/r/qmp.sock,server=on,wait=off -qmp unix:/r/ctl.sock,server=on,wait=off"), std::string::npos);
  EXPECT_NE(line.find("-display none"), std::string::npos);
  o.display = "vnc";
  line.clear();
  for (const auto& a : qb::runtime_argv(m, o)) line += a + " ";
  EXPECT_NE(line.find("-vnc 127.0.0.1:0,to=99"), std::string::npos) << "VNC must listen on loopback only";
}

// A scripted QMP server: greets, answers every command, and sends an event after "stop".
TEST(Qmp, MatchesRepliesAndDeliversEvents) {
  const auto dir = temp_dir("qmp");
  const std::string path = (dir / "qmp.sock").string();
  asio::io_context io;
  asio::local::stream_protocol::acceptor acceptor(io, asio::local::stream_protocol::endpoint(path));
  std::thread server([&] {
    asio::io_context sio;
    asio::local::stream_protocol::socket s(sio);
    acceptor.accept(s);
    auto send = [&](const std::string& line) { asio::write(s, asio::buffer(line + "\n")); };
    send(R"({"QMP": {"version": {}, "capabilities": []}})");
    asio::streambuf buf;
    boost::system::error_code ec;
    while (asio::read_until(s, buf, '\n', ec)) {
      std::istream in(&buf);
      std::string line;
      std::getline(in, line);
      auto v = boost::json::parse(line).as_object();
      const auto id = boost::json::serialize(v.at("id"));
      const std::string cmd(v.at("execute").as_string());
      if (cmd == "query-status") send(R"({"return": {"status": "running"}, "id": )" + id + "}");
      else if (cmd == "bogus") send(R"({"error": {"class": "CommandNotFound", "desc": "The command bogus has not been found"}, "id": )" + id + "}");
      else send(R"({"return": {}, "id": )" + id + "}");
      if (cmd == "stop") send(R"({"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 2}})");
    }
  });
  qb::QmpClient client(io);
  std::vector<std::string> events;
  std::string status, bogus_error;
  client.set_event_handler([&](const boost::json::object& e) { events.emplace_back(e.at("event").as_string()); });
  client.connect(path, std::chrono::seconds(5), [&](const std::string& err) {
    ASSERT_EQ(err, "");
    client.execute("query-status", {}, [&](const std::string& e, const boost::json::value& r) {
      EXPECT_EQ(e, "");
      status = std::string(r.at("status").as_string());
    });
    client.execute("bogus", {}, [&](const std::string& e, const boost::json::value&) { bogus_error = e; });
    client.execute("stop", {}, [&](const std::string&, const boost::json::value&) {});
  });
  asio::steady_timer guard(io, std::chrono::seconds(5));
  guard.async_wait([&](const boost::system::error_code&) { io.stop(); });
  while (events.empty() && io.run_one()) {
  }
  client.close();
  acceptor.close();
  server.join();
  EXPECT_EQ(status, "running");
  EXPECT_EQ(bogus_error, "The command bogus has not been found");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "STOP");
  fs::remove_all(dir);
}

TEST(Qmp, CallToAMissingSocketFailsWithTheReason) {
  try {
    qb::qmp_call("/nonexistent/ctl.sock", "quit", {}, std::chrono::milliseconds(200));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect to QMP socket /nonexistent/ctl.sock"), std::string::npos)
        << e.what();
  }
}

// The probe guest must pass under TCG, or "auto" would reject every working KVM too.
TEST(Accel, ProbeGuestRunsUnderTcg) {
  if (!fs::exists("/usr/bin/qemu-system-x86_64")) GTEST_SKIP() << "qemu-system-x86_64 is not installed";
  EXPECT_EQ(qb::probe_accelerator("tcg", std::chrono::seconds(20)), "");
}

TEST(Accel, ExplicitChoicesAreKeptAndOtherArchitecturesUseTcg) {
  EXPECT_EQ(qb::choose_accelerator("tcg", "x86_64").accel, "tcg");
  EXPECT_EQ(qb::choose_accelerator("kvm", "x86_64").accel, "kvm");
#if defined(__x86_64__)
  EXPECT_EQ(qb::choose_accelerator("auto", "aarch64").accel, "tcg");
#endif
}

TEST(Bundle, CreateIsAtomicAndLocksExclude) {
  const auto home = temp_dir("home");
  setenv("VZKIT_HOME", home.c_str(), 1);
  EXPECT_THROW(kernel::create_bundle("bad name!", "{}", {}, "qemu", nullptr), std::runtime_error);
  EXPECT_THROW(kernel::create_bundle("half", "{}", {}, "qemu", [](const fs::path& tmp) {
                 std::ofstream(tmp / "disk.img") << "partial";
                 throw std::runtime_error("disk creation failed");
               }),
               std::runtime_error);
  EXPECT_TRUE(fs::is_empty(kernel::vms_dir())) << "a failed create must leave nothing behind";
  auto b = kernel::create_bundle("vm1", R"({"name": "vm1"})", "/specs", "qemu", nullptr);
  EXPECT_EQ(b.spec_dir(), "/specs");
  EXPECT_THROW(kernel::create_bundle("vm1", "{}", {}, "qemu", nullptr), std::runtime_error);
  std::string holder;
  auto lock = kernel::BundleLock::try_acquire(b, holder);
  ASSERT_TRUE(lock);
  lock->describe_holder("vzkit run vm1");
  EXPECT_TRUE(kernel::BundleLock::is_held(b, &holder));
  EXPECT_NE(holder.find("vzkit run vm1 (pid " + std::to_string(::getpid())), std::string::npos) << holder;
  EXPECT_THROW(kernel::delete_bundle(b), std::runtime_error);
  lock.reset();
  EXPECT_FALSE(kernel::BundleLock::is_held(b));
  kernel::delete_bundle(b);
  EXPECT_TRUE(kernel::list_bundles().empty());
  unsetenv("VZKIT_HOME");
  fs::remove_all(home);
}

TEST(Bundle, ANewRunKeepsTheLogsOfTheRunsBefore) {
  const auto home = temp_dir("logs");
  setenv("VZKIT_HOME", home.c_str(), 1);
  auto b = kernel::create_bundle("vm", R"({"name": "vm"})", {}, "qemu", nullptr);
  auto read = [&](const std::string& f) {
    std::ifstream in(b.run_dir() / f);
    std::string s;
    std::getline(in, s);
    return s;
  };
  // Run k writes console.log "run k"; only runs 3 and 6 write qemu.log.
  for (int k = 1; k <= 7; ++k) {
    kernel::clear_run_dir(b);
    fs::create_directories(b.run_dir());
    std::ofstream(b.run_dir() / "console.log") << "run " << k << "\n";
    if (k == 3 || k == 6) std::ofstream(b.run_dir() / "qemu.log") << "qemu " << k << "\n";
    std::ofstream(b.run_dir() / "plan.json") << "{}";
  }
  kernel::clear_run_dir(b);  // the eighth run starts
  EXPECT_FALSE(fs::exists(b.run_dir() / "plan.json"));
  EXPECT_FALSE(fs::exists(b.run_dir() / "console.log"));
  for (int k = 1; k <= kernel::kKeptRunLogs; ++k) EXPECT_EQ(read("console.log." + std::to_string(k)), "run " + std::to_string(8 - k));
  EXPECT_FALSE(fs::exists(b.run_dir() / ("console.log." + std::to_string(kernel::kKeptRunLogs + 1))));
  // qemu.log.K is the log of K runs ago, or absent: run 6 was 2 runs ago, run 3 more than are kept.
  EXPECT_EQ(read("qemu.log.2"), "qemu 6");
  for (int k : {1, 3, 4, 5}) EXPECT_FALSE(fs::exists(b.run_dir() / ("qemu.log." + std::to_string(k)))) << k;
  unsetenv("VZKIT_HOME");
  fs::remove_all(home);
}

// A plan as the network and virtio-blk plugins make it, stamped with their origins.
qemu::Machine failing_plan(int port) {
  qemu::Machine m;
  m.netdevs.push_back({"user", {{"id", "net3"}, {"hostfwd", "tcp:127.0.0.1:" + std::to_string(port) + "-:22"}},
                       qemu::Origin{"network", "devices[3]"}});
  m.blockdevs.push_back({"file", {{"node-name", "file2"}, {"filename", "/vms/disk.img"}}, qemu::Origin{"virtio-blk", "devices[2]"}});
  m.devices.push_back({"virtio-blk-pci", {{"drive", "disk2"}}, qemu::Origin{"virtio-blk", "devices[2]"}});
  return m;
}

TEST(StartFailure, APortInUseNamesThePortTheDeviceAndTheSpecKey) {
  // Something listens on a port, as another program would.
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(s, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int port = ntohs(a.sin_port);
  const std::string p = std::to_string(port);
  const std::string out = "qemu-system-x86_64: warning: host doesn't support requested feature\n"
                          "qemu-system-x86_64: -netdev user,id=net3,hostfwd=tcp:127.0.0.1:" + p +
                          "-:22: Could not set up host forwarding rule 'tcp:127.0.0.1:" + p + "-:22'\n";
  const auto f = qb::explain_start_failure(failing_plan(port), out);
  ::close(s);
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->origin);
  EXPECT_EQ(f->origin->path, "devices[3]");
  EXPECT_EQ(f->value, p);
  EXPECT_EQ(f->cause, "host port " + p + " is in use");
  const auto text = qb::describe(*f, "/vms/web/run/qemu.log", [&](const std::string& device, const std::string& value) {
    return device == "devices[3]" && value == p ? "devices[3].forwards[0].host_port" : "";
  });
  EXPECT_EQ(text, "QEMU did not start: devices[3] (network): host port " + p + " is in use\n"
                  "  qemu: -netdev user,id=net3,hostfwd=tcp:127.0.0.1:" + p + "-:22: Could not set up host forwarding rule "
                  "'tcp:127.0.0.1:" + p + "-:22'\n"
                  "  log: /vms/web/run/qemu.log\n"
                  "  hint: port " + p + " is in use: change devices[3].forwards[0].host_port, or stop what listens on it");
}

TEST(StartFailure, ALockedDiskNamesTheImageAndTheDevice) {
  const std::string out = "qemu-system-x86_64: -device virtio-blk-pci,drive=disk2: Failed to get \"write\" lock\n"
                          "Is another process using the image [/vms/disk.img]?\n";
  const auto f = qb::explain_start_failure(failing_plan(2222), out);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->origin->path, "devices[2]");
  EXPECT_EQ(f->value, "/vms/disk.img");
  EXPECT_EQ(f->cause, "disk image /vms/disk.img is in use by another process");
  const auto text = qb::describe(*f, "qemu.log");
  EXPECT_NE(text.find("QEMU did not start: devices[2] (virtio-blk): disk image /vms/disk.img is in use"), std::string::npos);
  EXPECT_NE(text.find("\n  hint: stop the process that uses it, or give this VM a disk of its own in devices[2]"),
            std::string::npos)
      << text;
}

TEST(StartFailure, OtherErrorsAreQemusOwnAndSilenceIsNoError) {
  auto f = qb::explain_start_failure(failing_plan(2222), "qemu-system-x86_64: -m 99999999: invalid memory size\n");
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->origin);
  EXPECT_EQ(f->cause, "invalid memory size");
  EXPECT_EQ(qb::describe(*f, "qemu.log"),
            "QEMU did not start: invalid memory size\n  qemu: -m 99999999: invalid memory size\n  log: qemu.log");
  EXPECT_FALSE(qb::explain_start_failure(failing_plan(2222), ""));
  EXPECT_FALSE(qb::explain_start_failure(failing_plan(2222), "qemu-system-x86_64: warning: TCG doesn't support\n"));
}

}  // namespace
