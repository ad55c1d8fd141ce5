// Running a helper program to completion: the plugin scanner, the VZ runner's one-shot verbs, the
// accelerator probe. One place spawns such children, with a time limit, bounded capture of what
// they print, and how they ended (fork + exec; subprocess.cpp says why).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace vzkit::kernel {

/// What happens to one of the child's output streams.
enum class Output {
  inherit,  ///< the child writes to this process's stream (progress a user should see)
  capture,  ///< collected into ChildResult (up to ChildOptions::max_capture bytes)
  discard,  ///< /dev/null
};

struct ChildOptions {
  Output out = Output::capture;
  Output err = Output::capture;
  /// Written to the child's stdin, which is then closed; stdin is /dev/null when unset.
  std::optional<std::string> input;
  /// The child is killed (SIGKILL) once this has passed; unset waits for ever.
  std::optional<std::chrono::milliseconds> timeout;
  /// Bytes kept of each captured stream; the rest is read and dropped (ChildResult::truncated).
  std::size_t max_capture = 16u << 20;
  /// SIGINT and SIGTERM are ignored by this process while the child runs (the child keeps the
  /// default reactions): Ctrl-C stops the child, which then reports, and this process goes on.
  bool ignore_interrupts = false;
  /// Linux: the child gets SIGKILL when this process dies.
  bool die_with_parent = true;
};

struct ChildResult {
  bool started = false;   ///< false: the program could not be run (start_error says why)
  std::string start_error;
  int exit_code = -1;     ///< when it exited
  int signal = 0;         ///< when a signal ended it (SIGKILL after a timeout too)
  bool timed_out = false;
  std::chrono::milliseconds timeout{0};  ///< the limit it had
  bool truncated = false; ///< a captured stream was longer than max_capture
  std::string out;        ///< captured stdout
  std::string err;        ///< captured stderr

  /// Exited with status 0.
  bool ok() const { return started && !timed_out && signal == 0 && exit_code == 0; }
  /// How it ended, for messages: "exit status 3", "signal 11 (Segmentation fault)",
  /// "no answer within 5 s", "cannot run: ...".
  std::string describe() const;
};

/// Runs argv[0] (a path, or a name looked up on PATH) with the arguments and waits for it.
/// Never throws for what the child does; ChildResult says.
ChildResult run_child(const std::vector<std::string>& argv, const ChildOptions& options = {});

/// The program `name` on PATH, or empty.
std::string find_program(const std::string& name);

}  // namespace vzkit::kernel
