// Internal: opening a plugin file in this process, and learning what a file offers without
// loading it here (the scanner: a child process that loads it and reports its manifest).
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <cstddef>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

struct vzkit_type_plugin_descriptor;

namespace vzkit::kernel::detail {

/// Limits on what a plugin hands over (a manifest, a diagnostic list, an error text, a plan
/// fragment); more is refused with a message naming the plugin.
inline constexpr std::size_t kMaxManifestBytes = 1u << 20;
inline constexpr std::size_t kMaxTextBytes = 1u << 20;
inline constexpr std::size_t kMaxFragmentBytes = 16u << 20;

/// Loads `file` into this process (never unloaded), calls its entry under a HookGuard and checks
/// the descriptor: the ABI handshake, its size, the manifest's presence and length. Returns the
/// descriptor or why the file was refused. `name` names the plugin in crash reports ("" while
/// it is not known yet: the file name is used).
std::variant<const vzkit_type_plugin_descriptor*, std::string> open_plugin(const std::filesystem::path& file);

/// What scanning one file found out.
struct ScanResult {
  std::filesystem::path file;
  bool ok = false;
  std::string reason;         ///< when !ok: why the file is not a usable plugin
  std::string manifest;       ///< when ok: the manifest text exactly as the plugin gave it
  /// When ok and read from the registry cache: the manifest already parsed (then `manifest` is
  /// empty and `hash` stands for its text).
  boost::json::value parsed;
  std::uint64_t hash = 0;
  unsigned abi_major = 0, abi_minor = 0;
  bool has_describe = false;  ///< the descriptor covers on_describe and sets it
};

/// Scans a file in this process: open_plugin, then the manifest is parsed and its schema
/// compiled, so a result that is ok is a plugin the host can use.
ScanResult scan_here(const std::filesystem::path& file);

/// Scans files in a child process (`scanner`, the vzkit-plugin-scanner program), restarting it
/// after a file that crashes it, hangs (per-file `limit`) or exits; such a file gets a result
/// saying what happened. One result per file, in order.
std::vector<ScanResult> scan_isolated(const std::vector<std::filesystem::path>& files,
                                      const std::filesystem::path& scanner, std::chrono::milliseconds limit);

/// The scanner program: vzkit-plugin-scanner, found through $VZKIT_PLUGIN_SCANNER, then beside
/// the running program (../lib/vzkit/ and its own folder). Empty when there is none.
std::filesystem::path find_scanner();

}  // namespace vzkit::kernel::detail
