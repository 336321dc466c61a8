// default_threads (data/cpu_count.hpp).
#include "data/cpu_count.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "data/log.hpp"

namespace kfold::data {

int64_t default_threads() {
  if (const char* omp = std::getenv("OMP_NUM_THREADS"); omp != nullptr && *omp != '\0') {
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(omp, &end, 10);  // "8" or "8,4" (nested levels: the first is ours)
    const bool number = end != omp && (*end == '\0' || *end == ',');
    if (number && errno == 0 && n > 0 && n <= kMaxThreads) return n;
    if (number && n > kMaxThreads) {  // an overflow too (strtoll gives LLONG_MAX)
      static std::once_flag warned;
      std::call_once(warned, [&] {
        log_warn("OMP_NUM_THREADS={}: more than {} threads; using the CPUs this process may use instead", omp,
                 kMaxThreads);
      });
    }
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return std::max<int64_t>(1, std::thread::hardware_concurrency());
}

}  // namespace kfold::data
