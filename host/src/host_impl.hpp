// Internal to the host library: the state behind Host and conversions between the kernel's
// types and the host API's.
#pragma once

#include <vzkit/host.hpp>
#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/plugin_host.hpp>
#include <vzkit/kernel/spec.hpp>
#include <vzkit/kernel/validate.hpp>

#include <boost/json/object.hpp>

#include <optional>

namespace vzkit::host {

namespace detail {

inline Diagnostic convert(const kernel::Diagnostic& d) {
  return {d.severity == kernel::Severity::error, d.code, d.file, d.path, d.plugin, d.message, d.hint, d.line, d.column};
}

inline std::vector<Diagnostic> convert(const kernel::Diagnostics& ds) {
  std::vector<Diagnostic> out;
  for (const auto& d : ds) out.push_back(convert(d));
  return out;
}

inline kernel::Diagnostic back(const Diagnostic& d) {
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

inline std::vector<Diagnostic> warnings_of(const std::vector<Diagnostic>& all) {
  std::vector<Diagnostic> out;
  for (const auto& d : all)
    if (!d.error) out.push_back(d);
  return out;
}

/// The spec a command names: a spec file, a VM by name, or a VM's own spec.json. A VM's spec
/// resolves its relative paths as `vzkit run NAME` does (in the folder recorded with the VM).
struct SpecSource {
  std::string text;
  std::string file;                      ///< names the spec in diagnostics
  std::filesystem::path spec_dir;        ///< where its relative paths resolve
  std::optional<kernel::Bundle> bundle;  ///< the VM whose spec it is
};

/// Reads what `target` names. nullopt, with `why` set (code spec.unreadable: "no spec file or VM
/// named 'web'", with a "did you mean" among the VMs), when it names neither.
std::optional<SpecSource> read_spec_source(const std::string& target, kernel::Diagnostic& why);

/// The "name" of spec text, "" when it has none (validation then says so).
std::string spec_name(const std::string& text);

/// A VM stopped and locked for a whole operation, so that it cannot start meanwhile.
struct Stopped {
  kernel::Bundle bundle;
  kernel::BundleLock lock;
};
/// Opens and locks the VM `name`; std::runtime_error saying who runs it and that `doing` needs
/// it stopped otherwise.
Stopped lock_stopped(const std::string& name, const std::string& doing);

/// A random locally administered unicast MAC address ("02:..."), for a VM's new identity.
std::string random_mac();

/// The VM `name`; throws std::runtime_error saying why it cannot be opened.
kernel::Bundle open_or_throw(const std::string& name);
/// What Library::list (details false) and inspect (true) say about a VM.
VmInfo info_of(const kernel::Bundle& b, bool details);
/// Throws InputError unless `name` can name a VM.
void check_name(const std::string& name);

/// `vzkit create --image` (cloud_image.cpp): its flags checked as flags (InputError names one);
/// what bundle.json records about logging in ("access": user, identity); and the VM's files made
/// in `dir` (the disk, kernel, initrd, SSH key), returning its spec.
void check_image_flags(const CreateOptions& a);
boost::json::object cloud_image_access(const CreateOptions& a);
std::string make_cloud_image_vm(const CreateOptions& a, const std::string& engine, const std::filesystem::path& dir,
                                const std::function<void(const std::string&)>& say);

}  // namespace detail

struct Host::Impl {
  kernel::PluginHost plugins;
  mutable std::vector<PluginInfo> infos;  ///< made by Host::plugins() on first use
  std::vector<LoadProblem> problems;
  Plan plan(kernel::ParsedSpec parsed, const PlanOptions& options) const;
  Plan plan(const detail::SpecSource& source, PlanOptions options) const;
  /// Validation options for `engine`, with the host's bounds when the engine reports them (vz).
  kernel::ValidateOptions validate_options(const std::string& engine, const std::string& bundle_dir = {}) const;
  /// vz_host_facts() as an object, asked of the runner once per Host; empty without a VZ engine.
  const boost::json::object& vz_facts() const;

 private:
  mutable std::optional<boost::json::object> m_vz_facts;
};

}  // namespace vzkit::host
