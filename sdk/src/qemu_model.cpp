// Rendering and the JSON mapping of the QEMU object model (sdk/include/vzkit/qemu/machine.hpp),
// compiled once into the SDK library.
#include <vzkit/qemu/machine.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <stdexcept>

namespace vzkit::qemu {

std::string escape_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

std::string join_properties(std::string head, const Properties& props) {
  for (const auto& [k, v] : props) {
    if (!head.empty()) head += ',';
    head += k + "=" + escape_value(v);
  }
  return head;
}

void remove_duplicates(Machine& m) {
  auto dedupe = [](auto& list, auto same) {
    for (std::size_t i = 0; i < list.size(); ++i)
      for (std::size_t j = list.size(); j-- > i + 1;)
        if (same(list[i], list[j])) list.erase(list.begin() + static_cast<std::ptrdiff_t>(j));
  };
  auto same_backend = [](const Backend& a, const Backend& b) {
    return a.type == b.type && a.properties == b.properties;
  };
  dedupe(m.devices, [](const Device& a, const Device& b) {
    return a.driver == b.driver && a.properties == b.properties;
  });
  dedupe(m.objects, same_backend);
  dedupe(m.chardevs, same_backend);
  dedupe(m.netdevs, same_backend);
  dedupe(m.blockdevs, same_backend);
  dedupe(m.drives, same_backend);
  dedupe(m.globals, [](const Global& a, const Global& b) { return a == b; });
  dedupe(m.machine_properties, [](const auto& a, const auto& b) { return a == b; });
  dedupe(m.cpu_features, [](const auto& a, const auto& b) { return a == b; });
}

std::vector<std::string> to_argv(const Machine& m) {
  std::vector<std::string> a;
  a.push_back(m.binary.value_or("qemu-system-x86_64"));
  a.insert(a.end(), {"-nodefaults", "-no-user-config"});
  std::string machine = m.type.value_or("q35");
  if (m.accel) machine += ",accel=" + *m.accel;
  a.insert(a.end(), {"-machine", join_properties(machine, m.machine_properties)});
  if (m.cpu || !m.cpu_features.empty()) {
    std::string cpu = m.cpu.value_or("qemu64");
    for (const auto& f : m.cpu_features) cpu += "," + f;
    a.insert(a.end(), {"-cpu", cpu});
  }
  if (m.smp) a.insert(a.end(), {"-smp", std::to_string(*m.smp)});
  if (m.memory_mib) a.insert(a.end(), {"-m", std::to_string(*m.memory_mib)});
  for (const auto& o : m.objects) a.insert(a.end(), {"-object", join_properties(o.type, o.properties)});
  for (const auto& d : m.drives) a.insert(a.end(), {"-drive", join_properties("", d.properties)});
  for (const auto& b : m.blockdevs)
    a.insert(a.end(), {"-blockdev", join_properties("driver=" + escape_value(b.type), b.properties)});
  for (const auto& n : m.netdevs) a.insert(a.end(), {"-netdev", join_properties(n.type, n.properties)});
  for (const auto& c : m.chardevs) a.insert(a.end(), {"-chardev", join_properties(c.type, c.properties)});
  for (const auto& s : m.serial) a.insert(a.end(), {"-serial", s});
  for (const auto& g : m.globals) a.insert(a.end(), {"-global", g.driver + "." + g.property + "=" + g.value});
  for (const auto& d : m.devices) a.insert(a.end(), {"-device", join_properties(d.driver, d.properties)});
  if (m.kernel) {
    a.insert(a.end(), {"-kernel", m.kernel->kernel});
    if (m.kernel->initrd) a.insert(a.end(), {"-initrd", *m.kernel->initrd});
    if (!m.kernel->append.empty()) a.insert(a.end(), {"-append", m.kernel->append});
  }
  return a;
}

// ---- JSON ----

namespace detail {

namespace json = boost::json;

/// Reads one JSON object strictly: every key must be consumed, types must match.
class Reader {
 public:
  Reader(const json::value& v, std::string what) : m_what(std::move(what)) {
    if (!v.is_object()) throw std::invalid_argument(m_what + ": expected an object");
    m_obj = &v.get_object();
  }
  template <class T>
  void get(const char* key, T& out) {
    if (const auto* v = take(key)) out = read<T>(*v, key);
  }
  template <class T>
  void get(const char* key, std::optional<T>& out) {
    if (const auto* v = take(key)) out = read<T>(*v, key);
  }
  void done() const {
    for (const auto& kv : *m_obj)
      if (std::find(m_seen.begin(), m_seen.end(), kv.key()) == m_seen.end())
        throw std::invalid_argument("unknown key '" + std::string(kv.key()) + "' in " + m_what);
  }

 private:
  const json::value* take(const char* key) {
    m_seen.emplace_back(key);
    return m_obj->if_contains(key);
  }
  template <class T>
  T read(const json::value& v, const char* key) const {
    try {
      return json::value_to<T>(v);
    } catch (const std::exception& e) {
      throw std::invalid_argument(m_what + "." + key + ": " + e.what());
    }
  }
  const json::object* m_obj = nullptr;
  std::string m_what;
  std::vector<std::string> m_seen;
};

// A key given more than once (hostfwd=, for example) becomes an array of its values, kept at the
// key's first position; parsing expands it back into consecutive pairs.
inline json::object properties_to_json(const Properties& p, json::storage_ptr sp = {}) {
  json::object o(std::move(sp));
  o.reserve(p.size());
  for (const auto& [k, v] : p) {
    auto* existing = o.if_contains(k);
    if (!existing) {
      o[k] = v;
    } else if (existing->is_array()) {
      existing->get_array().push_back(json::string(v));
    } else {
      json::array values({existing->get_string(), json::string(v)}, o.storage());
      *existing = std::move(values);
    }
  }
  return o;
}

inline Properties properties_from_json(const json::value& v) {
  Properties p;
  if (!v.is_object()) throw std::invalid_argument("properties: expected an object of strings");
  for (const auto& kv : v.get_object()) {
    const std::string key(kv.key());
    if (kv.value().is_string()) {
      p.emplace_back(key, std::string(kv.value().get_string()));
      continue;
    }
    if (kv.value().is_array() && !kv.value().get_array().empty()) {
      for (const auto& e : kv.value().get_array()) {
        if (!e.is_string()) throw std::invalid_argument("property '" + key + "' must hold strings");
        p.emplace_back(key, std::string(e.get_string()));
      }
      continue;
    }
    throw std::invalid_argument("property '" + key + "' must be a string or a non-empty array of strings");
  }
  return p;
}

}  // namespace detail

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Origin& o) {
  auto& obj = jv.emplace_object();  // in jv's storage
  obj["plugin"] = o.plugin;
  obj["path"] = o.path;
}
inline Origin tag_invoke(boost::json::value_to_tag<Origin>, const boost::json::value& jv) {
  Origin o;
  detail::Reader r(jv, "origin");
  r.get("plugin", o.plugin);
  r.get("path", o.path);
  r.done();
  return o;
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Device& d) {
  auto& o = jv.emplace_object();  // in jv's storage
  o["driver"] = d.driver;
  if (!d.properties.empty()) o["properties"] = detail::properties_to_json(d.properties, o.storage());
  if (d.origin) o["origin"] = boost::json::value_from(*d.origin, o.storage());
}
inline Device tag_invoke(boost::json::value_to_tag<Device>, const boost::json::value& jv) {
  Device d;
  detail::Reader r(jv, "device");
  r.get("driver", d.driver);
  if (const auto* p = jv.get_object().if_contains("properties")) d.properties = detail::properties_from_json(*p);
  boost::json::value ignored;
  r.get("properties", ignored);
  r.get("origin", d.origin);
  r.done();
  return d;
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Backend& b) {
  auto& o = jv.emplace_object();  // in jv's storage
  if (!b.type.empty()) o["type"] = b.type;
  if (!b.properties.empty()) o["properties"] = detail::properties_to_json(b.properties, o.storage());
  if (b.origin) o["origin"] = boost::json::value_from(*b.origin, o.storage());
}
inline Backend tag_invoke(boost::json::value_to_tag<Backend>, const boost::json::value& jv) {
  Backend b;
  detail::Reader r(jv, "backend");
  r.get("type", b.type);
  if (const auto* p = jv.get_object().if_contains("properties")) b.properties = detail::properties_from_json(*p);
  boost::json::value ignored;
  r.get("properties", ignored);
  r.get("origin", b.origin);
  r.done();
  return b;
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Global& g) {
  jv = {{"driver", g.driver}, {"property", g.property}, {"value", g.value}};
}
inline Global tag_invoke(boost::json::value_to_tag<Global>, const boost::json::value& jv) {
  Global g;
  detail::Reader r(jv, "global");
  r.get("driver", g.driver);
  r.get("property", g.property);
  r.get("value", g.value);
  r.done();
  return g;
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const KernelBoot& k) {
  boost::json::object o{{"kernel", k.kernel}};
  if (k.initrd) o["initrd"] = *k.initrd;
  if (!k.append.empty()) o["append"] = k.append;
  jv = std::move(o);
}
inline KernelBoot tag_invoke(boost::json::value_to_tag<KernelBoot>, const boost::json::value& jv) {
  KernelBoot k;
  detail::Reader r(jv, "kernel");
  r.get("kernel", k.kernel);
  r.get("initrd", k.initrd);
  r.get("append", k.append);
  r.done();
  return k;
}

inline void tag_invoke(boost::json::value_from_tag, boost::json::value& jv, const Helper& h) {
  boost::json::object o{{"name", h.name}, {"argv", boost::json::value_from(h.argv)}};
  if (h.socket) o["socket"] = *h.socket;
  if (h.origin) o["origin"] = boost::json::value_from(*h.origin);
  jv = std::move(o);
}
inline Helper tag_invoke(boost::json::value_to_tag<Helper>, const boost::json::value& jv) {
  Helper h;
  detail::Reader r(jv, "helper");
  r.get("name", h.name);
  r.get("argv", h.argv);
  r.get("socket", h.socket);
  r.get("origin", h.origin);
  r.done();
  return h;
}

void tag_invoke(const boost::json::value_from_tag&, boost::json::value& jv, const Machine& m) {
  auto& o = jv.emplace_object();  // in jv's storage (an arena, when the caller passes one)
  o.reserve(18);
  auto opt = [&](const char* k, const auto& v) {
    if (v) o[k] = boost::json::value_from(*v, o.storage());
  };
  auto list = [&](const char* k, const auto& v) {
    if (!v.empty()) o[k] = boost::json::value_from(v, o.storage());
  };
  opt("binary", m.binary);
  opt("type", m.type);
  opt("accel", m.accel);
  opt("cpu", m.cpu);
  list("cpu_features", m.cpu_features);
  opt("smp", m.smp);
  opt("memory_mib", m.memory_mib);
  if (!m.machine_properties.empty()) o["machine_properties"] = detail::properties_to_json(m.machine_properties, o.storage());
  opt("kernel", m.kernel);
  list("drives", m.drives);
  list("blockdevs", m.blockdevs);
  list("netdevs", m.netdevs);
  list("chardevs", m.chardevs);
  list("objects", m.objects);
  list("devices", m.devices);
  list("globals", m.globals);
  list("serial", m.serial);
  list("helpers", m.helpers);
}

Machine tag_invoke(const boost::json::value_to_tag<Machine>&, const boost::json::value& jv) {
  Machine m;
  detail::Reader r(jv, "qemu machine");
  r.get("binary", m.binary);
  r.get("type", m.type);
  r.get("accel", m.accel);
  r.get("cpu", m.cpu);
  r.get("cpu_features", m.cpu_features);
  r.get("smp", m.smp);
  r.get("memory_mib", m.memory_mib);
  if (const auto* p = jv.get_object().if_contains("machine_properties"))
    m.machine_properties = detail::properties_from_json(*p);
  boost::json::value ignored;
  r.get("machine_properties", ignored);
  r.get("kernel", m.kernel);
  r.get("drives", m.drives);
  r.get("blockdevs", m.blockdevs);
  r.get("netdevs", m.netdevs);
  r.get("chardevs", m.chardevs);
  r.get("objects", m.objects);
  r.get("devices", m.devices);
  r.get("globals", m.globals);
  r.get("serial", m.serial);
  r.get("helpers", m.helpers);
  r.done();
  return m;
}

}  // namespace vzkit::qemu
