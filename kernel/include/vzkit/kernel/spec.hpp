// The VM spec: a JSON document with name, cpus, memory and devices, each device naming its
// plugin. Parsing only reads the JSON (syntax errors with line and column); validation checks
// and completes it.
#pragma once

#include <vzkit/kernel/diagnostic.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vzkit::kernel {

/// One entry of "devices": the plugin it names and its config (the entry without "plugin").
struct DeviceEntry {
  std::string plugin;
  boost::json::object config;
  std::string path;  ///< "devices[2]"
  std::size_t index = 0;
};

struct Spec {
  std::string file;               ///< as given by the user ("" for a spec built in memory)
  std::filesystem::path dir;      ///< absolute folder that relative paths resolve against
  boost::json::value document;    ///< the JSON as read

  // Filled in by validation (defaults applied):
  std::string name;
  std::uint64_t cpus = 0;
  std::uint64_t memory_bytes = 0;
  std::string arch;               ///< "x86_64" or "aarch64"; empty = the engine's default
  std::vector<DeviceEntry> devices;
};

/// Largest spec file accepted (anything bigger is refused before parsing).
inline constexpr std::size_t kMaxSpecBytes = 16u << 20;
/// Deepest JSON nesting accepted.
inline constexpr std::size_t kMaxSpecDepth = 64;
/// Longest object key accepted (keys name settings, devices' share folders, ...).
inline constexpr std::size_t kMaxKeyBytes = 256;

struct ParsedSpec {
  std::optional<Spec> spec;  ///< set when the text is well-formed JSON
  Diagnostics diagnostics;
};

/// Parses spec text. `file` names it in diagnostics; `dir` is where relative paths resolve.
ParsedSpec parse_spec(std::string_view text, std::string file, std::filesystem::path dir);
/// Reads and parses a spec file. A path that is not a regular file (a FIFO, a folder, a
/// terminal) is refused without being opened.
ParsedSpec load_spec(const std::filesystem::path& file);

/// "a FIFO", "a folder", "a socket", ... for messages.
const char* file_kind(std::filesystem::file_type type);

/// Parses "4GiB", "512MiB", "1.5G", "1073741824" (bytes). Binary units: K/KiB, M/MiB, G/GiB,
/// T/TiB; decimal: KB, MB, GB, TB. Returns nullopt on bad syntax or overflow.
std::optional<std::uint64_t> parse_size(std::string_view text);
/// "4 GiB", "512 MiB", "1000 B".
std::string format_size(std::uint64_t bytes);

}  // namespace vzkit::kernel
