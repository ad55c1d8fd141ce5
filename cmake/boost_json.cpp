// Boost.JSON compiled into the binary that links this library (Boost's header-only mode: this
// one translation unit holds its implementation). Only the binaries that set the target property
// VZKIT_SYSTEM_LIBS_ONLY link it (see the top-level CMakeLists.txt); everything else links Boost's
// shared library.
#include <boost/json/src.hpp>
