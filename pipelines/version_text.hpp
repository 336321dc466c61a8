// What this build is and what the machine offers it: `kfold --version` and the Python module's kfold.version().
#pragma once

#include <string>

namespace kfold::pipelines {

// Version, git revision, torch, CUDA (devices), OpenMP, the CPU kernels and malloc, one per line.
std::string version_text();

}  // namespace kfold::pipelines
