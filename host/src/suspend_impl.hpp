// Internal to the host library: what suspend.cpp shares with vms.cpp (resuming in prepare_run)
// and snapshots.cpp.
#pragma once

#include <vzkit/host.hpp>
#include <vzkit/kernel/bundle.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace vzkit::host::detail {

/// The VM `name`, which must be running (else "nothing to `doing`").
kernel::Bundle running_bundle(const std::string& name, const char* doing);
/// Where the VM's supervisor answers vzkit-check-save and vzkit-save.
std::filesystem::path control_socket(const kernel::Bundle& b);
boost::json::value read_json_file(const std::filesystem::path& file);
/// The guest's memory in a plan of either engine.
std::uint64_t memory_of(const boost::json::value& plan);
SavedState saved_state_of(const std::filesystem::path& dir, const boost::json::object& meta);
/// One command on the supervisor's control socket, its events to `on_event`; no time limit while
/// the supervisor lives.
boost::json::value control_call(const kernel::Bundle& b, const std::string& command, boost::json::object arguments,
                                const std::function<void(const boost::json::object&)>& on_event);

/// For prepare_run, holding the lock, with the plan it made: removes what a killed save left;
/// with `fresh` discards a saved state; otherwise, when the VM has one, checks it was saved
/// with this plan (else throws InputError naming what changed) and appends `--restore DIR` to the
/// supervisor's arguments. Returns what to tell the user ("resuming VM ... from the state saved
/// at ..."), "" when the VM boots. An incomplete state is discarded with a warning.
std::string prepare_resume(const kernel::Bundle& b, const boost::json::value& plan, bool fresh,
                           std::vector<std::string>& supervisor_args, std::vector<Diagnostic>& warnings);

}  // namespace vzkit::host::detail
