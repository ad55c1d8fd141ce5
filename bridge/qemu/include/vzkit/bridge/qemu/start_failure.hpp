// Why QEMU did not start, told from what it printed: the cause in the user's terms ("host port
// 2222 is in use"), the device of the spec it concerns, QEMU's own line, the log's path and a hint.
#pragma once

#include <vzkit/qemu/machine.hpp>

#include <functional>
#include <optional>
#include <string>

namespace vzkit::bridge::qemu {

struct StartFailure {
  std::string cause;       ///< "host port 2222 is in use", or QEMU's own message
  std::string qemu_says;   ///< QEMU's error, verbatim (one or more lines)
  std::optional<vzkit::qemu::Origin> origin;  ///< the plan entry the failing option came from
  std::string value;       ///< the value at fault: a host port ("2222") or a file; "" when none
  std::string hint;        ///< what to do; `{where}` stands for the spec path of `value`
};

/// Reads QEMU's output (run/qemu.log) for the error it stopped with, and finds the plan entry of
/// the option it names. nullopt when QEMU printed no error.
std::optional<StartFailure> explain_start_failure(const vzkit::qemu::Machine& plan, const std::string& qemu_output);

/// Finds where in the spec `value` is given under the device at `device_path` ("devices[3]",
/// "2222" -> "devices[3].forwards[0].host_port"); "" when it cannot say.
using SpecPathOf = std::function<std::string(const std::string& device_path, const std::string& value)>;

/// The message: "QEMU did not start: devices[3] (network): host port 2222 is in use", QEMU's line,
/// the log file and the hint, each on its own indented line.
std::string describe(const StartFailure& failure, const std::string& log_file, const SpecPathOf& spec_path_of = {});

}  // namespace vzkit::bridge::qemu
