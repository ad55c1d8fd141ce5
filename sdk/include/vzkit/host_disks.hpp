// The host API's disk operations on VMs kept on disk (part of <vzkit/host.hpp>): the disks a VM
// attaches, copy-on-write clones, changing a stopped VM's settings (vzkit set) and converting
// its disk images between raw and qcow2 (vzkit convert).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vzkit::host {

struct Diagnostic;
struct VmInfo;
class Host;

/// Bytes done of a total, for progress bars (called from the working thread).
using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

/// One disk image a VM's spec attaches (a virtio-blk or usb-storage device).
struct VmDisk {
  int device = -1;          ///< its index in the spec's devices
  std::string spec_path;    ///< "devices[2]"
  std::string plugin;
  std::string file;         ///< absolute path, as the VM opens it
  bool read_only = false;
  bool owned = false;       ///< it lives in the VM's folder (vzkit delete removes it)
  bool exists = false;
  std::string format;       ///< raw or qcow2 (from the spec, else the header); "" when unreadable
  std::uint64_t size = 0;       ///< the image's size as the guest sees it (qcow2: its virtual size)
  std::uint64_t allocated = 0;  ///< bytes the file occupies on the host
};

/// The disk images the VM `name` attaches, in spec order. Throws std::runtime_error naming the VM
/// when it does not exist or its spec cannot be read.
std::vector<VmDisk> vm_disks(const std::string& name);

struct CloneOptions {
  std::string source;  ///< a stopped VM
  std::string name;    ///< the new VM
  Progress progress;   ///< over all the bytes copied (a copy-on-write clone completes at once)
};

/// One file the clone got.
struct ClonedFile {
  std::string file;    ///< its path in the new VM's folder
  std::string method;  ///< "clone" (copy-on-write) or "sparse copy"
  std::uint64_t size = 0;
  std::uint64_t bytes_copied = 0;
};

struct Cloned {
  std::string name, dir;
  std::vector<ClonedFile> files;
  /// What differs from the source, for people: "devices[3].mac: 02:... (a new address)", ...
  std::vector<std::string> changes;
};

/// Makes a new VM from a stopped one: its files are cloned (copy-on-write where the filesystem
/// has it, else sparse copies), writable disks it uses from outside its folder are copied into
/// the new VM's folder, and the copy gets an identity of its own: its name (and so its generated
/// MAC addresses), new random addresses in place of fixed ones, and for a macOS guest a new
/// machine identifier. Atomic: on failure nothing of the new VM is left. Throws InputError or
/// std::runtime_error saying what to do.
Cloned clone_vm(const CloneOptions& options);

struct SetOptions {
  std::string name;
  std::optional<int> cpus;
  std::string memory;       ///< e.g. "8GiB"; "" leaves it
  std::string disk_size;    ///< grow a disk to this size; "" leaves it
  int device = -1;          ///< the disk to resize (its index in devices); -1: the first writable disk
  bool force = false;       ///< allow disk_size to shrink the disk (data past the new end is lost)
  bool remove_iso = false;  ///< detach the read-only installer images (ISO 9660)
};

struct SetResult {
  std::vector<std::string> changes;     ///< "cpus: 2 -> 4", "devices[1] (disk.img): 8 GiB -> 64 GiB"
  std::vector<Diagnostic> warnings;     ///< of the new spec's validation
};

/// Changes a stopped VM's settings. The new spec is validated (with the VM's engine) before
/// anything is written; every problem is reported at once (PlanError) and nothing changes. A disk
/// is grown sparse, never shrunk unless `force`. Throws InputError for a request that cannot be
/// done (nothing to change, no such disk) and std::runtime_error while the VM runs.
SetResult set_vm(const Host& host, const SetOptions& options);

struct ConvertOptions {
  std::string name;
  std::string format;  ///< "raw" or "qcow2"
  int device = -1;     ///< one disk (its index in devices); -1: every writable disk not in `format`
  /// qemu-img shows its progress on this process's stdout (for a terminal).
  bool show_progress = false;
};

struct Converted {
  std::vector<std::string> changes;  ///< "devices[1] (disk.img): qcow2 -> raw"
};

/// Converts a stopped VM's disk images with qemu-img and records the format in its spec. Each
/// image is written beside the original under a temporary name; once all are converted they
/// replace the originals and the spec is validated, and if anything fails the originals are put
/// back. Only images in the VM's own folder are converted (others may be shared).
Converted convert_vm(const Host& host, const ConvertOptions& options);

}  // namespace vzkit::host
