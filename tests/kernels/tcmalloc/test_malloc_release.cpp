// kernels/malloc_control.hpp in a binary linked with tcmalloc, as the kfold executable is
// (built only when KFOLD_WITH_TCMALLOC): tcmalloc keeps freed memory until told to release it, which the
// CPU memory guard does when only tcmalloc's retention would not fit (fold/memory_estimate.cpp).
#include <doctest/doctest.h>

#include "kernels/malloc_control.hpp"
#include "kernels/runtime_info.hpp"

TEST_CASE("tcmalloc keeps freed memory until the guard tells it to release") {
  CHECK(kfold::kernels::runtime_info().malloc_name == "tcmalloc");
  CHECK(kfold::kernels::malloc_retains_freed_memory());
  CHECK(kfold::kernels::malloc_release_freed_memory());
  CHECK_FALSE(kfold::kernels::malloc_retains_freed_memory());
}
