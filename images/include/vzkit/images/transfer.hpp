// Pulling an image into the store and pushing a VM's files as an image.
#pragma once

#include <vzkit/images/format.hpp>
#include <vzkit/images/reference.hpp>
#include <vzkit/images/store.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace vzkit::images {

/// What a pull or push has done so far. Sent from worker threads, one call at a time.
struct TransferEvent {
  std::string kind;              ///< "start", "progress", "retry", "done"
  std::uint64_t bytes = 0;       ///< bytes moved over the network so far
  std::uint64_t total = 0;       ///< bytes that will be moved (the layers not already there)
  std::uint64_t skipped = 0;     ///< bytes not moved: in the store already (pull), or in the registry (push)
  std::size_t chunks = 0;        ///< chunks done
  std::size_t chunks_total = 0;
  double seconds = 0;            ///< since the start
  std::string message;           ///< for "retry": what failed and what happens next
};

struct TransferOptions {
  bool insecure = false;  ///< plain HTTP, for a registry on this machine only
  int jobs = 4;           ///< chunks moved at once
  int retries = 3;        ///< tries again after a dropped connection or a 5xx, per chunk
  std::uint64_t limit_rate = 0;  ///< > 0: download at most this many bytes per second in all
  /// pull: "OS/ARCH[/VARIANT]" to take from an image index (several platforms); "" takes linux
  /// or darwin on this machine's architecture. A single manifest must be of this platform.
  std::string platform;
  std::function<void(const TransferEvent&)> progress;
};

struct PulledImage {
  Reference ref;
  std::string digest;  ///< the manifest's
  std::string index_digest;  ///< the image index it was chosen from, "" when the reference names a manifest
  std::string platform;      ///< the platform it was chosen for, with an index
  ImageLayout layout;
  std::string spec_text;  ///< vzkit's spec from the image, or one made from tart's config
  bool from_tart = false;  ///< the image has no vzkit spec (tart pushed it)
  std::string os, arch;
  std::string hardware_model;  ///< a macOS guest's, from tart's config
  std::map<std::string, std::filesystem::path> files;  ///< name -> assembled file in the store
  std::uint64_t downloaded = 0;
  std::uint64_t reused = 0;  ///< bytes of files the store had already
  std::size_t resumed_chunks = 0;  ///< chunks an earlier, interrupted pull had written
};

/// Pulls `ref` into the store: manifest, configs, and every file assembled from its chunks. A
/// reference that names an image index gets the manifest for options.platform (see
/// choose_manifest), and the reference is recorded against that manifest, the index kept;
/// (downloaded `jobs` at a time, each checked against its digest, decoded straight into a sparse
/// file in which zero runs stay holes). Files the store has are not downloaded again; a pull
/// that was interrupted continues with the chunks it had not finished. Throws RegistryError,
/// FormatError, Lz4Error or std::runtime_error (a digest that does not match, a full disk);
/// what was written stays in partial/ for the next pull and no reference is recorded.
PulledImage pull(const Store& store, const std::string& ref, const TransferOptions& options);

/// An image pulled before, from the store alone. Throws std::runtime_error when `ref` was not pulled.
PulledImage cached(const Store& store, const std::string& ref);

struct PushFile {
  std::string name;  ///< its name in the image (and the spec)
  std::filesystem::path path;
  ImageFile::Kind kind = ImageFile::Kind::file;
};

struct PushSource {
  std::string spec_text;  ///< the spec, naming its files by their names in the image
  std::string engine;
  std::string os = "linux";
  std::string arch = "amd64";
  std::string mac;                  ///< the network device's, for tart's config
  std::string hardware_model_b64;   ///< macOS guests
  std::string ecid_b64;
  std::vector<PushFile> files;      ///< the disk first
};

struct PushOptions : TransferOptions {
  std::uint64_t chunk_size = 64ull << 20;  ///< uncompressed bytes per disk chunk
  std::uint64_t upload_chunk = 0;          ///< > 0: blobs go up in PATCH requests of this size
};

struct Pushed {
  Reference ref;
  std::string digest;                 ///< the manifest's
  std::uint64_t uploaded = 0;         ///< bytes sent
  std::size_t blobs_uploaded = 0, blobs_existed = 0, blobs_mounted = 0;
};

/// Pushes the files as an image: tart's config, the disk as LZ4 chunks (tart.disk.v2), the
/// NVRAM, vzkit's spec and the other files. Blobs the registry has are not sent again (HEAD),
/// and blobs another repository of the registry has are mounted where it offers that.
Pushed push(const Store& store, const PushSource& source, const std::string& ref, const PushOptions& options);

}  // namespace vzkit::images
