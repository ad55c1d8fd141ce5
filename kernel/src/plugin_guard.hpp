// Internal: what happens when plugin code this process calls goes wrong in a way no return value
// can say: a crash (a signal), exit() from inside the plugin, or a call that never returns. The
// process cannot go on after any of them, but it ends saying which plugin did it, in which call,
// with exit status 1: never a bare "Segmentation fault", and never an exit status 0 for a
// result nobody produced.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace vzkit::kernel::detail {

/// While alive, plugin code called on this thread is watched: a crash, an exit() or running past
/// the time limit prints "vzkit: plugin 'NAME' (FILE) crashed in its HOOK hook (signal 11:
/// Segmentation fault)" or the like on stderr and ends the process with status 1. Guards nest
/// (the innermost names the culprit). Cheap: a flag and a deadline per call.
class HookGuard {
 public:
  /// `hook` is what is called: "entry", "validate", "assemble", "describe".
  HookGuard(const std::string& plugin, const std::filesystem::path& file, const char* hook);
  ~HookGuard();
  HookGuard(const HookGuard&) = delete;
  HookGuard& operator=(const HookGuard&) = delete;

 private:
  char m_previous[512];
  bool m_had_previous;
  long long m_previous_deadline;
  bool m_enabled = true;
};

/// Turns every HookGuard into nothing (for the scanner, whose parent reports what went wrong).
void disable_hook_guards();

/// How long loading one file in the scanner may take (default 10 s, or $VZKIT_PLUGIN_TIMEOUT).
std::chrono::milliseconds scan_time_limit();

/// How long one call into a plugin may take before the process gives up on it (default 60 s, or
/// $VZKIT_PLUGIN_TIMEOUT seconds).
void set_hook_time_limit(std::chrono::milliseconds limit);
std::chrono::milliseconds hook_time_limit();

}  // namespace vzkit::kernel::detail
