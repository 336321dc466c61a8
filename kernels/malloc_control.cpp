// malloc_control.hpp through tcmalloc's C interface, looked up at run time.
#include "kernels/malloc_control.hpp"

#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstddef>

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

void trim_freed_heap_memory() {
#if defined(__GLIBC__)
  if (dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty") == nullptr) ::malloc_trim(0);  // not on tcmalloc
#endif
}

}  // namespace kfold::kernels
