// The host API (sdk/include/vzkit/host.hpp) over the kernel and the engines.
#include <vzkit/host.hpp>

#include "host_impl.hpp"

#include <vzkit/kernel/log.hpp>

#include <vzkit/bridge/qemu/accel.hpp>
#include <vzkit/bridge/qemu/qemu_machine.hpp>
#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/closest.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/swift_export.hpp>
#include <vzkit/kernel/validate.hpp>
#include <vzkit/kernel/version.hpp>
#include <vzkit/qemu/machine.hpp>
#include <vzkit/vz/configuration.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <unistd.h>

namespace vzkit::host {

namespace json = boost::json;
using namespace detail;

namespace {

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

PlanError::PlanError(std::vector<Diagnostic> d, bool invalid)
    : std::runtime_error(first_message(d)), diagnostics(std::move(d)), invalid_input(invalid) {}

std::string format(const std::vector<Diagnostic>& diagnostics) {
  kernel::Diagnostics k;
  for (const auto& d : diagnostics) k.push_back(back(d));
  return kernel::format(k);
}

std::string to_json(const std::vector<Diagnostic>& diagnostics) {
  kernel::Diagnostics k;
  for (const auto& d : diagnostics) k.push_back(back(d));
  return json::serialize(kernel::to_json(k));
}

std::string pretty_json(const std::string& json_text) { return kernel::pretty_json(json::parse(json_text)); }

std::string valid_utf8(const std::string& text) { return kernel::valid_utf8(text); }

std::string shell_join(const std::vector<std::string>& argv) { return kernel::shell_join(argv); }

std::string closest_name(const std::string& word, const std::vector<std::string>& names) {
  return kernel::closest(word, names);
}



Host::Host(const Options& options) : m_impl(std::make_unique<Impl>()) {
  kernel::SearchOptions s;
  for (const auto& p : options.plugin_paths) s.plugin_paths.emplace_back(p);
  if (!options.default_plugins) s.use_environment = s.use_installed = s.use_user_folder = false;
  m_impl->plugins.load(kernel::plugin_search_path(s));
  for (const auto& e : m_impl->plugins.errors()) m_impl->problems.push_back({e.file.string(), e.reason});
}

Host::~Host() = default;
Host::Host(Host&&) noexcept = default;
Host& Host::operator=(Host&&) noexcept = default;

const char* version() { return kernel::kVersion; }

namespace {
std::function<void(LogLevel, const std::string&)>& log_handler() {
  static auto* h = new std::function<void(LogLevel, const std::string&)>();
  return *h;
}
void forward_log(kernel::LogLevel level, std::string_view message) {
  if (const auto& h = log_handler())
    h(level == kernel::LogLevel::debug  ? LogLevel::debug
      : level == kernel::LogLevel::info ? LogLevel::info
                                        : LogLevel::warning,
      std::string(message));
}
}  // namespace

void set_log_handler(std::function<void(LogLevel, const std::string&)> handler) {
  log_handler() = std::move(handler);
  kernel::set_log_sink(log_handler() ? &forward_log : nullptr);
}

const std::vector<PluginInfo>& Host::plugins() const {
  // Made on first use: most commands never list the plugins.
  if (m_impl->infos.size() != m_impl->plugins.plugins().size()) {
    m_impl->infos.clear();
    for (const auto* p : m_impl->plugins.plugins()) {
      const auto& m = p->manifest();
      PluginInfo info;
      info.name = m.name;
      info.version = m.version;
      info.summary = m.summary;
      info.engines = m.engines;
      info.slots = m.slots;
      info.min_macos = m.min_macos;
      info.save_restore = m.save_restore;
      for (const auto& e : m.engines)
        if (m.saves_on(e)) info.save_restore_engines.push_back(e);
      info.save_restore_notes = m.save_restore_notes;
      info.abi = std::to_string(p->abi_major()) + "." + std::to_string(p->abi_minor());
      info.file = p->file().string();
      info.origin = p->origin();
      info.schema_json = json::serialize(m.schema);
      m_impl->infos.push_back(std::move(info));
    }
  }
  return m_impl->infos;
}
const std::vector<LoadProblem>& Host::load_problems() const { return m_impl->problems; }
std::string Host::spec_schema() const { return json::serialize(kernel::spec_schema(m_impl->plugins)); }

std::optional<std::string> Host::plugin_schema(const std::string& plugin) const {
  const auto* p = m_impl->plugins.find(plugin);
  if (!p) return std::nullopt;
  return json::serialize(p->manifest().schema);
}

std::optional<std::string> Host::describe(const std::string& plugin, const std::string& request_json) const {
  const auto* p = m_impl->plugins.find(plugin);
  if (!p) return std::nullopt;
  auto text = p->describe(json::parse(request_json));
  if (!text || text->empty()) return std::nullopt;
  return text;
}

Validation Host::validate_file(const std::string& file, const std::string& engine) const {
  kernel::Diagnostic why;
  const auto source = read_spec_source(file, why);
  if (!source) return {false, convert(kernel::Diagnostics{why}), engine};
  const std::string checked = engine.empty() && source->bundle ? source->bundle->engine() : engine;
  const std::string bundle_dir = source->bundle ? source->bundle->dir.string() : std::string();
  kernel::Diagnostics all;
  const bool valid = kernel::validated(kernel::parse_spec(source->text, source->file, source->spec_dir),
                                       m_impl->plugins, m_impl->validate_options(checked, bundle_dir), all)
                         .has_value();
  return {valid, convert(all), checked};
}

kernel::ValidateOptions Host::Impl::validate_options(const std::string& engine, const std::string& bundle_dir) const {
  kernel::ValidateOptions o;
  o.engine = engine;
  o.bundle_dir = bundle_dir;
  if (engine == "vz") o.host_bounds = vz_facts();
  return o;
}

const json::object& Host::Impl::vz_facts() const {
  if (!m_vz_facts) {
    m_vz_facts.emplace();
    try {
      if (auto facts = vz_host_facts()) m_vz_facts = json::parse(*facts).as_object();
    } catch (const std::exception&) {
      // No facts: the runner's own check (validateWithError:) still refuses what VZ refuses.
    }
  }
  return *m_vz_facts;
}

Validation Host::validate(const std::string& spec_json, const std::string& spec_dir, const std::string& engine,
                          const std::string& file_name) const {
  kernel::Diagnostics all;
  const bool valid = kernel::validated(kernel::parse_spec(spec_json, file_name, spec_dir), m_impl->plugins,
                                       m_impl->validate_options(engine), all)
                         .has_value();
  return {valid, convert(all), engine};
}

namespace {

// A file or folder the spec names does not exist: plugins name such diagnostics "...-missing"
// (docs/plugins.md), and a plan, which only refers to the file, reports them as warnings.
void allow_missing_files(kernel::Diagnostics& ds) {
  constexpr std::string_view suffix = "-missing";
  for (auto& d : ds) {
    if (d.severity != kernel::Severity::error || d.code.size() < suffix.size() ||
        d.code.compare(d.code.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    d.severity = kernel::Severity::warning;
    d.hint += (d.hint.empty() ? "" : "; ") + std::string("the plan only refers to it, `vzkit run` needs it");
  }
}

}  // namespace

Plan Host::Impl::plan(kernel::ParsedSpec parsed, const PlanOptions& options) const {
  kernel::Diagnostics found = parsed.diagnostics;
  if (!parsed.spec) throw PlanError(convert(found));
  const std::string engine = options.engine.empty() ? default_engine() : options.engine;
  auto checked = kernel::validate(*parsed.spec, plugins, validate_options(engine, options.bundle_dir));
  if (options.files_may_be_missing) allow_missing_files(checked);
  found.insert(found.end(), checked.begin(), checked.end());
  if (kernel::has_errors(found)) throw PlanError(convert(found));
  auto spec = std::make_optional(std::move(*parsed.spec));
  kernel::AssembleOptions ao;
  ao.engine = engine;
  ao.bundle_dir = options.bundle_dir;
  ao.materialize = options.materialize;
  ao.accel = options.accel == "auto"
                 ? bridge::qemu::choose_accelerator("auto", kernel::effective_arch(*spec, engine)).accel
                 : options.accel;
  kernel::Plan p;
  try {
    p = kernel::assemble(*spec, plugins, ao);
  } catch (const kernel::AssembleError& e) {
    throw PlanError(convert(e.diagnostics), false);
  }
  Plan out{p.engine, spec->name, kernel::pretty_json(p.model), {}, {}, warnings_of(convert(found))};
  if (p.engine == "qemu") out.qemu_argv = qemu::to_argv(json::value_to<qemu::Machine>(p.model));
  else out.swift = kernel::to_swift(json::value_to<vz::Configuration>(p.model), spec->name);
  return out;
}

Plan Host::plan(const std::string& spec_json, const std::string& spec_dir, const PlanOptions& options,
                const std::string& file_name) const {
  return m_impl->plan(kernel::parse_spec(spec_json, file_name, spec_dir), options);
}

Plan Host::Impl::plan(const SpecSource& source, PlanOptions options) const {
  if (source.bundle) {
    if (options.engine.empty()) options.engine = source.bundle->engine();
    if (options.bundle_dir.empty()) options.bundle_dir = source.bundle->dir.string();
  } else if (const auto name = spec_name(source.text); options.bundle_dir.empty() && kernel::valid_vm_name(name)) {
    options.bundle_dir = (kernel::vms_dir() / name).string();  // where `vzkit run SPEC` keeps its files
  }
  return plan(kernel::parse_spec(source.text, source.file, source.spec_dir), options);
}

Plan Host::plan_file(const std::string& file, const PlanOptions& options) const {
  kernel::Diagnostic why;
  const auto source = read_spec_source(file, why);
  if (!source) throw PlanError(convert(kernel::Diagnostics{why}));
  return m_impl->plan(*source, options);
}

std::unique_ptr<Session> Host::create_session(const Plan& plan, const SessionOptions& options) const {
  if (plan.engine != "qemu")
    throw std::runtime_error("this host runs the qemu engine; a '" + plan.engine +
                             "' plan runs on a Mac with Apple silicon (bridge/vz)");
  if (options.run_dir.empty()) throw std::runtime_error("SessionOptions.run_dir is required");
  return std::make_unique<QemuSession>(json::value_to<qemu::Machine>(json::parse(plan.model_json)), plan.name, options);
}

}  // namespace vzkit::host
