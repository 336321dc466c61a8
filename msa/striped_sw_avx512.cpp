// AVX-512BW instantiation of the striped Smith-Waterman kernel (64 x 8-bit, 32 x 16-bit or 16 x 32-bit lanes).
// Compiled for AVX-512BW through a target pragma placed after the standard headers (as the AVX2 file);
// called only when the CPU reports AVX-512BW.
#include <algorithm>
#include <cstdint>
#include <utility>

#include "msa/striped_sw.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw")

#include "msa/striped_sw_kernel.hpp"

namespace kfold::msa::detail {
namespace {

// One lane up across the whole 512-bit register: each 128-bit block takes the top bytes of the block
// below it (valignq moves the blocks up by one, zeros into block 0), then alignr shifts within blocks.
template <int kBytes>
inline __m512i shift_in_512(__m512i a) {
  // (The maskz form: GCC 12's plain _mm512_alignr_epi64 trips -Wmaybe-uninitialized in its header.)
  const __m512i below = _mm512_maskz_alignr_epi64(0xFF, a, _mm512_setzero_si512(), 6);
  return _mm512_alignr_epi8(a, below, 16 - kBytes);
}

struct Avx512U8 {
  using V = __m512i;
  static V zero() { return _mm512_setzero_si512(); }
  static V set1(int32_t x) { return _mm512_set1_epi8(static_cast<char>(x)); }
  static V subs(V a, V b) { return _mm512_subs_epu8(a, b); }
  static V max(V a, V b) { return _mm512_max_epu8(a, b); }
  static V add_score(V h, V p, V bias) { return _mm512_subs_epu8(_mm512_adds_epu8(h, p), bias); }
  static V shift_in(V a) { return shift_in_512<1>(a); }
  static bool any_gt(V a, V b) { return _mm512_cmpgt_epu8_mask(a, b) != 0; }
  static int32_t hmax(V a) {
    alignas(64) uint8_t lanes[64];
    _mm512_store_si512(reinterpret_cast<V*>(lanes), a);
    return *std::max_element(lanes, lanes + 64);
  }
};

struct Avx512I16 {
  using V = __m512i;
  static V zero() { return _mm512_setzero_si512(); }
  static V set1(int32_t x) { return _mm512_set1_epi16(static_cast<int16_t>(x)); }
  static V subs(V a, V b) { return _mm512_subs_epu16(a, b); }  // values are in [0, 32767]
  static V max(V a, V b) { return _mm512_max_epi16(a, b); }
  static V add_score(V h, V p, V) { return _mm512_max_epi16(_mm512_adds_epi16(h, p), _mm512_setzero_si512()); }
  static V shift_in(V a) { return shift_in_512<2>(a); }
  static bool any_gt(V a, V b) { return _mm512_cmpgt_epi16_mask(a, b) != 0; }
  static int32_t hmax(V a) {
    alignas(64) int16_t lanes[32];
    _mm512_store_si512(reinterpret_cast<V*>(lanes), a);
    return std::max<int32_t>(0, *std::max_element(lanes, lanes + 32));
  }
};

struct Avx512I32 {
  using V = __m512i;
  // (The maskz form: GCC 12's plain _mm512_max_epi32 trips -Wmaybe-uninitialized in its header.)
  static V max(V a, V b) { return _mm512_maskz_max_epi32(0xFFFF, a, b); }
  static V zero() { return _mm512_setzero_si512(); }
  static V set1(int32_t x) { return _mm512_set1_epi32(x); }
  static V subs(V a, V b) { return max(_mm512_sub_epi32(a, b), zero()); }
  static V add_score(V h, V p, V) { return max(_mm512_add_epi32(h, p), zero()); }
  static V shift_in(V a) { return shift_in_512<4>(a); }
  static bool any_gt(V a, V b) { return _mm512_cmpgt_epi32_mask(a, b) != 0; }
  static int32_t hmax(V a) {
    alignas(64) int32_t lanes[16];
    _mm512_store_si512(reinterpret_cast<V*>(lanes), a);
    return std::max<int32_t>(0, *std::max_element(lanes, lanes + 16));
  }
};

}  // namespace

int32_t striped_u8_avx512(const StripedInput& in, bool& overflow) {
  return striped_local_score<Avx512U8>(in, overflow);
}
int32_t striped_i16_avx512(const StripedInput& in, bool& overflow) {
  return striped_local_score<Avx512I16>(in, overflow);
}
int64_t striped_store_u8_avx512(const StripedInput& in, void* columns, int32_t stop_score) {
  return striped_store_columns<Avx512U8>(in, columns, stop_score);
}
int64_t striped_store_i16_avx512(const StripedInput& in, void* columns, int32_t stop_score) {
  return striped_store_columns<Avx512I16>(in, columns, stop_score);
}
int32_t striped_i32_avx512(const StripedInput& in, bool& overflow) {
  return striped_local_score<Avx512I32>(in, overflow);
}
int64_t striped_store_i32_avx512(const StripedInput& in, void* columns, int32_t stop_score) {
  return striped_store_columns<Avx512I32>(in, columns, stop_score);
}

}  // namespace kfold::msa::detail

#pragma GCC pop_options

#endif  // x86-64 (elsewhere only the scalar code is selected, and striped_sw.cpp does not refer to these)
