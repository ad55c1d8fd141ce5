// Internal: JSON Schema checks with valijson, turned into path-named diagnostics.
#pragma once

#include <vzkit/kernel/closest.hpp>
#include <vzkit/kernel/diagnostic.hpp>

#include <boost/json/value.hpp>

#include <memory>
#include <string>

namespace valijson {
class Schema;
}

namespace vzkit::kernel::detail {

std::unique_ptr<valijson::Schema> compile(const boost::json::value& schema);

/// Validates `value` against `compiled` (built from `schema`). Diagnostics get paths under
/// `prefix` ("devices[2]"), the plugin name and the file. Returns true when there was no error.
bool check(const valijson::Schema& compiled, const boost::json::value& schema, const boost::json::value& value,
           const std::string& prefix, const std::string& plugin, const std::string& file, Diagnostics& out);

/// Fills in "default" values from the schema for absent object properties, recursively.
void apply_defaults(const boost::json::value& schema, boost::json::value& value);

/// Appends ".key" or "[i]" to a JSON path.
std::string join_path(const std::string& base, const std::string& key);
std::string join_path(const std::string& base, std::size_t index);

using kernel::closest;

}  // namespace vzkit::kernel::detail
