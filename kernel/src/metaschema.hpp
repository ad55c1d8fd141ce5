// Internal: the JSON Schema draft-07 meta-schema (kernel/data/draft-07-schema.json), compiled
// into the library at build time.
#pragma once

#include <string_view>

namespace vzkit::kernel::detail {

/// The meta-schema's JSON text, exactly as in the data file.
std::string_view draft07_metaschema_text();

}  // namespace vzkit::kernel::detail
