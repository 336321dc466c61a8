# Test helpers: each doctest suite becomes CTest tests (one per TEST_CASE) with a label.
if(KFOLD_BUILD_TESTS)
  enable_testing()
  find_package(doctest REQUIRED)
  include(doctest)
endif()

# kfold_add_test_suite(NAME [TORCH] LABEL label SOURCES ... LIBS ...); TORCH for suites that use libtorch
# (they start from the precompiled libtorch headers, or tests/doctest_c10.hpp without them: either keeps
# doctest's CHECK there).
function(kfold_add_test_suite name)
  cmake_parse_arguments(arg "TORCH" "LABEL" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${arg_SOURCES} ${CMAKE_SOURCE_DIR}/tests/doctest_main.cpp)
  if(arg_TORCH)
    kfold_precompile_torch_headers(${name} precompiled)
  endif()
  if(arg_TORCH AND NOT precompiled)
    target_compile_options(${name} PRIVATE
      "$<$<COMPILE_LANGUAGE:CXX>:SHELL:-include ${CMAKE_SOURCE_DIR}/tests/doctest_c10.hpp>")
  endif()
  target_link_libraries(${name} PRIVATE doctest::doctest kfold_warnings ${arg_LIBS})
  kfold_glue_optimization(${name})
  target_compile_definitions(${name} PRIVATE
    KFOLD_SOURCE_DIR="${CMAKE_SOURCE_DIR}" KFOLD_BINARY_DIR="${CMAKE_BINARY_DIR}")
  doctest_discover_tests(${name} TEST_PREFIX "${name}:" PROPERTIES LABELS "${arg_LABEL}")
endfunction()
