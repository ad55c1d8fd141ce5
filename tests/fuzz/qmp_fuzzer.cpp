// Fuzz target: what arrives on a QMP connection, one JSON object per line. Each line goes to
// the parser of the QMP client (bridge/qemu: QEMU's greeting, events and replies) and to the
// parser of the control socket's requests (kernel: what `vzkit stop/pause/resume` send to a VZ
// VM's supervisor). Neither may throw, whatever the line.
#include <vzkit/bridge/qemu/qmp_client.hpp>
#include <vzkit/kernel/supervisor.hpp>

#include <boost/json/serialize.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void one_line(std::string_view line) {
  namespace qb = vzkit::bridge::qemu;
  const auto m = qb::parse_qmp_line(line);
  switch (m.kind) {
    case qb::QmpMessage::Kind::reply:
      // A reply is an error or a result, never both; a result is JSON that serializes again.
      check(m.error.empty() || m.result.is_null());
      (void)boost::json::serialize(m.result);
      break;
    case qb::QmpMessage::Kind::event:
      check(m.event.contains("event"));
      break;
    default:
      check(m.error.empty() && m.event.empty() && m.result.is_null());
  }
  const auto r = vzkit::kernel::parse_control_request(line);
  // Either a request or the reason it is not one, never parts of both.
  if (!r.error.empty()) check(r.command.empty() && r.id.is_null());
  (void)boost::json::serialize(r.id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  // Lines as the client cuts them (read_until '\n'), and the whole input as one line.
  std::size_t start = 0;
  while (start <= all.size()) {
    const std::size_t end = all.find('\n', start);
    one_line(all.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (all.find('\n') != std::string_view::npos) one_line(all);
  return 0;
}
