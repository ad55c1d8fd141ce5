// Saving and restoring a QEMU machine's state with migration to and from a file. QEMU 7.2 has no
// file: migration URI (it came in 8.2), so the file is opened here and handed to QEMU over QMP
// (getfd, SCM_RIGHTS) and migrated with `migrate uri=fd:NAME`; a restore starts QEMU with the same
// command line plus `-incoming defer` and runs `migrate-incoming uri=fd:NAME`.
#pragma once

#include <vzkit/bridge/qemu/qmp_client.hpp>
#include <vzkit/machine.hpp>
#include <vzkit/qemu/machine.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace vzkit::bridge::qemu {

/// The plan entries QEMU's migration blockers (query-migrate "blocked-reasons", e.g.
/// "non-migratable device: 0000:00:01.0/vhost-user-fs" or "The vdagent chardev doesn't yet support
/// migration") name: an entry whose id, driver or type the reason mentions gives its origin's path.
/// One blocker per reason, with an empty path when no entry matches.
std::vector<Machine::SaveBlocker> map_blockers(const vzkit::qemu::Machine& plan,
                                               const std::vector<std::string>& reasons);

/// Asks a connected QEMU what blocks migration (touches nothing).
void check_migration(QmpClient& qmp, const vzkit::qemu::Machine& plan, Machine::SaveCheck done);

/// Migrates the stopped machine on `qmp` into `file` (created, must not exist, mode 0600),
/// without bandwidth limit, polling for progress every `poll` until QEMU reports completion; then
/// flushes the file. On failure the file is removed and `done` gets QEMU's reason.
void migrate_to_file(boost::asio::io_context& io, QmpClient& qmp, const std::string& file,
                     Machine::SaveProgress progress, Completion done,
                     std::chrono::milliseconds poll = std::chrono::milliseconds(20));

/// Feeds `file` to a QEMU started with `-incoming defer` and waits until it has loaded it (QEMU
/// status leaves "inmigrate"). QEMU exits by itself when the state does not fit its machine.
void migrate_from_file(boost::asio::io_context& io, QmpClient& qmp, const std::string& file, Completion done,
                       std::chrono::milliseconds poll = std::chrono::milliseconds(10));

}  // namespace vzkit::bridge::qemu
