// The plugin host: finds plugin files along the search path and learns what each offers (its
// manifest) in a separate process, the plugin scanner, so that a file that crashes, hangs or
// exits while loading breaks nothing but its own entry. What the scanner found is kept in a
// registry cache keyed by each file's identity (path, size, modification time). A plugin is
// loaded into this process (once, never unloaded) only when one of its hooks is called, that is
// when a spec uses it; a crash, exit() or hang inside a hook ends the process with a message
// naming the plugin and the hook (docs/plugins.md, "What a plugin is trusted with").
#pragma once

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

struct vzkit_type_plugin_descriptor;

namespace valijson {
class Schema;
}

namespace vzkit::kernel {

/// A requirement on another plugin, optionally only when this device's config matches `when`
/// (every key in `when` equal to the config's value).
struct Requirement {
  std::string plugin;
  boost::json::object when;
};

/// A config key whose values must be unique across every device sharing the `scope`.
struct UniqueKey {
  std::string key;
  std::string scope;
};

/// What a plugin declares about itself, as data (its manifest).
struct Manifest {
  std::string name;
  std::string version;
  std::string summary;
  std::vector<std::string> engines;           ///< "vz", "qemu"
  boost::json::value schema;                  ///< JSON Schema of the device config
  std::vector<std::string> slots;             ///< slots it fills ("boot-loader", "platform")
  std::vector<Requirement> requires_plugins;  ///< plugins that must also be in the spec
  std::vector<Requirement> conflicts;         ///< plugins that must not be
  std::vector<UniqueKey> unique;
  std::optional<int> max_instances;
  std::string min_macos;                      ///< minimum host macOS for its VZ classes ("" = none)
  std::vector<std::string> vz_classes;
  bool save_restore = true;                   ///< a VM using it can be saved and restored on every engine it has
  /// "save_restore": {"qemu": true, "vz": false} gives it per engine; a bool means all engines.
  std::map<std::string, bool> save_restore_by_engine;
  std::map<std::string, std::string> save_restore_notes;  ///< "save_restore_notes": why not, per engine
  std::map<std::string, std::string> engine_notes;  ///< why it cannot run on an engine it lacks

  bool supports(std::string_view engine) const;
  /// Whether a VM with this device can be saved and restored on `engine`.
  bool saves_on(const std::string& engine) const;
};

/// One plugin: what its scan found, and its hooks, which load the file into this process the
/// first time one is called. Lives until the process exits.
class LoadedPlugin {
 public:
  /// `manifest_hash`: manifest_hash() of the manifest text the scan found.
  LoadedPlugin(std::filesystem::path file, std::string origin, Manifest manifest, std::uint64_t manifest_hash,
               unsigned abi_major, unsigned abi_minor, bool has_describe);
  ~LoadedPlugin();

  const std::filesystem::path& file() const { return m_file; }
  /// Which search-path entry it came from: "--plugin-path", "VZKIT_PLUGIN_PATH", "beside the binary", "user folder".
  const std::string& origin() const { return m_origin; }
  const Manifest& manifest() const { return m_manifest; }
  const std::string& name() const { return m_manifest.name; }
  /// Its config schema compiled for validation (on first use).
  const valijson::Schema& compiled_schema() const;
  unsigned abi_major() const { return m_abi_major; }
  unsigned abi_minor() const { return m_abi_minor; }
  /// Whether the file has been loaded into this process (by a hook call or load()).
  bool is_loaded() const;
  /// Loads the file into this process now. Throws std::runtime_error when it cannot, or when it
  /// no longer offers what its scan found (the file changed).
  void load() const;

  /// Calls the plugin's validate hook; returns its diagnostics array. Throws std::runtime_error
  /// with the plugin's reason when the hook fails.
  boost::json::array validate(const boost::json::value& request) const;
  /// The same with the request already serialized.
  boost::json::array validate_text(std::string_view request) const;
  /// Calls the plugin's assemble hook; returns the plan fragment, allocated from `storage`.
  boost::json::value assemble(const boost::json::value& request, boost::json::storage_ptr storage = {}) const;
  /// The same with the request already serialized (the kernel splices the unchanging base model
  /// into every device's request as text instead of copying and serializing it each time).
  boost::json::value assemble_text(std::string_view request, boost::json::storage_ptr storage = {}) const;
  /// Calls the plugin's describe hook, when it has one (ABI 1.1); nullopt otherwise.
  std::optional<std::string> describe(const boost::json::value& request) const;

 private:
  const vzkit_type_plugin_descriptor* descriptor() const;

  std::filesystem::path m_file;
  std::string m_origin;
  Manifest m_manifest;
  std::uint64_t m_manifest_hash;
  unsigned m_abi_major, m_abi_minor;
  bool m_has_describe;
  mutable std::mutex m_mutex;
  mutable const vzkit_type_plugin_descriptor* m_descriptor = nullptr;
  mutable std::unique_ptr<valijson::Schema> m_schema;
};

/// A file that looked like a plugin but was refused, and why.
struct LoadError {
  std::filesystem::path file;
  std::string reason;
};

/// One entry of the search path with the name of where it came from.
struct SearchEntry {
  std::filesystem::path path;
  std::string origin;
};

struct SearchOptions {
  std::vector<std::filesystem::path> plugin_paths;  ///< --plugin-path (files or folders)
  bool use_environment = true;                      ///< VZKIT_PLUGIN_PATH
  bool use_installed = true;                        ///< plugins installed beside the binary
  bool use_user_folder = true;                      ///< $VZKIT_HOME/plugins (default ~/.vzkit/plugins)
};

/// The documented search path, in order: --plugin-path, VZKIT_PLUGIN_PATH (':'-separated),
/// <binary>/../lib/vzkit/plugins, $VZKIT_HOME/plugins. Earlier entries win a name clash.
std::vector<SearchEntry> plugin_search_path(const SearchOptions& options);

/// $VZKIT_HOME, or ~/.vzkit.
std::filesystem::path vzkit_home();

/// How plugin files are learnt about.
struct LoadOptions {
  /// Learn each file's manifest in the scanner process. Off, or when no scanner is found, files
  /// are loaded into this process (a crash there ends it, with a message naming the file).
  bool isolate = true;
  /// The scanner program; empty: found beside the running program (or $VZKIT_PLUGIN_SCANNER).
  std::filesystem::path scanner;
  /// The registry cache; empty: $VZKIT_HOME/cache/plugin-registry.json. Unwritable: not kept.
  std::filesystem::path cache_file;
  bool use_cache = true;
  /// How long loading one file may take before the scanner gives up on it; 0: 10 s, or
  /// $VZKIT_PLUGIN_TIMEOUT seconds.
  std::chrono::milliseconds limit{0};
};

class PluginHost {
 public:
  /// Finds every plugin file along `path` and learns what each offers. Problems are kept in
  /// errors(); every other plugin is usable.
  void load(const std::vector<SearchEntry>& path, const LoadOptions& options = {});
  /// The same for one file (a folder is searched for *.so / *.dylib).
  void load_file(const std::filesystem::path& file, const std::string& origin, const LoadOptions& options = {});
  /// Loads one file into this process at once, without the scanner or the cache (the scanner
  /// itself uses this).
  void load_here(const std::filesystem::path& file, const std::string& origin);

  const LoadedPlugin* find(std::string_view name) const;
  const std::vector<const LoadedPlugin*>& plugins() const { return m_plugins; }
  const std::vector<LoadError>& errors() const { return m_errors; }

 private:
  void add_result(const std::filesystem::path& file, const std::variant<const LoadedPlugin*, std::string>& result);
  std::vector<const LoadedPlugin*> m_plugins;
  std::vector<LoadError> m_errors;
};

/// Parses and checks a manifest's JSON text. Throws std::invalid_argument naming the problem.
Manifest parse_manifest(std::string_view text);
/// The same for a manifest already parsed.
Manifest parse_manifest(boost::json::value manifest);

/// A 64-bit hash of a manifest's text (FNV-1a): tells whether a file still offers what its scan found.
std::uint64_t manifest_hash(std::string_view text);

/// The plugin scanner program's main (apps/vzkit-plugin-scanner):
///   vzkit-plugin-scanner [--limit-ms MS] FILE...   one JSON line per file: its manifest, or why not
///   vzkit-plugin-scanner --check FILE              the conformance report of one file
int plugin_scanner_main(int argc, char** argv);

}  // namespace vzkit::kernel
