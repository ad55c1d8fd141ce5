// vzkit suspend and vzkit snapshot (host API: host_suspend.hpp).
#include "commands.hpp"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace vzkit::app {

namespace json = boost::json;

namespace {

struct SnapshotArgs {
  std::string vm, tag;
  bool running = false;
  bool json = false;
};

std::string mib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

std::string local_time(std::int64_t t) {
  char buf[32] = "?";
  const std::time_t tt = static_cast<std::time_t>(t);
  if (std::tm tm{}; ::localtime_r(&tt, &tm)) std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// Progress on stderr: one line rewritten in place on a terminal, else a line every 10 %.
class Progress {
 public:
  explicit Progress(bool quiet) : m_quiet(quiet), m_tty(::isatty(STDERR_FILENO) != 0) {}
  ~Progress() { done(); }
  void operator()(const std::string& what, std::uint64_t now, std::uint64_t total) {
    if (m_quiet) return;
    const int percent = total ? static_cast<int>(100 * std::min(now, total) / total) : -1;
    const auto t = std::chrono::steady_clock::now();
    if (!total && !now) {  // a phase without a size
      if (what != m_what) std::fprintf(stderr, "%svzkit: %s\n", m_open ? "\n" : "", what.c_str());
      m_open = false;
    } else if (m_tty) {
      if (t - m_last < std::chrono::milliseconds(100) && what == m_what) return;
      std::fprintf(stderr, "\r\033[Kvzkit: %s: %s%s", what.c_str(), mib(now).c_str(),
                   total ? (" of " + mib(total) + " (" + std::to_string(percent) + " %)").c_str() : "");
      m_open = true;
    } else if (what != m_what || percent / 10 != m_percent / 10) {
      std::fprintf(stderr, "vzkit: %s: %s%s\n", what.c_str(), mib(now).c_str(),
                   total ? (" of " + mib(total)).c_str() : "");
    }
    m_what = what;
    m_percent = percent;
    m_last = t;
  }
  void done() {
    if (m_open) std::fprintf(stderr, "\n");
    m_open = false;
  }

 private:
  bool m_quiet, m_tty, m_open = false;
  std::string m_what;
  int m_percent = -100;
  std::chrono::steady_clock::time_point m_last;
};

json::object snapshot_json(const host::SnapshotInfo& s) {
  return json::object{{"tag", s.tag},
                      {"created", s.created},
                      {"bytes_on_disk", s.bytes_on_disk},
                      {"running", s.running},
                      {"method", s.method},
                      {"files", json::value_from(s.files)}};
}

// A refusal names each device in the spec that stops the save.
int refused(const host::SaveRefused& e, bool as_json) {
  if (as_json) {
    print_json(json::object{{"error", e.what()}, {"diagnostics", json::parse(host::to_json(e.diagnostics))}});
  } else {
    std::fputs(host::format(e.diagnostics).c_str(), stderr);
    spdlog::error("{}", e.what());
  }
  return 1;
}

int cmd_suspend(const Globals& g, const SnapshotArgs& a) {
  return reported([&] {
    auto h = load_plugins(g);
    Progress show(a.json);
    try {
      const auto s = host::suspend(h, a.vm, [&](std::uint64_t done, std::uint64_t total) {
        show("saving VM '" + a.vm + "'", done, total);
      });
      show.done();
      if (a.json) {
        print_json(json::object{{"name", a.vm},
                                {"state_dir", s.dir},
                                {"state_bytes", s.bytes},
                                {"memory_bytes", s.memory_bytes},
                                {"seconds", s.seconds},
                                {"saved_at", s.saved_at}});
      } else {
        std::printf("VM '%s' suspended: %s of machine state (guest memory %s) saved in %.2f s to %s\n"
                    "  `vzkit run %s` resumes it; `vzkit run %s --fresh` boots afresh instead\n",
                    a.vm.c_str(), mib(s.bytes).c_str(), mib(s.memory_bytes).c_str(), s.seconds, s.dir.c_str(),
                    a.vm.c_str(), a.vm.c_str());
      }
      return 0;
    } catch (const host::SaveRefused& e) {
      show.done();
      return refused(e, a.json);
    }
  });
}

int cmd_snapshot_create(const Globals& g, const SnapshotArgs& a) {
  return reported([&] {
    auto h = load_plugins(g);
    Progress show(a.json);
    host::SnapshotOptions o;
    o.running = a.running;
    o.progress = [&](const std::string& phase, std::uint64_t done, std::uint64_t total) { show(phase, done, total); };
    try {
      const auto s = host::create_snapshot(h, a.vm, a.tag, o);
      show.done();
      if (a.json) {
        print_json(snapshot_json(s));
      } else {
        std::printf("snapshot '%s' of VM '%s': %zu file(s) (%s), %s on disk%s\n", s.tag.c_str(), a.vm.c_str(),
                    s.files.size(), s.method.c_str(), mib(s.bytes_on_disk).c_str(),
                    s.running ? ", with the running machine state" : "");
      }
      return 0;
    } catch (const host::SaveRefused& e) {
      show.done();
      return refused(e, a.json);
    }
  });
}

int cmd_snapshot_list(const SnapshotArgs& a) {
  return reported([&] {
    const auto all = host::list_snapshots(a.vm);
    if (a.json) {
      json::array out;
      for (const auto& s : all) out.push_back(snapshot_json(s));
      print_json(out);
      return 0;
    }
    if (all.empty()) {
      std::printf("VM '%s' has no snapshots; take one with `vzkit snapshot %s create TAG`\n", a.vm.c_str(), a.vm.c_str());
      return 0;
    }
    std::printf("%-24s  %-19s  %12s  %s\n", "TAG", "TIME", "SIZE ON DISK", "RUNNING STATE");
    for (const auto& s : all)
      std::printf("%-24s  %-19s  %12s  %s\n", s.tag.c_str(), local_time(s.created).c_str(), mib(s.bytes_on_disk).c_str(),
                  s.running ? "yes" : "no");
    return 0;
  });
}

int cmd_snapshot_restore(const SnapshotArgs& a) {
  return reported([&] {
    Progress show(a.json);
    const auto s = host::restore_snapshot(a.vm, a.tag, [&](const std::string& phase, std::uint64_t done,
                                                          std::uint64_t total) { show(phase, done, total); });
    show.done();
    if (a.json) {
      print_json(snapshot_json(s));
    } else {
      std::printf("VM '%s' is back at snapshot '%s' (%s)\n  `vzkit run %s` %s\n", a.vm.c_str(), s.tag.c_str(),
                  local_time(s.created).c_str(), a.vm.c_str(),
                  s.running ? "resumes the guest where it was" : "boots it from the snapshot's disks");
    }
    return 0;
  });
}

int cmd_snapshot_delete(const SnapshotArgs& a) {
  return reported([&] {
    host::delete_snapshot(a.vm, a.tag);
    if (a.json) print_json(json::object{{"name", a.vm}, {"tag", a.tag}, {"deleted", true}});
    else std::printf("deleted snapshot '%s' of VM '%s'\n", a.tag.c_str(), a.vm.c_str());
    return 0;
  });
}

}  // namespace

void add_snapshot_commands(CLI::App& app, const Globals& g, std::function<int()>& command) {
  static SnapshotArgs a;

  auto* suspend = app.add_subcommand(
      "suspend", "Save a running VM's state (CPUs, memory, devices) into its folder and stop it; the next `vzkit run` "
                 "resumes the guest where it was (`run --fresh` boots afresh instead). A device that cannot be saved "
                 "stops it before anything is written, and the guest runs on");
  suspend->add_option("vm", a.vm, "VM name")->required();
  suspend->add_flag("--json", a.json, "Print JSON: state_dir, state_bytes, memory_bytes, seconds, saved_at");
  suspend->footer("Example:\n  vzkit suspend web && vzkit run web --detach     (the guest goes on from where it was)\n"
                  "Which devices can be saved on each engine: docs/suspend.md, or `vzkit plugins --json`.");
  suspend->callback([&g, &command] { command = [&g] { return cmd_suspend(g, a); }; });

  auto* snapshot = app.add_subcommand(
      "snapshot", "Named snapshots of a VM: its disks and NVRAM (copy-on-write clones where the filesystem has them, "
                  "else sparse copies) and, with --running, its machine state");
  snapshot->add_option("vm", a.vm, "VM name")->required();
  snapshot->require_subcommand(1);
  snapshot->footer("Examples:\n  vzkit snapshot web create before-upgrade\n"
                   "  vzkit snapshot web create live --running    (restoring it resumes the guest)\n"
                   "  vzkit snapshot web list\n  vzkit stop web && vzkit snapshot web restore before-upgrade");
  auto* create = snapshot->add_subcommand(
      "create", "Take a snapshot (a running guest is paused while its disks are copied, then runs on)");
  create->add_option("tag", a.tag, "The snapshot's name (letters, digits, '.', '_', '-')")->required();
  create->add_flag("--running", a.running,
                   "Also save the machine state of the running (or suspended) VM: restoring resumes the guest");
  create->add_flag("--json", a.json, "Print the snapshot as JSON");
  create->callback([&g, &command] { command = [&g] { return cmd_snapshot_create(g, a); }; });
  auto* list = snapshot->add_subcommand("list", "List the snapshots: tag, time, size on disk, whether it has a "
                                                "running state");
  list->add_flag("--json", a.json, "Print JSON for scripts");
  list->callback([&command] { command = [] { return cmd_snapshot_list(a); }; });
  auto* restore = snapshot->add_subcommand(
      "restore", "Put a snapshot's disks and NVRAM back into the stopped VM; a --running snapshot makes the next run "
                 "resume it (any suspended state is discarded)");
  restore->add_option("tag", a.tag, "The snapshot to restore")->required();
  restore->add_flag("--json", a.json, "Print the snapshot restored as JSON");
  restore->callback([&command] { command = [] { return cmd_snapshot_restore(a); }; });
  auto* del = snapshot->add_subcommand("delete", "Delete a snapshot");
  del->add_option("tag", a.tag, "The snapshot to delete")->required();
  del->add_flag("--json", a.json, "Print JSON for scripts");
  del->callback([&command] { command = [] { return cmd_snapshot_delete(a); }; });
}

}  // namespace vzkit::app
