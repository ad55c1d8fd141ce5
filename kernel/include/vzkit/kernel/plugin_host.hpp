// The plugin host: finds plugin files along the search path, loads each once (never unloaded),
// checks the ABI handshake and the manifest, and calls the plugins' hooks.
#pragma once

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
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
  bool save_restore = true;                   ///< a VM using it can be saved and restored
  std::map<std::string, std::string> engine_notes;  ///< why it cannot run on an engine it lacks
  boost::json::value raw;                     ///< the manifest as the plugin wrote it

  bool supports(std::string_view engine) const;
};

/// One loaded plugin. Lives until the process exits.
class LoadedPlugin {
 public:
  LoadedPlugin(std::filesystem::path file, std::string origin, Manifest manifest,
               const vzkit_type_plugin_descriptor* descriptor, std::unique_ptr<valijson::Schema> schema);
  ~LoadedPlugin();

  const std::filesystem::path& file() const { return m_file; }
  /// Which search-path entry it came from: "--plugin-path", "VZKIT_PLUGIN_PATH", "beside the binary", "user folder".
  const std::string& origin() const { return m_origin; }
  const Manifest& manifest() const { return m_manifest; }
  const std::string& name() const { return m_manifest.name; }
  const valijson::Schema& compiled_schema() const { return *m_schema; }
  unsigned abi_major() const;
  unsigned abi_minor() const;

  /// Calls the plugin's validate hook; returns its diagnostics array. Throws std::runtime_error
  /// with the plugin's reason when the hook fails.
  boost::json::array validate(const boost::json::value& request) const;
  /// Calls the plugin's assemble hook; returns the plan fragment, allocated from `storage`.
  boost::json::value assemble(const boost::json::value& request, boost::json::storage_ptr storage = {}) const;
  /// The same with the request already serialized (the kernel splices the unchanging base model
  /// into every device's request as text instead of copying and serializing it each time).
  boost::json::value assemble_text(std::string_view request, boost::json::storage_ptr storage = {}) const;
  /// Calls the plugin's describe hook, when it has one (ABI 1.1); nullopt otherwise.
  std::optional<std::string> describe(const boost::json::value& request) const;

 private:
  std::filesystem::path m_file;
  std::string m_origin;
  Manifest m_manifest;
  const vzkit_type_plugin_descriptor* m_descriptor;
  std::unique_ptr<valijson::Schema> m_schema;
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

class PluginHost {
 public:
  /// Loads every plugin file found along `path`. Problems are kept in errors(); every other
  /// plugin still loads.
  void load(const std::vector<SearchEntry>& path);
  /// Loads one file (a folder entry is scanned for *.so / *.dylib).
  void load_file(const std::filesystem::path& file, const std::string& origin);

  const LoadedPlugin* find(std::string_view name) const;
  const std::vector<const LoadedPlugin*>& plugins() const { return m_plugins; }
  const std::vector<LoadError>& errors() const { return m_errors; }

 private:
  std::vector<const LoadedPlugin*> m_plugins;
  std::vector<LoadError> m_errors;
};

/// Parses and checks a manifest's JSON text. Throws std::invalid_argument naming the problem.
Manifest parse_manifest(std::string_view text);

}  // namespace vzkit::kernel
