// default_threads (data/cpu_count.hpp).
#include "data/cpu_count.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

namespace kfold::data {

int64_t default_threads() {
  if (const char* omp = std::getenv("OMP_NUM_THREADS"); omp != nullptr && *omp != '\0') {
    char* end = nullptr;
    const long n = std::strtol(omp, &end, 10);  // "8" or "8,4" (nested levels: the first is ours)
    if (n > 0 && (*end == '\0' || *end == ',')) return n;
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
