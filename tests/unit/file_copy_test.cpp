// Disk image copies (kernel/include/vzkit/kernel/file_copy.hpp): sparse copies keep holes and
// content, clones share extents on a reflink filesystem, failures leave nothing behind.
#include <vzkit/kernel/file_copy.hpp>
#include <vzkit/kernel/subprocess.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using vzkit::kernel::copy_file_cow;
using vzkit::kernel::CopyMethod;
using vzkit::kernel::CopyOptions;

constexpr std::uint64_t MiB = 1u << 20;

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("vzkit-copy-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

void write_at(const fs::path& p, std::uint64_t at, const std::string& data) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(at)), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

std::string read_at(const fs::path& p, std::uint64_t at, std::size_t n) {
  std::ifstream in(p, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(at));
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}

// A 1 GiB image with 3 MiB of data in three places and a 2 MiB run of written zeros.
fs::path make_sparse_image(const fs::path& dir) {
  const auto p = dir / "disk.img";
  { std::ofstream(p, std::ios::binary); }
  fs::resize_file(p, 1024 * MiB);
  write_at(p, 0, random_bytes(MiB, 1));
  write_at(p, 100 * MiB, std::string(2 * MiB, '\0'));  // allocated, but zeros
  write_at(p, 512 * MiB + 4096, random_bytes(MiB, 2));
  write_at(p, 1023 * MiB, random_bytes(MiB, 3));
  return p;
}

bool leftovers(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".partial-") != std::string::npos) return true;
  return false;
}

TEST(FileCopy, SparseCopyKeepsContentAndHoles) {
  const auto dir = temp_dir("sparse");
  const auto from = make_sparse_image(dir);
  std::uint64_t last_done = 0, calls = 0;
  CopyOptions o;
  o.no_clone = true;
  o.progress = [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_EQ(total, 1024 * MiB);
    EXPECT_GE(done, last_done);
    last_done = done;
    ++calls;
  };
  const auto r = copy_file_cow(from, dir / "copy.img", o);
  EXPECT_EQ(r.method, CopyMethod::sparse);
  EXPECT_EQ(r.size, 1024 * MiB);
  EXPECT_EQ(fs::file_size(dir / "copy.img"), 1024 * MiB);
  EXPECT_EQ(last_done, 1024 * MiB);
  EXPECT_GT(calls, 1u);
  // Only the data extents were read: about 5 MiB of 1 GiB.
  EXPECT_LT(r.bytes_copied, 16 * MiB);
  // The zeros written into the source did not become data in the copy.
  EXPECT_LT(vzkit::kernel::allocated_bytes(dir / "copy.img"), 4 * MiB + 512 * 1024);
  for (const std::uint64_t at : {std::uint64_t{0}, 100 * MiB, 512 * MiB + 4096, 1023 * MiB, 700 * MiB})
    EXPECT_EQ(read_at(dir / "copy.img", at, MiB), read_at(from, at, MiB)) << "at " << at;
  EXPECT_FALSE(leftovers(dir));
  EXPECT_EQ(fs::status(dir / "copy.img").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  fs::remove_all(dir);
}

TEST(FileCopy, RefusesAnExistingTargetAndNonRegularSources) {
  const auto dir = temp_dir("refuse");
  write_at(dir / "a.img", 0, "data");
  write_at(dir / "b.img", 0, "other");
  EXPECT_THROW(copy_file_cow(dir / "a.img", dir / "b.img"), std::system_error);
  EXPECT_EQ(read_at(dir / "b.img", 0, 16), "other");
  try {
    copy_file_cow(dir, dir / "c.img");
    ADD_FAILURE() << "a folder was copied";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a regular file"), std::string::npos) << e.what();
  }
  try {
    copy_file_cow(dir / "missing.img", dir / "c.img");
    ADD_FAILURE() << "a missing file was copied";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.img"), std::string::npos) << e.what();
    EXPECT_EQ(e.code().value(), ENOENT);
  }
  EXPECT_FALSE(fs::exists(dir / "c.img"));
  EXPECT_FALSE(leftovers(dir));
  fs::remove_all(dir);
}

TEST(FileCopy, ACancelledCopyLeavesNothing) {
  const auto dir = temp_dir("cancel");
  const auto from = make_sparse_image(dir);
  CopyOptions o;
  o.no_clone = true;
  o.progress = [](std::uint64_t done, std::uint64_t) {
    if (done > 2 * MiB) throw std::runtime_error("cancelled");
  };
  EXPECT_THROW(copy_file_cow(from, dir / "copy.img", o), std::runtime_error);
  EXPECT_FALSE(fs::exists(dir / "copy.img"));
  EXPECT_FALSE(leftovers(dir));
  fs::remove_all(dir);
}

TEST(FileCopy, ResizeGrowsSparseAndRefusesToShrink) {
  const auto dir = temp_dir("resize");
  const auto p = dir / "disk.img";
  write_at(p, 0, random_bytes(MiB, 4));
  vzkit::kernel::resize_file(p, 64 * MiB);
  EXPECT_EQ(fs::file_size(p), 64 * MiB);
  EXPECT_LT(vzkit::kernel::allocated_bytes(p), 2 * MiB);
  try {
    vzkit::kernel::resize_file(p, 32 * MiB);
    ADD_FAILURE() << "shrunk without being allowed to";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("from 64 MiB to 32 MiB"), std::string::npos) << e.what();
  }
  EXPECT_EQ(fs::file_size(p), 64 * MiB);
  vzkit::kernel::resize_file(p, 32 * MiB, true);
  EXPECT_EQ(fs::file_size(p), 32 * MiB);
  EXPECT_EQ(read_at(p, 0, MiB), random_bytes(MiB, 4));
  fs::remove_all(dir);
}

// A filesystem made and mounted for one test (as root; skipped with the reason elsewhere).
struct Mounted {
  fs::path dir, image, point;
  std::string skip;
  Mounted(const std::string& name, const std::vector<std::string>& mkfs, const std::string& size,
          const std::string& type) {
    dir = temp_dir(name);
    point = dir / "mnt";
    fs::create_directories(point);
    using vzkit::kernel::run_child;
    if (::geteuid() != 0) {
      skip = "needs root to mount a " + type + " filesystem";
      return;
    }
    if (type != "tmpfs") {
      image = dir / (type + ".img");
      if (!run_child({"truncate", "-s", size, image.string()}).ok()) {
        skip = "cannot make an image";
        return;
      }
      auto argv = mkfs;
      argv.push_back(image.string());
      if (const auto r = run_child(argv); !r.ok()) {
        skip = mkfs[0] + " failed (" + r.describe() + "): " + r.err;
        return;
      }
    }
    const auto r = type == "tmpfs" ? run_child({"mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", point.string()})
                                   : run_child({"mount", "-o", "loop", image.string(), point.string()});
    if (!r.ok()) skip = "cannot mount a " + type + " filesystem here (" + r.describe() + "): " + r.err;
  }
  ~Mounted() {
    if (skip.empty()) (void)vzkit::kernel::run_child({"umount", point.string()});
    fs::remove_all(dir);
  }
};

// Whether every extent of `p` is marked shared (FIEMAP).
bool extents_shared(const fs::path& p, unsigned& extents) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  if (fd < 0) return false;
  std::vector<char> buf(sizeof(fiemap) + 64 * sizeof(fiemap_extent));
  auto* fm = reinterpret_cast<fiemap*>(buf.data());
  fm->fm_start = 0;
  fm->fm_length = FIEMAP_MAX_OFFSET;
  fm->fm_flags = FIEMAP_FLAG_SYNC;
  fm->fm_extent_count = 64;
  const bool ok = ::ioctl(fd, FS_IOC_FIEMAP, fm) == 0;
  ::close(fd);
  extents = ok ? fm->fm_mapped_extents : 0;
  if (!ok || extents == 0) return false;
  for (unsigned i = 0; i < extents; ++i)
    if (!(fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_SHARED)) return false;
  return true;
}

TEST(FileCopy, ClonesShareExtentsOnBtrfsAndWritesToTheCloneLeaveTheSource) {
  Mounted m("btrfs", {"mkfs.btrfs", "-q"}, "300M", "btrfs");
  if (!m.skip.empty()) GTEST_SKIP() << m.skip;
  const auto from = m.point / "disk.img";
  write_at(from, 0, random_bytes(8 * MiB, 5));
  fs::resize_file(from, 64ull << 30);  // 64 GiB logical
  const auto r = copy_file_cow(from, m.point / "clone.img");
  EXPECT_EQ(r.method, CopyMethod::clone);
  EXPECT_EQ(r.bytes_copied, 0u);
  EXPECT_EQ(fs::file_size(m.point / "clone.img"), 64ull << 30);
  unsigned extents = 0;
  EXPECT_TRUE(extents_shared(m.point / "clone.img", extents)) << extents << " extents";
  write_at(m.point / "clone.img", 0, std::string(MiB, 'x'));
  EXPECT_EQ(read_at(from, 0, MiB), random_bytes(8 * MiB, 5).substr(0, MiB));
  EXPECT_EQ(read_at(m.point / "clone.img", 0, 4), "xxxx");
  // Asked not to clone, it copies the data.
  CopyOptions o;
  o.no_clone = true;
  EXPECT_EQ(copy_file_cow(from, m.point / "copy.img", o).method, CopyMethod::sparse);
}

TEST(FileCopy, AFullDiskIsAClearErrorAndLeavesNothing) {
  Mounted m("full", {}, "4m", "tmpfs");
  if (!m.skip.empty()) GTEST_SKIP() << m.skip;
  const auto dir = temp_dir("full-src");
  write_at(dir / "disk.img", 0, random_bytes(8 * MiB, 6));
  try {
    copy_file_cow(dir / "disk.img", m.point / "copy.img");
    ADD_FAILURE() << "8 MiB fit into 4 MiB";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), ENOSPC);
    EXPECT_NE(std::string(e.what()).find("copy.img"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(m.point / "copy.img"));
  EXPECT_FALSE(leftovers(m.point));
  fs::remove_all(dir);
}

}  // namespace
