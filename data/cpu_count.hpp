// How many threads a run uses when none is asked for (--threads 0, threads=None): the CPUs this
// process may run on, as a batch scheduler or container gives them, not every CPU of the node.
#pragma once

#include <cstdint>

namespace kfold::data {

// OMP_NUM_THREADS when it is set to a positive number (its first entry), else the CPUs of this
// process's affinity mask (a SLURM allocation's cpuset, taskset, docker --cpuset-cpus), else the
// machine's online CPUs; at least 1.
int64_t default_threads();

}  // namespace kfold::data
