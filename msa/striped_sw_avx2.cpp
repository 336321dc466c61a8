// AVX2 instantiation of the striped Smith-Waterman kernel (32 x 8-bit, 16 x 16-bit or 8 x 32-bit lanes). Compiled
// for AVX2 through a target pragma placed after the standard headers, so that nothing shared with other
// files is built with AVX2; called only when the CPU reports AVX2.
#include <algorithm>
#include <cstdint>
#include <utility>

#include "msa/striped_sw.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2")

#include "msa/striped_sw_kernel.hpp"

namespace kfold::msa::detail {
namespace {

// One lane up across the whole 256-bit register: the low 128-bit half's top bytes move into the
// high half, zeros enter at the bottom.
template <int kBytes>
inline __m256i shift_in_256(__m256i a) {
  return _mm256_alignr_epi8(a, _mm256_permute2x128_si256(a, a, 0x08), 16 - kBytes);
}

struct Avx2U8 {
  using V = __m256i;
  static V zero() { return _mm256_setzero_si256(); }
  static V set1(int32_t x) { return _mm256_set1_epi8(static_cast<char>(x)); }
  static V subs(V a, V b) { return _mm256_subs_epu8(a, b); }
  static V max(V a, V b) { return _mm256_max_epu8(a, b); }
  static V add_score(V h, V p, V bias) { return _mm256_subs_epu8(_mm256_adds_epu8(h, p), bias); }
  static V shift_in(V a) { return shift_in_256<1>(a); }
  static bool any_gt(V a, V b) {
    return _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_subs_epu8(a, b), _mm256_setzero_si256())) != -1;
  }
  static int32_t hmax(V a) {
    alignas(32) uint8_t lanes[32];
    _mm256_store_si256(reinterpret_cast<V*>(lanes), a);
    int32_t best = 0;
    for (const uint8_t x : lanes) best = x > best ? x : best;
    return best;
  }
};

struct Avx2I16 {
  using V = __m256i;
  static V zero() { return _mm256_setzero_si256(); }
  static V set1(int32_t x) { return _mm256_set1_epi16(static_cast<int16_t>(x)); }
  static V subs(V a, V b) { return _mm256_subs_epu16(a, b); }  // values are in [0, 32767]
  static V max(V a, V b) { return _mm256_max_epi16(a, b); }
  static V add_score(V h, V p, V) { return _mm256_max_epi16(_mm256_adds_epi16(h, p), _mm256_setzero_si256()); }
  static V shift_in(V a) { return shift_in_256<2>(a); }
  static bool any_gt(V a, V b) { return _mm256_movemask_epi8(_mm256_cmpgt_epi16(a, b)) != 0; }
  static int32_t hmax(V a) {
    alignas(32) int16_t lanes[16];
    _mm256_store_si256(reinterpret_cast<V*>(lanes), a);
    int32_t best = 0;
    for (const int16_t x : lanes) best = x > best ? x : best;
    return best;
  }
};

struct Avx2I32 {
  using V = __m256i;
  static V zero() { return _mm256_setzero_si256(); }
  static V set1(int32_t x) { return _mm256_set1_epi32(x); }
  static V subs(V a, V b) { return _mm256_max_epi32(_mm256_sub_epi32(a, b), _mm256_setzero_si256()); }
  static V max(V a, V b) { return _mm256_max_epi32(a, b); }
  static V add_score(V h, V p, V) { return _mm256_max_epi32(_mm256_add_epi32(h, p), _mm256_setzero_si256()); }
  static V shift_in(V a) { return shift_in_256<4>(a); }
  static bool any_gt(V a, V b) { return _mm256_movemask_epi8(_mm256_cmpgt_epi32(a, b)) != 0; }
  static int32_t hmax(V a) {
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<V*>(lanes), a);
    return *std::max_element(lanes, lanes + 8);
  }
};

}  // namespace

int32_t striped_u8_avx2(const StripedInput& in, bool& overflow) { return striped_local_score<Avx2U8>(in, overflow); }
int32_t striped_i16_avx2(const StripedInput& in, bool& overflow) { return striped_local_score<Avx2I16>(in, overflow); }
int64_t striped_store_u8_avx2(const StripedInput& in, void* columns, int32_t stop_score) {
  return striped_store_columns<Avx2U8>(in, columns, stop_score);
}
int64_t striped_store_i16_avx2(const StripedInput& in, void* columns, int32_t stop_score) {
  return striped_store_columns<Avx2I16>(in, columns, stop_score);
}
int32_t striped_i32_avx2(const StripedInput& in, bool& overflow) { return striped_local_score<Avx2I32>(in, overflow); }
int64_t striped_store_i32_avx2(const StripedInput& in, void* columns, int32_t stop_score) {
  return striped_store_columns<Avx2I32>(in, columns, stop_score);
}

}  // namespace kfold::msa::detail

#pragma GCC pop_options

#endif  // x86-64 (elsewhere only the scalar code is selected, and striped_sw.cpp does not refer to these)
