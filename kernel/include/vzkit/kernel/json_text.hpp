// JSON text helpers for people: indented output and shell quoting.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace vzkit::kernel {

/// JSON with two-space indentation and a trailing newline (Boost.JSON only prints compactly).
/// Strings that are not valid UTF-8 (a file name from argv, say) are written with U+FFFD in
/// place of each bad byte, so the output is always valid JSON.
std::string pretty_json(const boost::json::value& v);

/// `s` with every byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

/// Text safe for a terminal: control characters (and DEL) become visible escapes ("\x1b",
/// "\r", "\n", "\0"), so a spec cannot move the cursor or recolour the user's terminal.
std::string printable(std::string_view s);

/// A POSIX shell word for `s` (quoted only when needed).
std::string shell_quote(const std::string& s);
/// argv as one shell command line.
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace vzkit::kernel
