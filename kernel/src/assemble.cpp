#include <vzkit/kernel/assemble.hpp>
#include <vzkit/kernel/validate.hpp>
#include <vzkit/qemu/machine.hpp>
#include <vzkit/vz/configuration.hpp>

#include <boost/json.hpp>

namespace vzkit::kernel {

namespace json = boost::json;

AssembleError::AssembleError(Diagnostics d)
    : std::runtime_error(d.empty() ? std::string("assembly failed") : d.front().message), diagnostics(std::move(d)) {}

namespace {

// `from` is consumed: its pieces move into the plan. Paths are built only for conflicts.
void merge(json::value& into, json::value&& from, const std::string& path, const json::object& origin,
           std::vector<std::string>& conflicts) {
  if (from.is_null()) return;
  auto stamp = [&](json::value& e) {
    if (e.is_object() && !e.get_object().contains("origin")) e.get_object()["origin"] = origin;
  };
  if (into.is_null()) {
    into = std::move(from);
    if (into.is_array())
      for (auto& e : into.get_array()) stamp(e);
    return;
  }
  if (into.is_object() && from.is_object()) {
    for (auto& kv : from.get_object()) {
      json::value& slot = into.get_object()[kv.key()];
      merge(slot, std::move(kv.value()), path.empty() ? std::string(kv.key()) : path + "." + std::string(kv.key()),
            origin, conflicts);
    }
    return;
  }
  if (into.is_array() && from.is_array()) {
    auto& target = into.get_array();
    for (auto& e : from.get_array()) {
      stamp(e);
      target.push_back(std::move(e));
    }
    return;
  }
  if (into != from) conflicts.push_back(path + ": " + json::serialize(into) + " vs " + json::serialize(from));
}

json::value base_model(const Spec& spec, const AssembleOptions& o) {
  const std::string arch = effective_arch(spec, o.engine);
  if (o.engine == "vz") {
    vz::Configuration c;
    c.cpu_count = spec.cpus;
    c.memory_size = spec.memory_bytes;
    return json::value_from(c);
  }
  qemu::Machine m;
  m.binary = arch == "aarch64" ? "qemu-system-aarch64" : "qemu-system-x86_64";
  m.type = arch == "aarch64" ? "virt" : "q35";
  m.accel = o.accel.empty() ? "tcg" : o.accel;
  if (arch == "aarch64") m.cpu = *m.accel == "tcg" ? "cortex-a72" : "host";
  else if (*m.accel == "kvm") m.cpu = "host";
  m.smp = spec.cpus;
  m.memory_mib = spec.memory_bytes >> 20;
  return json::value_from(m);
}

}  // namespace

void merge_fragment(json::value& plan, json::value f, const json::object& origin,
                    const std::vector<std::string>& stamp_keys, std::vector<std::string>& conflicts) {
  if (f.is_object())
    for (const auto& k : stamp_keys)
      if (auto* v = f.get_object().if_contains(k); v && v->is_object() && !v->get_object().contains("origin"))
        v->get_object()["origin"] = origin;
  merge(plan, std::move(f), "", origin, conflicts);
}

Plan assemble(const Spec& spec, const PluginHost& host, const AssembleOptions& options) {
  Diagnostics problems;
  auto fail = [&](const DeviceEntry* dev, std::string code, std::string message, std::string hint = {}) {
    Diagnostic d;
    d.code = std::move(code);
    d.file = spec.file;
    if (dev) {
      d.path = dev->path;
      d.plugin = dev->plugin;
    }
    d.message = std::move(message);
    d.hint = std::move(hint);
    problems.push_back(std::move(d));
  };
  if (options.engine != "vz" && options.engine != "qemu") {
    fail(nullptr, "engine.unknown", "unknown engine '" + options.engine + "'", "use --engine vz or --engine qemu");
    throw AssembleError(problems);
  }
  // Fragments and the merged plan live in one arena until the typed model has checked them; the
  // plan handed back is a fresh, canonical copy.
  json::monotonic_resource arena;
  const json::value base = base_model(spec, options);
  json::value plan(base, &arena);
  const std::string base_text = json::serialize(base);
  const std::string request_head = "{\"engine\":" + json::serialize(json::value(options.engine)) + ",\"config\":";
  const std::vector<std::string> stamp = options.engine == "vz" ? std::vector<std::string>{"platform", "boot_loader"}
                                                                : std::vector<std::string>{};
  const PluginContextText context(spec, options.engine, options.bundle_dir, options.materialize);
  std::string request;
  for (const auto& dev : spec.devices) {
    const LoadedPlugin* plugin = host.find(dev.plugin);
    if (!plugin) {
      fail(&dev, "spec.unknown-plugin", "no plugin named '" + dev.plugin + "' is loaded");
      continue;
    }
    // {"engine", "config", "context", "base"}, with the base model spliced in as text.
    request = request_head;
    request += json::serialize(dev.config);
    request += ",\"context\":";
    context.append(request, dev);
    request += ",\"base\":";
    request += base_text;
    request += '}';
    json::value fragment(json::object_kind, &arena);
    try {
      fragment = plugin->assemble_text(request, &arena);
    } catch (const std::exception& e) {
      fail(&dev, "assemble.failed", e.what());
      continue;
    }
    std::vector<std::string> conflicts;
    merge_fragment(plan, std::move(fragment), json::object{{"plugin", dev.plugin}, {"path", dev.path}}, stamp, conflicts);
    for (const auto& c : conflicts)
      fail(&dev, "assemble.conflict", "sets " + c + " differently from another device",
           "two devices want the same engine setting; remove one of them");
  }
  if (!problems.empty()) throw AssembleError(problems);
  // The canonical plan is built in default storage: `plan` and its arena end here.
  json::value canonical;
  try {
    if (options.engine == "vz") {
      auto c = json::value_to<vz::Configuration>(plan);
      // VZ takes one socket device: the vsock device and the guest agent's channel share it.
      if (c.socket_devices.size() > 1) c.socket_devices.resize(1);
      canonical = json::value_from(c);
    } else {
      auto m = json::value_to<qemu::Machine>(plan);
      qemu::remove_duplicates(m);
      canonical = json::value_from(m);
    }
  } catch (const std::exception& e) {
    fail(nullptr, "assemble.bad-plan", std::string("the plugins produced a plan the engine model rejects: ") + e.what(),
         "this is a bug in a plugin; the message names the object concerned");
    throw AssembleError(problems);
  }
  return {options.engine, std::move(canonical)};
}

}  // namespace vzkit::kernel
