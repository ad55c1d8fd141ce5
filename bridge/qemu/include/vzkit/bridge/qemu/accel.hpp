// Choosing QEMU's accelerator: KVM only when it demonstrably works, else TCG.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace vzkit::bridge::qemu {

struct AccelChoice {
  std::string accel;    ///< "kvm" or "tcg"
  std::string warning;  ///< set when "auto" fell back to TCG, saying why
};

/// `requested` is "auto", "kvm" or "tcg". "auto" picks KVM when the guest architecture is the
/// host's and a probe guest runs under KVM (on x86_64: a boot sector that enters long mode,
/// runs a memory-writing loop, and reports through isa-debug-exit must make QEMU exit within
/// `timeout`; TCG needs about 0.4 s for it); otherwise TCG, with a warning.
AccelChoice choose_accelerator(const std::string& requested, const std::string& guest_arch,
                               std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

/// The same, remembering the answer of "auto" in `cache_file` for as long as the host stays up
/// (keyed by the kernel's boot id), so only the first run after a host boot pays for the probe.
AccelChoice choose_accelerator(const std::string& requested, const std::string& guest_arch,
                               const std::filesystem::path& cache_file,
                               std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

/// Runs the probe guest with `accel`. Returns "" when it behaved, else what went wrong.
std::string probe_accelerator(const std::string& accel, std::chrono::milliseconds timeout);

}  // namespace vzkit::bridge::qemu
