# What `cmake --install BUILD --prefix P` puts under P:
#
#   bin/vzkit                        the command
#   lib/vzkit/plugins/*.so           the device plugins (vzkit looks in ../lib/vzkit/plugins beside its binary)
#   lib/vzkit/vzkit-plugin-scanner   the process in which plugin files are first loaded
#   include/vzkit/                   the SDK headers: plugin ABI, C++ helper layer, engine object models
#   lib/libvzkit_sdk.a               what those headers declare (static, position-independent): plugins link it
#   lib/libvzkit_host.a (+ the       the host API for front-ends (include/vzkit/host.hpp) and the
#     kernel and engine libraries)   static libraries it is made of
#   lib/cmake/vzkit/                 the CMake package: find_package(vzkit) gives the targets vzkit::sdk
#                                    and vzkit::host, and the function vzkit_add_plugin(NAME SOURCES...)
#   lib/pkgconfig/vzkit-sdk.pc       the SDK for other build systems
#
# Paths are fixed ("lib", not GNUInstallDirs' lib/<triplet>): the binary finds its plugins by a
# path relative to itself, and that path must not depend on the distribution.
include(CMakePackageConfigHelpers)

set(VZKIT_INSTALL_CMAKEDIR lib/cmake/vzkit)
set(VZKIT_INSTALL_PLUGINDIR lib/vzkit/plugins)

# ---- the command and its plugins
install(TARGETS vzkit RUNTIME DESTINATION bin)
install(TARGETS vzkit-plugin-scanner RUNTIME DESTINATION lib/vzkit)
get_property(vzkit_install_plugins GLOBAL PROPERTY VZKIT_PLUGINS)
if(vzkit_install_plugins)
  install(TARGETS ${vzkit_install_plugins} LIBRARY DESTINATION ${VZKIT_INSTALL_PLUGINDIR})
endif()

# ---- the SDK: headers and an exported interface target, vzkit::sdk
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/ DESTINATION include)
set_target_properties(vzkit_sdk PROPERTIES EXPORT_NAME sdk)
install(TARGETS vzkit_sdk EXPORT vzkitTargets ARCHIVE DESTINATION lib)

# ---- the host API for front-ends, vzkit::host. Only host.hpp is public; the kernel and engine
# libraries are installed because a static vzkit::host links them (their headers are not).
set_target_properties(vzkit_host PROPERTIES EXPORT_NAME host)
set_target_properties(vzkit_kernel PROPERTIES EXPORT_NAME internal_kernel)
set_target_properties(vzkit_bridge_qemu PROPERTIES EXPORT_NAME internal_bridge_qemu)
set_target_properties(vzkit_images PROPERTIES EXPORT_NAME internal_images)
install(TARGETS vzkit_host vzkit_kernel vzkit_bridge_qemu vzkit_images EXPORT vzkitTargets ARCHIVE DESTINATION lib)
install(EXPORT vzkitTargets NAMESPACE vzkit:: DESTINATION ${VZKIT_INSTALL_CMAKEDIR})

# The package's entry point. vzkit_add_plugin() is the very function the tree builds its own
# plugins with (cmake/VzkitPlugin.cmake), installed beside it; out of the tree it has no
# VZKIT_PLUGIN_OUTPUT_DIR, so a plugin lands in the author's build folder.
file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/vzkit-package/vzkitConfig.cmake CONTENT [=[
# vzkit @PROJECT_VERSION@: the SDK for device plugins.
#
#   find_package(vzkit REQUIRED)
#   vzkit_add_plugin(NAME SOURCES...)   # builds vzkit-plugin-NAME.so against vzkit::sdk
#   target_link_libraries(app PRIVATE vzkit::host)   # a front-end on the host API
#
# vzkit::sdk             the plugin ABI (plugin.h), the C++ helper layer (plugin.hpp) and the
#                        engine object models: headers and a static library; brings Boost.JSON
#                        and C++20
# vzkit::host            the host API for front-ends (vzkit/host.hpp): plugins, validation, plans,
#                        VMs and running them
# VZKIT_PLUGIN_DIR       the folder this vzkit loads its installed plugins from
include(CMakeFindDependencyMacro)
find_dependency(Boost 1.81 COMPONENTS json filesystem)
find_dependency(Threads)
include("${CMAKE_CURRENT_LIST_DIR}/vzkitTargets.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/VzkitPlugin.cmake")
get_filename_component(VZKIT_PLUGIN_DIR "${CMAKE_CURRENT_LIST_DIR}/../../vzkit/plugins" ABSOLUTE)
]=] @ONLY)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/vzkit-package/vzkitConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/vzkit-package/vzkitConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/vzkit-package/vzkitConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/VzkitPlugin.cmake
  DESTINATION ${VZKIT_INSTALL_CMAKEDIR})

# ---- pkg-config. The prefix is known only when installing (--prefix may override it), so the
# file is finished by the install script and then installed like any other.
file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/vzkit-package/vzkit-sdk.pc.in CONTENT [=[
prefix=%PREFIX%
includedir=${prefix}/include
libdir=${prefix}/lib
plugindir=${prefix}/lib/vzkit/plugins

Name: vzkit-sdk
Description: vzkit device plugin SDK: the plugin C ABI (plain C), the C++ helper layer and engine object models (C++20)
Version: @PROJECT_VERSION@
Cflags: -I${includedir}
Libs: -L${libdir} -lvzkit_sdk -lboost_json
]=] @ONLY)
install(CODE "
  file(READ \"${CMAKE_CURRENT_BINARY_DIR}/vzkit-package/vzkit-sdk.pc.in\" vzkit_pc)
  string(REPLACE \"%PREFIX%\" \"\${CMAKE_INSTALL_PREFIX}\" vzkit_pc \"\${vzkit_pc}\")
  file(CONFIGURE OUTPUT \"${CMAKE_CURRENT_BINARY_DIR}/vzkit-package/vzkit-sdk.pc\" CONTENT \"\${vzkit_pc}\" @ONLY)
")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/vzkit-package/vzkit-sdk.pc DESTINATION lib/pkgconfig)
