// The kernel's log: a few lines about what it does (which plugin file it loads, what it scans),
// for `vzkit -v`. Front-ends pick where they go; by default nothing is written.
#pragma once

#include <string_view>

namespace vzkit::kernel {

enum class LogLevel { debug, info, warning };

/// Receives each log line. Set once at start-up; called from whichever thread logs.
using LogSink = void (*)(LogLevel level, std::string_view message);
void set_log_sink(LogSink sink);

void log(LogLevel level, std::string_view message);
inline void log_debug(std::string_view message) { log(LogLevel::debug, message); }

}  // namespace vzkit::kernel
