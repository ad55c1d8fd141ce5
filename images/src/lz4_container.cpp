#include <vzkit/images/lz4_container.hpp>

#include <lz4.h>

#include <cstring>
#include <memory>

namespace vzkit::images {

namespace {

constexpr std::size_t kWindow = 64 * 1024;  // LZ4's largest match distance

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

bool magic_is(const char* p, char last) { return p[0] == 'b' && p[1] == 'v' && p[2] == '4' && p[3] == last; }

}  // namespace

std::string lz4_encode(std::string_view data) {
  std::string out;
  out.reserve(data.size() / 2 + 64);
  struct Free {
    void operator()(LZ4_stream_t* s) const { LZ4_freeStream(s); }
  };
  std::unique_ptr<LZ4_stream_t, Free> stream(LZ4_createStream());
  if (!stream) throw std::bad_alloc();
  const int bound = LZ4_compressBound(static_cast<int>(kLz4BlockSize));
  for (std::size_t at = 0; at < data.size(); at += kLz4BlockSize) {
    const std::size_t n = std::min(kLz4BlockSize, data.size() - at);
    const std::size_t header = out.size();
    out.append("bv41", 4);
    put_u32(out, static_cast<std::uint32_t>(n));
    put_u32(out, 0);  // the encoded size, known below
    const std::size_t body = out.size();
    out.resize(body + static_cast<std::size_t>(bound));
    // The input stays in place, so each block may refer to the 64 KiB before it.
    const int written = LZ4_compress_fast_continue(stream.get(), data.data() + at, out.data() + body,
                                                   static_cast<int>(n), bound, 1);
    if (written <= 0) throw Lz4Error("LZ4 compression failed");
    out.resize(body + static_cast<std::size_t>(written));
    const std::uint32_t w = static_cast<std::uint32_t>(written);
    for (int i = 0; i < 4; ++i) out[header + 8 + i] = static_cast<char>((w >> (8 * i)) & 0xff);
  }
  out.append("bv4$", 4);
  return out;
}

Lz4Decoder::Lz4Decoder(Sink sink, std::size_t max_block) : m_sink(std::move(sink)), m_max_block(max_block) {}

void Lz4Decoder::feed(const char* data, std::size_t size) {
  auto take = [&](std::size_t want) {
    const std::size_t n = std::min(size, want - m_pending.size());
    m_pending.append(data, n);
    data += n;
    size -= n;
    return m_pending.size() == want;
  };
  while (size > 0) {
    if (m_ended)
      throw Lz4Error("data after the end of the LZ4 stream (offset " + std::to_string(m_consumed) + ")");
    if (m_pending.size() < 4 && !take(4)) return;
    const char* p = m_pending.data();
    std::size_t header = 4;
    if (magic_is(p, '1')) header = 12;
    else if (magic_is(p, '-')) header = 8;
    else if (!magic_is(p, '$'))
      throw Lz4Error("not an LZ4 block at offset " + std::to_string(m_consumed) + " (magic '" + std::string(p, 4) +
                     "', expected bv41, bv4- or bv4$)");
    if (m_pending.size() < header && !take(header)) return;
    p = m_pending.data();
    std::size_t payload = 0;
    if (header > 4) {
      const std::uint32_t decoded = get_u32(p + 4);
      payload = header == 12 ? get_u32(p + 8) : decoded;
      if (decoded > m_max_block || payload > static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(std::min<std::size_t>(m_max_block, LZ4_MAX_INPUT_SIZE)))))
        throw Lz4Error("LZ4 block at offset " + std::to_string(m_consumed) + " is too large (" +
                       std::to_string(decoded) + " bytes decoded, " + std::to_string(payload) + " stored)");
    }
    if (m_pending.size() < header + payload && !take(header + payload)) return;
    block();
  }
}

void Lz4Decoder::block() {
  const char* p = m_pending.data();
  if (magic_is(p, '$')) {
    m_ended = true;
  } else {
    const std::uint32_t decoded = get_u32(p + 4);
    m_out.resize(m_history + decoded);
    if (magic_is(p, '1')) {
      const std::uint32_t encoded = get_u32(p + 8);
      // The history sits right before the output, so LZ4 reads it as the block's prefix.
      const int n = LZ4_decompress_safe_usingDict(p + 12, m_out.data() + m_history, static_cast<int>(encoded),
                                                  static_cast<int>(decoded), m_out.data(),
                                                  static_cast<int>(m_history));
      if (n < 0 || static_cast<std::uint32_t>(n) != decoded)
        throw Lz4Error("corrupt LZ4 block at offset " + std::to_string(m_consumed) + " (it decodes to " +
                       (n < 0 ? std::string("nothing") : std::to_string(n) + " bytes") + ", its header says " +
                       std::to_string(decoded) + ")");
    } else {
      std::memcpy(m_out.data() + m_history, p + 8, decoded);
    }
    if (decoded) m_sink(m_out.data() + m_history, decoded);
    m_decoded += decoded;
    const std::size_t keep = std::min(kWindow, m_history + decoded);
    std::memmove(m_out.data(), m_out.data() + m_history + decoded - keep, keep);
    m_history = keep;
    m_out.resize(keep);
  }
  m_consumed += m_pending.size();
  m_pending.clear();
}

void Lz4Decoder::finish() const {
  if (!m_ended)
    throw Lz4Error("the LZ4 stream ends without its end marker after " + std::to_string(m_consumed + m_pending.size()) +
                   " bytes (truncated)");
}

std::string lz4_decode(std::string_view stream) {
  std::string out;
  Lz4Decoder d([&](const char* p, std::size_t n) { out.append(p, n); });
  d.feed(stream);
  d.finish();
  return out;
}

}  // namespace vzkit::images
