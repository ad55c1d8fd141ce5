// The VM spec reference: a Markdown document generated from the spec's own schema and the
// manifests of the loaded plugins (`vzkit schema --markdown`; the tree keeps it as docs/spec.md).
#pragma once

#include <vzkit/kernel/plugin_host.hpp>

#include <string>

namespace vzkit::kernel {

/// The reference as Markdown: how a spec looks (its top-level keys with type, default and
/// description; sizes and their units; the rules between devices), then one section per
/// plugin, sorted by name: summary, version, engines (and why not the others), minimum macOS,
/// slots, requires / conflicts (with their conditions), unique keys and their scopes,
/// max_instances, save and restore, a table of its settings (nested ones written as a spec
/// does, e.g. `forwards[].host_port`) and its schema examples as device entries.
/// Deterministic: the same plugins give the same text, with no dates and no file paths.
std::string spec_reference_markdown(const PluginHost& plugins);

}  // namespace vzkit::kernel
