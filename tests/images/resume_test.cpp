// A chunk whose download drops midway continues from the byte it reached, within the same pull
// (images/src/transfer.cpp): against an in-process registry that cuts the first download of the
// disk chunk short, the second request asks for the rest with a Range, and the disk assembled
// (through the same SHA-256 and LZ4 decoder state) is the one pushed. A registry that ignores
// Range and answers 200 with the whole blob gives the same disk.
#include <vzkit/images/digest.hpp>
#include <vzkit/images/format.hpp>
#include <vzkit/images/lz4_container.hpp>
#include <vzkit/images/registry.hpp>
#include <vzkit/images/store.hpp>
#include <vzkit/images/transfer.hpp>

#include "fake_http.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>

namespace {

using namespace vzkit::images;
using vzkit::images::testing::FakeHttp;
namespace fs = std::filesystem;

// An image of one disk chunk (LZ4, about 1 MiB of random bytes with zeros between) in a registry
// that drops the first download of that chunk after `cut` bytes.
class DroppingRegistry {
 public:
  DroppingRegistry(bool honour_range) : m_honour_range(honour_range) {
    std::mt19937 rng(7);
    disk.assign(3u << 19, '\0');
    for (std::size_t i = 0; i < disk.size(); ++i)
      if ((i / 65536) % 3 != 1) disk[i] = static_cast<char>(rng());
    chunk = lz4_encode(disk);
    cut = chunk.size() / 2 + 12345;  // in the middle of an LZ4 block
    Manifest m;
    auto layer = [&](const std::string& data, const std::string& type) {
      Descriptor d{type, sha256_digest(data), data.size(), {}};
      blobs[d.digest] = data;
      return d;
    };
    const auto spec = boost::json::parse(R"({"cpus": 1, "memory": "256MiB", "devices": []})").as_object();
    m.config = layer(R"({"architecture":"amd64","os":"linux"})", kOciConfig);
    m.layers.push_back(layer(tart_config_for(spec, "linux", "amd64", "02:00:00:00:00:01"), kTartConfig));
    auto d = layer(chunk, kTartDisk);
    d.annotations = {{kTartUncompressedSize, std::to_string(disk.size())},
                     {kTartUncompressedDigest, sha256_digest(disk)}};
    chunk_digest = d.digest;
    m.layers.push_back(d);
    auto s = layer(boost::json::serialize(spec), kVzkitSpec);
    s.annotations = {{kVzkitEngine, "qemu"}};
    m.layers.push_back(s);
    manifest = m.text();
  }
  std::string addr() const { return m_http.addr(); }

  std::string disk, chunk, chunk_digest, manifest;
  std::size_t cut = 0;
  std::map<std::string, std::string> blobs;
  std::mutex mutex;
  std::vector<std::string> chunk_ranges;  ///< the Range of each request for the chunk ("" for none)

 private:
  FakeHttp::Reply answer(const FakeHttp::Request& r) {
    if (r.target == "/v2/team/vm/manifests/v1")
      return {"200 OK", std::string("Content-Type: ") + kOciManifest + "\r\n", manifest};
    const std::string prefix = "/v2/team/vm/blobs/";
    if (r.target.rfind(prefix, 0) != 0 || !blobs.count(r.target.substr(prefix.size()))) return {"404 Not Found", "", ""};
    const auto digest = r.target.substr(prefix.size());
    const auto& data = blobs[digest];
    if (digest != chunk_digest) return {"200 OK", "", data};
    std::lock_guard lock(mutex);
    const auto range = r.header("range");
    chunk_ranges.push_back(range);
    if (chunk_ranges.size() == 1) {
      FakeHttp::Reply cut_short{"200 OK", "", data};
      cut_short.send_only = cut;
      return cut_short;
    }
    if (!m_honour_range || range.rfind("bytes=", 0) != 0) return {"200 OK", "", data};
    const std::size_t from = std::stoull(range.substr(6));
    return {"206 Partial Content",
            "Content-Range: bytes " + std::to_string(from) + "-" + std::to_string(data.size() - 1) + "/" +
                std::to_string(data.size()) + "\r\n",
            data.substr(from)};
  }

  bool m_honour_range;
  FakeHttp m_http{[this](const FakeHttp::Request& r) { return answer(r); }};
};

std::string read(const fs::path& p) {
  std::stringstream ss;
  ss << std::ifstream(p, std::ios::binary).rdbuf();
  return ss.str();
}

struct Pulled {
  PulledImage img;
  std::vector<std::string> retries;
};

Pulled pull_from(DroppingRegistry& reg, const fs::path& root) {
  fs::remove_all(root);
  Pulled out;
  TransferOptions o;
  o.insecure = true;
  o.jobs = 1;
  std::mutex m;
  o.progress = [&](const TransferEvent& e) {
    std::lock_guard lock(m);
    if (e.kind == "retry") out.retries.push_back(e.message);
  };
  out.img = pull(Store(root), reg.addr() + "/team/vm:v1", o);
  return out;
}

TEST(PullResume, ADroppedChunkContinuesWithARange) {
  DroppingRegistry reg(true);
  const auto root = fs::temp_directory_path() / ("vzkit-resume-" + std::to_string(::getpid()));
  const auto p = pull_from(reg, root);
  ASSERT_EQ(reg.chunk_ranges.size(), 2u);
  EXPECT_EQ(reg.chunk_ranges[0], "");
  EXPECT_EQ(reg.chunk_ranges[1], "bytes=" + std::to_string(reg.cut) + "-");
  ASSERT_EQ(p.retries.size(), 1u);
  EXPECT_NE(p.retries[0].find("continues from byte " + std::to_string(reg.cut)), std::string::npos) << p.retries[0];
  EXPECT_EQ(p.img.downloaded, reg.chunk.size());  // nothing fetched twice
  ASSERT_TRUE(p.img.files.count("disk.img"));
  EXPECT_TRUE(read(p.img.files.at("disk.img")) == reg.disk) << "the assembled disk differs";
  fs::remove_all(root);
}

TEST(PullResume, ARegistryThatIgnoresRangeGivesTheSameDisk) {
  DroppingRegistry reg(false);
  const auto root = fs::temp_directory_path() / ("vzkit-resume200-" + std::to_string(::getpid()));
  const auto p = pull_from(reg, root);
  ASSERT_EQ(reg.chunk_ranges.size(), 2u);
  EXPECT_EQ(reg.chunk_ranges[1], "bytes=" + std::to_string(reg.cut) + "-");  // asked, answered with 200
  ASSERT_TRUE(p.img.files.count("disk.img"));
  EXPECT_TRUE(read(p.img.files.at("disk.img")) == reg.disk) << "the assembled disk differs";
  fs::remove_all(root);
}

}  // namespace
