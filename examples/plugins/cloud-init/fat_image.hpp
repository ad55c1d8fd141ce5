// A FAT12 image writer small enough to read in one sitting: one root directory holding a few
// files (with long names, so "user-data" keeps its name), and a volume label. It is all a
// cloud-init seed needs, and it spares the plugin any host tool (mtools, mkfs.vfat).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cloud_init {

/// One file in the image's root directory.
struct FatFile {
  std::string name;  ///< long name, printable ASCII without '/', at most 255 characters
  std::string data;  ///< contents
};

/// The bytes of a FAT12 image (512-byte sectors, no partition table) labelled `label` (at most
/// 11 characters, stored upper-case) holding `files` in its root directory. The image is at
/// least 1 MiB and grows with its contents, up to about 127 MiB; throws std::length_error
/// beyond that. The same inputs always give the same bytes (fixed timestamps, and a volume
/// serial number derived from the contents).
std::string make_fat12_image(std::string_view label, const std::vector<FatFile>& files);

}  // namespace cloud_init
