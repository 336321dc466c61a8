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
