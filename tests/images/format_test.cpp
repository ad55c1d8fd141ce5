// The image format (images/include/vzkit/images/format.hpp): manifests as tart writes them are
// sorted into files, bad ones are refused with the layer's path, and tart's VM config maps to a
// vzkit spec and back.
#include <vzkit/images/auth.hpp>
#include <vzkit/images/digest.hpp>
#include <vzkit/images/format.hpp>
#include <vzkit/images/reference.hpp>

#include <boost/json.hpp>
#include "error_of.hpp"

#include <gtest/gtest.h>

namespace {

using namespace vzkit::images;
namespace json = boost::json;

std::string d(char c) { return "sha256:" + std::string(64, c); }

Descriptor chunk(char c, std::uint64_t size, std::uint64_t plain) {
  return {kTartDisk, d(c), size, {{kTartUncompressedSize, std::to_string(plain)}, {kTartUncompressedDigest, d('f')}}};
}

// A manifest shaped as tart pushes one (VMDirectory+OCI.swift): config, disk chunks, NVRAM.
Manifest tart_manifest() {
  Manifest m;
  m.config = {kOciConfig, d('0'), 100, {}};
  m.layers = {{kTartConfig, d('1'), 300, {}}, chunk('2', 1000, 512u << 20), chunk('3', 900, 512u << 20),
              chunk('4', 10, 100u << 20), {kTartNvram, d('5'), 131072, {}}};
  m.annotations = {{kTartUncompressedDiskSize, std::to_string(1124u << 20)}, {kTartUploadTime, "2024-01-01T00:00:00Z"}};
  return m;
}

using vzkit::images::testing::error_of;

TEST(ImageFormat, ManifestTextRoundTrips) {
  const auto m = tart_manifest();
  const auto text = m.text();
  const auto v = json::parse(text).as_object();
  EXPECT_EQ(v.at("schemaVersion"), 2);
  EXPECT_EQ(v.at("mediaType"), "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(v.at("layers").as_array()[1].at("annotations").at("org.cirruslabs.tart.uncompressed-size"), "536870912");
  const auto back = Manifest::parse(text, "r/x:1");
  EXPECT_EQ(back.text(), text);
  EXPECT_EQ(back.layers.size(), 5u);
}

TEST(ImageFormat, LayoutOfATartImage) {
  const auto l = layout_of(tart_manifest(), "r/x:1");
  EXPECT_EQ(l.tart_config_digest, d('1'));
  EXPECT_TRUE(l.spec_digest.empty());
  ASSERT_EQ(l.files.size(), 2u);
  EXPECT_EQ(l.files[0].name, "disk.img");
  EXPECT_EQ(l.files[0].kind, ImageFile::Kind::disk);
  EXPECT_EQ(l.files[0].chunks.size(), 3u);
  EXPECT_EQ(l.files[0].size, (1124ull << 20));
  EXPECT_EQ(l.files[1].name, "nvram.bin");
  EXPECT_EQ(l.files[1].size, 131072u);
  EXPECT_EQ(l.compressed_size, 300u + 1000 + 900 + 10 + 131072);
  // The store key depends on the chunks, not on the name.
  auto renamed = l.files[0];
  renamed.name = "other.img";
  EXPECT_EQ(renamed.key(), l.files[0].key());
  EXPECT_TRUE(valid_digest(l.files[0].key()));
}

TEST(ImageFormat, VzkitLayersNameTheirFiles) {
  auto m = tart_manifest();
  m.layers.push_back({kVzkitSpec, d('6'), 50, {{kVzkitEngine, "qemu"}}});
  m.layers.push_back({kVzkitFile, d('7'), 50, {{kTartUncompressedSize, "4096"}, {kVzkitFileName, "vmlinuz"}}});
  m.layers.push_back({kVzkitFile, d('8'), 50, {{kTartUncompressedSize, "10"}, {kVzkitFileName, "vmlinuz"}}});
  m.layers.push_back({"application/x-someone-else", d('9'), 5, {}});
  const auto l = layout_of(m, "r/x:1");
  EXPECT_EQ(l.spec_digest, d('6'));
  EXPECT_EQ(l.engine, "qemu");
  ASSERT_EQ(l.files.size(), 3u);
  EXPECT_EQ(l.files[2].name, "vmlinuz");
  EXPECT_EQ(l.files[2].size, 4106u);
  EXPECT_EQ(l.files[2].chunks.size(), 2u);
}

TEST(ImageFormat, RefusesWhatItCannotRead) {
  auto m = tart_manifest();
  m.layers[2].annotations.erase(kTartUncompressedSize);
  EXPECT_NE(error_of([&] { layout_of(m, "r/x:1"); })
                .find("r/x:1: layers[2].annotations.org.cirruslabs.tart.uncompressed-size: missing"),
            std::string::npos);
  m = tart_manifest();
  m.layers[1].media_type = kTartDiskV1;
  EXPECT_NE(error_of([&] { layout_of(m, "r/x:1"); }).find("legacy"), std::string::npos);
  m = tart_manifest();
  m.layers.erase(m.layers.begin());
  EXPECT_NE(error_of([&] { layout_of(m, "r/x:1"); }).find("has no VM config layer"), std::string::npos);
  m = tart_manifest();
  m.layers.push_back({kVzkitFile, d('7'), 5, {{kTartUncompressedSize, "1"}, {kVzkitFileName, "../../etc/passwd"}}});
  EXPECT_NE(error_of([&] { layout_of(m, "r/x:1"); }).find("is not a plain file name"), std::string::npos);
  EXPECT_NE(error_of([] { Manifest::parse(R"({"schemaVersion": 2, "config": {}, "layers": []})", "r/x:1"); })
                .find("config.mediaType"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              Manifest::parse(R"({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                                  "manifests": []})", "r/x:1");
            }).find("image index"),
            std::string::npos);
}

TEST(ImageFormat, TartConfigFromASpec) {
  const auto spec = json::parse(R"({"name": "web", "cpus": 3, "memory": "2GiB", "devices": [
      {"plugin": "virtio-gpu", "width": 1280, "height": 720}, {"plugin": "network", "mac": "02:00:00:00:00:01"}]})")
                        .as_object();
  const auto c = json::parse(tart_config_for(spec, "linux", "amd64", "02:00:00:00:00:01")).as_object();
  EXPECT_EQ(c.at("version"), 1);
  EXPECT_EQ(c.at("os"), "linux");
  EXPECT_EQ(c.at("arch"), "amd64");
  EXPECT_EQ(c.at("cpuCount"), 3);
  EXPECT_EQ(c.at("cpuCountMin"), 3);
  EXPECT_EQ(c.at("memorySize").to_number<std::uint64_t>(), 2ull << 30);
  EXPECT_EQ(c.at("macAddress"), "02:00:00:00:00:01");
  EXPECT_EQ(c.at("display").at("width"), 1280);
  EXPECT_EQ(c.at("diskFormat"), "raw");
  EXPECT_FALSE(c.contains("ecid"));
}

TEST(ImageFormat, SpecFromATartConfig) {
  // As tart's VMConfig.encode writes a macOS VM's config.
  const std::string model = base64_encode("hardware-model-bytes");
  const std::string config = R"({"version":1,"os":"darwin","arch":"arm64","cpuCountMin":4,"cpuCount":6,
      "memorySizeMin":8589934592,"memorySize":17179869184,"macAddress":"7e:1b:2c:3d:4e:5f",
      "display":{"width":1920,"height":1200},"diskFormat":"raw","ecid":"AAAA","hardwareModel":")" + model + R"("})";
  const auto vm = vm_from_tart_config(config, "mac", "ghcr.io/x/y:1");
  EXPECT_EQ(vm.os, "darwin");
  EXPECT_EQ(vm.hardware_model, "hardware-model-bytes");
  EXPECT_EQ(vm.spec.at("cpus"), 6);
  EXPECT_EQ(vm.spec.at("memory"), "16384MiB");
  const auto& devices = vm.spec.at("devices").as_array();
  auto find = [&](const std::string& plugin) -> const json::object* {
    for (const auto& dv : devices)
      if (dv.at("plugin") == plugin.c_str()) return &dv.as_object();
    return nullptr;
  };
  ASSERT_TRUE(find("mac-platform"));
  EXPECT_EQ(find("mac-platform")->at("auxiliary_storage"), "nvram.bin");
  ASSERT_TRUE(find("mac-graphics"));
  EXPECT_EQ(find("mac-graphics")->at("width"), 1920);
  EXPECT_EQ(find("virtio-blk")->at("path"), "disk.img");
  EXPECT_EQ(find("network")->at("mac"), "7e:1b:2c:3d:4e:5f");

  const auto linux_vm = vm_from_tart_config(
      R"({"version":1,"os":"linux","arch":"arm64","cpuCountMin":2,"cpuCount":2,"memorySizeMin":4294967296,
          "memorySize":4294967296,"macAddress":"7e:00:00:00:00:01"})", "deb", "x");
  EXPECT_EQ(linux_vm.spec.at("devices").as_array()[0].at("plugin"), "efi-boot");
  EXPECT_EQ(linux_vm.spec.at("devices").as_array()[0].at("variable_store"), "nvram.bin");

  EXPECT_NE(error_of([] { vm_from_tart_config(R"({"version":1,"os":"linux","cpuCount":2})", "x", "r/x:1"); })
                .find("r/x:1: tart config: memorySize: missing"),
            std::string::npos);
}

TEST(ImageReference, Parses) {
  auto r = parse_reference("ghcr.io/cirruslabs/macos-sequoia-base:latest");
  EXPECT_EQ(r.registry, "ghcr.io");
  EXPECT_EQ(r.repository, "cirruslabs/macos-sequoia-base");
  EXPECT_EQ(r.tag, "latest");
  r = parse_reference("127.0.0.1:5000/demo");
  EXPECT_EQ(r.registry, "127.0.0.1:5000");
  EXPECT_EQ(r.tag, "latest");
  EXPECT_TRUE(r.is_local());
  r = parse_reference("debian");
  EXPECT_EQ(r.registry, "docker.io");
  EXPECT_EQ(r.repository, "library/debian");
  EXPECT_EQ(r.api_host(), "registry-1.docker.io");
  r = parse_reference("localhost/a/b@" + d('a'));
  EXPECT_EQ(r.registry, "localhost");
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.version(), d('a'));
  EXPECT_NE(error_of([] { parse_reference("127.0.0.1:5000/Demo:v1"); }).find("repository part 'Demo'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_reference("r.io/x@sha256:12"); }).find("digest"), std::string::npos);
  EXPECT_TRUE(looks_like_reference("r.io/x"));
  EXPECT_FALSE(looks_like_reference("web"));
}

}  // namespace
