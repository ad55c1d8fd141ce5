// Image indexes (several platforms in one reference): an OCI image index
// (application/vnd.oci.image.index.v1+json) or a Docker manifest list
// (application/vnd.docker.distribution.manifest.list.v2+json), and which of its manifests a pull
// takes for a platform.
#pragma once

#include <vzkit/images/format.hpp>

#include <optional>
#include <string>
#include <vector>

namespace vzkit::images {

inline constexpr const char* kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";

/// An OCI platform as an index names it: "linux/arm64", "darwin/arm64", "linux/arm/v7".
struct Platform {
  std::string os, arch, variant;
  std::string str() const;
  /// Whether this is what `wanted` asks for: the same OS and architecture, and the same variant
  /// when `wanted` names one.
  bool satisfies(const Platform& wanted) const {
    return os == wanted.os && arch == wanted.arch && (wanted.variant.empty() || variant == wanted.variant);
  }
};

/// "OS/ARCH" or "OS/ARCH/VARIANT". Throws std::invalid_argument for anything else.
Platform parse_platform(const std::string& text);

/// This machine's architecture in OCI's words: "amd64" on x86_64, "arm64" on aarch64.
std::string host_oci_arch();

/// Whether a manifest (by its Content-Type, or else its own mediaType) is an index.
bool is_index(const std::string& media_type, const std::string& body);

struct IndexEntry {
  Descriptor manifest;
  std::optional<Platform> platform;  ///< unset when the entry names none
};

/// The manifests of an index. Throws FormatError naming the JSON path.
std::vector<IndexEntry> parse_index(const std::string& text, const std::string& where);

/// The entry a pull takes: with `wanted`, the first of that OS and architecture (and variant
/// when given); else the first for linux or darwin on this machine's architecture. Only image
/// manifests are candidates (an index in an index, an attestation without a platform are not).
/// Throws FormatError listing the platforms offered, with a hint to use --platform.
const IndexEntry& choose_manifest(const std::vector<IndexEntry>& entries, const std::optional<Platform>& wanted,
                                  const std::string& where);

}  // namespace vzkit::images
