// default_threads: OMP_NUM_THREADS when set, else the CPUs of the process's affinity mask (what a
// SLURM cpuset or taskset leaves), never every CPU of the node.
#include <doctest/doctest.h>

#include <sched.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "data/cpu_count.hpp"

namespace {

// Sets (or unsets) OMP_NUM_THREADS for one scope.
class OmpNumThreads {
 public:
  explicit OmpNumThreads(const char* value) {
    if (const char* old = std::getenv("OMP_NUM_THREADS")) old_ = old;
    if (value)
      ::setenv("OMP_NUM_THREADS", value, 1);
    else
      ::unsetenv("OMP_NUM_THREADS");
  }
  ~OmpNumThreads() {
    if (old_)
      ::setenv("OMP_NUM_THREADS", old_->c_str(), 1);
    else
      ::unsetenv("OMP_NUM_THREADS");
  }

 private:
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("default_threads: OMP_NUM_THREADS, else the affinity mask") {
  {
    const OmpNumThreads omp("3");
    CHECK(kfold::data::default_threads() == 3);
  }
  {
    const OmpNumThreads omp("5,2");  // nested levels: the outer one is ours
    CHECK(kfold::data::default_threads() == 5);
  }
  cpu_set_t all;
  REQUIRE(sched_getaffinity(0, sizeof(all), &all) == 0);
  for (const char* ignored : {static_cast<const char*>(nullptr), "0", "many", "-2", "4097", "99999999999999999999"}) {
    const OmpNumThreads omp(ignored);
    CHECK(kfold::data::default_threads() == CPU_COUNT(&all));
  }
  // One CPU left to this process (as taskset -c 0 or a one-CPU SLURM allocation): one thread.
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &all)) {
      CPU_SET(cpu, &one);
      break;
    }
  REQUIRE(sched_setaffinity(0, sizeof(one), &one) == 0);
  const OmpNumThreads omp(nullptr);
  const int64_t pinned = kfold::data::default_threads();
  REQUIRE(sched_setaffinity(0, sizeof(all), &all) == 0);
  CHECK(pinned == 1);
}
