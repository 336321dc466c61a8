// cpu_capability (data/cpu_capability.hpp).
#include "data/cpu_capability.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>

#include "data/log.hpp"

namespace kfold::data {
namespace {

std::atomic<int> g_limit{static_cast<int>(CpuCapability::avx512)};

CpuCapability from_environment() {
  const char* value = std::getenv("KFOLD_CPU_CAPABILITY");
  if (value == nullptr || *value == '\0') return CpuCapability::avx512;
  for (const auto c : {CpuCapability::baseline, CpuCapability::avx2, CpuCapability::avx512})
    if (cpu_capability_name(c) == value) return c;
  log_warn("KFOLD_CPU_CAPABILITY={}: expected default, avx2 or avx512; ignored", value);
  return CpuCapability::avx512;
}

}  // namespace

CpuCapability cpu_capability_supported() {
#if defined(__x86_64__) && defined(__GNUC__)
  // Feature by feature (Clang 14 knows no level names): x86-64-v3's vector and bit-manipulation features,
  // then v4's AVX-512 subsets.
  static const CpuCapability supported = [] {
    __builtin_cpu_init();
    const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
                    __builtin_cpu_supports("bmi2");
    const bool v4 = v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                    __builtin_cpu_supports("avx512vl");
    return v4 ? CpuCapability::avx512 : v3 ? CpuCapability::avx2 : CpuCapability::baseline;
  }();
  return supported;
#else
  return CpuCapability::baseline;
#endif
}

CpuCapability cpu_capability_requested() {
  static const CpuCapability environment = from_environment();
  return static_cast<CpuCapability>(std::min(static_cast<int>(environment), g_limit.load()));
}

CpuCapability cpu_capability() { return std::min(cpu_capability_supported(), cpu_capability_requested()); }

void set_cpu_capability_limit(CpuCapability limit) { g_limit.store(static_cast<int>(limit)); }

std::string_view cpu_capability_name(CpuCapability c) {
  switch (c) {
    case CpuCapability::baseline:
      return "default";
    case CpuCapability::avx2:
      return "avx2";
    case CpuCapability::avx512:
      return "avx512";
  }
  return "default";
}

}  // namespace kfold::data
