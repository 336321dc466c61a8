// Which x86-64 instruction-set level kfold's own CPU kernels run (the fused attention, the Potts
// objective; the search's striped Smith-Waterman takes it as its ceiling): the highest this CPU has,
// lowered by KFOLD_CPU_CAPABILITY (default | avx2 | avx512, the names of libtorch's ATEN_CPU_CAPABILITY)
// or by a test. Each kernel is compiled once per level and picks its copy at every call, so a test can
// run all of them on one machine.
#pragma once

#include <string_view>

// A function compiled for one level (x86-64 with GCC or Clang; elsewhere every level is the baseline): the
// features cpu_capability_supported() checks, no more. Helpers it calls must be always-inline to be
// compiled for that level too.
#if defined(__x86_64__) && defined(__GNUC__)
#define KFOLD_TARGET_AVX512 __attribute__((target("avx2,fma,bmi,bmi2,avx512f,avx512bw,avx512cd,avx512dq,avx512vl")))
#define KFOLD_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2")))
#else
#define KFOLD_TARGET_AVX512
#define KFOLD_TARGET_AVX2
#endif

namespace kfold::data {

// x86-64 (SSE2); AVX2, FMA, BMI1/2 (x86-64-v3's vector features); and AVX-512 F/BW/CD/DQ/VL (x86-64-v4's).
enum class CpuCapability { baseline = 0, avx2 = 1, avx512 = 2 };

// What this CPU runs (baseline on other architectures).
CpuCapability cpu_capability_supported();

// What the kernels use: the least of cpu_capability_supported(), KFOLD_CPU_CAPABILITY (read once; another
// value is warned about and ignored) and the limit below.
CpuCapability cpu_capability();

// What KFOLD_CPU_CAPABILITY and the limit below ask for, whatever the CPU has (a ceiling for kernels that
// need fewer features than a level's copies: the search's striped kernels need AVX2 alone, not FMA or BMI).
CpuCapability cpu_capability_requested();

// Caps cpu_capability() for the whole process (tests; the kernels read it at each call).
void set_cpu_capability_limit(CpuCapability limit);

// "default", "avx2", "avx512".
std::string_view cpu_capability_name(CpuCapability c);

}  // namespace kfold::data
