// Setting a resumed guest's clock from the host's through the QEMU guest agent (qemu-ga), whose
// channel both engines offer at run/qga.sock when the VM has one. A guest resumed from a saved
// state otherwise believes no time passed while it was saved (docs/suspend.md).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace vzkit::kernel {

/// Synchronises with the agent on `socket` (guest-sync-delimited) and sends guest-set-time with
/// the host's time. Returns "" when the guest took it, else why not. Blocks for at most `timeout`.
std::string set_guest_clock(const std::filesystem::path& socket,
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

}  // namespace vzkit::kernel
