#include <vzkit/bridge/qemu/supervisor.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

namespace vzkit::bridge::qemu {

int supervise(const vzkit::qemu::Machine& plan, const SuperviseOptions& options) {
  boost::asio::io_context io;
  QemuMachine machine(io, plan, options.run);
  kernel::SuperviseOptions o;
  o.run_dir = options.run.run_dir;
  o.stop_grace = options.stop_grace;
  o.report = options.report;
  o.facts = options.facts;
  o.facts["console_log"] = RunFiles(options.run.run_dir).console_log().string();
  o.more_facts = [&machine](boost::json::object& st) {
    st["qemu_pid"] = machine.qemu_pid();
    boost::json::array forwards;
    for (const auto& f : machine.forwards())
      forwards.push_back({{"protocol", f.protocol}, {"host_address", f.host_address}, {"host_port", f.host_port},
                          {"guest_port", f.guest_port}});
    if (!forwards.empty()) st["forwards"] = std::move(forwards);
  };
  o.restore_from = options.restore_from;
  o.on_restored = options.on_restored;
  // QEMU's monitor answers run/ctl.sock; what only vzkit knows (saving state) is served here.
  kernel::ControlServer control(io, supervisor_socket(options.run.run_dir), machine);
  return kernel::supervise(io, machine, o);
}

}  // namespace vzkit::bridge::qemu
