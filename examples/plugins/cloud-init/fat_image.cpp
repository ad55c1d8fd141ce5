// FAT12 layout (Microsoft's FAT specification): boot sector with the BIOS parameter block, two
// copies of the allocation table, a fixed-size root directory, then the data clusters.
#include "fat_image.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace cloud_init {
namespace {

constexpr std::size_t kSector = 512;
constexpr std::size_t kEntry = 32;             // bytes per directory entry
constexpr std::uint32_t kMaxClusters = 4084;   // readers take fewer than 4085 clusters to mean FAT12
constexpr std::uint32_t kMinSectors = 2048;    // 1 MiB: a disk size no guest tool frowns at
constexpr std::size_t kMaxSectorsPerCluster = 64;
constexpr std::size_t kLongChars = 13;         // name characters per long-name entry
constexpr std::uint8_t kAttrArchive = 0x20, kAttrLabel = 0x08, kAttrLongName = 0x0F;
// Every timestamp is 2024-01-01 00:00:00, so equal inputs give equal images.
constexpr std::uint16_t kDate = ((2024 - 1980) << 9) | (1 << 5) | 1;
constexpr std::uint16_t kTime = 0;

void put16(std::string& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<char>(v & 0xFF);
  b[at + 1] = static_cast<char>(v >> 8);
}

void put32(std::string& b, std::size_t at, std::uint32_t v) {
  put16(b, at, static_cast<std::uint16_t>(v & 0xFFFF));
  put16(b, at + 2, static_cast<std::uint16_t>(v >> 16));
}

void put_text(std::string& b, std::size_t at, std::string_view text) { b.replace(at, text.size(), text); }

/// Stores a 12-bit table entry: two entries share three bytes.
void put_fat12(std::string& b, std::size_t fat_at, std::uint32_t cluster, std::uint16_t value) {
  const std::size_t at = fat_at + cluster + cluster / 2;
  auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(b[i]); };
  if (cluster % 2 == 0) {
    b[at] = static_cast<char>(value & 0xFF);
    b[at + 1] = static_cast<char>((byte(at + 1) & 0xF0) | ((value >> 8) & 0x0F));
  } else {
    b[at] = static_cast<char>((byte(at) & 0x0F) | ((value << 4) & 0xF0));
    b[at + 1] = static_cast<char>((value >> 4) & 0xFF);
  }
}

bool legal_long_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return ch >= 0x20 && ch <= 0x7E && std::string_view("/\\:*?\"<>|").find(ch) == std::string_view::npos;
  });
}

/// The 8.3 name (11 bytes, space padded) stored beside long name `name`, numbered `n` so every
/// file's alias differs: "user-data", 1 -> "USER-D~1   ".
std::string short_alias(std::string_view name, unsigned n) {
  auto legal = [](char ch) -> char {
    if (ch >= 'a' && ch <= 'z') return static_cast<char>(ch - 'a' + 'A');
    if ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) return ch;
    return std::string_view("!#$%&'()-@^_`{}").find(ch) != std::string_view::npos ? ch : '_';
  };
  const auto dot = name.rfind('.');
  const std::string_view stem = dot == std::string_view::npos || dot == 0 ? name : name.substr(0, dot);
  const std::string_view ext = dot == std::string_view::npos || dot == 0 ? std::string_view() : name.substr(dot + 1);
  const std::string tail = "~" + std::to_string(n);
  std::string base;
  for (char ch : stem)
    if (ch != ' ' && ch != '.' && base.size() + tail.size() < 8) base += legal(ch);
  base += tail;
  std::string e;
  for (char ch : ext)
    if (ch != ' ' && e.size() < 3) e += legal(ch);
  base.resize(8, ' ');
  e.resize(3, ' ');
  return base + e;
}

std::uint8_t alias_checksum(std::string_view alias) {
  std::uint8_t sum = 0;
  for (char ch : alias) sum = static_cast<std::uint8_t>(((sum & 1) << 7) + (sum >> 1) + static_cast<std::uint8_t>(ch));
  return sum;
}

/// Writes the long-name entries for `name` (last part first, as FAT wants them) at `at`;
/// returns the offset after them.
std::size_t put_long_name(std::string& b, std::size_t at, std::string_view name, std::uint8_t checksum) {
  static constexpr std::size_t kSlots[kLongChars] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
  const std::size_t parts = (name.size() + kLongChars - 1) / kLongChars;
  for (std::size_t part = parts; part-- > 0;) {
    b[at] = static_cast<char>((part + 1) | (part + 1 == parts ? 0x40 : 0));
    b[at + 11] = static_cast<char>(kAttrLongName);
    b[at + 13] = static_cast<char>(checksum);
    for (std::size_t i = 0; i < kLongChars; ++i) {
      const std::size_t pos = part * kLongChars + i;
      // UCS-2: the name, one NUL after it, then 0xFFFF padding.
      const std::uint16_t unit = pos < name.size() ? static_cast<std::uint8_t>(name[pos]) : pos == name.size() ? 0 : 0xFFFF;
      put16(b, at + kSlots[i], unit);
    }
    at += kEntry;
  }
  return at;
}

void put_short_entry(std::string& b, std::size_t at, std::string_view name11, std::uint8_t attributes,
                     std::uint16_t cluster, std::uint32_t size) {
  put_text(b, at, name11);
  b[at + 11] = static_cast<char>(attributes);
  put16(b, at + 14, kTime);  // created
  put16(b, at + 16, kDate);
  put16(b, at + 18, kDate);  // last access
  put16(b, at + 22, kTime);  // last write
  put16(b, at + 24, kDate);
  put16(b, at + 26, cluster);
  put32(b, at + 28, size);
}

/// FNV-1a over every name and byte: a volume serial number that follows the contents.
std::uint32_t serial_of(const std::vector<FatFile>& files) {
  std::uint32_t h = 2166136261u;
  auto mix = [&](std::string_view s) {
    for (char ch : s) h = (h ^ static_cast<std::uint8_t>(ch)) * 16777619u;
  };
  for (const auto& f : files) {
    mix(f.name);
    mix(f.data);
  }
  return h;
}

}  // namespace

std::string make_fat12_image(std::string_view label, const std::vector<FatFile>& files) {
  if (label.empty() || label.size() > 11) throw std::invalid_argument("a FAT volume label has 1 to 11 characters");
  std::string label11;
  for (char ch : label) {
    if (ch < 0x20 || ch > 0x7E || std::string_view("\"*+,./:;<=>?[\\]|").find(ch) != std::string_view::npos)
      throw std::invalid_argument("FAT volume label '" + std::string(label) + "' has a character FAT does not allow");
    label11 += ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 'a' + 'A') : ch;
  }
  label11.resize(11, ' ');

  std::size_t dir_entries = 1;  // the volume label
  for (const auto& f : files) {
    if (!legal_long_name(f.name)) throw std::invalid_argument("'" + f.name + "' cannot be a FAT file name");
    dir_entries += (f.name.size() + kLongChars - 1) / kLongChars + 1;
  }
  // The root directory fills whole sectors.
  const std::size_t per_sector = kSector / kEntry;
  const std::size_t root_entries = std::max<std::size_t>(per_sector, (dir_entries + per_sector - 1) / per_sector * per_sector);
  if (root_entries > 4096) throw std::length_error("too many files for one FAT root directory");

  // The smallest cluster that keeps the file data within FAT12's cluster count.
  std::size_t spc = 1;  // sectors per cluster
  auto clusters_for = [&](std::size_t sectors_per_cluster) {
    const std::uint64_t bytes = sectors_per_cluster * kSector;
    std::uint64_t n = 0;
    for (const auto& f : files) n += (f.data.size() + bytes - 1) / bytes;
    return n;
  };
  while (clusters_for(spc) > kMaxClusters) {
    spc *= 2;
    if (spc > kMaxSectorsPerCluster) throw std::length_error("the files are too large for a FAT12 image");
  }
  const auto clusters = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(kMaxClusters, std::max<std::uint64_t>(clusters_for(spc), kMinSectors / spc)));

  const std::size_t fat_bytes = ((clusters + 2) * 3 + 1) / 2;
  const std::size_t fat_sectors = (fat_bytes + kSector - 1) / kSector;
  const std::size_t reserved = 1;
  const std::size_t root_sectors = root_entries * kEntry / kSector;
  const std::size_t data_start = reserved + 2 * fat_sectors + root_sectors;
  const std::size_t total = data_start + std::size_t{clusters} * spc;

  std::string b(total * kSector, '\0');

  // Boot sector with the BIOS parameter block. Its code only halts: the disk is not bootable.
  put_text(b, 0, "\xEB\x3C\x90");
  put_text(b, 3, "VZKIT1.0");
  put16(b, 11, kSector);
  b[13] = static_cast<char>(spc);
  put16(b, 14, static_cast<std::uint16_t>(reserved));
  b[16] = 2;  // two copies of the table
  put16(b, 17, static_cast<std::uint16_t>(root_entries));
  if (total < 0x10000)
    put16(b, 19, static_cast<std::uint16_t>(total));
  else
    put32(b, 32, static_cast<std::uint32_t>(total));
  b[21] = static_cast<char>(0xF8);  // media: fixed disk
  put16(b, 22, static_cast<std::uint16_t>(fat_sectors));
  put16(b, 24, 32);  // sectors per track and heads: nominal, nothing reads them
  put16(b, 26, 64);
  b[36] = static_cast<char>(0x80);  // drive number: first hard disk
  b[38] = 0x29;                     // extended boot signature: serial, label and type follow
  put32(b, 39, serial_of(files));
  put_text(b, 43, label11);
  put_text(b, 54, "FAT12   ");
  put_text(b, 62, "\xFA\xF4\xEB\xFD");  // cli; hlt; jmp back to hlt
  put_text(b, 510, "\x55\xAA");

  // Allocation table: entries 0 and 1 are reserved, then one chain of consecutive clusters per file.
  const std::size_t fat_at = reserved * kSector;
  put_fat12(b, fat_at, 0, 0xF00 | 0xF8);
  put_fat12(b, fat_at, 1, 0xFFF);
  const std::size_t cluster_bytes = spc * kSector;
  std::size_t dir_at = (reserved + 2 * fat_sectors) * kSector;
  put_short_entry(b, dir_at, label11, kAttrLabel, 0, 0);
  dir_at += kEntry;
  std::uint32_t next = 2;
  unsigned n = 0;
  for (const auto& f : files) {
    const auto count = static_cast<std::uint32_t>((f.data.size() + cluster_bytes - 1) / cluster_bytes);
    const std::uint32_t first = count ? next : 0;  // an empty file owns no cluster
    for (std::uint32_t i = 0; i < count; ++i)
      put_fat12(b, fat_at, first + i, i + 1 < count ? static_cast<std::uint16_t>(first + i + 1) : 0xFFF);
    if (count) b.replace((data_start + std::size_t{first - 2} * spc) * kSector, f.data.size(), f.data);
    next += count;

    const std::string alias = short_alias(f.name, ++n);
    dir_at = put_long_name(b, dir_at, f.name, alias_checksum(alias));
    put_short_entry(b, dir_at, alias, kAttrArchive, static_cast<std::uint16_t>(first),
                    static_cast<std::uint32_t>(f.data.size()));
    dir_at += kEntry;
  }
  std::copy_n(b.begin() + static_cast<std::ptrdiff_t>(fat_at), fat_sectors * kSector,
              b.begin() + static_cast<std::ptrdiff_t>(fat_at + fat_sectors * kSector));
  return b;
}

}  // namespace cloud_init
