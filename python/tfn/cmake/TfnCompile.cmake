# TfnCompile: compile tfn functions ahead of time into C libraries at build time.
#
#   find_package(Tfn CONFIG REQUIRED)   # -DTfn_DIR=$(python -m tfn --cmake-dir), or
#   include(TfnCompile)                 # with this directory on CMAKE_MODULE_PATH
#
#   tfn_add_library(<target>
#       SOURCE <file.py:function | file.mlir>   # relative to the current source directory
#       [SHAPES <specs>]            # Python input: 'f32[64,784],(f32[784,10],f32[10])'
#       [ENTRY <name>]              # .mlir input: the function to compile
#       [NAME <c-name>]             # the C function and header name (default: function/entry)
#       [STATIC | SHARED]           # library kind (default STATIC)
#       [CPU <host|generic|cpu>]    # default: TFN_CPU
#       [OPT_LEVEL <0-3>]           # default 3
#       [USE_BLAS]                  # large contractions call scipy_cblas_[sd]gemm64_
#       [DEPENDS <files>...])       # more inputs that trigger a rebuild (imported modules)
#
# runs tfn-compile at build time (add_custom_command) and creates the library
# <target> exporting `int <c-name>(const T* in0, ..., U* out0, ...)`; linking it
# adds the directory of the generated <c-name>.h to the include path and links libm.
# The target installs and exports like any library (the header is its PUBLIC_HEADER).
#
# Cache variables: TFN_PYTHON (the Python that has tfn installed; default the Python of
# the environment this file was installed into, or a source checkout's .venv), TFN_CPU
# (default 'host'; 'generic' for binaries that must run on any x86-64).

include_guard(GLOBAL)

# This file lives in the tfn package (<package>/cmake): installed, in
# <prefix>/lib/pythonX.Y/site-packages/tfn/cmake; in a source checkout, in python/tfn/cmake.
get_filename_component(TFN_PACKAGE_DIR "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
get_filename_component(_tfn_checkout "${TFN_PACKAGE_DIR}/../.." ABSOLUTE)
if(EXISTS "${_tfn_checkout}/pyproject.toml" AND EXISTS "${_tfn_checkout}/python/tfn")
  set(TFN_SOURCE_DIR "${_tfn_checkout}")
  set(_tfn_default_python "${_tfn_checkout}/.venv/bin/python")
  set(_tfn_env "PYTHONPATH=${_tfn_checkout}/python")
else()
  get_filename_component(_tfn_prefix "${TFN_PACKAGE_DIR}/../../../.." ABSOLUTE)
  set(_tfn_default_python "${_tfn_prefix}/bin/python")
  set(_tfn_env "")
endif()
set(TFN_PYTHON "${_tfn_default_python}" CACHE FILEPATH
    "Python interpreter with tfn installed, used to run tfn-compile")
set(TFN_CPU "host" CACHE STRING "Default CPU of tfn_add_library: host, generic or an LLVM x86-64 CPU name")

function(tfn_add_library target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "STATIC;SHARED;USE_BLAS" "SOURCE;SHAPES;ENTRY;NAME;CPU;OPT_LEVEL"
                        "DEPENDS")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "tfn_add_library(${target}): unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_SOURCE)
    message(FATAL_ERROR "tfn_add_library(${target}): SOURCE <file.py:function | file.mlir> is required")
  endif()
  if(ARG_STATIC AND ARG_SHARED)
    message(FATAL_ERROR "tfn_add_library(${target}): give STATIC or SHARED, not both")
  endif()
  if(NOT EXISTS "${TFN_PYTHON}")
    message(FATAL_ERROR "tfn_add_library(${target}): TFN_PYTHON '${TFN_PYTHON}' does not exist; "
                        "pass -DTFN_PYTHON=/path/to/python (a Python with tfn installed)")
  endif()

  # Split 'file.py:function'; anything else is a .mlir file.
  if(ARG_SOURCE MATCHES "^(.+\\.py):([A-Za-z_][A-Za-z0-9_.]*)$")
    set(file "${CMAKE_MATCH_1}")
    set(function "${CMAKE_MATCH_2}")
    if(NOT ARG_SHAPES)
      message(FATAL_ERROR "tfn_add_library(${target}): a Python SOURCE needs SHAPES")
    endif()
    if(ARG_ENTRY)
      message(FATAL_ERROR "tfn_add_library(${target}): ENTRY is for .mlir sources")
    endif()
    set(default_name "${function}")
  else()
    set(file "${ARG_SOURCE}")
    set(function "")
    if(NOT ARG_ENTRY)
      message(FATAL_ERROR "tfn_add_library(${target}): a .mlir SOURCE needs ENTRY <function>")
    endif()
    if(ARG_SHAPES)
      message(FATAL_ERROR "tfn_add_library(${target}): SHAPES is for Python sources")
    endif()
    set(default_name "${ARG_ENTRY}")
  endif()
  get_filename_component(file "${file}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "tfn_add_library(${target}): SOURCE file '${file}' does not exist")
  endif()
  string(REGEX REPLACE "^.*\\." "" default_name "${default_name}")
  if(ARG_NAME)
    set(name "${ARG_NAME}")
  else()
    set(name "${default_name}")
  endif()
  if(NOT ARG_CPU)
    set(ARG_CPU "${TFN_CPU}")
  endif()
  if(NOT DEFINED ARG_OPT_LEVEL)
    set(ARG_OPT_LEVEL 3)
  endif()

  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/tfn/${target}")
  set(object "${out_dir}/${name}.o")
  set(header "${out_dir}/${name}.h")
  if(function)
    set(input "${file}:${function}")
    set(shape_args --shapes "${ARG_SHAPES}")
  else()
    set(input "${file}")
    set(shape_args --entry "${ARG_ENTRY}")
  endif()
  set(blas_args "")
  if(ARG_USE_BLAS)
    set(blas_args --use-blas)
  endif()
  file(GLOB_RECURSE tfn_sources CONFIGURE_DEPENDS "${TFN_PACKAGE_DIR}/*.py")
  add_custom_command(
    OUTPUT "${object}" "${header}"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${out_dir}"
    COMMAND "${CMAKE_COMMAND}" -E env ${_tfn_env}
            "${TFN_PYTHON}" -m tfn.tools.compile "${input}" ${shape_args} --name "${name}"
            --cpu "${ARG_CPU}" -O "${ARG_OPT_LEVEL}" ${blas_args} --emit obj,header,mlir -o "${out_dir}"
    DEPENDS "${file}" ${ARG_DEPENDS} ${tfn_sources} "${TFN_PACKAGE_DIR}/dialect/tfn.irdl.mlir"
    COMMENT "tfn-compile ${ARG_SOURCE} -> ${name}.o, ${name}.h"
    VERBATIM)
  set_source_files_properties("${object}" PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
  set_source_files_properties("${header}" PROPERTIES GENERATED TRUE HEADER_FILE_ONLY TRUE)

  if(ARG_SHARED)
    add_library(${target} SHARED "${object}" "${header}")
  else()
    add_library(${target} STATIC "${object}" "${header}")
  endif()
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE C)
  # Installable and exportable: install(TARGETS <target> EXPORT ... PUBLIC_HEADER DESTINATION include)
  # puts the header beside the library, and the include path names no build directory.
  target_include_directories(${target} PUBLIC "$<BUILD_INTERFACE:${out_dir}>" "$<INSTALL_INTERFACE:include>")
  set_target_properties(${target} PROPERTIES PUBLIC_HEADER "${header}")
  find_library(TFN_LIBM m)
  if(TFN_LIBM)
    target_link_libraries(${target} PUBLIC m)  # by name: an exported target names no build machine's path
  endif()
  set_property(TARGET ${target} PROPERTY TFN_HEADER "${header}")
  set_property(TARGET ${target} PROPERTY TFN_FUNCTION "${name}")
endfunction()
