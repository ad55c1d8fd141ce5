// VM bundles on disk: $VZKIT_HOME/vms/<name>/ holds the spec, the files the VM owns (disks,
// NVRAM, identifiers) and, under run/, the files of a running VM. A bundle is locked while its VM
// runs; the lock is an flock(2) on <bundle>/lock, so it vanishes with a killed holder.
#pragma once

#include <boost/json/object.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vzkit::kernel {

struct Bundle {
  std::string name;
  std::filesystem::path dir;
  boost::json::object meta;  ///< bundle.json: name, engine, created, spec_dir, spec_file

  std::filesystem::path spec_file() const { return dir / "spec.json"; }
  std::filesystem::path run_dir() const { return dir / "run"; }
  std::filesystem::path lock_file() const { return dir / "lock"; }
  /// Where relative paths in the spec resolve (the folder the spec came from).
  std::filesystem::path spec_dir() const;
  std::string engine() const;
  /// The spec file whose runs (`vzkit run SPEC`) made this VM and may keep using it; "" for a VM
  /// made by `vzkit create`, which a spec run never changes.
  std::string run_spec_file() const;
};

/// $VZKIT_HOME/vms
std::filesystem::path vms_dir();
/// Letters, digits, '.', '_', '-', starting with a letter or digit, at most 64 characters.
bool valid_vm_name(const std::string& name);

/// Opens an existing bundle. nullopt (with `error` set) when it does not exist or is damaged.
std::optional<Bundle> open_bundle(const std::string& name, std::string& error);
/// The bundle whose own spec `file` is (<bundle>/spec.json next to its bundle.json), if it is one.
std::optional<Bundle> bundle_of_spec_file(const std::filesystem::path& file);
std::vector<Bundle> list_bundles();

/// Creates a bundle atomically (an empty `spec_dir` means the spec's paths resolve inside the
/// bundle itself, as for generated specs): `fill` runs on a temporary folder (write the files the VM owns
/// there), then bundle.json and spec.json are written and the folder is renamed into place. If
/// anything throws, the temporary folder is removed and nothing is left behind. `spec_text` is
/// read after `fill` returns, so `fill` may complete it (a spec whose values an installer decides).
/// `meta` adds keys to bundle.json (e.g. "spec_file"). Throws std::runtime_error when the name is
/// taken or invalid.
Bundle create_bundle(const std::string& name, const std::string& spec_text, const std::filesystem::path& spec_dir,
                     const std::string& engine, const std::function<void(const std::filesystem::path&)>& fill,
                     const boost::json::object& meta = {});

/// Rewrites the bundle's spec and metadata (atomically each), e.g. when a spec file is run again.
void update_bundle(Bundle& bundle, const std::string& spec_text, const std::filesystem::path& spec_dir);

/// How many earlier runs' logs run/ keeps (NAME.log.1 ... NAME.log.N).
inline constexpr int kKeptRunLogs = 4;

/// Empties run/ for a new run (the caller holds the lock), keeping the logs of the runs before:
/// each NAME.log becomes NAME.log.1, NAME.log.1 becomes NAME.log.2, and so on up to
/// kKeptRunLogs. A log that a run did not write leaves a gap, so NAME.log.K is always the log of
/// the run K runs ago.
void clear_run_dir(const Bundle& bundle);

/// Removes a bundle. Throws if it is locked (running).
void delete_bundle(const Bundle& bundle);

/// An exclusive lock on a bundle, held while its VM runs. Move-only; released on destruction
/// (and by the kernel if the holder dies).
class BundleLock {
 public:
  /// Takes the lock, or returns nullopt with `holder` describing who has it.
  static std::optional<BundleLock> try_acquire(const Bundle& bundle, std::string& holder);
  /// Whether someone holds the lock now (without taking it).
  static bool is_held(const Bundle& bundle, std::string* holder = nullptr);
  /// Adopts a lock descriptor inherited across exec.
  static BundleLock adopt(int fd);

  BundleLock(BundleLock&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
  BundleLock& operator=(BundleLock&&) = delete;
  ~BundleLock();
  int fd() const { return m_fd; }
  /// Lets the descriptor survive exec (for the supervising process).
  void keep_across_exec();
  /// Closes this process's descriptor once a child has inherited it: the lock stays held by the
  /// child (flock belongs to the open file, which the child shares).
  void hand_over();
  /// Records the holder (pid, start time, what it is doing) in the lock file.
  void describe_holder(const std::string& what);

 private:
  explicit BundleLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

/// Writes `text` to `file` atomically (temporary file, fsync, rename).
void write_atomic(const std::filesystem::path& file, const std::string& text);

}  // namespace vzkit::kernel
