// The image format: an OCI image manifest whose layers are tart's (config, disk chunks, NVRAM;
// docs/images.md) plus vzkit's own, which tart skips by their media type (the vzkit spec, and
// the VM's other files).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vzkit::images {

// tart (Sources/tart/OCI/Manifest.swift)
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kTartConfig = "application/vnd.cirruslabs.tart.config.v1";
inline constexpr const char* kTartDisk = "application/vnd.cirruslabs.tart.disk.v2";
inline constexpr const char* kTartDiskV1 = "application/vnd.cirruslabs.tart.disk.v1";  ///< legacy, refused
inline constexpr const char* kTartNvram = "application/vnd.cirruslabs.tart.nvram.v1";
inline constexpr const char* kTartUncompressedDiskSize = "org.cirruslabs.tart.uncompressed-disk-size";
inline constexpr const char* kTartUploadTime = "org.cirruslabs.tart.upload-time";
inline constexpr const char* kTartUncompressedSize = "org.cirruslabs.tart.uncompressed-size";
inline constexpr const char* kTartUncompressedDigest = "org.cirruslabs.tart.uncompressed-content-digest";
inline constexpr const char* kTartDiskFormatLabel = "org.cirruslabs.tart.disk.format";
// vzkit's own
inline constexpr const char* kVzkitSpec = "application/vnd.vzkit.spec.v1+json";  ///< the VM's spec
inline constexpr const char* kVzkitFile = "application/vnd.vzkit.file.v1";       ///< a chunk of another file, LZ4
inline constexpr const char* kVzkitFileName = "org.vzkit.file";                  ///< layer: the file it belongs to
inline constexpr const char* kVzkitEngine = "org.vzkit.engine";                  ///< manifest and spec layer

/// An image that vzkit cannot read; what() names the image, the JSON path and the reason.
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Descriptor {
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::string annotation(const std::string& key) const;
};

/// A descriptor (mediaType, digest, size, annotations) at `path` of a manifest or index. Throws
/// FormatError naming the path.
Descriptor parse_descriptor(const boost::json::value& v, const std::string& path, const std::string& where);

/// The JSON object of a manifest or index (`what`: "the manifest"), checked to have schemaVersion 2.
/// Throws FormatError.
boost::json::object parse_schema2(const std::string& text, const std::string& what, const std::string& where);

struct Manifest {
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
  /// The JSON text (keys in a fixed order, so equal manifests have equal digests).
  std::string text() const;
  /// Parses and checks a manifest (schemaVersion 2, digests and sizes well formed). `where`
  /// names it in errors ("127.0.0.1:5000/demo:v1").
  static Manifest parse(const std::string& text, const std::string& where);
};

/// One file of a VM image: the disk (tart's), the NVRAM (tart's), or another file of the VM.
struct ImageFile {
  std::string name;  ///< its name in the VM's folder ("disk.img", "vmlinuz")
  enum class Kind { disk, nvram, file } kind = Kind::file;
  std::vector<Descriptor> chunks;  ///< disk and file: LZ4 chunks in order; nvram: the one raw layer
  std::uint64_t size = 0;          ///< its uncompressed size
  /// The content store's key for the assembled file: a digest over its chunks' digests and sizes,
  /// so two images with the same disk share one copy.
  std::string key() const;
};

/// What a manifest holds, sorted out: tart's config, the files, vzkit's spec if any.
struct ImageLayout {
  std::string tart_config_digest;
  std::string spec_digest;  ///< "" for an image tart pushed
  std::string engine;       ///< from the spec layer's annotation
  std::vector<ImageFile> files;
  std::uint64_t compressed_size = 0;  ///< every layer's size
  std::uint64_t disk_size = 0;        ///< the uncompressed size of the files
};

/// Sorts a manifest's layers into files. Throws FormatError naming the layer
/// ("layers[3].annotations.org.cirruslabs.tart.uncompressed-size: missing") for an image that
/// has no config or disk, a legacy disk.v1, or a chunk without its size.
ImageLayout layout_of(const Manifest& m, const std::string& where);

/// tart's VM config (VMConfig.swift) for a vzkit spec: cpus, memory, display, MAC, os and arch.
/// `mac` is the network device's address; `hardware_model`/`ecid` (base64) for a macOS guest.
std::string tart_config_for(const boost::json::object& spec, const std::string& os, const std::string& arch,
                            const std::string& mac, const std::string& hardware_model = {},
                            const std::string& ecid = {});

/// The spec of a VM made from tart's config (for an image tart pushed). The files named are
/// "disk.img" and "nvram.bin"; a macOS guest's hardware model goes to "hardware-model.bin".
/// Throws FormatError naming the config key that is missing or wrong.
struct TartVm {
  boost::json::object spec;
  std::string os;              ///< "darwin" or "linux"
  std::string arch;            ///< "arm64" or "amd64"
  std::string hardware_model;  ///< decoded, for a macOS guest
};
TartVm vm_from_tart_config(const std::string& config_json, const std::string& name, const std::string& where);

}  // namespace vzkit::images
