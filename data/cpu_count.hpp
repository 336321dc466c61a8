// How many threads a run uses when none is asked for (--threads 0, threads=None): the CPUs this
// process may run on, as a batch scheduler or container gives them, not every CPU of the node.
#pragma once

#include <cstdint>

namespace kfold::data {

// The most threads kfold takes (--threads' range): more is a typo, not a machine.
constexpr int64_t kMaxThreads = 4096;

// OMP_NUM_THREADS when it is set to a number in 1..kMaxThreads (its first entry; one beyond that, an
// overflow included, is warned about and ignored), else the CPUs of this
// process's affinity mask (a SLURM allocation's cpuset, taskset, docker --cpuset-cpus), else the
// machine's online CPUs; at least 1.
int64_t default_threads();

}  // namespace kfold::data
