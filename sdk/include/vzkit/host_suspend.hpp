// Suspend, resume and snapshots of the VMs kept on disk, for front-ends. Part of the host API
// (host.hpp includes it); docs/suspend.md describes how each engine does it.
//
// A suspended VM keeps its machine state (CPUs, memory, devices) in its folder (suspended/), with
// the digest of the plan it was saved with; the next run resumes from it (PreparedRun::resuming),
// a run with RunOptions::fresh discards it, and a run whose plan changed is refused, naming what
// changed. A snapshot (snapshots/TAG/) is a copy of the VM's disks and NVRAM (copy-on-write
// where the filesystem has it, else sparse), and with `running` also its saved state.
//
// Nothing is ever half-written: states and snapshots are built under a temporary name and
// renamed into place when complete, so a process killed halfway leaves the previous complete
// state (or none). Every call that cannot do what was asked throws std::runtime_error saying
// why and what to do; SaveRefused when devices stop it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vzkit::host {

class Host;
struct Diagnostic;

/// The VM cannot be saved: one diagnostic per device that stops it (its spec path, its plugin,
/// the reason; code "suspend.device-not-saveable" from the plugin's manifest, or
/// "suspend.engine-blocked" from the engine). Nothing was written and the guest still runs.
struct SaveRefused : std::runtime_error {
  SaveRefused(const std::string& message, std::vector<Diagnostic> diagnostics);
  ~SaveRefused() override;
  std::vector<Diagnostic> diagnostics;
};

/// Bytes of state written so far and the total expected (0: unknown).
using StateProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// What a suspend or a running snapshot saved.
struct SavedState {
  std::string dir;             ///< the folder holding it
  std::uint64_t bytes = 0;     ///< the state file's size
  std::uint64_t memory_bytes = 0;  ///< the guest's memory size
  double seconds = 0;          ///< how long the save took
  std::int64_t saved_at = 0;   ///< when (Unix time)
  std::string digest;          ///< of the plan it was saved with
};

/// Why the running VM `name` could not be saved now: its devices whose manifest says
/// save_restore false for its engine, then what the engine itself refuses (QEMU's migration
/// blockers, VZ's validateSaveRestoreSupportWithError:). Empty when it can be. Touches nothing.
std::vector<Diagnostic> check_save(const Host& host, const std::string& name);

/// Saves the running VM's state into its folder and stops it; the next `vzkit run` resumes it.
/// Throws SaveRefused (check_save found blockers) or std::runtime_error (it is not running, the
/// engine failed: the guest then runs on).
SavedState suspend(const Host& host, const std::string& name, const StateProgress& progress = {});

/// The state a suspended VM would resume from; nullopt when it has none.
std::optional<SavedState> suspended_state(const std::string& name);

/// One snapshot of a VM.
struct SnapshotInfo {
  std::string tag;
  std::int64_t created = 0;       ///< Unix time
  std::uint64_t bytes_on_disk = 0;  ///< blocks its files take (a clone shares them with the VM)
  bool running = false;           ///< it holds a saved state: restoring it resumes the guest
  std::vector<std::string> files; ///< the VM's files it holds copies of (absolute paths)
  std::string method;             ///< how the disks were copied: "clone" or "sparse copy"
};

struct SnapshotOptions {
  /// Also save the machine state (the VM must run, or be suspended): restoring the snapshot
  /// resumes the guest where it was. The guest is paused while the state and disks are taken,
  /// then runs on.
  bool running = false;
  /// Told what happens as it goes: a phase ("saving state", "copying disk.img") and its bytes.
  std::function<void(const std::string& phase, std::uint64_t done, std::uint64_t total)> progress;
};

/// Letters, digits, '.', '_', '-', starting with a letter or digit, at most 64 characters.
bool valid_snapshot_tag(const std::string& tag);

/// Takes a snapshot of the VM's disks and NVRAM (a running VM is paused while they are copied,
/// so the copy is consistent, then runs on). Throws when the tag is taken or invalid.
SnapshotInfo create_snapshot(const Host& host, const std::string& name, const std::string& tag,
                             const SnapshotOptions& options = {});
/// The VM's snapshots, oldest first.
std::vector<SnapshotInfo> list_snapshots(const std::string& name);
/// Puts the snapshot's disks and NVRAM back (the VM must be stopped). A running snapshot becomes
/// the VM's suspended state, so the next run resumes it; any other discards a suspended state.
SnapshotInfo restore_snapshot(const std::string& name, const std::string& tag,
                              const std::function<void(const std::string& phase, std::uint64_t done,
                                                       std::uint64_t total)>& progress = {});
void delete_snapshot(const std::string& name, const std::string& tag);

}  // namespace vzkit::host
