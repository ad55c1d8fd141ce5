// Saved states on disk (kernel/saved_state.hpp), QEMU's migration blockers mapped to devices
// (bridge/qemu/migration.hpp) and per-engine save_restore in manifests.
#include <vzkit/bridge/qemu/migration.hpp>
#include <vzkit/kernel/plugin_host.hpp>
#include <vzkit/kernel/saved_state.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace q = vzkit::qemu;
using namespace vzkit::kernel;

struct TempDir {
  fs::path dir = fs::temp_directory_path() / ("vzkit-suspend-test-" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(dir); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

q::Machine plan_with_share_and_clipboard() {
  q::Machine m;
  m.devices.push_back({"virtio-blk-pci", {{"drive", "disk1"}}, q::Origin{"virtio-blk", "devices[1]"}});
  m.devices.push_back({"vhost-user-fs-pci", {{"chardev", "fs2"}, {"tag", "host"}}, q::Origin{"virtiofs", "devices[2]"}});
  m.chardevs.push_back({"qemu-vdagent", {{"id", "vdagent3"}}, q::Origin{"clipboard", "devices[3]"}});
  return m;
}

TEST(MigrationBlockers, NameTheDeviceQemuBlamesByDriverOrChardev) {
  const auto b = vzkit::bridge::qemu::map_blockers(
      plan_with_share_and_clipboard(),
      {"non-migratable device: 0000:00:01.0/vhost-user-fs", "The vdagent chardev doesn't yet support migration",
       "some reason naming nothing"});
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].path, "devices[2]");
  EXPECT_EQ(b[1].path, "devices[3]");
  EXPECT_EQ(b[2].path, "") << "a reason that names no entry keeps its text without a path";
  EXPECT_EQ(b[2].reason, "some reason naming nothing");
}

TEST(MigrationBlockers, AWordInsideAnotherIsNotAMatch) {
  // "virtio-blk" must not match inside "vhost-virtio-blkx", nor "fs" in every reason.
  const auto b = vzkit::bridge::qemu::map_blockers(plan_with_share_and_clipboard(), {"device vhost-virtio-blkx is odd"});
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].path, "");
}

json::value plan_in(const std::string& dir, int memory) {
  return json::object{{"memory_mib", memory},
                      {"blockdevs", json::array{json::object{
                                        {"type", "file"},
                                        {"properties", json::object{{"filename", dir + "/disk.img"}}},
                                        {"origin", json::object{{"plugin", "virtio-blk"}, {"path", "devices[1]"}}}}}}};
}

TEST(PlanDigest, SurvivesAMoveOfTheVmFolderButNotAChange) {
  const auto a = plan_digest(plan_in("/home/u/.vzkit/vms/web", 512), "/home/u/.vzkit/vms/web");
  EXPECT_EQ(a.size(), 40u);
  EXPECT_EQ(a, plan_digest(plan_in("/srv/vms/web", 512), "/srv/vms/web")) << "the folder is written as $BUNDLE";
  EXPECT_NE(a, plan_digest(plan_in("/home/u/.vzkit/vms/web", 640), "/home/u/.vzkit/vms/web"));
  EXPECT_NE(a, plan_digest(plan_in("/elsewhere", 512), "/home/u/.vzkit/vms/web")) << "a disk outside it counts";
}

TEST(PlanChanges, SayWhatChangedAsAUserReadsIt) {
  const std::string dir = "/v/web";
  auto before = plan_in(dir, 512);
  auto after = plan_in(dir, 640);
  auto changes = plan_changes(before, after, dir);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], "memory_mib: 512, now 640");

  after = plan_in(dir, 512);
  after.as_object()["blockdevs"].as_array()[0].as_object()["properties"].as_object()["filename"] = "/v/web/other.img";
  changes = plan_changes(before, after, dir);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], "blockdevs[0] file (virtio-blk at devices[1]).properties.filename: $BUNDLE/disk.img, now "
                        "$BUNDLE/other.img");

  after = plan_in(dir, 512);
  after.as_object()["devices"] = json::array{json::object{
      {"driver", "vhost-user-fs-pci"}, {"origin", json::object{{"plugin", "virtiofs"}, {"path", "devices[2]"}}}}};
  changes = plan_changes(before, after, dir);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0], "devices: vhost-user-fs-pci (virtiofs at devices[2]) added");
}

TEST(SavedState, IsCompleteOnlyOnceCommittedAndWhole) {
  TempDir t;
  const fs::path final_dir = t.dir / "suspended";
  const fs::path partial = begin_partial(final_dir);
  EXPECT_EQ(partial.filename().string(), ".suspended.partial-" + std::to_string(::getpid()));
  write(partial / kStateFile, std::string(4096, 'x'));
  EXPECT_FALSE(read_saved_state(final_dir)) << "nothing before the commit";
  EXPECT_FALSE(read_saved_state(partial)) << "a partial folder has no meta yet";
  commit_partial(partial, final_dir, json::object{{"engine", "qemu"}, {"digest", "d"}}, json::object{{"memory_mib", 1}});
  EXPECT_FALSE(fs::exists(partial));
  const auto meta = read_saved_state(final_dir);
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->at("state_bytes").to_number<std::uint64_t>(), 4096u);
  EXPECT_TRUE(fs::is_regular_file(final_dir / kStatePlan));

  // A state file of another size than recorded (cut short) is not a state.
  fs::resize_file(final_dir / kStateFile, 100);
  EXPECT_FALSE(read_saved_state(final_dir));

  // A second commit replaces the first whole.
  const fs::path again = begin_partial(final_dir);
  write(again / kStateFile, "yy");
  commit_partial(again, final_dir, json::object{{"engine", "qemu"}}, nullptr);
  ASSERT_TRUE(read_saved_state(final_dir));
  EXPECT_EQ(fs::file_size(final_dir / kStateFile), 2u);
}

TEST(SavedState, LeftoversOfDeadWritersAreRemovedLiveOnesKept) {
  TempDir t;
  fs::create_directories(t.dir / ".suspended.partial-999999999");  // no such process
  fs::create_directories(t.dir / ".suspended.old-999999998");
  const fs::path mine = begin_partial(t.dir / "suspended");  // this process: being written
  fs::create_directories(t.dir / "suspended-not-a-partial");
  remove_partials(t.dir);
  EXPECT_FALSE(fs::exists(t.dir / ".suspended.partial-999999999"));
  EXPECT_FALSE(fs::exists(t.dir / ".suspended.old-999999998"));
  EXPECT_TRUE(fs::exists(t.dir / "suspended-not-a-partial"));
  // The caller's own folder, being written, stays unless everything is to go (the VM's lock is held).
  EXPECT_TRUE(fs::exists(mine));
  remove_partials(t.dir, true);
  EXPECT_FALSE(fs::exists(mine));
}

TEST(ManifestSaveRestore, IsPerEngine) {
  const std::string base = R"({"name": "p", "version": "1.0.0", "summary": "s", "engines": ["vz", "qemu"],
                               "schema": {"type": "object"}, )";
  auto m = parse_manifest(base + R"("save_restore": {"qemu": false, "vz": true},
                                   "save_restore_notes": {"qemu": "a blocker"}})");
  EXPECT_FALSE(m.saves_on("qemu"));
  EXPECT_TRUE(m.saves_on("vz"));
  EXPECT_FALSE(m.save_restore) << "not on every engine";
  EXPECT_EQ(m.save_restore_notes.at("qemu"), "a blocker");
  m = parse_manifest(base + R"("save_restore": false})");
  EXPECT_FALSE(m.saves_on("vz"));
  EXPECT_FALSE(m.saves_on("qemu"));
  m = parse_manifest(base + R"("save_restore": true})");
  EXPECT_TRUE(m.saves_on("qemu"));
  EXPECT_THROW(parse_manifest(base + R"("save_restore": {"qemu": "yes"}})"), std::invalid_argument);
}

}  // namespace
