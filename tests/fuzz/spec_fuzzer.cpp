// Fuzz target: spec text through the host API as `vzkit validate` and `vzkit plan` take it:
// parsing, validation (the spec's schema, every plugin's schema and rules, the rules across
// plugins, engine admission) and assembly for both engines, with the QEMU argv and the Swift
// source rendered, and the diagnostics printed as text and as JSON.
//
// What counts as a finding: a crash or sanitizer report, a hang, and any exception other than
// the ones the host API documents for bad input (PlanError, InputError).
#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

using namespace vzkit;

// Relative paths in a spec resolve in tests/data, where the kernel and disk images of the unit
// tests are, so that validation gets past "file missing" as often as the inputs allow.
const std::string kSpecDir = std::string(VZKIT_SOURCE_DIR) + "/tests/data";

std::size_t plan(const host::Host& h, const std::string& text, const std::string& engine, bool files_may_be_missing) {
  host::PlanOptions o;
  o.engine = engine;
  o.files_may_be_missing = files_may_be_missing;
  try {
    const auto p = h.plan(text, kSpecDir, o, "fuzz.json");
    std::size_t n = p.model_json.size() + p.swift.size() + fuzz::render(p.warnings);
    if (!p.qemu_argv.empty()) n += host::shell_join(p.qemu_argv).size();
    return n;
  } catch (const host::PlanError& e) {
    return fuzz::render(e.diagnostics);
  } catch (const host::InputError& e) {
    return std::string(e.what()).size();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vzkit::fuzz::plugins();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& h = vzkit::fuzz::plugins();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto v = h.validate(text, kSpecDir, "", "fuzz.json");
  volatile std::size_t sink = vzkit::fuzz::render(v.diagnostics);
  sink = sink + plan(h, text, "qemu", true);
  sink = sink + plan(h, text, "vz", false);
  return 0;
}
