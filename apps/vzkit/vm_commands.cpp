// Commands that create, run and control the VMs kept under $VZKIT_HOME/vms.
#include "commands.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <unistd.h>

namespace vzkit::app {

namespace json = boost::json;

int cmd_create(const Globals& g, const CreateArgs& a) {
  if (!a.vm.spec_file.empty() + !a.vm.installer.empty() + !a.vm.macos.empty() + !a.vm.image.empty() != 1) {
    spdlog::error("give one of --from SPEC, --iso IMAGE with --disk SIZE, --image DISK.img, or --macos latest|IPSW");
    return 2;
  }
  auto given = [&](const char* flag) { return std::find(a.flags.begin(), a.flags.end(), flag) != a.flags.end(); };
  for (const char* flag : {"--disk-size", "--ssh-key", "--user-data", "--user"})
    if (given(flag) && a.vm.image.empty()) {
      spdlog::error("{} is for a VM made from a cloud image (--image DISK.img)", flag);
      return 2;
    }
  if (given("--disk") && !a.vm.image.empty()) {
    spdlog::error("--disk is for --iso and --macos; with --image the copy grows to --disk-size SIZE");
    return 2;
  }
  for (const char* flag : {"--cpus", "--memory"})
    if (given(flag) && a.vm.installer.empty() && a.vm.image.empty()) {
      spdlog::error("{} is for an installer VM (--iso); {}", flag,
                    a.vm.spec_file.empty() ? "a macOS VM gets what the restore image asks for"
                                           : "a VM made --from SPEC takes its cpus and memory from the spec");
      return 2;
    }
  if (given("--disk") && !a.vm.spec_file.empty()) {
    spdlog::error("--disk is for --iso and --macos; a VM made --from SPEC gets the disks its spec names "
                  "(\"create_size\" makes a new one)");
    return 2;
  }
  if (!a.vm.installer.empty() && a.vm.disk_size.empty()) {
    spdlog::error("--iso needs --disk SIZE for the new system disk, e.g. --disk 64GiB");
    return 2;
  }
  return reported([&] {
    auto h = load_plugins(g);
    auto options = a.vm;
    if (!a.json) options.progress = [](const std::string& line) { std::fprintf(stderr, "vzkit: %s\n", line.c_str()); };
    const auto created = h.create_vm(options);
    print_diagnostics(created.warnings);
    if (a.json) {
      print_json(json::object{{"name", created.vm.name}, {"dir", created.vm.dir}, {"engine", created.vm.engine}});
    } else {
      std::printf("created VM '%s' in %s\nstart it with: vzkit run %s%s\n", created.vm.name.c_str(),
                  created.vm.dir.c_str(), created.vm.name.c_str(),
                  a.vm.image.empty() ? "" : (" --detach, then log in with: vzkit ssh " + created.vm.name).c_str());
    }
    return 0;
  });
}

int cmd_run(const Globals& g, const RunArgs& a) {
  if (a.gui && a.vnc) {
    spdlog::error("choose one of --gui and --vnc");
    return 2;
  }
#if !defined(__APPLE__)
  if (a.gui && !std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY")) {
    spdlog::error("--gui needs a graphical session (DISPLAY or WAYLAND_DISPLAY is not set); use --vnc instead");
    return 2;
  }
#endif
  return reported([&] {
    auto h = load_plugins(g);
    host::RunOptions o;
    o.target = a.target;
    o.accel = a.accel;
    o.engine = a.engine;
    o.display = a.gui ? "window" : a.vnc ? "vnc" : "none";
    o.console_input = a.console;
    o.quiet = a.quiet;
    o.stop_timeout = a.stop_timeout;
    o.recovery = a.recovery;
    o.fresh = a.fresh;
    if (a.yes) {
      o.confirm = [](const std::string&) { return true; };
    } else if (::isatty(STDIN_FILENO) && ::isatty(STDERR_FILENO)) {
      o.confirm = [](const std::string& question) {
        std::fprintf(stderr, "%s [y/N] ", question.c_str());
        std::string answer;
        std::getline(std::cin, answer);
        return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
      };
    }
    // The supervisor is this program again (it loads no plugins): `vzkit __supervise ...`.
    o.supervisor_command = {boost::dll::program_location().string(), "__supervise"};
    auto run = h.prepare_run(o);
    print_diagnostics(run.warnings());
    if (!run.accel_warning().empty()) spdlog::warn("{}", run.accel_warning());
    if (!run.resuming().empty()) std::fprintf(stderr, "vzkit: %s\n", run.resuming().c_str());
    if (!a.detach) run.exec_attached();
    const int pid = run.start_detached();
    std::printf(
        "VM '%s' is running in the background (supervisor pid %d)\n  console log: %s/run/console.log\n"
        "  stop it with: vzkit stop %s\n",
        run.name().c_str(), pid, run.dir().c_str(), run.name().c_str());
    return 0;
  });
}

int cmd_supervise(const std::vector<std::string>& args) {
  return reported([&] { return host::supervise_main(args); });
}

int cmd_stop(const std::string& name, bool force, int timeout) {
  return reported([&] {
    const auto outcome = host::Library{}.stop(
        name, force, std::chrono::seconds(timeout),
        [&] { std::fprintf(stderr, "vzkit: the guest did not power off within %d s; stopping it by force\n", timeout); },
        [&] {
          std::fprintf(stderr,
                       "vzkit: pressed the power button of '%s'; waiting up to %d s for the guest to power off, then "
                       "stopping it by force (--timeout sets the wait, --force skips it)\n",
                       name.c_str(), timeout);
        },
        [&] {
          std::fprintf(stderr, "vzkit: the guest ignores the power button; asked its guest agent to power it off\n");
        });
    switch (outcome) {
      case host::StopOutcome::not_running: std::printf("VM '%s' is not running\n", name.c_str()); break;
      case host::StopOutcome::powered_off: std::printf("VM '%s' stopped (the guest powered off)\n", name.c_str()); break;
      case host::StopOutcome::stopped:
        std::printf("VM '%s' stopped%s\n", name.c_str(), force ? "" : " by force (the guest did not power off in time)");
        break;
      case host::StopOutcome::killed:
        std::printf("VM '%s' stopped (its supervisor had to be killed)\n", name.c_str());
        break;
    }
    return 0;
  });
}

int cmd_pause(const std::string& name, bool pause) {
  return reported([&] {
    const host::Library vms;
    const auto state = pause ? vms.pause(name) : vms.resume(name);
    std::printf("VM '%s' is %s\n", name.c_str(), state.c_str());
    return 0;
  });
}

int cmd_list(bool as_json) {
  return reported([&] {
    const host::Library vms;
    const auto all = vms.list();
    if (as_json) {
      json::array out;
      for (const auto& v : all)
        out.push_back(json::object{{"name", v.name}, {"state", v.state}, {"engine", v.engine}, {"dir", v.dir}});
      print_json(out);
      return 0;
    }
    if (all.empty()) {
      std::printf("no VMs in %s; create one with `vzkit create NAME --from SPEC`\n", vms.dir().c_str());
      return 0;
    }
    std::printf("%-24s  %-9s  %-6s  %s\n", "NAME", "STATE", "ENGINE", "FOLDER");
    for (const auto& v : all)
      std::printf("%-24s  %-9s  %-6s  %s\n", v.name.c_str(), v.state.c_str(), v.engine.c_str(), v.dir.c_str());
    return 0;
  });
}

int cmd_inspect(const std::string& name, bool as_json) {
  return reported([&] {
    const auto v = host::Library{}.inspect(name);
    json::object info{{"name", v.name},         {"dir", v.dir},     {"engine", v.engine},
                      {"spec_dir", v.spec_dir}, {"state", v.state}};
    if (!v.spec_file.empty()) info["spec_file"] = v.spec_file;
    if (!v.holder.empty()) {
      info["holder"] = v.holder;
      info["run"] = json::parse(v.run_json);
    }
    json::array files;
    for (const auto& f : v.files) files.push_back(json::object{{"file", f.name}, {"bytes", f.bytes}});
    info["files"] = files;
    info["spec"] = v.spec_json.empty() ? json::value() : json::parse(v.spec_json);
    if (as_json) {
      print_json(info);
      return 0;
    }
    std::printf("VM '%s' (%s engine): %s\n  folder: %s\n  paths in its spec resolve in: %s\n", v.name.c_str(),
                v.engine.c_str(), v.state.c_str(), v.dir.c_str(), v.spec_dir.c_str());
    if (!v.spec_file.empty()) std::printf("  made by running: %s (its runs keep using this VM)\n", v.spec_file.c_str());
    if (!v.holder.empty()) std::printf("  held by: %s\n", v.holder.c_str());
    for (const auto& f : v.files)
      std::printf("  %-20s %12llu bytes\n", f.name.c_str(), static_cast<unsigned long long>(f.bytes));
    std::printf("spec:\n%s", host::pretty_json(json::serialize(info["spec"])).c_str());
    return 0;
  });
}

int cmd_delete(const std::string& name) {
  return reported([&] {
    host::Library{}.remove(name);
    std::printf("deleted VM '%s'\n", name.c_str());
    return 0;
  });
}

int cmd_screenshot(const std::string& name, const std::string& file) {
  return reported([&] {
    host::Library{}.screenshot(name, file);
    std::printf("saved %s\n", std::filesystem::absolute(file).string().c_str());
    return 0;
  });
}

int cmd_logs(const std::string& name, int previous, bool follow) {
  return reported([&] {
    const host::Library vms;
    const std::string file = vms.console_log(name, previous);
    std::ifstream in(file, std::ios::binary);
    char buf[65536];
    auto drain = [&] {
      while (in.read(buf, sizeof buf) || in.gcount() > 0) std::cout.write(buf, in.gcount());
      std::cout.flush();
      in.clear();  // at the end for now; a running guest may write more
    };
    drain();
    // A later run starts a new log (this one becomes console.log.1): stop with the run.
    while (follow && previous == 0 && vms.is_running(name)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      drain();
    }
    if (follow) drain();
    return 0;
  });
}

}  // namespace vzkit::app
