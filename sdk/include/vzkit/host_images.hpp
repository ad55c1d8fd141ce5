// The host API's images (included by <vzkit/host.hpp>): VMs pushed to and pulled from any OCI
// registry in a format tart reads and writes (docs/images.md), kept in a content store under
// $VZKIT_HOME/images that every VM made from an image shares.
//
// Errors are std::runtime_error (what() names the registry, image, file or layer and what to do)
// or InputError for a malformed reference or option.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace vzkit::host {

struct VmInfo;

/// How far a pull or push is. Delivered on worker threads, one call at a time.
struct ImageProgress {
  std::string kind;           ///< "start", "progress", "retry", "done"
  std::uint64_t bytes = 0;    ///< moved over the network so far (push: disk bytes done)
  std::uint64_t total = 0;    ///< to move in all
  std::uint64_t skipped = 0;  ///< not moved: the store (pull) had it already
  std::size_t chunks = 0, chunks_total = 0;
  double seconds = 0;
  std::string message;  ///< "retry": what failed
};

struct ImageTransferOptions {
  /// Plain HTTP: only for a registry on this machine (localhost, 127.0.0.1); refused otherwise.
  bool insecure = false;
  int jobs = 4;  ///< chunks moved at once (1 to 16)
  std::uint64_t limit_rate = 0;  ///< pull: > 0 downloads at most this many bytes per second in all
  /// pull and clone: "OS/ARCH[/VARIANT]" to take from a multi-platform image (an image index);
  /// "" takes linux or darwin on this machine's architecture.
  std::string platform;
  std::function<void(const ImageProgress&)> progress;
};

struct ImagePushOptions : ImageTransferOptions {
  std::uint64_t chunk_size = 64ull << 20;  ///< uncompressed bytes per disk chunk (1 MiB to 1 GiB)
  std::uint64_t upload_chunk = 0;          ///< > 0: each blob goes up in PATCH requests of this size
};

struct ImageInfo {
  std::string ref;     ///< "127.0.0.1:5000/demo:v1"
  std::string digest;  ///< the manifest's
  std::string index;   ///< the image index it was chosen from, "" for a reference naming one manifest
  std::string os, arch;
  std::string engine;  ///< from vzkit's spec layer; "" for an image tart pushed
  bool from_tart = false;
  std::string pulled;                  ///< when (ISO 8601, UTC)
  std::uint64_t compressed = 0;        ///< the layers' size in the registry
  std::uint64_t size = 0;              ///< the files' (logical) size
  std::uint64_t on_disk = 0;           ///< what the store's copy occupies (sparse)
  std::vector<std::string> files;      ///< their names in a VM made from it
  std::string spec_json;               ///< the spec a clone gets (before its name and MAC are set)
};

struct PullReport {
  ImageInfo image;
  std::uint64_t downloaded = 0;
  std::uint64_t reused = 0;        ///< bytes of files the store had
  std::size_t resumed_chunks = 0;  ///< chunks an interrupted pull had already written
};

struct PushReport {
  std::string ref;
  std::string digest;
  std::uint64_t uploaded = 0;
  std::size_t uploaded_blobs = 0, existing_blobs = 0, mounted_blobs = 0;
};

struct PruneReport {
  std::uint64_t bytes = 0;
  std::size_t entries = 0;
  std::size_t refs = 0;
};

/// Whether `text` names an image (it has a '/', ':' or '@') rather than a VM.
bool is_image_reference(const std::string& text);

class Images {
 public:
  /// Pulls an image into the store (see images::pull): chunks in parallel, verified, sparse,
  /// resumable. Nothing of a VM is made.
  PullReport pull(const std::string& ref, const ImageTransferOptions& options = {}) const;
  /// Pushes the stopped VM `vm` (it stays locked meanwhile, so it cannot start) as `ref`.
  PushReport push(const std::string& vm, const std::string& ref, const ImagePushOptions& options = {}) const;
  /// Makes the VM `name` from an image, pulling it first when the store lacks it. Its files are
  /// copy-on-write clones of the store's where the filesystem can, and it gets a new MAC
  /// address (and, for a macOS guest, a new machine identifier). Atomic: no VM is left when it fails.
  VmInfo clone(const std::string& ref, const std::string& name, const ImageTransferOptions& options = {}) const;
  /// The pulled images.
  std::vector<ImageInfo> list() const;
  /// Removes what no pulled image needs, partial pulls included; `all` removes every image.
  PruneReport prune(bool all) const;
  /// Checks the credentials against the registry, then stores them: in login_file(), or through
  /// the credential helper it names for the registry (credHelpers, credsStore). Returns
  /// credentials_place(registry).
  std::string login(const std::string& registry, const std::string& username, const std::string& password,
                    bool insecure = false) const;
  /// Forgets the stored credentials for `registry` (in the file and its helper); false when there were none.
  bool logout(const std::string& registry) const;
  /// The file `login` writes: $REGISTRY_AUTH_FILE, else ~/.docker/config.json.
  static std::string login_file();
  /// Where `login` keeps `registry`'s credentials: login_file(), or "docker-credential-NAME
  /// (named by FILE: credsStore)" when the file names a helper for it.
  static std::string credentials_place(const std::string& registry);
};

}  // namespace vzkit::host
