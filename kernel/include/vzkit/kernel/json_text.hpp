// JSON text helpers for people: indented output and shell quoting.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace vzkit::kernel {

/// JSON with two-space indentation and a trailing newline (Boost.JSON only prints compactly).
std::string pretty_json(const boost::json::value& v);

/// A POSIX shell word for `s` (quoted only when needed).
std::string shell_quote(const std::string& s);
/// argv as one shell command line.
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace vzkit::kernel
