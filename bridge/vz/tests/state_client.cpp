// The save command as `vzkit suspend` sends it to a VZ run's ctl.sock (kernel/state_commands.hpp),
// for the save/restore contract tests. Plain C++, like control_client.cpp.
#include <vzkit/bridge/qemu/qmp_client.hpp>

#include <boost/json.hpp>

#include <string>

std::string vzkit_test_save(const std::string& socket, const std::string& dir, const std::string& then) {
  try {
    vzkit::bridge::qemu::qmp_call(
        socket, "vzkit-save",
        boost::json::object{{"dir", dir}, {"then", then}, {"meta", boost::json::object{{"engine", "vz"}}}},
        std::chrono::milliseconds(5000));
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}
