// Loading plugin files: in this process (open_plugin, scan_here) and in the scanner, a child
// process that loads files one by one and reports what each offers, so that a file that crashes,
// hangs or exits while loading costs only its own entry in `vzkit plugins`.
#include "plugin_guard.hpp"
#include "plugin_load.hpp"
#include "schema_check.hpp"

#include <vzkit/kernel/conformance.hpp>
#include <vzkit/kernel/plugin_host.hpp>
#include <vzkit/kernel/subprocess.hpp>
#include <vzkit/kernel/version.hpp>
#include <vzkit/plugin.h>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <boost/json.hpp>
#include <valijson/schema.hpp>

#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace vzkit::kernel::detail {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Size of the descriptor as ABI 1.0 defined it: everything up to and including on_assemble.
constexpr std::size_t kDescriptorSizeV1_0 =
    offsetof(vzkit_type_plugin_descriptor, on_assemble) + sizeof(vzkit_on_assemble);

// Every library stays loaded until the process exits.
std::vector<boost::dll::shared_library>& libraries() {
  static auto* v = new std::vector<boost::dll::shared_library>();
  return *v;
}
std::mutex g_load_mutex;

struct EntrySink {
  std::string text;
  bool overflow = false;
  vzkit_type_sink sink{sizeof(vzkit_type_sink), this, &EntrySink::append};
  static void append(void* state, const char* data, std::size_t size) noexcept {
    auto* self = static_cast<EntrySink*>(state);
    if (!self || !data) return;
    try {
      const std::size_t room = kMaxTextBytes - std::min(kMaxTextBytes, self->text.size());
      self->overflow = self->overflow || size > room;
      self->text.append(data, std::min(size, room));
    } catch (...) {
      self->overflow = true;
    }
  }
};

}  // namespace

std::variant<const vzkit_type_plugin_descriptor*, std::string> open_plugin(const fs::path& file) {
  std::lock_guard lock(g_load_mutex);
  boost::dll::shared_library lib;
  try {
    lib.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return std::string("not a loadable shared library: ") + e.what();
  }
  const bool has_entry = lib.has(VZKIT_PLUGIN_ENTRY_SYMBOL);
  vzkit_on_entry entry = nullptr;
  if (has_entry) entry = lib.get<const vzkit_type_plugin_descriptor*(const vzkit_type_host_info*, vzkit_type_sink*)>(
                     VZKIT_PLUGIN_ENTRY_SYMBOL);
  libraries().push_back(std::move(lib));
  if (!has_entry) return std::string("no entry symbol '" VZKIT_PLUGIN_ENTRY_SYMBOL "': not a vzkit plugin");

  const std::string version = kVersion;
  const vzkit_type_host_info info{sizeof(vzkit_type_host_info), VZKIT_ABI_MAJOR, VZKIT_ABI_MINOR,
                                  {version.data(), version.size()}};
  EntrySink error;
  const vzkit_type_plugin_descriptor* d = nullptr;
  try {
    const HookGuard guard(file.stem().string(), file, "entry");
    d = entry(&info, &error.sink);
  } catch (const std::exception& e) {
    return std::string("its entry threw an exception: ") + e.what();
  } catch (...) {
    return std::string("its entry threw an exception");
  }
  if (!d) return "its entry failed: " + (error.text.empty() ? std::string("no reason given") : error.text);
  if (d->struct_size < offsetof(vzkit_type_plugin_descriptor, abi_minor) + sizeof(d->abi_minor))
    return "its descriptor is too small (" + std::to_string(d->struct_size) + " bytes) to hold an ABI version";
  const std::string theirs = std::to_string(d->abi_major) + "." + std::to_string(d->abi_minor);
  const std::string ours = std::to_string(VZKIT_ABI_MAJOR) + "." + std::to_string(VZKIT_ABI_MINOR);
  if (d->abi_major != VZKIT_ABI_MAJOR)
    return "built for plugin ABI " + theirs + ", but this vzkit speaks ABI " + ours +
           " (the major versions must match; rebuild the plugin against this vzkit's SDK)";
  if (d->abi_minor > VZKIT_ABI_MINOR)
    return "built for plugin ABI " + theirs + ", newer than this vzkit's ABI " + ours +
           " (upgrade vzkit, or build the plugin against an older SDK)";
  if (d->struct_size < kDescriptorSizeV1_0)
    return "its descriptor is " + std::to_string(d->struct_size) + " bytes, smaller than ABI 1.0's " +
           std::to_string(kDescriptorSizeV1_0);
  if (!d->manifest_json || !d->on_validate || !d->on_assemble) return "its descriptor lacks the manifest or a hook";
  if (::strnlen(d->manifest_json, kMaxManifestBytes + 1) > kMaxManifestBytes)
    return "its manifest is longer than " + std::to_string(kMaxManifestBytes >> 20) +
           " MiB (a manifest describes the plugin and its settings; keep data out of it)";
  return d;
}

ScanResult scan_here(const fs::path& file) {
  ScanResult r;
  r.file = file;
  auto opened = open_plugin(file);
  if (auto* reason = std::get_if<std::string>(&opened)) {
    r.reason = std::move(*reason);
    return r;
  }
  const auto* d = std::get<const vzkit_type_plugin_descriptor*>(opened);
  r.manifest = d->manifest_json;
  r.abi_major = d->abi_major;
  r.abi_minor = d->abi_minor;
  r.has_describe =
      d->struct_size >= offsetof(vzkit_type_plugin_descriptor, on_describe) + sizeof(void*) && d->on_describe;
  Manifest manifest;
  try {
    manifest = parse_manifest(r.manifest);
  } catch (const std::exception& e) {
    r.reason = std::string("its manifest is invalid: ") + e.what();
    return r;
  }
  try {
    (void)compile(manifest.schema);
  } catch (const std::exception& e) {
    r.reason = "its config schema is not valid JSON Schema: " + std::string(e.what());
    return r;
  }
  r.ok = true;
  return r;
}

namespace {

json::object to_json(const ScanResult& r) {
  json::object o{{"file", r.file.string()}, {"ok", r.ok}};
  if (!r.ok) {
    o["reason"] = r.reason;
    return o;
  }
  o["manifest"] = r.manifest;
  o["abi"] = json::array{r.abi_major, r.abi_minor};
  o["describe"] = r.has_describe;
  return o;
}

ScanResult from_json(const json::object& o) {
  ScanResult r;
  auto text = [&](const char* k) {
    const auto* v = o.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  r.file = text("file");
  const auto* ok = o.if_contains("ok");
  r.ok = ok && ok->is_bool() && ok->get_bool();
  r.reason = text("reason");
  r.manifest = text("manifest");
  if (const auto* abi = o.if_contains("abi"); abi && abi->is_array() && abi->get_array().size() == 2) {
    const auto& a = abi->get_array();
    if (a[0].is_number() && a[1].is_number()) {
      r.abi_major = a[0].to_number<unsigned>();
      r.abi_minor = a[1].to_number<unsigned>();
    }
  }
  const auto* describe = o.if_contains("describe");
  r.has_describe = describe && describe->is_bool() && describe->get_bool();
  return r;
}

/// The last line a crashed scanner printed (an assertion, an abort message), short.
std::string last_words(const std::string& err) {
  std::string s = err;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  const auto nl = s.rfind('\n');
  if (nl != std::string::npos) s = s.substr(nl + 1);
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s;
}

std::string seconds_text(std::chrono::milliseconds limit) {
  const auto ms = limit.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

}  // namespace

std::vector<ScanResult> scan_isolated(const std::vector<fs::path>& files, const fs::path& scanner,
                                      std::chrono::milliseconds limit) {
  std::vector<ScanResult> out;
  std::size_t next = 0;
  while (next < files.size()) {
    std::vector<std::string> argv{scanner.string(), "--limit-ms", std::to_string(limit.count())};
    for (std::size_t i = next; i < files.size(); ++i) argv.push_back(files[i].string());
    ChildOptions how;
    how.timeout = limit * static_cast<int>(files.size() - next) + std::chrono::seconds(5);
    const ChildResult child = run_child(argv, how);
    if (!child.started) {
      // No scanner to run: say so for each file rather than load them here unasked.
      for (; next < files.size(); ++next)
        out.push_back({files[next], false, "the plugin scanner " + scanner.string() + " cannot run: " + child.start_error,
                       {}, 0, 0, false});
      break;
    }
    std::string loading;
    std::size_t pos = 0;
    while (pos < child.out.size()) {
      auto nl = child.out.find('\n', pos);
      if (nl == std::string::npos) break;  // a line cut short: the scanner died writing it
      const std::string_view line(child.out.data() + pos, nl - pos);
      pos = nl + 1;
      json::error_code ec;
      auto v = json::parse(line, ec);
      if (ec || !v.is_object()) continue;
      const auto& o = v.get_object();
      if (const auto* l = o.if_contains("loading"); l && l->is_string()) {
        loading = std::string(l->get_string());
        continue;
      }
      if (next < files.size() && from_json(o).file == files[next]) {
        out.push_back(from_json(o));
        ++next;
        loading.clear();
      }
    }
    if (next >= files.size()) break;
    // The scanner stopped early: the file it was loading is to blame; go on after it.
    ScanResult failed;
    failed.file = files[next];
    if (child.timed_out || child.signal == SIGALRM)
      failed.reason = "did not finish loading within " + seconds_text(limit) + " (the plugin scanner gave up on it)";
    else if (child.signal != 0)
      failed.reason = "crashed while loading (" + child.describe() + ")";
    else
      failed.reason = "ended the process that loaded it (" + child.describe() + ") while loading";
    if (const auto words = last_words(child.err); !words.empty()) failed.reason += "; it printed: " + words;
    if (loading.empty() || loading != files[next].string())
      failed.reason = "the plugin scanner stopped before reaching it (" + child.describe() + ")";
    out.push_back(std::move(failed));
    ++next;
  }
  return out;
}

fs::path find_scanner() {
  if (const char* env = std::getenv("VZKIT_PLUGIN_SCANNER"); env && *env) return env;
  std::error_code ec;
  const auto exe = boost::dll::program_location(ec);
  if (ec) return {};
  for (const auto& candidate : {exe.parent_path().parent_path() / "lib" / "vzkit" / "vzkit-plugin-scanner",
                                exe.parent_path() / "vzkit-plugin-scanner"})
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.lexically_normal();
  return {};
}

}  // namespace vzkit::kernel::detail

namespace vzkit::kernel {

int plugin_scanner_main(int argc, char** argv) {
  namespace d = detail;
  namespace json = boost::json;
  std::vector<std::string> args(argv + 1, argv + argc);
  long long limit_ms = 10000;
  bool check = false;
  std::vector<std::string> files;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--limit-ms" && i + 1 < args.size()) limit_ms = std::atoll(args[++i].c_str());
    else if (args[i] == "--check") check = true;
    else files.push_back(args[i]);
  }
  if (files.empty()) {
    std::fprintf(stderr,
                 "usage: vzkit-plugin-scanner [--limit-ms MS] FILE...\n"
                 "       vzkit-plugin-scanner --check FILE\n"
                 "Loads vzkit plugin files one by one and prints one JSON line per file: what it offers, or why\n"
                 "it is not a plugin (vzkit runs this to learn about plugins without loading them itself).\n");
    return 2;
  }
  // The answer goes to the original stdout; whatever a plugin prints goes to stderr.
  const int answer = ::dup(1);
  ::dup2(2, 1);
  auto say = [&](const json::value& v) {
    const std::string line = json::serialize(v) + "\n";
    const char* p = line.data();
    std::size_t n = line.size();
    while (n > 0) {
      const ssize_t w = ::write(answer, p, n);
      if (w <= 0) std::_Exit(3);
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  };
  d::disable_hook_guards();  // a crash or an exit here is reported by the parent, which sees how this process ended
  // ... by the signal: a runtime's own handler (a sanitizer's, a preloaded crash reporter's) would
  // turn a plugin's crash into an exit status, and the parent's message into a wrong one.
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP}) std::signal(sig, SIG_DFL);
  const unsigned alarm_s = static_cast<unsigned>(std::max<long long>(1, (limit_ms + 999) / 1000));
  if (check) {
    say(json::object{{"loading", files.front()}});
    ::alarm(alarm_s);
    PluginHost host;
    host.load_here(files.front(), "vzkit plugin check");
    ::alarm(0);
    json::object o{{"file", files.front()}};
    if (!host.errors().empty()) o["load_error"] = host.errors().front().reason;
    else if (host.plugins().empty()) o["load_error"] = "no vzkit plugin found";
    else o["report"] = to_json(check_conformance(*host.plugins().front()));
    say(o);
    return 0;
  }
  for (const auto& f : files) {
    say(json::object{{"loading", f}});
    ::alarm(alarm_s);
    const auto r = d::scan_here(f);
    ::alarm(0);
    say(d::to_json(r));
  }
  return 0;
}

}  // namespace vzkit::kernel
