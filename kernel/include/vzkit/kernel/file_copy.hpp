// Copying and resizing disk images: the one place that makes a VM's disk from another file
// (clones, pulled images, snapshots, `create --image`). A copy is a copy-on-write clone where
// the filesystem has one, else a copy of the allocated extents only, so holes stay holes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

namespace vzkit::kernel {

enum class CopyMethod {
  clone,   ///< copy-on-write: FICLONE on Linux (btrfs, XFS), clonefile on macOS (APFS); no data moved
  sparse,  ///< the data extents copied (SEEK_DATA / SEEK_HOLE), holes left as holes
};

/// "clone" or "sparse copy", for messages and --json output.
const char* to_string(CopyMethod method);

struct CopyResult {
  CopyMethod method = CopyMethod::sparse;
  std::uint64_t size = 0;          ///< the file's logical size
  std::uint64_t bytes_copied = 0;  ///< data read and written (0 for a clone)
};

struct CopyOptions {
  /// Called now and then with the bytes of the logical size covered so far and the total
  /// (a clone reports once, complete). May throw to cancel; the partial copy is removed.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
  /// Make a sparse copy even where a clone would work (benchmarks, tests).
  bool no_clone = false;
  /// Permissions of the new file (before the umask).
  std::filesystem::perms perms = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;
};

/// Copies the regular file `from` to the new file `to`, which must not exist. The copy is written
/// under a temporary name beside `to` (`.NAME.partial-PID`) and renamed into place when complete
/// and flushed, so `to` either does not exist or is whole; nothing is left behind on failure.
/// Throws std::system_error whose what() names the file and the reason ("no space left on
/// device" and the like).
CopyResult copy_file_cow(const std::filesystem::path& from, const std::filesystem::path& to,
                         const CopyOptions& options = {});

/// Sets the logical size of the disk image `path` to `size` bytes. Growing is sparse (the new
/// space is a hole and costs nothing). Shrinking would cut off the guest's data, so it is refused
/// (std::invalid_argument saying by how much) unless `allow_shrink`. Throws std::system_error
/// naming the file when it cannot be resized.
void resize_file(const std::filesystem::path& path, std::uint64_t size, bool allow_shrink = false);

/// Asks the kernel to start writing [offset, offset + length) of the open file `fd` to disk now,
/// without waiting (Linux: sync_file_range with SYNC_FILE_RANGE_WRITE; elsewhere nothing). Called
/// as a large file is written, it lets the disk work while the writer goes on, so the fsync that
/// ends the write has little left to wait for. Errors are ignored: the fsync reports them.
void start_writeback(int fd, std::uint64_t offset, std::uint64_t length) noexcept;

/// Bytes `path` occupies on disk (allocated blocks), which for a sparse image is less than its size.
std::uint64_t allocated_bytes(const std::filesystem::path& path);

}  // namespace vzkit::kernel
