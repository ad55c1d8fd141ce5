/*
 * vzkit plugin ABI: the only contract between the vzkit host and a device plugin.
 *
 * Pure C, depends on nothing but the C standard library, so that a plugin built by another
 * compiler, or against another minor version of vzkit, keeps loading.
 *
 * Naming:
 *   vzkit_type_*      types that cross the boundary
 *   vzkit_on_*        hooks the plugin implements (function pointers in its descriptor)
 *   vzkit_callback_*  functions the host implements and hands to the plugin
 *
 * Ownership: memory is never freed across the boundary.
 *   - Text the plugin returns (its manifest) is owned by the plugin and must stay valid until the
 *     process exits (plugins are loaded once and never unloaded): use static storage.
 *   - Text the host passes in (configs, contexts) is owned by the host and valid only for the
 *     duration of the call: copy it if you need it later.
 *   - Text the plugin produces during a call (diagnostics, plan fragments, error messages) is
 *     handed to a host-owned sink through vzkit_callback_sink_write; the host copies it before
 *     the callback returns, so the plugin may free or reuse its buffer right after.
 * All text is UTF-8. Structured text is JSON; the JSON shapes are documented in docs/plugins.md.
 *
 * Versioning: the host accepts a plugin whose abi_major equals VZKIT_ABI_MAJOR and whose
 * abi_minor is not newer than the host's VZKIT_ABI_MINOR; anything else is refused with a
 * message naming the file and both versions. Structs carry their own size and only grow at the
 * end: a reader uses a member only when the struct's size covers it.
 *
 * Threading: the host calls hooks from one thread at a time; hooks must not keep state between
 * calls beyond what is in their static storage.
 */
#ifndef VZKIT_PLUGIN_H
#define VZKIT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI version this header describes. Bump the minor when appending members; the major when
 * changing anything else. */
#define VZKIT_ABI_MAJOR 1
#define VZKIT_ABI_MINOR 1

/** Name of the symbol every plugin exports (see vzkit_on_entry). */
#define VZKIT_PLUGIN_ENTRY_SYMBOL "vzkit_plugin_entry"

#if defined(_WIN32)
#define VZKIT_PLUGIN_EXPORT __declspec(dllexport)
#else
#define VZKIT_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/** A borrowed UTF-8 string with its length (not necessarily NUL-terminated). The owner is
 * stated wherever the type is used. */
typedef struct vzkit_type_string {
  const char* data;
  size_t size;
} vzkit_type_string;

/** A host-owned output buffer. The plugin appends bytes to it through `write`; the host copies
 * them immediately. Valid only during the hook call it was passed to. The host caps what one call
 * may write (1 MiB for diagnostics and error texts, 16 MiB for a plan fragment); past the cap the
 * bytes are dropped and the call fails with a message naming the plugin. `write` never fails in a
 * way the plugin sees and never throws. */
typedef struct vzkit_type_sink {
  /** sizeof(vzkit_type_sink) as the host compiled it. */
  uint32_t struct_size;
  /** Host-owned opaque state; pass it back unchanged. */
  void* host_state;
  /** vzkit_callback_sink_write: append `size` bytes at `data` (plugin-owned, copied). */
  void (*write)(void* host_state, const char* data, size_t size);
} vzkit_type_sink;

/** What the host tells a plugin when it loads it. Host-owned, valid during vzkit_on_entry. */
typedef struct vzkit_type_host_info {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  /** Host version text, e.g. "0.1.0". */
  vzkit_type_string host_version;
} vzkit_type_host_info;

/** Result of a hook: VZKIT_STATUS_OK, or any other value for a failure (the hook wrote a
 * human-readable reason to its sink). A 32-bit integer rather than an enum, so that the host reads
 * whatever a plugin returns without undefined behaviour; it is returned the way an enum of C's
 * default width is, so plugins built when this was an enum keep working. */
typedef int32_t vzkit_type_status;
enum {
  VZKIT_STATUS_OK = 0,
  /** The hook failed; it wrote a human-readable reason to its sink. */
  VZKIT_STATUS_ERROR = 1
};

/**
 * vzkit_on_validate: check a device config for what its schema cannot say.
 *   request: host-owned JSON text, valid during the call:
 *     {"config": {...}, "context": {"engine": "qemu"|"vz"|null, "spec_dir": "...", "path": "devices[2]", ...}}
 *     The config has already passed the plugin's JSON Schema, with defaults filled in.
 *   out: receives a JSON array of diagnostics:
 *     [{"severity": "error"|"warning", "code": "virtiofs.tag-too-long", "path": "tag",
 *       "message": "...", "hint": "..."}]   ("path" is relative to the device entry)
 * Returns VZKIT_STATUS_OK when it produced the array (even if non-empty); VZKIT_STATUS_ERROR with
 * a reason in `out` when it could not run at all.
 */
typedef vzkit_type_status (*vzkit_on_validate)(vzkit_type_string request, vzkit_type_sink* out);

/**
 * vzkit_on_assemble: add this device's objects to an engine's plan.
 *   request: host-owned JSON text: {"engine": "qemu"|"vz", "config": {...}, "context": {...},
 *     "base": <the engine model holding only the machine-level settings>}
 *   out: receives the plan fragment: an object of the engine's model (sdk/vz, sdk/qemu) holding
 *     the base plus what this device adds. The host merges fragments: objects key by key, arrays
 *     appended, scalars must agree.
 * Returns VZKIT_STATUS_ERROR with a reason in `out` on failure.
 */
typedef vzkit_type_status (*vzkit_on_assemble)(vzkit_type_string request, vzkit_type_sink* out);

/** The plugin's descriptor. Plugin-owned static storage, valid until the process exits. */
typedef struct vzkit_type_plugin_descriptor {
  /** sizeof(vzkit_type_plugin_descriptor) as the plugin compiled it. */
  uint32_t struct_size;
  /** VZKIT_ABI_MAJOR / VZKIT_ABI_MINOR the plugin was built against. */
  uint16_t abi_major;
  uint16_t abi_minor;
  /**
   * The manifest, JSON text, NUL-terminated:
   *   {"name": "virtio-blk", "version": "1.0.0", "summary": "...", "engines": ["vz","qemu"],
   *    "schema": {JSON Schema of the device config}, "slot": "boot-loader"|null,
   *    "requires": ["mac-platform"], "conflicts": ["..."], "unique": ["tag"],
   *    "max_instances": 1|null, "vz": {"min_macos": "13.0", "classes": [...]},
   *    "save_restore": true|false, "engine_notes": {"qemu": "why it cannot run there"}}
   * At most 1 MiB; a longer manifest is refused.
   */
  const char* manifest_json;
  vzkit_on_validate on_validate;
  vzkit_on_assemble on_assemble;
  /* ABI 1.1 appends below. */
  /** Optional (may be NULL): writes extra text a CLI can print for this plugin (usage notes). */
  vzkit_type_status (*on_describe)(vzkit_type_string request, vzkit_type_sink* out);
} vzkit_type_plugin_descriptor;

/**
 * vzkit_on_entry: the one exported symbol (VZKIT_PLUGIN_ENTRY_SYMBOL).
 * Called once, right after loading. Returns the plugin's static descriptor, or NULL when the
 * plugin cannot run; then it should write the reason to `error` (host-owned sink).
 */
typedef const vzkit_type_plugin_descriptor* (*vzkit_on_entry)(const vzkit_type_host_info* host,
                                                              vzkit_type_sink* error);

#ifdef __cplusplus
}
#endif

#endif /* VZKIT_PLUGIN_H */
