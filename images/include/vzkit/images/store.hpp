// The local content store under $VZKIT_HOME/images, shared by every VM and reused across pulls:
//
//   blobs/sha256/HEX     manifests, configs and specs, by digest
//   files/sha256/HEX     assembled files (disks, NVRAM, kernels), by ImageFile::key(): sparse,
//                        and cloned (copy-on-write where the filesystem can) into each VM
//   partial/HEX/         a file being pulled: data (sparse, full size) and done (one line per
//                        chunk written and flushed), so an interrupted pull continues
//   refs.json            which manifest each pulled reference names (and the index it was
//                        chosen from, for a multi-platform reference), and when it was pulled
//   locations.json       which repositories are known to have a blob (for cross-repository mounts)
//   lock                 flock(2) held by a pull, push or prune while it writes
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vzkit::images {

class Store {
 public:
  /// The store at `root` (default $VZKIT_HOME/images); created on first write.
  explicit Store(std::filesystem::path root = {});
  const std::filesystem::path& root() const { return m_root; }

  std::filesystem::path blob_path(const std::string& digest) const;
  bool has_blob(const std::string& digest) const;
  /// Stores `data` under `digest` after checking it (std::runtime_error when it does not match).
  void put_blob(const std::string& digest, std::string_view data) const;
  /// A stored blob, checked against its digest. Throws std::runtime_error when it is missing or damaged.
  std::string read_blob(const std::string& digest) const;

  std::filesystem::path file_path(const std::string& key) const;
  bool has_file(const std::string& key) const;
  std::filesystem::path partial_dir(const std::string& key) const;

  struct Ref {
    std::string name;    ///< "127.0.0.1:5000/demo:v1"
    std::string digest;  ///< its manifest
    std::string pulled;  ///< ISO 8601, UTC
    std::string index;     ///< the image index the reference names, when it names one ("" else)
    std::string platform;  ///< then the platform whose manifest `digest` is ("linux/arm64")
  };
  std::vector<Ref> refs() const;
  std::optional<Ref> find_ref(const std::string& name) const;
  /// Records `name` as naming the manifest `digest`, chosen for `platform` from the index `index`
  /// when the reference names one (its blob is then kept as long as the reference).
  void set_ref(const std::string& name, const std::string& digest, const std::string& index = {},
               const std::string& platform = {}) const;
  bool remove_ref(const std::string& name) const;

  /// Records that `repository` ("registry/repo") has these blobs.
  void note_locations(const std::string& repository, const std::vector<std::string>& digests) const;
  /// The repositories known to have `digest`.
  std::vector<std::string> locations(const std::string& digest) const;

  struct Pruned {
    std::uint64_t bytes = 0;    ///< disk space given back
    std::size_t entries = 0;    ///< blobs, files and partial pulls removed
    std::size_t refs = 0;       ///< references forgotten (all)
  };
  /// Removes what no pulled reference needs (and partial pulls); with `all`, every image.
  Pruned prune(bool all) const;

  /// An exclusive lock on the store, held while writing (blocks until free).
  class Lock {
   public:
    explicit Lock(const std::filesystem::path& file);
    Lock(Lock&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
    Lock& operator=(Lock&&) = delete;
    ~Lock();

   private:
    int m_fd = -1;
  };
  Lock lock() const;

  /// Every digest and file key the manifest `digest` needs (from the stored manifest).
  void needed_by(const std::string& manifest_digest, std::vector<std::string>& blobs,
                 std::vector<std::string>& files) const;

 private:
  std::filesystem::path m_root;
};

/// "2026-12-02T05:40:00Z"
std::string utc_now();

}  // namespace vzkit::images
