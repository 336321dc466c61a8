# Build options (all prefixed KFOLD_) and the compiler flags they imply.
option(KFOLD_BUILD_TESTS "Build the doctest suites and register them with CTest" ON)
# Build trees configured before the module landed cache the placeholder option's OFF: drop it.
get_property(_kfold_python_help CACHE KFOLD_PYTHON PROPERTY HELPSTRING)
if(_kfold_python_help MATCHES "arrives with the Python issue")
  unset(KFOLD_PYTHON CACHE)
endif()
option(KFOLD_PYTHON "Build the Python module kfold._core (pybind11, from the venv)" ON)
option(KFOLD_WERROR "Treat compiler warnings as errors" OFF)
set(KFOLD_CUDA "AUTO" CACHE STRING "Build CUDA kernels: AUTO (when nvcc and a CUDA libtorch exist), ON, OFF")
set_property(CACHE KFOLD_CUDA PROPERTY STRINGS AUTO ON OFF)
set(KFOLD_SANITIZE "" CACHE STRING "Comma-separated sanitizers, e.g. address,undefined or thread")
set(KFOLD_TCMALLOC "AUTO" CACHE STRING
    "Link the kfold executable with tcmalloc_minimal: AUTO (when found and no sanitizer), ON, OFF")
set_property(CACHE KFOLD_TCMALLOC PROPERTY STRINGS AUTO ON OFF)
# sm_80 code, and sm_90 code plus its PTX, which the driver compiles for newer GPUs (sm_100, sm_120).
set(KFOLD_CUDA_ARCHITECTURES "80-real;90" CACHE STRING
    "CUDA architectures to build for (default: sm_80 and sm_90 code, and compute_90 PTX for newer GPUs)")

# Debug information of the default RelWithDebInfo build. GCC's -g1 keeps functions, inlined frames and
# line tables: backtraces, sanitizer reports and `perf` name functions, files and lines as with -g. -g also
# describes types and local variables, for a debugger, and costs: fold/input_pipeline.cpp 22.6 s at -g,
# 13.1 s at -g1; the kfold binary 222 MB at -g, 58 MB at -g1. A Debug build keeps -g.
set(KFOLD_DEBUG_INFO "lines" CACHE STRING
    "Debug information of RelWithDebInfo builds: lines (-g1, the default) or full (-g, for a debugger)")
set_property(CACHE KFOLD_DEBUG_INFO PROPERTY STRINGS lines full)
if(NOT KFOLD_DEBUG_INFO MATCHES "^(lines|full)$")
  message(FATAL_ERROR "KFOLD_DEBUG_INFO='${KFOLD_DEBUG_INFO}': use lines or full")
endif()
if(KFOLD_DEBUG_INFO STREQUAL "lines" AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  add_compile_options($<$<AND:$<COMPILE_LANGUAGE:CXX,C>,$<CONFIG:RelWithDebInfo>>:-g1>)
endif()

# Warnings for kfold's own targets (not third-party code).
add_library(kfold_warnings INTERFACE)
target_compile_options(kfold_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor
                            $<$<BOOL:${KFOLD_WERROR}>:-Werror>>
  # GCC 12's -Wrestrict misfires at -O3 inside libstdc++'s std::string concatenation (GCC PR 105651): a
  # CMAKE_BUILD_TYPE=Release build stopped on it under -Werror (data/npz_file.cpp, pipelines/agent/agent_outputs.cpp).
  $<$<AND:$<COMPILE_LANG_AND_ID:CXX,GNU>,$<CONFIG:Release>>:-Wno-restrict>)

if(KFOLD_SANITIZE)
  string(REPLACE "," ";" _sanitizers "${KFOLD_SANITIZE}")
  foreach(_s IN LISTS _sanitizers)
    add_compile_options($<$<COMPILE_LANGUAGE:CXX,C>:-fsanitize=${_s}>)
    add_link_options(-fsanitize=${_s})
  endforeach()
  # GCC's -Wmaybe-uninitialized gives false positives under -fsanitize (inside libstdc++ too).
  add_compile_options($<$<COMPILE_LANGUAGE:CXX,C>:-fno-omit-frame-pointer> $<$<COMPILE_LANGUAGE:CXX,C>:-Wno-maybe-uninitialized>)
  # -O1, the sanitizers' own advice, in the default build type: reports are as exact, and the instrumented
  # files compile in about 60 % of the time of -O2 (tests/agent/test_agent_run.cpp 43.7 -> 25.7 s under ASan+UBSan).
  add_compile_options($<$<AND:$<COMPILE_LANGUAGE:CXX,C>,$<CONFIG:RelWithDebInfo>>:-O1>)
  if("undefined" IN_LIST _sanitizers)
    add_compile_options($<$<COMPILE_LANGUAGE:CXX,C>:-fno-sanitize-recover=undefined>)
  endif()
endif()

find_program(KFOLD_CCACHE ccache)
if(KFOLD_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${KFOLD_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${KFOLD_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${KFOLD_CCACHE})
endif()

# tcmalloc_minimal (Debian's libtcmalloc-minimal4) for the executables that run the model, where it then serves
# every malloc of the process. glibc's malloc returns freed blocks above its mmap threshold (32 MB at most) to
# the kernel, so each new pair-sized tensor page-faults again: a quarter of an Evoformer block's time on CPU.
# tcmalloc keeps them for reuse (bench_evoformer L 256: 3.0 -> 1.9 s, peak RSS +6 %). Executables only: a
# Python module must not bring its own malloc into a running interpreter. Not with sanitizers (they replace
# malloc themselves) unless forced.
set(KFOLD_WITH_TCMALLOC OFF)
if(NOT KFOLD_TCMALLOC STREQUAL "OFF" AND NOT (KFOLD_SANITIZE AND KFOLD_TCMALLOC STREQUAL "AUTO"))
  find_library(KFOLD_TCMALLOC_LIBRARY NAMES tcmalloc_minimal libtcmalloc_minimal.so.4)
  if(KFOLD_TCMALLOC_LIBRARY)
    set(KFOLD_WITH_TCMALLOC ON)
  elseif(KFOLD_TCMALLOC STREQUAL "ON")
    message(FATAL_ERROR "KFOLD_TCMALLOC=ON but libtcmalloc_minimal was not found (Debian: libtcmalloc-minimal4)")
  endif()
endif()

# kfold_use_tcmalloc(TARGET): links the executable TARGET with tcmalloc when KFOLD_WITH_TCMALLOC.
function(kfold_use_tcmalloc target)
  if(KFOLD_WITH_TCMALLOC)
    # No symbol of it is referenced: keep it where the linker defaults to --as-needed.
    target_link_libraries(${target} PRIVATE "-Wl,--push-state,--no-as-needed" ${KFOLD_TCMALLOC_LIBRARY}
                                            "-Wl,--pop-state")
  endif()
endfunction()

# kfold_glue_optimization(TARGET [SOURCES...]): -O1 instead of -O2 in the default RelWithDebInfo build for code
# whose speed does not matter and whose compile time does: the test suites, the command-line parsing, the Python
# bindings' conversions (all the work they call is in the -O2 libraries). Measured (GCC 12, -g1, quiet host):
# tests/agent/test_agent_run.cpp 10.2 -> 7.6 s, pipelines/cli/agent.cpp 11.0 -> 8.7 s,
# pipelines/python/model_bindings.cpp 18.2 -> 14.3 s; these files are half of a cold build's compile time.
# With SOURCES, those files of TARGET only. (A precompiled header made at -O2 serves them: GCC checks no -O.)
function(kfold_glue_optimization target)
  set(option $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CONFIG:RelWithDebInfo>>:-O1>)
  if(ARGC GREATER 1)
    set_property(SOURCE ${ARGN} TARGET_DIRECTORY ${target} APPEND PROPERTY COMPILE_OPTIONS ${option})
  else()
    target_compile_options(${target} PRIVATE ${option})
  endif()
endfunction()
