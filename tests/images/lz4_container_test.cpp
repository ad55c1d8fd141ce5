// Apple's LZ4 stream (images/include/vzkit/images/lz4_container.hpp): what vzkit writes decodes,
// blocks refer to the block before them, each block kind Apple documents is read, and damaged
// streams are refused with the offset.
#include <vzkit/images/lz4_container.hpp>

#include <gtest/gtest.h>
#include <lz4.h>

#include <random>
#include <string>

namespace {

using namespace vzkit::images;

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string u32(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

TEST(Lz4Container, RoundTripsAcrossBlockSizes) {
  for (std::size_t n : {std::size_t(0), std::size_t(1), kLz4BlockSize - 1, kLz4BlockSize, kLz4BlockSize + 1,
                        5 * kLz4BlockSize + 17}) {
    const auto data = random_bytes(n, static_cast<unsigned>(n));
    const auto packed = lz4_encode(data);
    EXPECT_EQ(packed.substr(0, n ? 4 : 0), n ? "bv41" : "");
    EXPECT_EQ(packed.substr(packed.size() - 4), "bv4$");
    EXPECT_EQ(lz4_decode(packed), data) << n;
  }
}

TEST(Lz4Container, HeaderCarriesBothSizesLittleEndian) {
  const std::string data(1000, 'a');
  const auto packed = lz4_encode(data);
  EXPECT_EQ(packed.substr(4, 4), u32(1000));
  const std::uint32_t encoded = static_cast<unsigned char>(packed[8]) | static_cast<unsigned char>(packed[9]) << 8;
  EXPECT_EQ(packed.size(), 12 + encoded + 4);  // one block and the end marker
}

TEST(Lz4Container, BlocksReferToTheBlockBefore) {
  // 40 KiB of random bytes twice: the repeat's last 16 KiB fall in the second block and match
  // bytes of the first. They compress only if a block may refer to the one before it, as Apple's
  // format allows (else the stream would be about 56 KiB).
  const auto part = random_bytes(40 * 1024, 7);
  const auto packed = lz4_encode(part + part);
  EXPECT_LT(packed.size(), 44u * 1024);
  EXPECT_EQ(lz4_decode(packed), part + part);
}

TEST(Lz4Container, ZerosCompressToLittle) {
  const std::string zeros(64u << 20, '\0');
  const auto packed = lz4_encode(zeros);
  EXPECT_LT(packed.size(), zeros.size() / 200);
  EXPECT_EQ(lz4_decode(packed), zeros);
}

TEST(Lz4Container, FedOneByteAtATime) {
  const auto data = random_bytes(3 * kLz4BlockSize + 5, 3) + std::string(100000, 'x');
  const auto packed = lz4_encode(data);
  std::string out;
  Lz4Decoder d([&](const char* p, std::size_t n) { out.append(p, n); });
  for (char c : packed) d.feed(&c, 1);
  d.finish();
  EXPECT_EQ(out, data);
  EXPECT_EQ(d.decoded(), data.size());
  EXPECT_EQ(d.consumed(), packed.size());
}

TEST(Lz4Container, ReadsUncompressedBlocksAndForeignBlockSizes) {
  // As another encoder may write it: a stored block ("bv4-", one size), then a compressed block
  // of 200000 bytes made by plain liblz4 that refers to the stored block's bytes.
  const std::string stored = random_bytes(70000, 11);
  const std::string second = stored.substr(10000, 60000) + std::string(140000, 'z');
  std::string input = stored + second;
  std::string block(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(second.size()))), '\0');
  LZ4_stream_t* s = LZ4_createStream();
  LZ4_loadDict(s, stored.data() + stored.size() - 65536, 65536);
  const int n = LZ4_compress_fast_continue(s, second.data(), block.data(), static_cast<int>(second.size()),
                                           static_cast<int>(block.size()), 1);
  LZ4_freeStream(s);
  ASSERT_GT(n, 0);
  block.resize(static_cast<std::size_t>(n));
  const std::string stream = "bv4-" + u32(static_cast<std::uint32_t>(stored.size())) + stored + "bv41" +
                             u32(static_cast<std::uint32_t>(second.size())) + u32(static_cast<std::uint32_t>(n)) +
                             block + "bv4$";
  EXPECT_EQ(lz4_decode(stream), input);
}

TEST(Lz4Container, RefusesDamage) {
  const auto packed = lz4_encode(random_bytes(100000, 5));
  auto fails = [](const std::string& s, const std::string& words) {
    try {
      lz4_decode(s);
      ADD_FAILURE() << "accepted: " << words;
    } catch (const Lz4Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  fails("xv41" + packed.substr(4), "not an LZ4 block at offset 0");
  fails(packed.substr(0, packed.size() - 4), "without its end marker");
  fails(packed + "bv4$", "data after the end");
  std::string corrupt = packed;
  corrupt[20] = static_cast<char>(corrupt[20] ^ 0x5a);
  corrupt[21] = static_cast<char>(0xff);
  corrupt[22] = static_cast<char>(0xff);
  fails(corrupt, "corrupt LZ4 block at offset 0");
  fails("bv41" + u32(0x7fffffff) + u32(10) + "0123456789bv4$", "too large");
}

}  // namespace
