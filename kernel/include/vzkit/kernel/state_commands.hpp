// The control-socket commands that save a running machine's state, served by the supervisor of
// either engine (kernel::ControlServer): QMP-shaped, with vzkit's own names.
//
//   vzkit-check-save                    -> {"blockers": [{"path": "devices[2]", "reason": "..."}]}
//   vzkit-save {"dir": D, "meta": {...}, "plan": {...}, "then": "stop" | "pause" | "resume"}
//        pauses the machine, writes its state into D (saved_state.hpp: a partial folder renamed
//        to D when complete), then stops, keeps paused or resumes it. While it writes, the
//        connection gets events {"event": "VZKIT_SAVE_PROGRESS", "data": {"done", "total"}}.
//        -> {"bytes": state file size, "seconds": time the save took}
//        On failure nothing is left in D's place and a machine that was running runs again.
#pragma once

#include <vzkit/machine.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <string>

namespace vzkit::kernel {

using CommandReply = std::function<void(const std::string& error, boost::json::value result)>;
using CommandEvent = std::function<void(boost::json::object event)>;

/// Runs `command` if it is one of the above (replies and events are sent on `io`'s thread);
/// returns false when it is not.
bool handle_state_command(boost::asio::io_context& io, Machine& machine, const std::string& command,
                          const boost::json::object& arguments, CommandReply reply, CommandEvent event);

}  // namespace vzkit::kernel
