#include <vzkit/bridge/qemu/migration.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

namespace vzkit::bridge::qemu {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr const char* kFdName = "vzkit-state";

std::uint64_t number(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && (v->is_uint64() || v->is_int64()) ? v->to_number<std::uint64_t>() : 0;
}

std::string string_of(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The words a reason may name an entry by: its id, its driver or type, and that without the bus
// suffix or the "qemu-" prefix ("vhost-user-fs-pci" -> "vhost-user-fs", "qemu-vdagent" -> "vdagent").
std::vector<std::string> names_of(const std::string& kind, const vzkit::qemu::Properties& props) {
  std::vector<std::string> names;
  if (const auto* id = vzkit::qemu::find_property(props, "id"); id && id->size() > 2) names.push_back(*id);
  if (kind.empty()) return names;
  names.push_back(kind);
  for (const char* suffix : {"-pci", "-device", "-ccw"}) {
    const std::string s(suffix);
    if (kind.size() > s.size() && kind.compare(kind.size() - s.size(), s.size(), s) == 0)
      names.push_back(kind.substr(0, kind.size() - s.size()));
  }
  if (kind.rfind("qemu-", 0) == 0) names.push_back(kind.substr(5));
  return names;
}

bool mentions(const std::string& reason, const std::string& word) {
  for (std::size_t at = reason.find(word); at != std::string::npos; at = reason.find(word, at + 1)) {
    auto boundary = [](char c) { return !(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'); };
    const bool left = at == 0 || boundary(reason[at - 1]);
    const bool right = at + word.size() == reason.size() || boundary(reason[at + word.size()]);
    if (left && right) return true;
  }
  return false;
}

}  // namespace

std::vector<Machine::SaveBlocker> map_blockers(const vzkit::qemu::Machine& plan,
                                               const std::vector<std::string>& reasons) {
  std::vector<Machine::SaveBlocker> out;
  for (const auto& reason : reasons) {
    std::string path;
    auto consider = [&](const std::string& kind, const vzkit::qemu::Properties& props,
                        const std::optional<vzkit::qemu::Origin>& origin) {
      if (!path.empty() || !origin) return;
      for (const auto& n : names_of(kind, props))
        if (mentions(reason, n)) {
          path = origin->path;
          return;
        }
    };
    for (const auto& d : plan.devices) consider(d.driver, d.properties, d.origin);
    for (const auto* list : {&plan.chardevs, &plan.netdevs, &plan.objects, &plan.blockdevs})
      for (const auto& b : *list) consider(b.type, b.properties, b.origin);
    out.push_back({path, reason});
  }
  return out;
}

void check_migration(QmpClient& qmp, const vzkit::qemu::Machine& plan, Machine::SaveCheck done) {
  qmp.execute("query-migrate", {}, [&plan, done = std::move(done)](const std::string& err, const json::value& r) {
    if (!err.empty()) {
      done("QEMU did not say whether it can migrate: " + err, {});
      return;
    }
    std::vector<std::string> reasons;
    if (r.is_object())
      if (const auto* b = r.get_object().if_contains("blocked-reasons"); b && b->is_array())
        for (const auto& e : b->get_array())
          if (e.is_string()) reasons.emplace_back(e.get_string());
    done("", map_blockers(plan, reasons));
  });
}

namespace {

struct Transfer : std::enable_shared_from_this<Transfer> {
  Transfer(asio::io_context& io, QmpClient& qmp) : qmp(qmp), timer(io) {}
  ~Transfer() {
    if (fd >= 0) ::close(fd);
  }
  QmpClient& qmp;
  asio::steady_timer timer;
  int fd = -1;
  std::string file;
  bool outgoing = true;
  std::chrono::milliseconds poll{20};
  Machine::SaveProgress progress;
  Completion done;

  void fail(const std::string& why) {
    if (fd >= 0) ::close(fd);
    fd = -1;
    if (outgoing) ::unlink(file.c_str());
    if (auto d = std::move(done)) d(why);
  }
  void succeed() {
    if (outgoing && ::fsync(fd) != 0) {
      fail("cannot flush " + file + ": " + std::strerror(errno));
      return;
    }
    ::close(fd);
    fd = -1;
    if (auto d = std::move(done)) d("");
  }

  void start() {
    auto self = shared_from_this();
    qmp.execute_with_fd("getfd", {{"fdname", kFdName}}, fd, [self](const std::string& err, const json::value&) {
      if (!err.empty()) return self->fail("QEMU did not take the state file: " + err);
      const json::object uri{{"uri", std::string("fd:") + kFdName}};
      self->qmp.execute(self->outgoing ? "migrate" : "migrate-incoming", uri,
                        [self](const std::string& e, const json::value&) {
                          if (!e.empty()) return self->fail(e);
                          self->wait();
                        });
    });
  }

  void wait() {
    timer.expires_after(poll);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return self->fail("cancelled");
      if (self->outgoing) self->ask_migrate();
      else self->ask_status();
    });
  }

  void ask_migrate() {
    qmp.execute("query-migrate", {}, [self = shared_from_this()](const std::string& err, const json::value& r) {
      if (!err.empty()) return self->fail(err);
      const json::object empty;
      const json::object& o = r.is_object() ? r.get_object() : empty;
      const std::string status = string_of(o, "status");
      if (const auto* ram = o.if_contains("ram"); ram && ram->is_object() && self->progress)
        self->progress(number(ram->get_object(), "transferred"), number(ram->get_object(), "total"));
      if (status == "completed") return self->succeed();
      if (status == "failed" || status == "cancelled") {
        const std::string desc = string_of(o, "error-desc");
        return self->fail("the migration " + status + (desc.empty() ? "" : ": " + desc));
      }
      self->wait();
    });
  }

  void ask_status() {
    qmp.execute("query-status", {}, [self = shared_from_this()](const std::string& err, const json::value& r) {
      if (!err.empty()) return self->fail("QEMU did not load the state: " + err);
      const std::string status = r.is_object() ? string_of(r.get_object(), "status") : "";
      if (status == "inmigrate") return self->wait();
      if (status == "paused" || status == "prelaunch" || status == "running") return self->succeed();
      self->fail("QEMU did not load the state (its status is '" + status + "')");
    });
  }
};

}  // namespace

void migrate_to_file(asio::io_context& io, QmpClient& qmp, const std::string& file, Machine::SaveProgress progress,
                     Completion done, std::chrono::milliseconds poll) {
  auto t = std::make_shared<Transfer>(io, qmp);
  t->file = file;
  t->progress = std::move(progress);
  t->done = std::move(done);
  t->poll = poll;
  t->fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (t->fd < 0) {
    const std::string why = "cannot create " + file + ": " + std::strerror(errno);
    t->outgoing = false;  // nothing of ours to remove
    return t->fail(why);
  }
  // QEMU throttles migration to 32 MiB/s by default (for live migration over a network); a file
  // of a stopped machine has no reason to wait. The parameter is bytes per second.
  qmp.execute("migrate-set-parameters", {{"max-bandwidth", std::int64_t(1) << 40}},
              [t](const std::string& err, const json::value&) {
                if (!err.empty()) return t->fail("QEMU refused the migration parameters: " + err);
                t->start();
              });
}

void migrate_from_file(asio::io_context& io, QmpClient& qmp, const std::string& file, Completion done,
                       std::chrono::milliseconds poll) {
  auto t = std::make_shared<Transfer>(io, qmp);
  t->file = file;
  t->outgoing = false;
  t->done = std::move(done);
  t->poll = poll;
  t->fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (t->fd < 0) return t->fail("cannot read the saved state " + file + ": " + std::strerror(errno));
  t->start();
}

}  // namespace vzkit::bridge::qemu
