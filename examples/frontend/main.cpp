// tiny-run: a front-end in a few dozen lines on vzkit's host API. It builds a VM spec in code,
// validates it, runs it to completion and shows the guest's console.
//
//   tiny-run KERNEL INITRD [KERNEL ARGUMENTS]
#include <vzkit/host.hpp>

#include <filesystem>
#include <iostream>

namespace {
std::string quoted(const std::string& s) {  // a JSON string (paths and arguments have no control characters)
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: tiny-run KERNEL INITRD [KERNEL ARGUMENTS]\n";
    return 2;
  }
  const std::string args = argc > 3 ? argv[3] : "console=ttyS0 quiet";
  const std::string spec = R"({"name": "tiny-run", "cpus": 1, "memory": "256MiB", "devices": [
      {"plugin": "linux-boot", "kernel": )" + quoted(argv[1]) + R"(, "initrd": )" + quoted(argv[2]) +
                           R"(, "command_line": )" + quoted(args) + R"(},
      {"plugin": "serial-console"}, {"plugin": "entropy"}]})";
  const std::string here = std::filesystem::current_path().string();

  vzkit::host::Host host;  // plugins from the default search path
  auto check = host.validate(spec, here, "qemu");
  for (const auto& d : check.diagnostics) std::cerr << d.text() << "\n";
  if (!check.valid) return 2;

  vzkit::host::PlanOptions plan_options;
  plan_options.accel = "auto";  // KVM when it really works here, else TCG
  const auto plan = host.plan(spec, here, plan_options);

  vzkit::host::SessionOptions session_options;
  session_options.run_dir = (std::filesystem::temp_directory_path() / "tiny-run").string();
  session_options.console = [](const std::string& bytes) { std::cout << bytes << std::flush; };
  session_options.on_event = [](const vzkit::MachineEvent& e) {
    if (e.kind == vzkit::MachineEvent::Kind::state_changed) std::cerr << "[" << vzkit::to_string(e.state) << "]\n";
    if (e.kind == vzkit::MachineEvent::Kind::error) std::cerr << "error: " << e.message << "\n";
  };
  auto session = host.create_session(plan, session_options);
  session->machine().start([](const std::string& error) {
    if (!error.empty()) std::cerr << "cannot start: " << error << "\n";
  });
  return session->run() == vzkit::MachineState::stopped ? 0 : 1;
}
