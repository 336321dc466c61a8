// The walk back of a local alignment from its end cell, re-deriving every step from the H matrix
// alone (no direction bits). Shared by the scalar forward pass (gotoh.cpp) and the striped SIMD one
// (striped_sw.cpp), which store H in different layouts; `h_at(i, j)` reads H (0 outside the matrix).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>

#include "msa/gotoh.hpp"

namespace kfold::msa::detail {

// Ties: match, then a horizontal gap (insertion), then a vertical gap (deletion), shortest gap first.
template <class HAt>
Alignment walk_back(const ScoreProfile& query, std::span<const uint8_t> target, const GapPenalties& gaps,
                    const LocalScore& end, const HAt& h_at) {
  Alignment alignment;
  alignment.score = end.score;
  alignment.q_end = end.q_end;
  alignment.t_end = end.t_end;
  int64_t i = end.q_end;
  int64_t j = end.t_end;
  while (true) {
    const int32_t h = h_at(i, j);
    const int32_t diag = h_at(i - 1, j - 1);
    if (h == diag + query.score(i, target[static_cast<size_t>(j)])) {
      alignment.ops.push_back('M');
      if (diag == 0) break;  // the local alignment starts at (i, j)
      --i;
      --j;
      continue;
    }
    bool moved = false;
    for (int64_t k = 1; k <= j && !moved; ++k) {
      const int32_t cost = gaps.open + static_cast<int32_t>(k) * gaps.extend;
      if (cost > end.score - h) break;  // no H left of here is large enough
      if (h_at(i, j - k) - cost == h) {
        alignment.ops.append(static_cast<size_t>(k), 'I');
        j -= k;
        moved = true;
      }
    }
    for (int64_t k = 1; k <= i && !moved; ++k) {
      const int32_t cost = gaps.open + static_cast<int32_t>(k) * gaps.extend;
      if (cost > end.score - h) break;
      if (h_at(i - k, j) - cost == h) {
        alignment.ops.append(static_cast<size_t>(k), 'D');
        i -= k;
        moved = true;
      }
    }
    if (!moved) throw std::logic_error("local alignment traceback found no predecessor");
  }
  alignment.q_start = i;
  alignment.t_start = j;
  std::reverse(alignment.ops.begin(), alignment.ops.end());
  return alignment;
}

}  // namespace kfold::msa::detail
