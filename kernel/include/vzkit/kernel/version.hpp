#pragma once

namespace vzkit::kernel {
/// The vzkit release this kernel belongs to.
inline constexpr const char* kVersion = "0.1.0";
}  // namespace vzkit::kernel
