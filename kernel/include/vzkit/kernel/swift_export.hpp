// Export of a VM configuration as the Swift a Mac developer would write with
// Virtualization.framework.
#pragma once

#include <vzkit/vz/configuration.hpp>

#include <string>
#include <string_view>

namespace vzkit::kernel {

/// Swift source (a complete file: imports plus
/// `func createVirtualMachineConfiguration() throws -> VZVirtualMachineConfiguration`) that builds
/// the same VZVirtualMachineConfiguration as `cfg`, in the style of Apple's sample code.
/// `vm_name` only appears in the header comment. Devices with an origin get a comment naming the
/// plugin and spec path. The text vzkit adds is ASCII; user strings (paths, tags, names) are
/// copied into escaped Swift string literals, with non-ASCII characters kept as they are.
/// Pure function; thread-safe.
std::string to_swift(const vz::Configuration& cfg, std::string_view vm_name);

} // namespace vzkit::kernel
