// A one-line progress display for long work (copies, downloads): bytes done of the total and
// the rate, redrawn in place on a terminal at most every 100 ms; nothing when stderr is not a
// terminal (scripts get --json instead).
#pragma once

#include <vzkit/units.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace vzkit::app {

class ProgressLine {
 public:
  explicit ProgressLine(std::string what) : m_what(std::move(what)), m_on(::isatty(STDERR_FILENO) == 1) {}
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  ~ProgressLine() { finish(); }

  void update(std::uint64_t done, std::uint64_t total) {
    if (!m_on) return;
    const auto now = std::chrono::steady_clock::now();
    if (m_shown && done < total && now - m_last < std::chrono::milliseconds(100)) return;
    m_last = now;
    m_shown = true;
    const double seconds = std::chrono::duration<double>(now - m_start).count();
    std::string line = m_what + ": " + format_size(done);
    if (total > 0) line += " of " + format_size(total) + " (" + std::to_string(done * 100 / total) + "%)";
    if (seconds > 0.5) line += ", " + format_size(static_cast<std::uint64_t>(static_cast<double>(done) / seconds)) + "/s";
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
  }

  /// Ends the line (once), so that what is printed next starts on its own.
  void finish() {
    if (m_on && m_shown) std::fputc('\n', stderr);
    m_shown = false;
  }

 private:
  std::string m_what;
  bool m_on;
  bool m_shown = false;
  std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now(), m_last{};
};

}  // namespace vzkit::app
