// The part of vzkit-vz that catches C++ exceptions. Plain C++ on purpose: with GCC's Objective-C
// runtime (the Linux build), a C++ exception is not reliably caught in an Objective-C++ frame.
#include <vzkit/bridge/vz/vz_bridge.hpp>
#include <vzkit/kernel/supervisor.hpp>

#include <cstdio>
#include <exception>

int vzkit_vz_run(const vzkit::vz::Configuration& plan, const vzkit::bridge::vz::SuperviseOptions& options) {
  try {
    return vzkit::bridge::vz::supervise(plan, options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vzkit-vz: error: %s\n", e.what());
    vzkit::kernel::record_failure(options.run_dir, options.facts, e.what());
    return 1;
  }
}
