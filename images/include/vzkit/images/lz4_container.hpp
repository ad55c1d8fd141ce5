// The LZ4 stream of Apple's Compression framework (COMPRESSION_LZ4, what NSData's
// compressed(using: .lz4) writes and tart stores disk chunks in), read and written with liblz4.
//
// The stream is a sequence of blocks, each starting with a 4-byte magic (docs/images.md):
//   "bv41" u32le decoded_size u32le encoded_size  LZ4 block data (may refer to the 64 KiB
//                                                  decoded just before it)
//   "bv4-" u32le size                              that many bytes stored as they are
//   "bv4$"                                         end of stream; nothing follows
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vzkit::images {

/// A stream that is not a valid Apple LZ4 stream; what() says where and why.
struct Lz4Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The decoded size of each block vzkit writes: small enough for any decoder, linked to the
/// block before it as Apple's own encoder does, so compression does not restart each block.
inline constexpr std::size_t kLz4BlockSize = 64 * 1024;

/// Encodes `data` as one Apple LZ4 stream ("bv41" blocks and the end marker). The output does
/// not depend on anything but `data` and the liblz4 version, so equal chunks get equal digests.
std::string lz4_encode(std::string_view data);

/// Decodes an Apple LZ4 stream fed in pieces of any size, handing the decoded bytes to `sink`
/// in order. Throws Lz4Error for a bad magic, a block larger than `max_block`, corrupt LZ4 data
/// or bytes after the end marker.
class Lz4Decoder {
 public:
  using Sink = std::function<void(const char* data, std::size_t size)>;
  explicit Lz4Decoder(Sink sink, std::size_t max_block = 1u << 30);
  void feed(const char* data, std::size_t size);
  void feed(std::string_view data) { feed(data.data(), data.size()); }
  /// Throws Lz4Error when the end marker has not been seen (a truncated stream).
  void finish() const;
  bool ended() const { return m_ended; }
  std::uint64_t decoded() const { return m_decoded; }
  std::uint64_t consumed() const { return m_consumed; }

 private:
  void block();
  Sink m_sink;
  std::size_t m_max_block;
  std::string m_pending;  ///< the current block's header and payload, until complete
  std::string m_out;      ///< [history][decoded block]
  std::size_t m_history = 0;
  std::uint64_t m_decoded = 0;
  std::uint64_t m_consumed = 0;  ///< stream bytes of the complete blocks
  bool m_ended = false;
};

/// Decodes a whole stream into a string (tests, small layers).
std::string lz4_decode(std::string_view stream);

}  // namespace vzkit::images
