# Sanitizer and fuzzing builds (docs/fuzzing.md), off by default:
#   -DVZKIT_SANITIZE=address,undefined   everything built and linked with these sanitizers; any
#                                        report ends the process (-fno-sanitize-recover)
#   -DVZKIT_FUZZ=ON                      (clang) also instruments everything for libFuzzer and
#                                        builds the fuzz targets in tests/fuzz
# scripts/sanitize.sh and scripts/fuzz.sh configure a build folder of their own with both.
set(VZKIT_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined (empty: none)")
option(VZKIT_FUZZ "Instrument for libFuzzer and build the fuzz targets (clang)" OFF)

if(VZKIT_SANITIZE)
  add_compile_options(-fsanitize=${VZKIT_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${VZKIT_SANITIZE})
endif()
if(VZKIT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "VZKIT_FUZZ needs clang (libFuzzer): configure with CC=clang CXX=clang++")
  endif()
  # Coverage for libFuzzer in every library and plugin; only the fuzz targets link its main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
