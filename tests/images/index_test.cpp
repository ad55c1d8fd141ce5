// Image indexes (images/include/vzkit/images/index.hpp): which manifest a pull takes for a
// platform, and the errors for an index without one.
#include <vzkit/images/index.hpp>
#include <vzkit/images/registry.hpp>

#include "error_of.hpp"

#include <gtest/gtest.h>

namespace {

using namespace vzkit::images;

std::string entry(char hex, const std::string& type, const std::string& platform) {
  return R"({"mediaType": ")" + type + R"(", "digest": "sha256:)" + std::string(64, hex) + R"(", "size": 10)" +
         (platform.empty() ? "" : R"(, "platform": )" + platform) + "}";
}

const std::string kIndex = std::string(R"({"schemaVersion": 2, "mediaType": ")") + kOciIndex + R"(", "manifests": [)" +
                           entry('a', kOciIndex, R"({"os": "linux", "architecture": "amd64"})") + "," +
                           entry('b', kOciManifest, R"({"os": "windows", "architecture": "amd64"})") + "," +
                           entry('c', kOciManifest, R"({"os": "linux", "architecture": "arm64", "variant": "v8"})") + "," +
                           entry('d', kDockerManifest, R"({"os": "linux", "architecture": "amd64"})") + "," +
                           entry('e', kOciManifest, "") + "]}";

using vzkit::images::testing::error_of;

TEST(ImageIndex, RecognizedByTypeOrShape) {
  EXPECT_TRUE(is_index(kOciIndex, "{}"));
  EXPECT_TRUE(is_index(kDockerManifestList, "{}"));
  EXPECT_TRUE(is_index("application/json", kIndex));
  EXPECT_TRUE(is_index("", R"({"schemaVersion": 2, "manifests": []})"));
  EXPECT_FALSE(is_index(kOciManifest, R"({"schemaVersion": 2, "layers": []})"));
}

TEST(ImageIndex, ChoosesByPlatform) {
  const auto entries = parse_index(kIndex, "r/x:1");
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_FALSE(entries[4].platform);
  auto pick = [&](const std::string& p) {
    return choose_manifest(entries, parse_platform(p), "r/x:1").manifest.digest.substr(7, 1);
  };
  EXPECT_EQ(pick("linux/amd64"), "d");  // the index inside the index is passed over
  EXPECT_EQ(pick("linux/arm64"), "c");  // any variant
  EXPECT_EQ(pick("linux/arm64/v8"), "c");
  EXPECT_EQ(pick("windows/amd64"), "b");
  const auto def = choose_manifest(entries, std::nullopt, "r/x:1").manifest.digest.substr(7, 1);
  EXPECT_EQ(def, host_oci_arch() == "arm64" ? "c" : "d");
}

TEST(ImageIndex, NoMatchListsWhatIsOffered) {
  const auto entries = parse_index(kIndex, "r/x:1");
  const auto e = error_of([&] { choose_manifest(entries, parse_platform("linux/arm64/v7"), "r/x:1"); });
  EXPECT_NE(e.find("r/x:1: is an image index with no manifest for linux/arm64/v7; it offers windows/amd64, "
                   "linux/arm64/v8, linux/amd64\n  hint: choose one with --platform OS/ARCH"),
            std::string::npos)
      << e;
  EXPECT_NE(error_of([] { parse_platform("linux"); }).find("is not OS/ARCH"), std::string::npos);
  EXPECT_NE(error_of([] { parse_platform("linux/"); }).find("is not OS/ARCH"), std::string::npos);
  EXPECT_NE(error_of([] { parse_index(R"({"schemaVersion": 2, "manifests": [{"mediaType": "x"}]})", "r/x:1"); })
                .find("r/x:1: manifests[0].digest: missing"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              parse_index(std::string(R"({"schemaVersion": 2, "manifests": [)") + entry('a', kOciManifest, R"({"os": "linux"})") + "]}",
                          "r/x:1");
            }).find("r/x:1: manifests[0].platform: needs both os and architecture"),
            std::string::npos);
}

}  // namespace
