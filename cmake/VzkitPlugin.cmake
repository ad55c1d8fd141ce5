# vzkit_add_plugin(NAME SOURCES...): builds a device plugin as a shared library named
# vzkit-plugin-NAME.so with only its entry symbol exported.
function(vzkit_add_plugin name)
  set(target vzkit-plugin-${name})
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE vzkit::sdk)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "vzkit-plugin-${name}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED VZKIT_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${VZKIT_PLUGIN_OUTPUT_DIR})
  endif()
  if(NOT APPLE)
    target_link_options(${target} PRIVATE -Wl,--no-undefined)
  endif()
  set_property(GLOBAL APPEND PROPERTY VZKIT_PLUGINS ${target})
endfunction()
