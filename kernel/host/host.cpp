// The host API (sdk/include/vzkit/host.hpp) over the kernel and the engines.
#include <vzkit/host.hpp>

#include <vzkit/bridge/qemu/accel.hpp>
#include <vzkit/bridge/qemu/qemu_machine.hpp>
#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/swift_export.hpp>
#include <vzkit/kernel/validate.hpp>
#include <vzkit/qemu/machine.hpp>
#include <vzkit/vz/configuration.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <unistd.h>

namespace vzkit::host {

namespace json = boost::json;

namespace {

Diagnostic convert(const kernel::Diagnostic& d) {
  return {d.severity == kernel::Severity::error, d.code, d.file, d.path, d.plugin, d.message, d.hint, d.line, d.column};
}

std::vector<Diagnostic> convert(const kernel::Diagnostics& ds) {
  std::vector<Diagnostic> out;
  for (const auto& d : ds) out.push_back(convert(d));
  return out;
}

kernel::Diagnostic back(const Diagnostic& d) {
  kernel::Diagnostic k;
  k.severity = d.error ? kernel::Severity::error : kernel::Severity::warning;
  k.code = d.code;
  k.file = d.file;
  k.path = d.path;
  k.plugin = d.plugin;
  k.message = d.message;
  k.hint = d.hint;
  k.line = d.line;
  k.column = d.column;
  return k;
}

std::string first_message(const std::vector<Diagnostic>& d) {
  for (const auto& x : d)
    if (x.error) return x.text();
  return "the spec is invalid";
}

class QemuSession final : public Session {
 public:
  QemuSession(vzkit::qemu::Machine plan, const std::string& name, const SessionOptions& o)
      : m_machine(m_io, std::move(plan), run_options(name, o)), m_on_event(o.on_event) {
    m_machine.set_event_handler([this](const MachineEvent& e) {
      if (m_on_event) m_on_event(e);
      if (e.kind != MachineEvent::Kind::state_changed) return;
      if (e.state == MachineState::starting) m_started = true;
      if (m_started && (e.state == MachineState::stopped || e.state == MachineState::error)) m_io.stop();
    });
  }
  Machine& machine() override { return m_machine; }
  MachineState run() override {
    m_io.restart();
    if (!finished()) m_io.run();
    return m_machine.state();
  }
  MachineState run_for(std::chrono::milliseconds d) override {
    m_io.restart();
    if (!finished()) m_io.run_for(d);
    return m_machine.state();
  }

 private:
  static bridge::qemu::RunOptions run_options(const std::string& name, const SessionOptions& o) {
    bridge::qemu::RunOptions r;
    r.name = name;
    r.run_dir = o.run_dir;
    r.console_to_stdout = true;
    if (o.console) {
      auto sink = o.console;
      r.console_output = [sink](const char* data, std::size_t n) { sink(std::string(data, n)); };
    }
    return r;
  }
  bool finished() const {
    return m_started && (m_machine.state() == MachineState::stopped || m_machine.state() == MachineState::error);
  }

  boost::asio::io_context m_io;
  bridge::qemu::QemuMachine m_machine;
  std::function<void(const MachineEvent&)> m_on_event;
  bool m_started = false;
};

}  // namespace

std::string Diagnostic::text() const { return kernel::format(back(*this)); }

PlanError::PlanError(std::vector<Diagnostic> d) : std::runtime_error(first_message(d)), diagnostics(std::move(d)) {}

struct Host::Impl {
  kernel::PluginHost plugins;
  std::vector<PluginInfo> infos;
  std::vector<LoadProblem> problems;
};

Host::Host(const Options& options) : m_impl(std::make_unique<Impl>()) {
  kernel::SearchOptions s;
  for (const auto& p : options.plugin_paths) s.plugin_paths.emplace_back(p);
  if (!options.default_plugins) s.use_environment = s.use_installed = s.use_user_folder = false;
  m_impl->plugins.load(kernel::plugin_search_path(s));
  for (const auto* p : m_impl->plugins.plugins()) {
    const auto& m = p->manifest();
    m_impl->infos.push_back({m.name, m.version, m.summary, m.engines, p->file().string(), p->origin(),
                             json::serialize(m.schema)});
  }
  for (const auto& e : m_impl->plugins.errors()) m_impl->problems.push_back({e.file.string(), e.reason});
}

Host::~Host() = default;

const std::vector<PluginInfo>& Host::plugins() const { return m_impl->infos; }
const std::vector<LoadProblem>& Host::load_problems() const { return m_impl->problems; }
std::string Host::spec_schema() const { return json::serialize(kernel::spec_schema(m_impl->plugins)); }

Validation Host::validate(const std::string& spec_json, const std::string& spec_dir, const std::string& engine,
                          const std::string& file_name) const {
  kernel::ValidateOptions o;
  o.engine = engine;
  kernel::Diagnostics all;
  const bool valid = kernel::validated(kernel::parse_spec(spec_json, file_name, spec_dir), m_impl->plugins, o, all)
                         .has_value();
  return {valid, convert(all)};
}

Plan Host::plan(const std::string& spec_json, const std::string& spec_dir, const PlanOptions& options,
                const std::string& file_name) const {
  auto parsed = kernel::parse_spec(spec_json, file_name, spec_dir);
  if (!parsed.spec) throw PlanError(convert(parsed.diagnostics));
  kernel::ValidateOptions vo;
  vo.engine = options.engine;
  vo.bundle_dir = options.bundle_dir;
  auto found = kernel::validate(*parsed.spec, m_impl->plugins, vo);
  if (kernel::has_errors(found)) throw PlanError(convert(found));
  kernel::AssembleOptions ao;
  ao.engine = options.engine;
  ao.bundle_dir = options.bundle_dir;
  ao.materialize = options.materialize;
  ao.accel = options.accel == "auto"
                 ? bridge::qemu::choose_accelerator("auto", kernel::effective_arch(*parsed.spec, options.engine)).accel
                 : options.accel;
  kernel::Plan p;
  try {
    p = kernel::assemble(*parsed.spec, m_impl->plugins, ao);
  } catch (const kernel::AssembleError& e) {
    throw PlanError(convert(e.diagnostics));
  }
  Plan out{p.engine, parsed.spec->name, json::serialize(p.model), {}, {}};
  if (p.engine == "qemu") out.qemu_argv = qemu::to_argv(json::value_to<qemu::Machine>(p.model));
  else out.swift = kernel::to_swift(json::value_to<vz::Configuration>(p.model), parsed.spec->name);
  return out;
}

std::unique_ptr<Session> Host::create_session(const Plan& plan, const SessionOptions& options) const {
  if (plan.engine != "qemu")
    throw std::runtime_error("this host runs the qemu engine; a '" + plan.engine +
                             "' plan runs on a Mac with Apple silicon (bridge/vz)");
  if (options.run_dir.empty()) throw std::runtime_error("SessionOptions.run_dir is required");
  return std::make_unique<QemuSession>(json::value_to<qemu::Machine>(json::parse(plan.model_json)), plan.name, options);
}

}  // namespace vzkit::host
