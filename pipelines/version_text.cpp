// The text of `kfold --version` and kfold.version() (pipelines/version_text.hpp).
#include <fmt/format.h>

#include "data/cpu_capability.hpp"
#include "fold/cpu_matmul.hpp"
#include "kernels/runtime_info.hpp"
#include "pipelines/git_revision.hpp"
#include "pipelines/version.hpp"
#include "pipelines/version_text.hpp"

namespace kfold::pipelines {

std::string version_text() {
  const auto info = kernels::runtime_info();
  std::string text = fmt::format("kfold {} (git {})\n", kVersion, git_revision());
  text += fmt::format("torch {} ({} intra-op threads)\n", info.torch_version, info.torch_threads);
  if (!info.cuda_compiled) {
    text += "CUDA: not compiled in\n";
  } else {
    text += fmt::format("CUDA: compiled (runtime {}), driver {}, {} device(s)\n", info.cuda_runtime,
                        info.cuda_driver.empty() ? "none" : info.cuda_driver, info.cuda_devices.size());
    for (const auto& d : info.cuda_devices)
      text += fmt::format("  cuda:{} {} ({:.1f} GiB, sm_{}{})\n", d.index, d.name,
                          static_cast<double>(d.memory_bytes) / (1 << 30), d.compute_major, d.compute_minor);
  }
  text +=
      info.openmp ? fmt::format("OpenMP: yes ({} threads)\n", info.openmp_max_threads) : std::string("OpenMP: no\n");
  text += fmt::format("CPU matrix products: {}\n", fold::onednn_available() ? "oneDNN" : "torch (at::addmm)");
  text += fmt::format("CPU kernels: {} (this CPU: {}; KFOLD_CPU_CAPABILITY lowers it)\n",
                      data::cpu_capability_name(data::cpu_capability()),
                      data::cpu_capability_name(data::cpu_capability_supported()));
  text += fmt::format("malloc: {}", info.malloc_name);
  return text;
}

}  // namespace kfold::pipelines
