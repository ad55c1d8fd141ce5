// The control client the supervise tests use: `vzkit stop|pause|resume` talk to ctl.sock with the
// QEMU engine's QMP client. Compiled as C++ (not Objective-C++): with GCC's Objective-C runtime,
// a C++ exception thrown in C++ code is not caught reliably in an Objective-C++ frame.
#include <vzkit/bridge/qemu/qmp_client.hpp>

#include <string>

std::string vzkit_test_control(const std::string& socket, const std::string& command) {
  try {
    vzkit::bridge::qemu::qmp_call(socket, command, {}, std::chrono::milliseconds(5000));
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}
