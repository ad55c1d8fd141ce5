// `vzkit create NAME --image DISK.img`: a VM made from a cloud disk image. The image is copied
// into the bundle (a clone or a sparse copy) and grown to the size asked for; the guest's
// cloud-init grows its filesystem. A bare ext4 root filesystem (as scripts/build-cloud-guest.sh
// makes) boots with linux-boot and the kernel and initrd read out of the image with debugfs (no
// mount, no root); a partitioned disk (a distribution's genericcloud image) boots through EFI.
// The spec sets a user, its SSH key (made for the VM with ssh-keygen unless one is given) and the
// host name through cloud-init, and adds the guest agent and, on QEMU, a forward of a free host
// port to the guest's port 22 (docs/way-in.md).
#include "host_impl.hpp"

#include <vzkit/kernel/bundle.hpp>
#include <vzkit/kernel/file_copy.hpp>
#include <vzkit/kernel/json_text.hpp>
#include <vzkit/kernel/subprocess.hpp>
#include <vzkit/units.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace vzkit::host::detail {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string head_of(const fs::path& file, std::size_t offset, std::size_t n) {
  std::ifstream in(file, std::ios::binary);
  std::string out(n, '\0');
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(out.data(), static_cast<std::streamsize>(n));
  out.resize(static_cast<std::size_t>(in.gcount()));
  return out;
}

enum class ImageKind { ext4, partitioned, qcow2, unknown };

ImageKind kind_of(const fs::path& image) {
  if (head_of(image, 0, 4) == "QFI\xfb") return ImageKind::qcow2;
  const std::string magic = head_of(image, 1080, 2);  // ext2/3/4 superblock at 1024, s_magic at +56
  if (magic == "\x53\xef") return ImageKind::ext4;
  if (head_of(image, 510, 2) == "\x55\xaa" || head_of(image, 512, 8) == "EFI PART") return ImageKind::partitioned;
  return ImageKind::unknown;
}

/// "6.1.0-28-cloud-amd64" < "6.1.0-30-cloud-amd64": numbers compare as numbers.
bool version_less(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      std::size_t ie = i, je = j;
      while (ie < a.size() && std::isdigit(static_cast<unsigned char>(a[ie]))) ++ie;
      while (je < b.size() && std::isdigit(static_cast<unsigned char>(b[je]))) ++je;
      const auto x = std::stoull(a.substr(i, ie - i)), y = std::stoull(b.substr(j, je - j));
      if (x != y) return x < y;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

kernel::ChildResult debugfs(const fs::path& image, const std::string& request) {
  kernel::ChildOptions how;
  how.timeout = std::chrono::seconds(60);
  return kernel::run_child({"debugfs", "-R", request, image.string()}, how);
}

/// Copies the newest /boot/vmlinuz-V and /boot/initrd.img-V out of the ext4 image into `dir`.
std::string extract_kernel(const fs::path& image, const fs::path& dir, const std::string& flag) {
  if (kernel::find_program("debugfs").empty())
    throw std::runtime_error("reading the kernel out of " + flag + " needs debugfs (Debian package e2fsprogs)");
  const auto listing = debugfs(image, "ls -p /boot");
  if (!listing.ok()) throw std::runtime_error("debugfs cannot read " + flag + ": " + listing.describe() + " " + listing.err);
  // "/inode/mode/uid/gid/name/size/" per entry
  std::vector<std::string> versions;
  std::istringstream lines(listing.out);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> f;
    std::istringstream parts(line);
    for (std::string p; std::getline(parts, p, '/');) f.push_back(p);
    if (f.size() >= 6 && f[5].rfind("vmlinuz-", 0) == 0) versions.push_back(f[5].substr(8));
  }
  if (versions.empty())
    throw InputError(flag + " has no /boot/vmlinuz-*: a bare root filesystem image must hold its kernel and initrd "
                     "(Debian: linux-image-cloud-amd64)\n  hint: scripts/build-cloud-guest.sh makes such an image");
  const std::string v = *std::max_element(versions.begin(), versions.end(), version_less);
  for (const auto& [from, to] : {std::pair{"/boot/vmlinuz-" + v, "vmlinuz"}, std::pair{"/boot/initrd.img-" + v, "initrd.img"}}) {
    const auto r = debugfs(image, "dump " + from + " " + (dir / to).string());
    std::error_code ec;
    if (!r.ok() || !fs::is_regular_file(dir / to, ec) || fs::file_size(dir / to, ec) == 0)
      throw std::runtime_error("cannot read " + from + " out of " + flag + " with debugfs: " + r.err);
  }
  return v;
}

std::string first_line(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

json::object cloud_image_access(const CreateOptions& a) {
  json::object access{{"user", a.user}};
  if (a.ssh_key.empty()) {
    access["identity"] = "ssh_key";
  } else {
    // The private key beside the .pub given, if it is there; else ssh's own defaults.
    const fs::path pub = fs::absolute(a.ssh_key);
    std::error_code ec;
    if (pub.extension() == ".pub" && fs::is_regular_file(fs::path(pub).replace_extension(), ec))
      access["identity"] = fs::path(pub).replace_extension().string();
  }
  return access;
}

void check_image_flags(const CreateOptions& a) {
  std::error_code ec;
  if (!fs::is_regular_file(a.image, ec))
    throw InputError("--image '" + a.image + "' is not a file" +
                     (fs::exists(a.image, ec) ? "" : " (looked for " + fs::absolute(a.image).string() + ")") +
                     "\n  hint: give a raw disk image, e.g. the root.img that scripts/build-cloud-guest.sh DIR makes");
  switch (kind_of(a.image)) {
    case ImageKind::qcow2:
      throw InputError("--image '" + a.image + "' is a qcow2 image; vzkit boots raw images\n  hint: convert it with "
                       "`qemu-img convert -O raw " + a.image + " disk.img`");
    case ImageKind::unknown:
      throw InputError("--image '" + a.image + "' is neither an ext4 filesystem nor a partitioned disk (no MBR or "
                       "GPT)\n  hint: give a raw cloud image");
    default: break;
  }
  if (!a.disk_size.empty()) {
    const auto size = kernel::parse_size(a.disk_size);
    if (!size || *size % 512 != 0)
      throw InputError("--disk-size '" + a.disk_size + "' is not a size in whole 512-byte sectors\n  hint: write a "
                       "number with a unit, e.g. --disk-size 20GiB");
    if (*size < fs::file_size(a.image, ec))
      throw InputError("--disk-size " + a.disk_size + " is smaller than the image (" +
                       std::to_string(fs::file_size(a.image, ec)) + " bytes); a disk is grown, never cut\n  hint: "
                       "leave --disk-size out to keep the image's size, or give more, e.g. --disk-size 20GiB");
  }
  if (!a.ssh_key.empty()) {
    const std::string line = first_line(a.ssh_key);
    if (line.rfind("ssh-", 0) != 0 && line.rfind("ecdsa-", 0) != 0 && line.rfind("sk-", 0) != 0)
      throw InputError("--ssh-key '" + a.ssh_key + "' is not an OpenSSH public key\n  hint: give the .pub file, e.g. "
                       "--ssh-key ~/.ssh/id_ed25519.pub");
  }
  if (!a.user_data.empty() && !fs::is_regular_file(a.user_data, ec))
    throw InputError("--user-data '" + a.user_data + "' is not a file");
}

std::string make_cloud_image_vm(const CreateOptions& a, const std::string& engine, const fs::path& dir,
                                const std::function<void(const std::string&)>& say) {
  const fs::path disk = dir / "disk.img";
  say("copying " + a.image + " into the VM");
  const auto copied = kernel::copy_file_cow(a.image, disk);
  if (!a.disk_size.empty()) kernel::resize_file(disk, *kernel::parse_size(a.disk_size));
  say(std::string("made disk.img (") + kernel::to_string(copied.method) + ")");

  // The key: made for this VM, or the one given.
  std::string public_key;
  if (a.ssh_key.empty()) {
    if (kernel::find_program("ssh-keygen").empty())
      throw std::runtime_error("making the VM's SSH key needs ssh-keygen (Debian package openssh-client); or give "
                               "your own with --ssh-key ~/.ssh/id_ed25519.pub");
    const auto r = kernel::run_child({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vzkit@" + a.name, "-f",
                                      (dir / "ssh_key").string()});
    if (!r.ok()) throw std::runtime_error("ssh-keygen failed: " + r.describe() + " " + r.err);
    fs::permissions(dir / "ssh_key", fs::perms::owner_read | fs::perms::owner_write);
    public_key = first_line(dir / "ssh_key.pub");
  } else {
    public_key = first_line(a.ssh_key);
  }

  json::object cloud_init{{"plugin", "cloud-init"}, {"user", a.user}, {"ssh_authorized_keys", json::array{public_key}},
                          {"hostname", a.name}};
  if (!a.user_data.empty()) {
    fs::copy_file(a.user_data, dir / "user-data");
    cloud_init["user_data"] = "user-data";
  }
  json::array devices;
  const std::string console = engine == "vz" ? "hvc0" : "ttyS0";
  if (kind_of(disk) == ImageKind::ext4) {
    const std::string version = extract_kernel(disk, dir, "--image '" + a.image + "'");
    say("boots the image's kernel " + version);
    devices.push_back(json::object{{"plugin", "linux-boot"},
                                   {"kernel", "vmlinuz"},
                                   {"initrd", "initrd.img"},
                                   {"command_line", "root=/dev/vda rw console=" + console}});
  } else {
    devices.push_back(json::object{{"plugin", "efi-boot"}});
  }
  devices.push_back(json::object{{"plugin", "virtio-blk"}, {"path", "disk.img"}});  // the first disk: /dev/vda
  devices.push_back(cloud_init);
  json::object network{{"plugin", "network"}};
  if (engine == "qemu") network["forwards"] = json::array{json::object{{"host_port", 0}, {"guest_port", 22}}};
  devices.push_back(network);
  devices.push_back(json::object{{"plugin", "guest-agent"}});
  devices.push_back(json::object{{"plugin", "serial-console"}});
  devices.push_back(json::object{{"plugin", "entropy"}});
  return kernel::pretty_json(json::object{{"name", a.name}, {"cpus", a.cpus}, {"memory", a.memory}, {"devices", devices}});
}

}  // namespace vzkit::host::detail
