// runtime_info(): torch, OpenMP and malloc facts here, CUDA facts from cuda_runtime_info.cu.
#include "kernels/runtime_info.hpp"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/headeronly/version.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/cuda_runtime_info.hpp"

namespace kfold::kernels {

namespace {

// tcmalloc's C interface (gperftools' malloc_extension_c.h), looked up at run time: kfold has no link-time
// dependency on it, and these are null under any other malloc.
using GetNumericProperty = int (*)(const char*, size_t*);
using SetNumericProperty = int (*)(const char*, size_t);
constexpr const char* kDecommit = "tcmalloc.aggressive_memory_decommit";

}  // namespace

bool malloc_retains_freed_memory() {
  const auto get = reinterpret_cast<GetNumericProperty>(dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty"));
  size_t decommit = 0;
  return get != nullptr && get(kDecommit, &decommit) != 0 && decommit == 0;
}

bool malloc_release_freed_memory() {
  const auto set = reinterpret_cast<SetNumericProperty>(dlsym(RTLD_DEFAULT, "MallocExtension_SetNumericProperty"));
  return set != nullptr && set(kDecommit, 1) != 0;
}

RuntimeInfo runtime_info() {
  RuntimeInfo info;
  info.torch_version = TORCH_VERSION;
#ifdef _OPENMP
  info.openmp = true;
  info.openmp_max_threads = omp_get_max_threads();
#endif
  info.torch_threads = at::get_num_threads();
  // tcmalloc exports tc_version: present when it serves this process's malloc (cmake/KfoldOptions.cmake).
  info.malloc_name = dlsym(RTLD_DEFAULT, "tc_version") != nullptr ? "tcmalloc" : "glibc";
  fill_cuda_info(info);
  return info;
}

}  // namespace kfold::kernels
