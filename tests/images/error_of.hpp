// The message of what `f` throws, for tests that check error texts; "(no error)" when it does not throw.
#pragma once

#include <exception>
#include <functional>
#include <string>

namespace vzkit::images::testing {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace vzkit::images::testing
