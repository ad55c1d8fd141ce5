#include <vzkit/kernel/saved_state.hpp>
#include <vzkit/kernel/state_commands.hpp>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <ctime>
#include <memory>

namespace vzkit::kernel {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string string_arg(const json::object& a, const char* key) {
  const auto* v = a.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

void check(asio::io_context& io, Machine& m, CommandReply reply) {
  m.check_save([&io, reply](const std::string& err, const std::vector<Machine::SaveBlocker>& blockers) {
    json::array out;
    for (const auto& b : blockers) out.push_back(json::object{{"path", b.path}, {"reason", b.reason}});
    asio::post(io, [reply, err, out] { reply(err, json::object{{"blockers", out}}); });
  });
}

void save(asio::io_context& io, Machine& m, const json::object& args, CommandReply reply, CommandEvent event) {
  const fs::path dir = string_arg(args, "dir");
  const std::string then = string_arg(args, "then").empty() ? "stop" : string_arg(args, "then");
  if (dir.empty() || !dir.is_absolute()) return reply("vzkit-save needs \"dir\", an absolute folder", nullptr);
  if (then != "stop" && then != "pause" && then != "resume")
    return reply("vzkit-save: \"then\" is one of stop, pause, resume", nullptr);
  if (m.state() != MachineState::running && m.state() != MachineState::paused)
    return reply("cannot save a machine that is " + std::string(to_string(m.state())), nullptr);
  json::object meta;
  if (const auto* v = args.if_contains("meta"); v && v->is_object()) meta = v->get_object();
  json::value plan = args.contains("plan") ? args.at("plan") : json::value();
  fs::path partial;
  try {
    partial = begin_partial(dir);
  } catch (const std::exception& e) {
    return reply(std::string("cannot make the state's folder: ") + e.what(), nullptr);
  }
  const bool was_running = m.state() == MachineState::running;
  const auto started = std::chrono::steady_clock::now();
  // Progress comes often from the engine's thread: at most ten events a second reach the client.
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  auto progress = [&io, event, last](std::uint64_t done, std::uint64_t total) {
    asio::post(io, [event, last, done, total] {
      const auto now = std::chrono::steady_clock::now();
      if (now - *last < std::chrono::milliseconds(100)) return;
      *last = now;
      event(json::object{{"event", "VZKIT_SAVE_PROGRESS"}, {"data", json::object{{"done", done}, {"total", total}}}});
    });
  };
  m.save_state((partial / kStateFile).string(), progress,
               [&io, &m, reply, dir, partial, meta, plan, then, was_running, started](const std::string& err) {
                 asio::post(io, [&m, reply, dir, partial, meta, plan, then, was_running, started, err]() mutable {
                   std::error_code ec;
                   auto undo = [&](const std::string& why) {
                     fs::remove_all(partial, ec);
                     if (was_running && m.can_resume()) m.resume([](const std::string&) {});
                     reply(why, nullptr);
                   };
                   if (!err.empty()) return undo(err);
                   const double seconds =
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
                   meta["saved_at"] = static_cast<std::int64_t>(std::time(nullptr));
                   meta["save_seconds"] = seconds;
                   try {
                     commit_partial(partial, dir, meta, plan);
                   } catch (const std::exception& e) {
                     return undo(std::string("cannot complete the saved state: ") + e.what());
                   }
                   const auto bytes = fs::file_size(dir / kStateFile, ec);
                   reply("", json::object{{"bytes", bytes}, {"seconds", seconds}});
                   if (then == "stop") m.stop([](const std::string&) {});
                   else if (then == "resume" && m.can_resume()) m.resume([](const std::string&) {});
                 });
               });
}

}  // namespace

bool handle_state_command(asio::io_context& io, Machine& machine, const std::string& command,
                          const json::object& arguments, CommandReply reply, CommandEvent event) {
  if (command == "vzkit-check-save") {
    check(io, machine, std::move(reply));
    return true;
  }
  if (command == "vzkit-save") {
    save(io, machine, arguments, std::move(reply), std::move(event));
    return true;
  }
  return false;
}

}  // namespace vzkit::kernel
