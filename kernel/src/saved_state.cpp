#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/file_copy.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/saved_state.hpp>

#include <boost/json.hpp>
#include <boost/uuid/detail/sha1.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

namespace vzkit::kernel {

namespace fs = std::filesystem;
namespace json = boost::json;

fs::path suspended_dir(const fs::path& bundle_dir) { return bundle_dir / "suspended"; }

namespace {

// The plan's text with the VM's folder spelt "$BUNDLE".
std::string normalized(const json::value& plan, const fs::path& bundle_dir) {
  std::string text = json::serialize(plan);
  const std::string dir = bundle_dir.lexically_normal().string();
  if (dir.size() < 2) return text;
  std::string out;
  for (std::size_t at = 0;;) {
    const std::size_t hit = text.find(dir, at);
    if (hit == std::string::npos) {
      out.append(text, at, std::string::npos);
      break;
    }
    out.append(text, at, hit - at).append("$BUNDLE");
    at = hit + dir.size();
  }
  return out;
}

std::string short_text(const json::value* v) {
  if (!v) return "(none)";
  std::string s = v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// "virtio-blk-pci (virtio-blk at devices[1])" for a plan entry with an origin.
std::string label(const json::value& v) {
  if (!v.is_object()) return short_text(&v);
  const auto& o = v.get_object();
  std::string what;
  for (const char* k : {"driver", "type", "name"})
    if (const auto* d = o.if_contains(k); d && d->is_string() && what.empty()) what = std::string(d->get_string());
  if (const auto* origin = o.if_contains("origin"); origin && origin->is_object()) {
    const auto* plugin = origin->get_object().if_contains("plugin");
    const auto* path = origin->get_object().if_contains("path");
    if (plugin && path && plugin->is_string() && path->is_string())
      what += std::string(what.empty() ? "" : " ") + "(" + std::string(plugin->get_string()) + " at " +
              std::string(path->get_string()) + ")";
  }
  return what.empty() ? short_text(&v) : what;
}

void diff(const json::value* a, const json::value* b, const std::string& at, std::vector<std::string>& out) {
  if (a && b && *a == *b) return;
  if (a && b && a->is_object() && b->is_object()) {
    std::vector<std::string> keys;
    for (const auto& kv : a->get_object()) keys.emplace_back(kv.key());
    for (const auto& kv : b->get_object())
      if (!a->get_object().contains(kv.key())) keys.emplace_back(kv.key());
    for (const auto& k : keys)
      diff(a->get_object().if_contains(k), b->get_object().if_contains(k), at.empty() ? k : at + "." + k, out);
    return;
  }
  if (a && b && a->is_array() && b->is_array()) {
    const auto& x = a->get_array();
    const auto& y = b->get_array();
    if (x.size() == y.size()) {
      for (std::size_t i = 0; i < x.size(); ++i) {
        std::string where = at + "[" + std::to_string(i) + "]";
        if (x[i].is_object() && x[i].get_object().contains("origin")) where += " " + label(x[i]);
        diff(&x[i], &y[i], where, out);
      }
      return;
    }
    for (const auto& e : x)
      if (std::find(y.begin(), y.end(), e) == y.end()) out.push_back(at + ": " + label(e) + " removed");
    for (const auto& e : y)
      if (std::find(x.begin(), x.end(), e) == x.end()) out.push_back(at + ": " + label(e) + " added");
    return;
  }
  // A list that appeared or went: its entries, by what they are.
  if ((!a && b && b->is_array()) || (a && !b && a->is_array())) {
    for (const auto& e : (a ? a : b)->get_array()) out.push_back(at + ": " + label(e) + (a ? " removed" : " added"));
    return;
  }
  out.push_back(at + ": " + short_text(a) + ", now " + short_text(b));
}

void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + p.string());
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::system_error(err, std::generic_category(), "cannot flush " + p.string());
}

// ".NAME.partial-PID" -> PID, 0 when the name is not of that form.
long pid_of(const std::string& name, const char* kind) {
  const std::string marker = std::string(".") + kind + "-";
  const auto at = name.rfind(marker);
  if (name.empty() || name[0] != '.' || at == std::string::npos) return 0;
  try {
    return std::stol(name.substr(at + marker.size()));
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::string plan_digest(const json::value& plan, const fs::path& bundle_dir) {
  const std::string text = normalized(plan, bundle_dir);
  boost::uuids::detail::sha1 sha;
  sha.process_bytes(text.data(), text.size());
  boost::uuids::detail::sha1::digest_type d;
  sha.get_digest(d);
  char hex[41];
  for (int i = 0; i < 5; ++i) std::snprintf(hex + 8 * i, 9, "%08x", static_cast<unsigned>(d[i]));
  return std::string(hex, 40);
}

std::vector<std::string> plan_changes(const json::value& saved, const json::value& now, const fs::path& bundle_dir,
                                      std::size_t limit) {
  const json::value a = json::parse(normalized(saved, bundle_dir));
  const json::value b = json::parse(normalized(now, bundle_dir));
  std::vector<std::string> out;
  diff(&a, &b, "", out);
  if (out.size() > limit) {
    const std::size_t more = out.size() - (limit - 1);
    out.resize(limit - 1);
    out.push_back("and " + std::to_string(more) + " more");
  }
  return out;
}

fs::path begin_partial(const fs::path& final_dir) {
  const fs::path p = final_dir.parent_path() / ("." + final_dir.filename().string() + ".partial-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(p, ec);
  fs::create_directories(p);
  return p;
}

void commit_partial(const fs::path& partial, const fs::path& final_dir, json::object meta, const json::value& plan) {
  std::error_code ec;
  meta["state_bytes"] = static_cast<std::uint64_t>(fs::file_size(partial / kStateFile));
  write_atomic(partial / kStatePlan, pretty_json(plan));
  write_atomic(partial / kStateMeta, pretty_json(meta));
  fsync_path(partial / kStateFile, false);
  fsync_path(partial, true);
  if (fs::exists(final_dir, ec)) {
    // Out of the way first: a kill here leaves no state, never a mixed one.
    const fs::path old = final_dir.parent_path() / ("." + final_dir.filename().string() + ".old-" + std::to_string(::getpid()));
    fs::remove_all(old, ec);
    fs::rename(final_dir, old);
    fs::rename(partial, final_dir);
    fs::remove_all(old, ec);
  } else {
    fs::rename(partial, final_dir);
  }
  fsync_path(final_dir.parent_path(), true);
}

namespace {

// A process that is gone, or a zombie waiting to be reaped.
bool alive(long pid) {
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;  // no /proc (macOS): kill() said it lives
  const auto close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

}  // namespace

void remove_partials(const fs::path& parent, bool all) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string name = e.path().filename().string();
    long pid = pid_of(name, "partial");
    if (!pid) pid = pid_of(name, "old");
    if (pid <= 0) continue;
    if (!all && alive(pid)) continue;  // still being written
    fs::remove_all(e.path(), ec);
  }
}

std::optional<json::object> read_saved_state(const fs::path& dir) {
  std::ifstream in(dir / kStateMeta);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    auto v = json::parse(ss.str());
    if (!v.is_object()) return std::nullopt;
    auto& o = v.get_object();
    std::error_code ec;
    const auto size = fs::file_size(dir / kStateFile, ec);
    const auto* want = o.if_contains("state_bytes");
    if (ec || !want || !(want->is_uint64() || want->is_int64()) || want->to_number<std::uint64_t>() != size)
      return std::nullopt;
    return o;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void copy_saved_state(const fs::path& from, const fs::path& to) {
  const fs::path partial = begin_partial(to);
  try {
    for (const char* f : {kStateFile, kStatePlan, kStateMeta}) {
      std::error_code ec;
      if (!fs::exists(from / f, ec)) continue;
      copy_file_cow(from / f, partial / f);
    }
    fsync_path(partial, true);
    fs::rename(partial, to);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(partial, ec);
    throw;
  }
}

}  // namespace vzkit::kernel
