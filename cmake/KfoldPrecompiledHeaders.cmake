# Precompiled libtorch headers for the targets that use libtorch (kfold_fold, kfold_pipelines, kfold_cli, the Python
# module and the torch test suites). Parsing <ATen/ATen.h> and torch's header-only fmt takes about 9 s
# of each such translation unit's 13 s; the precompiled image is built twice per build tree (once
# position-independent for the libraries, once for the executables: GCC refuses an image made with
# other -fpic/-fpie settings) and every target reuses one of them.
# Measured (GCC 12, -O2 -g1, quiet host): fold/input_pipeline.cpp 13.1 -> 6.7 s, fold/triangle_attention.cpp
# 8.9 -> 4.2 s, pipelines/predict/loaded_model.cpp 12.2 -> 5.7 s; one image is 19 s to build, ~420 MB.
# A mismatched image is a -Winvalid-pch warning (an error under KFOLD_WERROR) instead of a slow build.
# The header list is the image: <c10/util/Logging.h> first, so that doctest's CHECK, included after it
# by the test files, is the definition that stays (tests/doctest_c10.hpp does the same without an image).
option(KFOLD_PRECOMPILED_HEADERS "Precompile libtorch's headers once for every target that uses them" ON)
if(KFOLD_PRECOMPILED_HEADERS AND NOT CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(KFOLD_PRECOMPILED_HEADERS OFF)
endif()
set(_kfold_torch_pch_headers <c10/util/Logging.h> <ATen/ATen.h> <fmt/format.h>)

# ccache caches precompiled headers and the compilations that use them only with the sloppiness settings
# pch_defines and time_macros (the image's macros and __TIME__ are compared by content, not by ccache): a
# launcher script adds them to the user's own.
if(KFOLD_PRECOMPILED_HEADERS AND KFOLD_CCACHE)
  set(_kfold_launcher ${PROJECT_BINARY_DIR}/generated/ccache_pch_launcher.sh)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/ccache_pch_launcher.sh.in ${_kfold_launcher} @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_kfold_launcher})
endif()

# _kfold_torch_pch_donor(NAME PIC|PIE): an object library that builds the image for one code model.
function(_kfold_torch_pch_donor name model)
  if(TARGET ${name})
    return()
  endif()
  set(anchor ${PROJECT_BINARY_DIR}/generated/${name}.cpp)
  if(NOT EXISTS ${anchor})
    file(WRITE ${anchor} "// Anchor of the precompiled libtorch headers (cmake/KfoldPrecompiledHeaders.cmake).\n")
  endif()
  add_library(${name} OBJECT ${anchor})
  # The consumers' definitions that torch's headers or fmt read (FMT_SHARED from Debian's fmt, via kfold_data)
  # must be the image's too: GCC refuses an image made without them.
  target_link_libraries(${name} PRIVATE kfold_data kfold_torch OpenMP::OpenMP_CXX kfold_warnings)
  if(model STREQUAL "PIE")
    set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${name} PRIVATE -fPIE)
  else()
    set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endif()
  target_precompile_headers(${name} PRIVATE ${_kfold_torch_pch_headers})
endfunction()

# kfold_precompile_torch_headers(TARGET): TARGET's C++ files start from the precompiled libtorch headers.
# Returns FALSE in RESULT_VAR (optional second argument) when precompiled headers are off.
function(kfold_precompile_torch_headers target)
  set(used FALSE)
  if(KFOLD_PRECOMPILED_HEADERS)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      _kfold_torch_pch_donor(kfold_torch_pch_executables PIE)
      target_precompile_headers(${target} REUSE_FROM kfold_torch_pch_executables)
    else()
      _kfold_torch_pch_donor(kfold_torch_pch_libraries PIC)
      target_precompile_headers(${target} REUSE_FROM kfold_torch_pch_libraries)
    endif()
    set(used TRUE)
  endif()
  if(ARGC GREATER 1)
    set(${ARGV1} ${used} PARENT_SCOPE)
  endif()
endfunction()
