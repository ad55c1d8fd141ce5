#include <vzkit/kernel/log.hpp>

#include <atomic>

namespace vzkit::kernel {

namespace {
std::atomic<LogSink> g_sink{nullptr};
}

void set_log_sink(LogSink sink) { g_sink = sink; }

void log(LogLevel level, std::string_view message) {
  if (const LogSink sink = g_sink.load()) sink(level, message);
}

}  // namespace vzkit::kernel
