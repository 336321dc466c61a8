// An allocator that backs large arrays with transparent huge pages (2 MiB) where the kernel allows them
// ("madvise" mode, as here, or "always"). The prefilter reads its k-mer index and per-target scan state at
// random: with 4 KiB pages nearly every such read of a ~50 MB array also misses the TLB (a page walk before
// the cache miss). Allocations under 2 MiB, or kernels without transparent huge pages, get ordinary pages.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

namespace kfold::msa {

inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

template <class T>
struct HugePageAllocator {
  using value_type = T;

  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT(google-explicit-constructor): allocator rebind

  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePageBytes) return static_cast<T*>(::operator new (bytes, std::align_val_t{alignof(T)}));
    void* p = ::operator new (bytes, std::align_val_t{kHugePageBytes});
    // A hint (ordinary pages if it fails) for the whole huge pages inside the array only: a huge page over
    // its tail would be backed in full once the last element is written (2 MiB + 64 bytes would cost 4 MiB).
    madvise(p, bytes / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes < kHugePageBytes)
      ::operator delete (p, std::align_val_t{alignof(T)});
    else
      ::operator delete (p, std::align_val_t{kHugePageBytes});
  }

  template <class U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

template <class T>
using HugePageVector = std::vector<T, HugePageAllocator<T>>;

// An array of `n` default-initialised T (not zero-filled: no page is touched before its first write).
template <class T>
struct HugePageDeleter {
  std::size_t n = 0;
  void operator()(T* p) const { HugePageAllocator<T>().deallocate(p, n); }
};
template <class T>
using HugePageArray = std::unique_ptr<T[], HugePageDeleter<T>>;
template <class T>
HugePageArray<T> make_huge_page_array(std::size_t n) {
  static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>);
  return HugePageArray<T>(HugePageAllocator<T>().allocate(n), HugePageDeleter<T>{n});
}

}  // namespace kfold::msa
