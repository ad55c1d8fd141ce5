// Fuzz target: the files of a VM's folder, read the way the host API and the supervisor read
// them. An input is a set of files, each introduced by a line "=== NAME":
//
//   === bundle.json          the VM's metadata (engine, spec_dir, spec_file)
//   === spec.json            its spec
//   === lock                 the lock file's text (the VM then counts as running: it is locked)
//   === run/state.json       what its supervisor recorded
//   === run/plan.json        the plan its supervisor runs (qemu::Machine or vz::Configuration)
//   === run/qemu.log         what QEMU printed when it did not start
//
// They are written to $VZKIT_HOME/vms/fuzz, then listed, inspected, validated and planned by
// name, the plan is read as both engines' models and rendered (argv, Swift), and QEMU's output is
// explained with the spec path of the value at fault (bridge/qemu/start_failure).
//
// What counts as a finding: a crash or sanitizer report, a hang, an exception other than
// std::runtime_error (with which the host API reports a damaged VM) or std::invalid_argument,
// and any Boost.System error escaping (an unchecked JSON accessor: input that was never looked at).
#include "fuzz_support.hpp"

#include "../../host/src/host_impl.hpp"

#include <vzkit/bridge/qemu/qemu_machine.hpp>
#include <vzkit/bridge/qemu/start_failure.hpp>
#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/supervisor.hpp>
#include <vzkit/kernel/swift_export.hpp>
#include <vzkit/qemu/machine.hpp>
#include <vzkit/vz/configuration.hpp>

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

namespace {

using namespace vzkit;
namespace fs = std::filesystem;
namespace json = boost::json;

const char* const kFiles[] = {"bundle.json", "spec.json", "lock", "run/state.json", "run/plan.json", "run/qemu.log"};

// NAME -> text, for the known names; anything before the first marker and unknown names are dropped.
std::map<std::string, std::string> split(std::string_view in) {
  std::map<std::string, std::string> files;
  std::string current;
  bool keep = false;
  std::size_t at = 0;
  while (at <= in.size()) {
    std::size_t end = in.find('\n', at);
    if (end == std::string_view::npos) end = in.size();
    const std::string_view line = in.substr(at, end - at);
    if (line.substr(0, 4) == "=== ") {
      current = std::string(line.substr(4));
      keep = false;
      for (const char* f : kFiles) keep = keep || current == f;
      if (keep) files[current];  // present, maybe empty
    } else if (keep) {
      auto& text = files[current];
      text.append(line);
      if (end < in.size()) text += '\n';
    }
    at = end + 1;
  }
  return files;
}

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

template <typename F>
void host_call(F&& f) {
  try {
    f();
  } catch (const boost::system::system_error&) {
    throw;  // a JSON accessor on unchecked input: a finding
  } catch (const std::runtime_error&) {
  } catch (const std::invalid_argument&) {
  }
}

std::size_t render_failure(const fs::path& dir, const qemu::Machine& m, const std::string& log) {
  const auto f = bridge::qemu::explain_start_failure(m, log);
  if (!f) return 0;
  return bridge::qemu::describe(*f, (dir / "run" / "qemu.log").string(), [&](const std::string& device, const std::string& value) {
           return host::detail::find_in_spec(dir, device, value);
         }).size();
}

// The plan as the supervisor (qemu) and the VZ runner read it; a model that does not parse is
// refused with a message, as they refuse it.
std::size_t read_plan(const fs::path& dir, const std::string& text, const std::string& log) {
  std::size_t n = 0;
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec) return 0;
  try {
    const auto m = json::value_to<qemu::Machine>(v);
    n += qemu::to_argv(m).size();
    bridge::qemu::RunOptions o;
    o.name = "fuzz";
    o.run_dir = (dir / "run").string();
    n += bridge::qemu::runtime_argv(m, o).size();
    n += render_failure(dir, m, log);
  } catch (const std::exception&) {
  }
  try {
    n += kernel::to_swift(json::value_to<vz::Configuration>(v), "fuzz").size();
  } catch (const std::exception&) {
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vzkit::fuzz::plugins();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& h = fuzz::plugins();
  const auto files = split(std::string_view(reinterpret_cast<const char*>(data), size));
  const fs::path dir = kernel::vms_dir() / "fuzz";
  std::error_code ec;
  fs::remove_all(dir, ec);
  for (const auto& [name, text] : files) write(dir / name, text);
  fs::create_directories(dir);
  volatile std::size_t sink = 0;
  {
    // A VM whose lock file exists is running while someone holds its lock: this process does.
    std::string holder;
    const auto lock = files.count("lock") ? kernel::BundleLock::try_acquire(kernel::Bundle{"fuzz", dir, {}}, holder)
                                          : std::nullopt;
    host::Library library;
    host_call([&] { sink = sink + library.list().size(); });
    host_call([&] {
      const auto vm = library.inspect("fuzz");
      sink = sink + vm.run_json.size() + vm.spec_json.size() + vm.files.size() + vm.state.size();
    });
    host_call([&] { sink = sink + library.console_log("fuzz", 1).size(); });
    sink = sink + kernel::read_state(dir / "run").size();
    for (const std::string& target : {std::string("fuzz"), (dir / "spec.json").string()}) {
      host_call([&] { sink = sink + fuzz::render(h.validate_file(target, "").diagnostics); });
      host_call([&] {
        host::PlanOptions o;
        o.engine = "";  // the VM's own
        o.files_may_be_missing = true;
        const auto p = h.plan_file(target, o);
        sink = sink + p.model_json.size() + p.swift.size() + host::shell_join(p.qemu_argv).size();
      });
    }
  }
  const auto plan = files.find("run/plan.json");
  const auto log = files.find("run/qemu.log");
  if (plan != files.end()) sink = sink + read_plan(dir, plan->second, log == files.end() ? "" : log->second);
  return 0;
}
