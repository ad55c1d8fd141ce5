#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/plugin_host.hpp>

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <iomanip>
#include <fstream>
#include <functional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace vzkit::kernel {

namespace fs = std::filesystem;
namespace json = boost::json;

void write_atomic(const fs::path& file, const std::string& text) {
  const fs::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot write " + tmp.string());
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      fs::remove(tmp);
      throw std::system_error(err, std::generic_category(), "cannot write " + tmp.string());
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    fs::remove(tmp);
    throw std::system_error(errno, std::generic_category(), "cannot write " + tmp.string());
  }
  fs::rename(tmp, file);
}

fs::path Bundle::spec_dir() const {
  if (const auto* d = meta.if_contains("spec_dir"); d && d->is_string()) return std::string(d->get_string());
  return dir;
}

std::string Bundle::engine() const {
  if (const auto* e = meta.if_contains("engine"); e && e->is_string()) return std::string(e->get_string());
  return "qemu";
}

std::string Bundle::run_spec_file() const {
  if (const auto* f = meta.if_contains("spec_file"); f && f->is_string()) return std::string(f->get_string());
  return {};
}

fs::path vms_dir() { return vzkit_home() / "vms"; }

bool valid_vm_name(const std::string& name) {
  static const std::regex re("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
  return std::regex_match(name, re);
}

namespace {

json::object read_meta(const fs::path& dir) {
  std::ifstream in(dir / "bundle.json");
  if (!in) throw std::runtime_error("it has no bundle.json");
  std::stringstream ss;
  ss << in.rdbuf();
  auto v = json::parse(ss.str());
  if (!v.is_object()) throw std::runtime_error("its bundle.json is not an object");
  return v.get_object();
}

std::string describe_lock_holder(int fd) {
  char buf[512];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "another vzkit process";
  std::string s(buf, static_cast<std::size_t>(n));
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

}  // namespace

std::optional<Bundle> open_bundle(const std::string& name, std::string& error) {
  if (!valid_vm_name(name)) {
    error = "'" + name + "' is not a valid VM name (letters, digits, '.', '_', '-'; at most 64)";
    return std::nullopt;
  }
  Bundle b{name, vms_dir() / name, {}};
  std::error_code ec;
  if (!fs::is_directory(b.dir, ec)) {
    error = "no VM named '" + name + "' (looked in " + vms_dir().string() + "); `vzkit list` shows the VMs";
    return std::nullopt;
  }
  try {
    b.meta = read_meta(b.dir);
  } catch (const std::exception& e) {
    error = "the VM folder " + b.dir.string() + " is damaged: " + e.what();
    return std::nullopt;
  }
  return b;
}

std::optional<Bundle> bundle_of_spec_file(const fs::path& file) {
  if (file.filename() != "spec.json") return std::nullopt;
  std::error_code ec;
  const fs::path dir = fs::absolute(file, ec).parent_path();
  if (ec || !fs::is_regular_file(dir / "bundle.json", ec)) return std::nullopt;
  const std::string name = dir.filename().string();
  // A bundle under $VZKIT_HOME/vms is opened by name, as `vzkit run NAME` opens it.
  if (fs::equivalent(dir.parent_path(), vms_dir(), ec)) {
    std::string err;
    return open_bundle(name, err);
  }
  try {
    return Bundle{name, dir, read_meta(dir)};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<Bundle> list_bundles() {
  std::vector<Bundle> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(vms_dir(), ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !valid_vm_name(name)) continue;  // skips .tmp folders
    std::string err;
    if (auto b = open_bundle(name, err)) out.push_back(std::move(*b));
  }
  std::sort(out.begin(), out.end(), [](const Bundle& a, const Bundle& b) { return a.name < b.name; });
  return out;
}

Bundle create_bundle(const std::string& name, const std::string& spec_text, const fs::path& spec_dir,
                     const std::string& engine, const std::function<void(const fs::path&)>& fill,
                     const json::object& extra_meta) {
  if (!valid_vm_name(name))
    throw std::runtime_error("'" + name + "' is not a valid VM name (letters, digits, '.', '_', '-'; at most 64)");
  const fs::path final_dir = vms_dir() / name;
  std::error_code ec;
  if (fs::exists(final_dir, ec))
    throw std::runtime_error("a VM named '" + name + "' already exists in " + final_dir.string() +
                             "; pick another name or `vzkit delete " + name + "` first");
  fs::create_directories(vms_dir());
  std::random_device rd;
  const fs::path tmp = vms_dir() / ("." + name + ".creating-" + std::to_string(rd()));
  fs::create_directories(tmp);
  try {
    json::object meta{{"name", name}, {"engine", engine}, {"created", static_cast<std::int64_t>(std::time(nullptr))}};
    if (!spec_dir.empty()) meta["spec_dir"] = spec_dir.string();  // absent: paths resolve in the bundle
    for (const auto& kv : extra_meta) meta[kv.key()] = kv.value();
    if (fill) fill(tmp);
    write_atomic(tmp / "spec.json", spec_text);
    write_atomic(tmp / "bundle.json", pretty_json(meta));
    fs::rename(tmp, final_dir);
    return Bundle{name, final_dir, std::move(meta)};
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

void update_bundle(Bundle& b, const std::string& spec_text, const fs::path& spec_dir) {
  b.meta["spec_dir"] = spec_dir.string();
  write_atomic(b.spec_file(), spec_text);
  write_atomic(b.dir / "bundle.json", pretty_json(b.meta));
}

void clear_run_dir(const Bundle& b) {
  const fs::path run = b.run_dir();
  std::error_code ec;
  std::set<std::string> logs;  // "console.log", "qemu.log", ...
  std::vector<fs::path> others;
  static const std::regex rotated("^(.+\\.log)\\.([0-9]+)$");
  for (const auto& e : fs::directory_iterator(run, ec)) {
    const std::string name = e.path().filename().string();
    std::smatch m;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0) logs.insert(name);
    else if (std::regex_match(name, m, rotated)) logs.insert(m[1]);
    else others.push_back(e.path());
  }
  for (const auto& p : others) fs::remove_all(p, ec);
  auto at = [&](const std::string& log, int k) { return run / (k == 0 ? log : log + "." + std::to_string(k)); };
  for (const auto& log : logs) {
    fs::remove(at(log, kKeptRunLogs), ec);
    for (int k = kKeptRunLogs - 1; k >= 0; --k) {
      if (fs::exists(at(log, k), ec)) fs::rename(at(log, k), at(log, k + 1), ec);
    }
    for (int k = kKeptRunLogs + 1; fs::exists(at(log, k), ec); ++k) fs::remove(at(log, k), ec);  // kept more before
  }
}

void delete_bundle(const Bundle& b) {
  std::string holder;
  auto lock = BundleLock::try_acquire(b, holder);
  if (!lock) throw std::runtime_error("VM '" + b.name + "' is running (" + holder + "); stop it first: vzkit stop " + b.name);
  // Move it aside first so a half-deleted bundle never looks like a VM.
  std::random_device rd;
  const fs::path doomed = vms_dir() / ("." + b.name + ".deleting-" + std::to_string(rd()));
  fs::rename(b.dir, doomed);
  fs::remove_all(doomed);
}

std::optional<BundleLock> BundleLock::try_acquire(const Bundle& b, std::string& holder) {
  const int fd = ::open(b.lock_file().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    holder = "cannot open " + b.lock_file().string() + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    holder = describe_lock_holder(fd);
    ::close(fd);
    return std::nullopt;
  }
  return BundleLock(fd);
}

bool BundleLock::is_held(const Bundle& b, std::string* holder) {
  const int fd = ::open(b.lock_file().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
  if (held && holder) *holder = describe_lock_holder(fd);
  ::close(fd);
  return held;
}

BundleLock BundleLock::adopt(int fd) {
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // QEMU and helpers must not inherit it
  return BundleLock(fd);
}

BundleLock::~BundleLock() {
  if (m_fd >= 0) ::close(m_fd);
}

void BundleLock::keep_across_exec() { ::fcntl(m_fd, F_SETFD, 0); }

void BundleLock::hand_over() {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = -1;
}

void BundleLock::describe_holder(const std::string& what) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  std::ostringstream text;
  text << what << " (pid " << ::getpid() << ", since " << std::put_time(&tm, "%Y-%m-%d %H:%M:%S") << ")\n";
  const std::string s = text.str();
  if (::ftruncate(m_fd, 0) == 0) (void)::pwrite(m_fd, s.data(), s.size(), 0);
}

}  // namespace vzkit::kernel
