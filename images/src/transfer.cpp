#include <vzkit/images/transfer.hpp>

#include <vzkit/images/digest.hpp>
#include <vzkit/images/index.hpp>
#include <vzkit/images/lz4_container.hpp>
#include <vzkit/images/registry.hpp>

#include <vzkit/kernel/file_copy.hpp>
#include <vzkit/units.hpp>

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

namespace vzkit::images {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

using Clock = std::chrono::steady_clock;

// Progress from many threads, sent at most every 100 ms (and always for start, retry, done).
class Meter {
 public:
  Meter(const std::function<void(const TransferEvent&)>& fn) : m_fn(fn), m_start(Clock::now()) {}
  std::atomic<std::uint64_t> bytes{0};
  std::uint64_t total = 0;
  std::uint64_t skipped = 0;
  std::atomic<std::size_t> chunks{0};
  std::size_t chunks_total = 0;

  void emit(const std::string& kind, const std::string& message = {}) {
    if (!m_fn) return;
    std::lock_guard lock(m_mutex);
    const auto now = Clock::now();
    if (kind == "progress" && now - m_last < std::chrono::milliseconds(100)) return;
    m_last = now;
    TransferEvent e;
    e.kind = kind;
    e.bytes = bytes.load();
    e.total = total;
    e.skipped = skipped;
    e.chunks = chunks.load();
    e.chunks_total = chunks_total;
    e.seconds = std::chrono::duration<double>(now - m_start).count();
    e.message = message;
    m_fn(e);
  }

 private:
  const std::function<void(const TransferEvent&)>& m_fn;
  Clock::time_point m_start, m_last{};
  std::mutex m_mutex;
};

// Runs fn(i, registry) for i in [0, count) on `jobs` threads, each with its own registry
// handle. The first exception stops the rest (`stop` turns true) and is rethrown.
void run_jobs(const Registry& registry, int jobs, std::size_t count, std::atomic<bool>& stop,
              const std::function<void(std::size_t, Registry&)>& fn) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr first;
  std::mutex m;
  auto worker = [&](Registry reg) {
    while (!stop) {
      const std::size_t i = next++;
      if (i >= count) return;
      try {
        fn(i, reg);
      } catch (...) {
        std::lock_guard lock(m);
        if (!first) first = std::current_exception();
        stop = true;
      }
    }
  };
  std::vector<std::thread> threads;
  const int n = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(std::max(1, jobs)), count));
  for (int t = 0; t < n; ++t) threads.emplace_back(worker, registry.fork());
  for (auto& t : threads) t.join();
  if (first) std::rethrow_exception(first);
}

struct Stopped : std::runtime_error {
  Stopped() : std::runtime_error("stopped") {}
};

[[noreturn]] void throw_write_error(int err, const fs::path& file) {
  std::string text = "cannot write " + file.string() + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT)
    text += "\n  hint: the disk holding the image store is full; free space there or set VZKIT_HOME to a folder "
            "on a larger disk, then pull again (what was written is kept and the pull continues from there)";
  throw std::system_error(err, std::generic_category(), text);
}

// Writes decoded bytes at a file offset, leaving runs of zeros as holes (the file was made at
// its full size, so they read as zeros).
class SparseWriter {
 public:
  SparseWriter(int fd, const fs::path& file, std::uint64_t base, std::uint64_t limit)
      : m_fd(fd), m_file(file), m_base(base), m_limit(limit) {}

  void put(const char* p, std::size_t n) {
    if (m_pos + n > m_limit)
      throw FormatError("a chunk of " + m_file.filename().string() + " decodes to more than the " +
                        std::to_string(m_limit) + " bytes its annotation says: refused");
    constexpr std::size_t kBlock = 4096;
    std::size_t at = 0;
    while (at < n) {
      const std::size_t k = std::min(kBlock, n - at);
      if (is_zero(p + at, k)) {
        flush();
      } else {
        if (m_run.empty()) m_run_at = m_base + m_pos;
        m_run.append(p + at, k);
        if (m_run.size() >= (1u << 20)) flush();
      }
      at += k;
      m_pos += k;
    }
  }

  void flush() {
    std::size_t done = 0;
    while (done < m_run.size()) {
      const ssize_t w = ::pwrite(m_fd, m_run.data() + done, m_run.size() - done, static_cast<off_t>(m_run_at + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        throw_write_error(errno, m_file);
      }
      if (w == 0) throw_write_error(ENOSPC, m_file);
      done += static_cast<std::size_t>(w);
    }
    // To the disk now, while the download goes on, rather than all at the fdatasync at the end.
    kernel::start_writeback(m_fd, m_run_at, m_run.size());
    m_run.clear();
  }

  std::uint64_t written() const { return m_pos; }

 private:
  static bool is_zero(const char* p, std::size_t n) {
    std::uint64_t acc = 0;
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t v;
      std::memcpy(&v, p + i, 8);
      acc |= v;
    }
    for (; i < n; ++i) acc |= static_cast<unsigned char>(p[i]);
    return acc == 0;
  }
  int m_fd;
  fs::path m_file;
  std::uint64_t m_base, m_limit, m_pos = 0, m_run_at = 0;
  std::string m_run;
};

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void punch_hole(int fd, std::uint64_t off, std::uint64_t len) {
#if defined(__linux__)
  ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off), static_cast<off_t>(len));
#else
  (void)fd, (void)off, (void)len;
#endif
}

// Whether [off, off + len) of the file has the content of `digest` (a chunk an interrupted pull
// wrote: the journal is written after the data, but without waiting for the disk, so a crash may
// keep the line and lose the data; it is checked rather than trusted, as tart does).
bool region_matches(int fd, std::uint64_t off, std::uint64_t len, const std::string& digest) {
  if (!valid_digest(digest)) return false;
  Sha256 h;
  std::string buf(std::min<std::uint64_t>(len, 4u << 20), '\0');
  for (std::uint64_t at = 0; at < len;) {
    const auto want = std::min<std::uint64_t>(buf.size(), len - at);
    const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(off + at));
    if (n <= 0) return false;
    h.update(buf.data(), static_cast<std::size_t>(n));
    at += static_cast<std::uint64_t>(n);
  }
  return h.digest() == digest;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A small blob, from the store or the registry (then kept).
std::string small_blob(const Store& store, Registry& reg, const std::string& digest, const std::string& where) {
  if (store.has_blob(digest)) {
    try {
      return store.read_blob(digest);
    } catch (const std::exception&) {
      // damaged: fetched again below
    }
  }
  std::string data;
  reg.get_blob(digest, [&](const char* p, std::size_t n) {
    if (data.size() + n > (64u << 20)) throw FormatError(where + ": blob " + digest + " is larger than 64 MiB");
    data.append(p, n);
  });
  const auto got = sha256_digest(data);
  if (got != digest)
    throw FormatError(where + ": blob " + digest + " arrived with the digest " + got +
                      ": refused (damaged in the registry or on the way)");
  store.put_blob(digest, data);
  return data;
}

void fill_spec(PulledImage& img, const Store& store, Registry* reg, const std::string& where) {
  auto blob = [&](const std::string& d) { return reg ? small_blob(store, *reg, d, where) : store.read_blob(d); };
  const auto config = blob(img.layout.tart_config_digest);
  const auto tart = vm_from_tart_config(config, "image", where);
  img.os = tart.os;
  img.arch = tart.arch;
  img.hardware_model = tart.hardware_model;
  if (!img.layout.spec_digest.empty()) {
    img.spec_text = blob(img.layout.spec_digest);
    boost::system::error_code ec;
    const auto v = json::parse(img.spec_text, ec);
    if (ec || !v.is_object())
      throw FormatError(where + ": its vzkit spec layer (" + img.layout.spec_digest + ") is not a JSON object");
  } else {
    img.from_tart = true;
    img.spec_text = json::serialize(tart.spec);
  }
}

std::uint64_t available_bytes(const fs::path& dir) {
  struct statvfs s {};
  if (::statvfs(dir.c_str(), &s) != 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize;
}

}  // namespace

PulledImage pull(const Store& store, const std::string& ref_text, const TransferOptions& options) {
  PulledImage img;
  img.ref = parse_reference(ref_text);
  const std::string where = img.ref.str();
  RegistryOptions ro{options.insecure, std::nullopt};
  if (options.limit_rate > 0)
    ro.max_recv_speed = std::max<std::uint64_t>(1, options.limit_rate / static_cast<std::uint64_t>(std::max(1, options.jobs)));
  Registry reg(img.ref, ro);
  Meter meter(options.progress);

  std::optional<Platform> wanted;
  if (!options.platform.empty()) wanted = parse_platform(options.platform);
  auto manifest = reg.get_manifest(img.ref.version());
  std::optional<Registry::Manifest> index;
  if (is_index(manifest.media_type, manifest.body)) {
    const auto entries = parse_index(manifest.body, where);
    const auto& e = choose_manifest(entries, wanted, where);
    img.index_digest = manifest.digest;
    img.platform = e.platform->str();
    index = std::move(manifest);
    manifest = reg.get_manifest(e.manifest.digest);  // checked against the digest the index names
  }
  const auto m = Manifest::parse(manifest.body, where);
  img.digest = manifest.digest;
  img.layout = layout_of(m, where);
  fs::create_directories(store.root());
  const auto lock = store.lock();
  if (index) store.put_blob(index->digest, index->body);
  store.put_blob(img.digest, manifest.body);
  small_blob(store, reg, m.config.digest, where);
  fill_spec(img, store, &reg, where);
  if (wanted && !index && (img.os != wanted->os || img.arch != wanted->arch))  // tart's config names no variant
    throw FormatError(where + ": is an image for " + img.os + "/" + img.arch + " only, not " + wanted->str() +
                      " (it is a single manifest, not an index of several platforms)\n  hint: leave out --platform, "
                      "or name an image built for " + wanted->str());

  // The chunks still to fetch, over every file the store lacks.
  struct Part {
    const ImageFile* file;
    fs::path dir, data;
    Fd fd;
    std::set<std::size_t> done;
    std::vector<std::uint64_t> offsets;
    std::mutex journal;
    bool fresh = false;  ///< made by this pull: all holes, nothing to clear before writing
  };
  std::vector<std::unique_ptr<Part>> parts;
  struct Job {
    Part* part;
    std::size_t chunk;
  };
  std::vector<Job> jobs;
  std::uint64_t need = 0;
  for (const auto& f : img.layout.files) {
    const auto key = f.key();
    if (store.has_file(key)) {
      img.reused += f.size;
      img.files[f.name] = store.file_path(key);
      continue;
    }
    auto part = std::make_unique<Part>();
    part->file = &f;
    part->dir = store.partial_dir(key);
    part->data = part->dir / "data";
    fs::create_directories(part->dir);
    part->fd.fd = ::open(part->data.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (part->fd.fd < 0) throw_write_error(errno, part->data);
    struct stat st {};
    ::fstat(part->fd.fd, &st);
    part->fresh = st.st_size == 0 && st.st_blocks == 0;
    if (static_cast<std::uint64_t>(st.st_size) != f.size && ::ftruncate(part->fd.fd, static_cast<off_t>(f.size)) != 0)
      throw_write_error(errno, part->data);
    std::istringstream journal(read_text(part->dir / "done"));
    for (std::string line; std::getline(journal, line);) {
      std::istringstream l(line);
      std::size_t i = 0;
      std::string digest;
      if (l >> i >> digest && i < f.chunks.size() && f.chunks[i].digest == digest) part->done.insert(i);
    }
    std::uint64_t off = 0;
    for (std::size_t i = 0; i < f.chunks.size(); ++i) {
      part->offsets.push_back(off);
      off += f.kind == ImageFile::Kind::nvram ? f.size : std::stoull(f.chunks[i].annotation(kTartUncompressedSize));
      // The raw NVRAM is its blob; a chunk's content has the uncompressed digest tart records.
      const bool raw = f.kind == ImageFile::Kind::nvram;
      const std::uint64_t len = raw ? f.size : std::stoull(f.chunks[i].annotation(kTartUncompressedSize));
      if (part->done.count(i) &&
          !region_matches(part->fd.fd, part->offsets[i], len,
                          raw ? f.chunks[i].digest : f.chunks[i].annotation(kTartUncompressedDigest)))
        part->done.erase(i);
      if (part->done.count(i)) {
        ++img.resumed_chunks;
        meter.skipped += f.chunks[i].size;
      } else {
        jobs.push_back({part.get(), i});
        meter.total += f.chunks[i].size;
        need += f.chunks[i].size;
      }
    }
    parts.push_back(std::move(part));
  }
  for (const auto& f : img.layout.files)
    if (store.has_file(f.key())) meter.skipped += [&] {
      std::uint64_t n = 0;
      for (const auto& c : f.chunks) n += c.size;
      return n;
    }();
  meter.chunks_total = jobs.size();
  if (const auto free = available_bytes(store.root()); need > free)
    throw std::runtime_error("pulling " + where + " needs at least " + vzkit::approx_size(need) + " in " +
                             store.root().string() + ", which has " + vzkit::approx_size(free) +
                             " free\n  hint: free space there, or set VZKIT_HOME to a folder on a larger disk");
  meter.emit("start");

  std::atomic<bool> stop{false};
  run_jobs(reg, options.jobs, jobs.size(), stop, [&](std::size_t j, Registry& r) {
    Part& p = *jobs[j].part;
    const std::size_t ci = jobs[j].chunk;
    const Descriptor& c = p.file->chunks[ci];
    const bool raw = p.file->kind == ImageFile::Kind::nvram;
    const std::uint64_t off = p.offsets[ci];
    const std::uint64_t len = raw ? p.file->size : std::stoull(c.annotation(kTartUncompressedSize));
    // One digest, decoder and writer for the chunk across its tries: a dropped download goes
    // on from the byte it reached (get_blob asks for the rest with a Range).
    if (!p.fresh) punch_hole(p.fd.fd, off, len);  // what an earlier pull wrote there
    SparseWriter w(p.fd.fd, p.data, off, len);
    Sha256 h;
    Lz4Decoder dec([&](const char* d, std::size_t n) { w.put(d, n); });
    std::uint64_t received = 0;
    auto sink = [&](const char* d, std::size_t n) {
      if (stop) throw Stopped();
      if (received + n > c.size)
        throw FormatError(where + ": blob " + c.digest + " is larger than the " + std::to_string(c.size) +
                          " bytes the manifest says: refused");
      received += n;
      h.update(d, n);
      if (raw) w.put(d, n);
      else dec.feed(d, n);
      meter.bytes += n;
      meter.emit("progress");
    };
    try {
      for (int attempt = 0;; ++attempt) {
        try {
          // All of it may have arrived before the connection dropped: nothing left to ask for.
          if (attempt == 0 || received < c.size) r.get_blob(c.digest, sink, received);
          break;
        } catch (const RegistryError& e) {
          if (!e.transient || attempt >= options.retries || stop) throw;
          meter.emit("retry", std::string(e.what()) + "; chunk " + std::to_string(ci + 1) + " of " + p.file->name +
                                  (received > 0 ? " continues from byte " + std::to_string(received) : " starts again"));
          std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
        }
      }
      const auto got = h.digest();
      if (got != c.digest)
        throw FormatError(where + ": blob " + c.digest + " (chunk " + std::to_string(ci + 1) + " of " +
                          p.file->name + ") arrived with the digest " + got +
                          ": refused (damaged in the registry or on the way)");
      if (!raw) dec.finish();
      w.flush();
      if (w.written() != len)
        throw FormatError(where + ": chunk " + std::to_string(ci + 1) + " of " + p.file->name + " decodes to " +
                          std::to_string(w.written()) + " bytes, its annotation says " + std::to_string(len));
    } catch (const Lz4Error& e) {
      throw FormatError(where + ": chunk " + std::to_string(ci + 1) + " of " + p.file->name + " (" + c.digest +
                        "): " + e.what());
    }
    {
      std::lock_guard lock(p.journal);
      std::ofstream(p.dir / "done", std::ios::app) << ci << " " << c.digest << "\n";
      p.done.insert(ci);
    }
    ++meter.chunks;
    meter.emit("progress");
  });

  for (auto& p : parts) {
    if (::fdatasync(p->fd.fd) != 0) throw_write_error(errno, p->data);
    const auto to = store.file_path(p->file->key());
    fs::create_directories(to.parent_path());
    fs::rename(p->data, to);
    std::error_code ec;
    fs::remove_all(p->dir, ec);
    img.files[p->file->name] = to;
  }
  img.downloaded = meter.bytes;
  store.set_ref(img.ref.str(), img.digest, img.index_digest, img.platform);
  std::vector<std::string> digests;
  for (const auto& l : m.layers) digests.push_back(l.digest);
  store.note_locations(img.ref.registry + "/" + img.ref.repository, digests);
  meter.emit("done");
  return img;
}

PulledImage cached(const Store& store, const std::string& ref_text) {
  PulledImage img;
  img.ref = parse_reference(ref_text);
  const std::string where = img.ref.str();
  const auto r = store.find_ref(where);
  if (!r) throw std::runtime_error("image " + where + " has not been pulled\n  hint: `vzkit pull " + where + "`");
  img.digest = r->digest;
  img.index_digest = r->index;
  img.platform = r->platform;
  img.layout = layout_of(Manifest::parse(store.read_blob(r->digest), where), where);
  fill_spec(img, store, nullptr, where);
  for (const auto& f : img.layout.files) {
    if (!store.has_file(f.key()))
      throw std::runtime_error("the image store lacks the file " + f.name + " of " + where +
                               "\n  hint: `vzkit pull " + where + "` fetches it again");
    img.files[f.name] = store.file_path(f.key());
  }
  return img;
}

namespace {

struct Chunk {
  std::size_t file = 0;
  std::uint64_t offset = 0, size = 0;
  Descriptor layer;
};

// Compressed chunks of zeros of a given size, made once: sparse disks are mostly those.
struct ZeroChunks {
  std::mutex m;
  std::map<std::uint64_t, std::pair<std::string, std::string>> by_size;  ///< size -> (lz4, uncompressed digest)
  const std::pair<std::string, std::string>& get(std::uint64_t size) {
    std::lock_guard lock(m);
    auto it = by_size.find(size);
    if (it == by_size.end()) {
      const std::string zeros(size, '\0');
      it = by_size.emplace(size, std::make_pair(lz4_encode(zeros), sha256_digest(zeros))).first;
    }
    return it->second;
  }
};

bool all_hole(int fd, std::uint64_t off, std::uint64_t len) {
#if defined(SEEK_DATA)
  const off_t d = ::lseek(fd, static_cast<off_t>(off), SEEK_DATA);
  if (d < 0) return errno == ENXIO;
  return static_cast<std::uint64_t>(d) >= off + len;
#else
  return false;
#endif
}

void read_at(int fd, const fs::path& file, std::string& buf, std::uint64_t off, std::uint64_t len) {
  buf.resize(len);
  std::uint64_t done = 0;
  while (done < len) {
    const ssize_t n = ::pread(fd, buf.data() + done, len - done, static_cast<off_t>(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::system_error(n < 0 ? errno : EIO, std::generic_category(), "cannot read " + file.string());
    done += static_cast<std::uint64_t>(n);
  }
}

}  // namespace

Pushed push(const Store& store, const PushSource& src, const std::string& ref_text, const PushOptions& options) {
  Pushed out;
  out.ref = parse_reference(ref_text);
  if (out.ref.tag.empty())
    throw ReferenceError("'" + ref_text + "': a push needs a tag to put the image under (REGISTRY/REPO:TAG)");
  const std::string where = out.ref.str();
  const std::string repo = out.ref.registry + "/" + out.ref.repository;
  Registry reg(out.ref, RegistryOptions{options.insecure, std::nullopt});
  Meter meter(options.progress);
  if (options.chunk_size < (1u << 20) || options.chunk_size > (1ull << 30))
    throw std::invalid_argument("the chunk size must be between 1 MiB and 1 GiB");

  std::vector<Fd> fds(src.files.size());
  std::vector<Chunk> chunks;
  for (std::size_t i = 0; i < src.files.size(); ++i) {
    const auto& f = src.files[i];
    fds[i].fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fds[i].fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + f.path.string());
    struct stat st {};
    ::fstat(fds[i].fd, &st);
    if (!S_ISREG(st.st_mode)) throw std::runtime_error(f.path.string() + " is not a regular file");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (f.kind == ImageFile::Kind::nvram) continue;
    meter.total += size;
    for (std::uint64_t off = 0; off < size || (size == 0 && off == 0); off += options.chunk_size) {
      chunks.push_back({i, off, std::min(options.chunk_size, size - off), {}});
      if (size == 0) break;
    }
  }
  meter.chunks_total = chunks.size();
  meter.emit("start");

  ZeroChunks zeros;
  std::mutex count_mutex;
  auto count = [&](Registry::Sent s, std::uint64_t bytes) {
    std::lock_guard lock(count_mutex);
    if (s == Registry::Sent::uploaded) {
      ++out.blobs_uploaded;
      out.uploaded += bytes;
    } else if (s == Registry::Sent::existed) {
      ++out.blobs_existed;
    } else {
      ++out.blobs_mounted;
    }
  };
  auto mount_source = [&](const std::string& digest) -> std::string {
    for (const auto& l : store.locations(digest))
      if (l != repo && l.rfind(out.ref.registry + "/", 0) == 0) return l.substr(out.ref.registry.size() + 1);
    return {};
  };
  // A blob sent with retries after a dropped connection or a 5xx.
  auto send = [&](Registry& r, const std::string& digest, std::string_view data, const std::string& what) {
    for (int attempt = 0;; ++attempt) {
      try {
        const auto s = r.push_blob(digest, data, options.upload_chunk, mount_source(digest));
        count(s, data.size());
        return s;
      } catch (const RegistryError& e) {
        if (!e.transient || attempt >= options.retries) throw;
        meter.emit("retry", std::string(e.what()) + "; sending " + what + " again");
        std::this_thread::sleep_for(std::chrono::milliseconds(250 << attempt));
      }
    }
  };

  std::atomic<bool> stop{false};
  run_jobs(reg, options.jobs, chunks.size(), stop, [&](std::size_t i, Registry& r) {
    Chunk& c = chunks[i];
    const auto& f = src.files[c.file];
    std::string packed, digest_plain;
    if (all_hole(fds[c.file].fd, c.offset, c.size)) {
      const auto& z = zeros.get(c.size);
      packed = z.first;
      digest_plain = z.second;
    } else {
      std::string plain;
      read_at(fds[c.file].fd, f.path, plain, c.offset, c.size);
      digest_plain = sha256_digest(plain);
      packed = lz4_encode(plain);
    }
    c.layer.media_type = f.kind == ImageFile::Kind::disk ? kTartDisk : kVzkitFile;
    c.layer.digest = sha256_digest(packed);
    c.layer.size = packed.size();
    c.layer.annotations = {{kTartUncompressedSize, std::to_string(c.size)},
                           {kTartUncompressedDigest, digest_plain},
                           {kVzkitFileName, f.name}};
    if (stop) return;
    send(r, c.layer.digest, packed, "chunk " + std::to_string(i + 1) + " of " + f.name);
    meter.bytes += c.size;
    ++meter.chunks;
    meter.emit("progress");
  });

  auto small = [&](const std::string& data, const std::string& media_type) {
    Descriptor d;
    d.media_type = media_type;
    d.digest = sha256_digest(data);
    d.size = data.size();
    send(reg, d.digest, data, media_type);
    return d;
  };
  Manifest m;
  const auto spec = json::parse(src.spec_text).as_object();
  m.layers.push_back(small(tart_config_for(spec, src.os, src.arch, src.mac, src.hardware_model_b64, src.ecid_b64),
                           kTartConfig));
  std::uint64_t disk_size = 0;
  bool first_disk = true;
  for (std::size_t i = 0; i < src.files.size(); ++i) {
    const auto& f = src.files[i];
    if (f.kind == ImageFile::Kind::nvram) continue;
    for (const auto& c : chunks)
      if (c.file == i) m.layers.push_back(c.layer);
    if (f.kind == ImageFile::Kind::disk && first_disk) {
      struct stat st {};
      ::fstat(fds[i].fd, &st);
      disk_size = static_cast<std::uint64_t>(st.st_size);
      first_disk = false;
    }
  }
  for (std::size_t i = 0; i < src.files.size(); ++i)
    if (src.files[i].kind == ImageFile::Kind::nvram) {
      std::string data;
      struct stat st {};
      ::fstat(fds[i].fd, &st);
      read_at(fds[i].fd, src.files[i].path, data, 0, static_cast<std::uint64_t>(st.st_size));
      auto d = small(data, kTartNvram);
      d.annotations[kVzkitFileName] = src.files[i].name;
      m.layers.push_back(d);
    }
  auto spec_layer = small(src.spec_text, kVzkitSpec);
  spec_layer.annotations[kVzkitEngine] = src.engine;
  m.layers.push_back(spec_layer);
  const std::string oci_config = json::serialize(json::object{
      {"architecture", src.arch},
      {"os", src.os},
      {"config", json::object{{"Labels", json::object{{kTartDiskFormatLabel, "raw"}}}}}});
  m.config = small(oci_config, kOciConfig);
  m.annotations = {{kTartUncompressedDiskSize, std::to_string(disk_size)},
                   {kTartUploadTime, utc_now()},
                   {kVzkitEngine, src.engine}};
  const auto text = m.text();
  out.digest = reg.put_manifest(out.ref.tag, text, kOciManifest);
  std::vector<std::string> digests;
  for (const auto& l : m.layers) digests.push_back(l.digest);
  {
    const auto lock = store.lock();
    store.note_locations(repo, digests);
  }
  meter.emit("done");
  return out;
}

}  // namespace vzkit::images
