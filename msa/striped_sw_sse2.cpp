// SSE2 instantiation of the striped Smith-Waterman kernel (16 x 8-bit, 8 x 16-bit or 4 x 32-bit lanes).
// SSE2 is part of x86-64, so this file needs no special flags.
#include <algorithm>
#include <cstdint>

#include "msa/striped_sw.hpp"

#if defined(__x86_64__) || defined(_M_X64)
#include <emmintrin.h>

#include "msa/striped_sw_kernel.hpp"

namespace kfold::msa::detail {
namespace {

struct Sse2U8 {
  using V = __m128i;
  static V zero() { return _mm_setzero_si128(); }
  static V set1(int32_t x) { return _mm_set1_epi8(static_cast<char>(x)); }
  static V subs(V a, V b) { return _mm_subs_epu8(a, b); }
  static V max(V a, V b) { return _mm_max_epu8(a, b); }
  static V add_score(V h, V p, V bias) { return _mm_subs_epu8(_mm_adds_epu8(h, p), bias); }
  static V shift_in(V a) { return _mm_slli_si128(a, 1); }
  static bool any_gt(V a, V b) {
    return _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_subs_epu8(a, b), _mm_setzero_si128())) != 0xFFFF;
  }
  static int32_t hmax(V a) {
    alignas(16) uint8_t lanes[16];
    _mm_store_si128(reinterpret_cast<V*>(lanes), a);
    return *std::max_element(lanes, lanes + 16);
  }
};

struct Sse2I16 {
  using V = __m128i;
  static V zero() { return _mm_setzero_si128(); }
  static V set1(int32_t x) { return _mm_set1_epi16(static_cast<int16_t>(x)); }
  static V subs(V a, V b) { return _mm_subs_epu16(a, b); }  // values are in [0, 32767]
  static V max(V a, V b) { return _mm_max_epi16(a, b); }
  static V add_score(V h, V p, V) { return _mm_max_epi16(_mm_adds_epi16(h, p), _mm_setzero_si128()); }
  static V shift_in(V a) { return _mm_slli_si128(a, 2); }
  static bool any_gt(V a, V b) { return _mm_movemask_epi8(_mm_cmpgt_epi16(a, b)) != 0; }
  static int32_t hmax(V a) {
    alignas(16) int16_t lanes[8];
    _mm_store_si128(reinterpret_cast<V*>(lanes), a);
    return *std::max_element(lanes, lanes + 8);
  }
};

struct Sse2I32 {
  using V = __m128i;
  static V zero() { return _mm_setzero_si128(); }
  static V set1(int32_t x) { return _mm_set1_epi32(x); }
  static V max(V a, V b) {  // (SSE4.1 has _mm_max_epi32; SSE2 selects by a comparison)
    const V a_greater = _mm_cmpgt_epi32(a, b);
    return _mm_or_si128(_mm_and_si128(a_greater, a), _mm_andnot_si128(a_greater, b));
  }
  static V subs(V a, V b) { return max(_mm_sub_epi32(a, b), zero()); }  // values are far from the int32 range's ends
  static V add_score(V h, V p, V) { return max(_mm_add_epi32(h, p), zero()); }
  static V shift_in(V a) { return _mm_slli_si128(a, 4); }
  static bool any_gt(V a, V b) { return _mm_movemask_epi8(_mm_cmpgt_epi32(a, b)) != 0; }
  static int32_t hmax(V a) {
    alignas(16) int32_t lanes[4];
    _mm_store_si128(reinterpret_cast<V*>(lanes), a);
    return *std::max_element(lanes, lanes + 4);
  }
};

}  // namespace

int32_t striped_u8_sse2(const StripedInput& in, bool& overflow) { return striped_local_score<Sse2U8>(in, overflow); }
int32_t striped_i16_sse2(const StripedInput& in, bool& overflow) { return striped_local_score<Sse2I16>(in, overflow); }
int64_t striped_store_u8_sse2(const StripedInput& in, void* columns, int32_t stop_score) {
  return striped_store_columns<Sse2U8>(in, columns, stop_score);
}
int64_t striped_store_i16_sse2(const StripedInput& in, void* columns, int32_t stop_score) {
  return striped_store_columns<Sse2I16>(in, columns, stop_score);
}
int32_t striped_i32_sse2(const StripedInput& in, bool& overflow) { return striped_local_score<Sse2I32>(in, overflow); }
int64_t striped_store_i32_sse2(const StripedInput& in, void* columns, int32_t stop_score) {
  return striped_store_columns<Sse2I32>(in, columns, stop_score);
}

}  // namespace kfold::msa::detail

#endif  // x86-64 (elsewhere only the scalar code is selected, and striped_sw.cpp does not refer to these)
