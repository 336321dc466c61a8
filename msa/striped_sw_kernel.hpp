// The striped Smith-Waterman inner loop (Farrar 2007, with the lazy-F loop), written once over a
// vector-operations type and used twice: the score pass, and the pass that stores every column's H
// for a traceback. Included by each ISA's translation unit after its target pragma; the anonymous
// namespace keeps every ISA's instantiation private to its file.
#pragma once

#include <cstdint>
#include <utility>

#include "msa/striped_sw.hpp"

namespace kfold::msa::detail {
namespace {

// Ops: V (vector type), zero(), set1(int), subs (unsigned saturating subtract, floor 0), max,
// add_score(h, profile, bias) (saturating, floor 0), shift_in (one lane up, zero into lane 0),
// any_gt(a, b), hmax(v).
//
// kStore false: H lives in two columns of in.work (plus E: 3 * seg vectors); returns the best score,
// or sets `overflow` when a lane may have saturated (above in.limit; checked every 64 columns, since
// saturated lanes stay saturated, and at the end).
// kStore true: column j's final H goes to `columns` + j * seg (the striped layout; E in in.work, 2 * seg
// vectors); the caller knows that no lane can saturate. Stops after the first column where some H
// reaches stop_score and returns that column, or -1 when none of the first t_len does.
template <class Ops, bool kStore>
int64_t striped_pass(const StripedInput& in, void* columns, int32_t stop_score, bool& overflow) {
  using V = typename Ops::V;
  overflow = false;
  const int64_t seg = in.seg;
  const V* profile = static_cast<const V*>(in.profile);
  V* e_col = static_cast<V*>(in.work);  // [seg] E for the next column
  V* h_load = e_col + seg;              // [seg] H of the previous column (zeros before the first)
  V* h_store = h_load + seg;            // [seg] H of this column (score pass only)
  const V v_zero = Ops::zero();
  for (int64_t i = 0; i < (kStore ? 2 : 3) * seg; ++i) e_col[i] = v_zero;
  const V v_oe = Ops::set1(in.gap_open_extend);
  const V v_e = Ops::set1(in.gap_extend);
  const V v_bias = Ops::set1(in.bias);
  const V v_limit = Ops::set1(kStore ? stop_score - 1 : in.limit);
  V v_max = v_zero;
  for (int64_t j = 0; j < in.t_len; ++j) {
    if constexpr (kStore) {
      h_store = static_cast<V*>(columns) + j * seg;
    } else {
      std::swap(h_load, h_store);  // h_store held the previous column
    }
    const V* p = profile + static_cast<int64_t>(in.target[j]) * seg;
    V v_f = v_zero;
    V v_h = Ops::shift_in(h_load[seg - 1]);
    for (int64_t i = 0; i < seg; ++i) {
      v_h = Ops::add_score(v_h, p[i], v_bias);
      const V v_e_cur = e_col[i];
      v_h = Ops::max(v_h, v_e_cur);
      v_h = Ops::max(v_h, v_f);
      v_max = Ops::max(v_max, v_h);
      h_store[i] = v_h;
      v_h = Ops::subs(v_h, v_oe);
      e_col[i] = Ops::max(Ops::subs(v_e_cur, v_e), v_h);
      v_f = Ops::max(Ops::subs(v_f, v_e), v_h);
      v_h = h_load[i];
    }
    // Lazy F: carry vertical gaps across segment boundaries until they cannot change any H.
    v_f = Ops::shift_in(v_f);
    int64_t i = 0;
    while (Ops::any_gt(v_f, Ops::subs(h_store[i], v_oe))) {
      const V v_h_new = Ops::max(h_store[i], v_f);
      h_store[i] = v_h_new;
      v_max = Ops::max(v_max, v_h_new);
      e_col[i] = Ops::max(e_col[i], Ops::subs(v_h_new, v_oe));
      v_f = Ops::subs(v_f, v_e);
      if (++i == seg) {
        i = 0;
        v_f = Ops::shift_in(v_f);
      }
    }
    if constexpr (kStore) {
      if (Ops::any_gt(v_max, v_limit)) return j;  // some H >= stop_score
      h_load = h_store;
    } else if ((j & 63) == 63 && Ops::any_gt(v_max, v_limit)) {
      overflow = true;
      return 0;
    }
  }
  if constexpr (kStore) return -1;
  if (Ops::any_gt(v_max, v_limit)) {
    overflow = true;
    return 0;
  }
  return Ops::hmax(v_max);
}

template <class Ops>
int32_t striped_local_score(const StripedInput& in, bool& overflow) {
  return static_cast<int32_t>(striped_pass<Ops, false>(in, nullptr, 0, overflow));
}

template <class Ops>
int64_t striped_store_columns(const StripedInput& in, void* columns, int32_t stop_score) {
  bool unused = false;
  return striped_pass<Ops, true>(in, columns, stop_score, unused);
}

}  // namespace
}  // namespace kfold::msa::detail
