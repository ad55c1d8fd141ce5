# vzkit_add_plugin(NAME SOURCES...): builds a device plugin as a shared library named
# vzkit-plugin-NAME.so with only its entry symbol exported. It links vzkit::sdk (the headers and
# the static SDK library) and precompiles the SDK's headers: inside vzkit's tree all plugins share
# one precompiled header (the target vzkit_plugin_pch), outside it each plugin gets its own, so an
# edit of a plugin's source recompiles only that source. VZKIT_PLUGIN_PCH=OFF turns it off.
option(VZKIT_PLUGIN_PCH "Precompile the SDK headers for device plugins" ON)

# The headers every plugin includes, precompiled once.
set(VZKIT_PLUGIN_PCH_HEADERS <vzkit/plugin.hpp> <vzkit/units.hpp> <filesystem> <map> <optional> <string> <vector>)

function(vzkit_use_plugin_pch target)
  if(NOT VZKIT_PLUGIN_PCH)
    return()
  endif()
  if(TARGET vzkit_plugin_pch)
    target_precompile_headers(${target} REUSE_FROM vzkit_plugin_pch)
  else()
    # C++ sources only: a plugin may have C files too.
    set(headers ${VZKIT_PLUGIN_PCH_HEADERS})
    list(TRANSFORM headers PREPEND "$<$<COMPILE_LANGUAGE:CXX>:")
    list(TRANSFORM headers APPEND ">")
    target_precompile_headers(${target} PRIVATE ${headers})
  endif()
endfunction()

function(vzkit_add_plugin name)
  set(target vzkit-plugin-${name})
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE vzkit::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "vzkit-plugin-${name}"
    DEFINE_SYMBOL ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  vzkit_use_plugin_pch(${target})
  if(DEFINED VZKIT_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${VZKIT_PLUGIN_OUTPUT_DIR})
  endif()
  if(NOT APPLE)
    # Nothing of the static SDK library leaves the plugin: only the entry symbol is exported.
    target_link_options(${target} PRIVATE -Wl,--exclude-libs,ALL)
    # Under clang's sanitizers the runtime lives in the program that loads the plugin, so a
    # plugin has undefined symbols on purpose there (cmake/Sanitize.cmake).
    if(NOT VZKIT_SANITIZE AND NOT VZKIT_FUZZ)
      target_link_options(${target} PRIVATE -Wl,--no-undefined)
    endif()
  endif()
  set_property(GLOBAL APPEND PROPERTY VZKIT_PLUGINS ${target})
endfunction()
