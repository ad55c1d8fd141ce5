// A machine's saved state on disk: a folder holding the engine's state file (machine.state),
// the plan it was saved with (plan.json) and what is known about it (meta.json). A suspended VM
// keeps one in <bundle>/suspended; a snapshot taken with --running keeps one of its own.
//
// Such a folder is never torn: it is written as .NAME.partial-PID beside its final place and
// renamed there once every file in it is complete and flushed. A folder whose meta.json is
// missing, or whose state file does not have the size meta.json records, is not a saved state.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vzkit::kernel {

inline constexpr const char* kStateFile = "machine.state";
inline constexpr const char* kStateMeta = "meta.json";
inline constexpr const char* kStatePlan = "plan.json";

/// The folder a suspended VM resumes from: <bundle>/suspended.
std::filesystem::path suspended_dir(const std::filesystem::path& bundle_dir);

/// The digest of a plan (SHA-1 of its JSON, hex), with the VM's folder written as "$BUNDLE", so
/// a state survives a move of the VM's folder but not a change of its machine.
std::string plan_digest(const boost::json::value& plan, const std::filesystem::path& bundle_dir);

/// What differs between the plan a state was saved with and the plan of now, one phrase each, as
/// a user reads it: "memory_mib: 512, now 1024", "devices: vhost-user-fs-pci (virtiofs at
/// devices[2]) added". At most `limit` phrases (the last says how many more there are).
std::vector<std::string> plan_changes(const boost::json::value& saved, const boost::json::value& now,
                                      const std::filesystem::path& bundle_dir, std::size_t limit = 8);

/// A new, empty folder .NAME.partial-PID beside `final_dir`, to write a saved state in.
std::filesystem::path begin_partial(const std::filesystem::path& final_dir);

/// Completes a state written into `partial` (its kStateFile is complete and flushed): writes
/// meta.json (with "state_bytes" added) and plan.json, flushes them and the folder, and renames
/// it to `final_dir`, replacing a folder already there. Throws std::system_error naming the file.
void commit_partial(const std::filesystem::path& partial, const std::filesystem::path& final_dir,
                    boost::json::object meta, const boost::json::value& plan);

/// Removes the .NAME.partial-PID and .NAME.old-PID folders in `parent` whose process is gone
/// (left by a save that was killed), or all of them with `all` (the caller holds the VM's lock,
/// so no one else can be writing one).
void remove_partials(const std::filesystem::path& parent, bool all = false);

/// meta.json of a complete saved state in `dir`; nullopt when there is none there (or it is
/// incomplete: no meta, or a state file of another size than recorded).
std::optional<boost::json::object> read_saved_state(const std::filesystem::path& dir);

/// Copies a complete saved state folder to `to` (which must not exist), as a partial folder
/// renamed when complete.
void copy_saved_state(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace vzkit::kernel
