// Helper of the gpu-labelled suites: whether a CUDA device is usable. Without one a case passes with a
// message, unless KFOLD_REQUIRE_GPU=1 (scripts/gpu_check), which makes it fail.
#pragma once

#include <ATen/Context.h>
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

namespace kfold::test {

// true when a CUDA device is usable; otherwise says why and (with KFOLD_REQUIRE_GPU=1) fails.
inline bool have_cuda() {
  if (at::hasCUDA()) return true;
  const char* require = std::getenv("KFOLD_REQUIRE_GPU");
  if (require != nullptr && std::string(require) == "1") {
    FAIL("KFOLD_REQUIRE_GPU=1 but libtorch sees no CUDA device");
  }
  MESSAGE("skipped: no CUDA device");
  return false;
}

}  // namespace kfold::test
