// Hostile and odd input found by fuzzing (issue: hardening): each case crashed, hung, lied or
// printed something misleading before it was fixed.
#include "test_support.hpp"

#include "../../kernel/src/schema_check.hpp"

#include <valijson/schema.hpp>

#include <vzkit/kernel/spec.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace {

using namespace vzkit::test;
namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  auto d = fs::temp_directory_path() / ("vzkit-hostile-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string boot() { return entry("linux-boot", {{"kernel", "vmlinuz"}}); }

std::size_t count_code(const Diagnostics& d, const std::string& code) {
  return static_cast<std::size_t>(std::count_if(d.begin(), d.end(), [&](const Diagnostic& x) { return x.code == code; }));
}

// ---- 1. patterns: no recursion per character, no unbounded backtracking

TEST(HostileInput, LongValuesOfPatternedStringsAreRefusedNotCrashedOn) {
  const std::string long_text(30000, '1');
  auto d = validate_text(make_spec({boot()}, R"("memory": ")" + long_text + R"(", )"));
  EXPECT_TRUE(expect_diag(d, "schema.max-length", "memory"));
  d = validate_text(make_spec({boot(), entry("virtio-blk", {{"path", "disk.img"}, {"identifier", std::string(30000, 'a')}})}));
  EXPECT_TRUE(expect_diag(d, "schema.max-length", "devices[1].identifier", "virtio-blk"));
  d = validate_text(make_spec({boot(), entry("virtio-blk", {{"path", "new.img"}, {"create_size", long_text}})}));
  EXPECT_TRUE(expect_diag(d, "schema.max-length", "devices[1].create_size", "virtio-blk"));
}

TEST(HostileInput, AThirdPartyPatternCannotCrashOrHangTheHost) {
  // A pattern that backtracks exponentially, and one matched against 100,000 characters.
  const auto schema = json::parse(R"({"type": "object", "properties": {
      "a": {"type": "string", "pattern": "^(a+)+$"},
      "b": {"type": "string", "pattern": "^[a-z]*$"}}})");
  const auto compiled = vzkit::kernel::detail::compile(schema);
  Diagnostics d;
  const json::value config{{"a", std::string(40, 'a') + "b"}, {"b", std::string(100000, 'x')}};
  EXPECT_FALSE(vzkit::kernel::detail::check(*compiled, schema, config, "devices[0]", "third", "spec.json", d));
  ASSERT_EQ(d.size(), 1u) << vzkit::kernel::format(d);
  EXPECT_EQ(d[0].code, "schema.pattern-too-complex");
  EXPECT_EQ(d[0].path, "devices[0].a");
}

TEST(HostileInput, ASettingNamedPatternIsNotMistakenForTheKeyword) {
  const auto schema = json::parse(R"({"type": "object", "properties": {"pattern": {"type": "string", "maxLength": 8}}})");
  const auto compiled = vzkit::kernel::detail::compile(schema);
  Diagnostics d;
  EXPECT_TRUE(vzkit::kernel::detail::check(*compiled, schema, json::object{{"pattern", "[("}}, "", "", "", d));
}

// ---- 2. diagnostics that grow with the square of the input

TEST(HostileInput, ConflictsAreReportedOncePerDevice) {
  std::vector<std::string> devices;
  for (int i = 0; i < 2048; ++i) devices.push_back(entry("mac-platform"));
  for (int i = 0; i < 2048; ++i) devices.push_back(boot());
  std::string spec = R"({"name": "vm", "devices": [)";
  for (std::size_t i = 0; i < devices.size(); ++i) spec += (i ? "," : "") + devices[i];
  spec += "]}";
  const auto d = validate_text(spec);
  EXPECT_LE(count_code(d, "cross.conflicts"), 4096u);
  EXPECT_GE(count_code(d, "cross.conflicts"), 1u);
  EXPECT_LE(d.size(), 5u * 4096u);  // a few per device, not one per pair
  bool more = false;
  for (const auto& x : d) more = more || x.message.find("(and 2047 more)") != std::string::npos;
  EXPECT_TRUE(more) << "a conflict names one device and counts the others";
}

TEST(HostileInput, ATooLongDeviceListIsNotLookedInto) {
  std::string spec = R"({"name": "vm", "devices": [)";
  for (int i = 0; i < 5000; ++i) spec += std::string(i ? "," : "") + R"({"plugin": "nope"})";
  spec += "]}";
  const auto d = validate_text(spec);
  ASSERT_EQ(d.size(), 1u) << vzkit::kernel::format(d).substr(0, 2000);
  EXPECT_EQ(d[0].code, "schema.max-items");
}

// ---- 3. files that are not regular files are never opened

TEST(HostileInput, AKernelThatIsAFifoIsReportedWithoutReadingIt) {
  const auto dir = temp_dir("fifo");
  ASSERT_EQ(::mkfifo((dir / "vmlinuz").c_str(), 0600), 0);
  fs::create_directory(dir / "folder");
  fs::create_symlink("loop", dir / "loop");  // a link to itself
  const auto d = validate_text(make_spec({entry("linux-boot", {{"kernel", "vmlinuz"}, {"initrd", "folder"}}),
                                          entry("virtio-blk", {{"path", "loop"}})}),
                               "vz", dir);
  EXPECT_TRUE(expect_diag(d, "linux-boot.kernel-not-a-file", "devices[0].kernel", "linux-boot"));
  EXPECT_TRUE(expect_diag(d, "linux-boot.initrd-not-a-file", "devices[0].initrd", "linux-boot"));
  EXPECT_TRUE(expect_diag(d, "virtio-blk.image-unreadable", "devices[1].path", "virtio-blk"));
  for (const auto& x : d) {
    if (x.code == "linux-boot.kernel-not-a-file") EXPECT_NE(x.message.find("(it is a FIFO)"), std::string::npos) << x.message;
    if (x.code == "virtio-blk.image-unreadable") EXPECT_NE(x.message.find("symbolic link loop"), std::string::npos) << x.message;
  }
}

TEST(HostileInput, ASpecThatIsAFifoOrAFolderIsNotRead) {
  const auto dir = temp_dir("spec-fifo");
  ASSERT_EQ(::mkfifo((dir / "spec.json").c_str(), 0600), 0);
  auto p = vzkit::kernel::load_spec(dir / "spec.json");
  ASSERT_EQ(p.diagnostics.size(), 1u);
  EXPECT_NE(p.diagnostics[0].message.find("not a regular file (it is a FIFO)"), std::string::npos);
  p = vzkit::kernel::load_spec(dir);
  EXPECT_NE(p.diagnostics.at(0).message.find("(it is a folder)"), std::string::npos);
}

TEST(HostileInput, AHugeSpecIsReportedWithItsRealSize) {
  const auto dir = temp_dir("huge");
  { std::ofstream(dir / "spec.json") << "{}"; }
  fs::resize_file(dir / "spec.json", 200u << 20);
  const auto p = vzkit::kernel::load_spec(dir / "spec.json");
  ASSERT_EQ(p.diagnostics.size(), 1u);
  EXPECT_NE(p.diagnostics[0].message.find("spec is 209715200 bytes"), std::string::npos) << p.diagnostics[0].message;
}

// ---- 4. object keys that look like numbers

TEST(HostileInput, NumericObjectKeysArePathSegmentsNotIndexes) {
  auto d = validate_text(make_spec({boot(), R"({"plugin": "virtiofs", "tag": "t", "shares": {"12345678901234567890123": {"path": 5}}})"}));
  EXPECT_TRUE(expect_diag(d, "schema.type", "devices[1].shares.12345678901234567890123.path", "virtiofs"));
  d = validate_text(make_spec({boot(), R"({"plugin": "virtiofs", "tag": "t", "shares": {"0": {"path": 5}}})"}));
  EXPECT_TRUE(expect_diag(d, "schema.type", "devices[1].shares.0.path", "virtiofs"));
}

// ---- 5. JSON output is valid whatever the input

TEST(HostileInput, DiagnosticsAreValidJsonEvenForCutCharactersAndForeignFileNames) {
  // An enum mismatch quotes the value, cut to 60 bytes: here in the middle of "é".
  const std::string value = std::string(56, 'x') + "\xc3\xa9\xc3\xa9\xc3\xa9";
  auto d = validate_text(make_spec({boot(), entry("virtio-blk", {{"path", "disk.img"}, {"caching", value}})}));
  ASSERT_TRUE(expect_diag(d, "schema.enum", "devices[1].caching", "virtio-blk"));
  d.push_back(d.front());
  d.back().file = "spec-\xff\xfe.json";  // not UTF-8, as file names may be
  const std::string text = json::serialize(vzkit::kernel::to_json(d));
  json::error_code ec;
  (void)json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message();
}

// ---- 6. NUL and control characters

TEST(HostileInput, NulAndControlCharactersInPathsAreRefused) {
  auto d = validate_text(make_spec({entry("linux-boot", {{"kernel", std::string("vmlinuz\0.txt", 12)}})}));
  EXPECT_TRUE(expect_diag(d, "spec.nul-character", "devices[0].kernel", "linux-boot"));
  d = validate_text(make_spec({entry("linux-boot", {{"kernel", "vmlinuz\x1b[31m"}})}));
  EXPECT_TRUE(expect_diag(d, "linux-boot.kernel-invalid-path", "devices[0].kernel", "linux-boot"));
}

TEST(HostileInput, PrintedDiagnosticsShowControlCharactersInsteadOfSendingThem) {
  Diagnostic x;
  x.code = "c";
  x.message = std::string("value '\x1b[31mred\r\0x'", 20);
  x.hint = "a\x07";
  const auto text = vzkit::kernel::format(x);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find('\0'), std::string::npos);
  EXPECT_NE(text.find("\\x1b[31mred\\r\\0x"), std::string::npos) << text;
  EXPECT_NE(text.find("a\\x07"), std::string::npos) << text;
}

// ---- 11. smaller ones

TEST(HostileInput, DuplicateKeysAreRefusedWithTheirPlace) {
  const auto p = vzkit::kernel::parse_spec(R"({"name": "a",
 "na\u006de": "b", "devices": []})",
                                           "spec.json", data_dir());
  ASSERT_EQ(p.diagnostics.size(), 1u);
  EXPECT_EQ(p.diagnostics[0].code, "spec.syntax");
  EXPECT_NE(p.diagnostics[0].message.find("key 'name' appears twice"), std::string::npos);
  EXPECT_EQ(p.diagnostics[0].line, 2);
  EXPECT_FALSE(p.spec.has_value());
}

TEST(HostileInput, AnOverlongKeyIsRefused) {
  const auto p = vzkit::kernel::parse_spec("{\"" + std::string(300, 'k') + "\": 1}", "spec.json", data_dir());
  ASSERT_EQ(p.diagnostics.size(), 1u);
  EXPECT_NE(p.diagnostics[0].message.find("300 bytes long"), std::string::npos);
}

TEST(HostileInput, TheMemoryHintDoesNotWrapAround) {
  const auto d = validate_text(make_spec({boot()}, R"("memory": "18446744073709551615", )"));
  EXPECT_TRUE(expect_diag(d, "spec.memory-too-large", "memory"));
  for (const auto& x : d) EXPECT_EQ(x.hint.find("0 B"), std::string::npos) << x.hint;
}

struct Run {
  int status;
  std::string out, err;
};

Run vzkit(const std::string& args) {
  const auto err = temp_dir("cli-err") / "err.txt";
  Run r{-1, {}, {}};
  FILE* p = popen(("'" + std::string(VZKIT_BINARY) + "' " + args + " 2>'" + err.string() + "'").c_str(), "r");
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream in(err, std::ios::binary);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

TEST(HostileInput, ValidateJsonSurvivesAFileNameThatIsNotUtf8) {
  const auto dir = temp_dir("non-utf8");
  const auto file = dir / "spec-\xff.json";
  std::ofstream(file) << R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "missing"}]})";
  const auto r = vzkit("validate --json '" + file.string() + "'");
  EXPECT_EQ(r.status, 2) << r.err;
  json::error_code ec;
  const auto v = json::parse(r.out, ec);
  ASSERT_FALSE(ec) << r.out;
  EXPECT_EQ(v.at("valid"), false);
}

TEST(HostileInput, ANulInAMessageDoesNotHideTheDiagnosticsAfterIt) {
  const auto dir = temp_dir("nul-cli");
  const auto file = dir / "spec.json";
  std::ofstream(file) << R"({"name": "vm", "devices": [{"plugin": "linux-boot", "kernel": "a\u0000b"},
    {"plugin": "virtio-blk", "path": "also-missing.img"}]})";
  const auto r = vzkit("validate '" + file.string() + "'");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("spec.nul-character"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("also-missing.img"), std::string::npos) << r.err;
}

TEST(HostileInput, PluginPathTakesOneValuePerFlag) {
  const auto r = vzkit("--plugin-path /tmp validate '" + (fs::path(VZKIT_SOURCE_DIR) / "examples" / "linux-direct.json").string() + "'");
  EXPECT_EQ(r.err.find("A subcommand is required"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("linux-direct.json"), std::string::npos) << r.err;
}

}  // namespace
