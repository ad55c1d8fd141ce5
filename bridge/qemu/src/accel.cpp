#include <vzkit/bridge/qemu/accel.hpp>
#include <vzkit/kernel/validate.hpp>

#include <vzkit/kernel/subprocess.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <vector>
#include <filesystem>
#include <fstream>

namespace vzkit::bridge::qemu {

namespace fs = std::filesystem;

namespace {

// The probe guest: a boot sector (source and build recipe in accel_probe.S) that switches to
// long mode with paging, runs a loop that writes memory 50 million times, then writes 0x21 to
// isa-debug-exit, which makes QEMU exit with status (0x21 << 1) | 1 = 67. A plain HLT is not
// enough: on hosts where KVM "hangs" guests, real-mode code runs and the trouble starts later.
constexpr int kProbeExit = (0x21 << 1) | 1;
constexpr unsigned char kProbeCode[] = {
    0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xc0, 0xbf, 0x00, 0x10, 0xb9, 0x00, 0x18, 0x66, 0x31, 0xc0, 0xf3, 0xab,
    0x66, 0xc7, 0x06, 0x00, 0x10, 0x03, 0x20, 0x00, 0x00, 0x66, 0xc7, 0x06, 0x00, 0x20, 0x03, 0x30, 0x00, 0x00,
    0x66, 0xc7, 0x06, 0x00, 0x30, 0x83, 0x00, 0x00, 0x00, 0x0f, 0x01, 0x16, 0xb8, 0x7c, 0x0f, 0x20, 0xc0, 0x0c,
    0x01, 0x0f, 0x22, 0xc0, 0xea, 0x3f, 0x7c, 0x08, 0x00, 0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xd0, 0x0f,
    0x20, 0xe0, 0x83, 0xc8, 0x20, 0x0f, 0x22, 0xe0, 0xb8, 0x00, 0x10, 0x00, 0x00, 0x0f, 0x22, 0xd8, 0xb9, 0x80,
    0x00, 0x00, 0xc0, 0x0f, 0x32, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x0f, 0x30, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00,
    0x00, 0x80, 0x0f, 0x22, 0xc0, 0xea, 0x78, 0x7c, 0x00, 0x00, 0x18, 0x00, 0x48, 0xc7, 0xc1, 0x80, 0xf0, 0xfa,
    0x02, 0x48, 0x89, 0x0c, 0x25, 0x00, 0x40, 0x00, 0x00, 0x48, 0xff, 0xc9, 0x75, 0xf3, 0xb0, 0x21, 0xe6, 0xf4,
    0xf4, 0xeb, 0xfd, 0x8d, 0x74, 0x26, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
    0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00, 0xff, 0xff, 0x00, 0x00,
    0x00, 0x9a, 0xaf, 0x00, 0x1f, 0x00, 0x98, 0x7c};

// SeaBIOS does not boot a disk of one sector on q35: the image is padded to 1 MiB (sparse).
fs::path write_probe_image() {
  std::vector<char> sector(512, 0);
  std::copy(std::begin(kProbeCode), std::end(kProbeCode), sector.begin());
  sector[510] = static_cast<char>(0x55);
  sector[511] = static_cast<char>(0xAA);
  fs::path p = fs::temp_directory_path() / ("vzkit-accel-probe-" + std::to_string(::getpid()) + ".img");
  { std::ofstream(p, std::ios::binary).write(sector.data(), static_cast<std::streamsize>(sector.size())); }
  fs::resize_file(p, 1u << 20);
  return p;
}

}  // namespace

std::string probe_accelerator(const std::string& accel, std::chrono::milliseconds timeout) {
  const fs::path image = write_probe_image();
  std::string result;
  kernel::ChildOptions how;
  how.out = how.err = kernel::Output::discard;
  how.timeout = timeout;
  const auto c = kernel::run_child({"qemu-system-x86_64", "-machine", "q35,accel=" + accel, "-cpu",
                                    accel == "kvm" ? "host" : "qemu64", "-nodefaults", "-no-user-config", "-display",
                                    "none", "-m", "64", "-drive", "file=" + image.string() + ",format=raw,if=ide",
                                    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"},
                                   how);
  if (!c.started)
    result = "cannot run qemu-system-x86_64: " + c.start_error;
  else if (c.timed_out)
    result = "a test guest did not finish within " + std::to_string(timeout.count()) + " ms under " + accel;
  else if (c.signal != 0 || c.exit_code != kProbeExit)
    result = "a test guest failed under " + accel + " (QEMU " + c.describe() + ")";
  std::error_code ec;
  fs::remove(image, ec);
  return result;
}

namespace {
// Identifies this boot of the host; empty where unknown (then nothing is cached).
std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");  // Linux
  std::string id;
  std::getline(in, id);
  return id;
}
}  // namespace

AccelChoice choose_accelerator(const std::string& requested, const std::string& guest_arch,
                               const std::filesystem::path& cache_file, std::chrono::milliseconds timeout) {
  if (requested != "auto" || cache_file.empty()) return choose_accelerator(requested, guest_arch, timeout);
  // Whether KVM works does not change while the host stays up: remember the answer per boot.
  const std::string boot = boot_id();
  if (boot.empty()) return choose_accelerator(requested, guest_arch, timeout);
  const std::string key = boot + " " + guest_arch;
  {
    std::ifstream in(cache_file);
    std::string cached_key, accel, warning;
    if (in && std::getline(in, cached_key) && std::getline(in, accel) && cached_key == key &&
        (accel == "kvm" || accel == "tcg")) {
      std::getline(in, warning);
      return {accel, warning};
    }
  }
  AccelChoice choice = choose_accelerator(requested, guest_arch, timeout);
  std::error_code ec;
  fs::create_directories(cache_file.parent_path(), ec);
  const fs::path tmp = cache_file.string() + ".tmp";
  { std::ofstream(tmp) << key << "\n" << choice.accel << "\n" << choice.warning << "\n"; }
  fs::rename(tmp, cache_file, ec);
  return choice;
}

AccelChoice choose_accelerator(const std::string& requested, const std::string& guest_arch,
                               std::chrono::milliseconds timeout) {
  if (requested == "tcg" || requested == "kvm") return {requested, {}};
  if (guest_arch != kernel::host_arch()) return {"tcg", {}};  // no hardware help across architectures
  const int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) return {"tcg", "KVM is not available (/dev/kvm cannot be opened); using TCG, which is much slower"};
  ::close(fd);
  if (guest_arch != "x86_64") return {"kvm", {}};
  if (auto why = probe_accelerator("kvm", timeout); !why.empty())
    return {"tcg", "KVM does not work on this host (" + why + "); using TCG, which is much slower. Pass --accel kvm to insist"};
  return {"kvm", {}};
}

}  // namespace vzkit::bridge::qemu
