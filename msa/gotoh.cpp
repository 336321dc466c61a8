// Scalar Gotoh local alignment: score with end cell, and the traceback of accepted hits from a stored
// H matrix.
#include "msa/gotoh.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <vector>

#include "data/sequence.hpp"
#include "msa/local_traceback.hpp"

namespace kfold::msa {
namespace {

constexpr int32_t kNegInf = std::numeric_limits<int32_t>::min() / 4;

}  // namespace

LocalScore gotoh_local_score(const ScoreProfile& query, std::span<const uint8_t> target, const GapPenalties& gaps,
                             int32_t known_score) {
  const int32_t oe = gaps.open + gaps.extend;
  const int32_t ext = gaps.extend;
  const int64_t n = query.n_res;
  std::vector<int32_t> h(static_cast<size_t>(n), 0);
  std::vector<int32_t> e(static_cast<size_t>(n), kNegInf);
  LocalScore best;
  for (int64_t j = 0; j < static_cast<int64_t>(target.size()); ++j) {
    const uint8_t tc = target[static_cast<size_t>(j)];
    int32_t diag = 0;
    int32_t f = kNegInf;
    for (int64_t i = 0; i < n; ++i) {
      const int32_t h_left = h[static_cast<size_t>(i)];
      const int32_t e_val = std::max(h_left - oe, e[static_cast<size_t>(i)] - ext);
      e[static_cast<size_t>(i)] = e_val;
      const int32_t h_val = std::max({0, diag + query.score(i, tc), e_val, f});
      diag = h_left;
      h[static_cast<size_t>(i)] = h_val;
      f = std::max(h_val - oe, f - ext);
      if (h_val > best.score) best = {h_val, i, j};
    }
    if (known_score > 0 && best.score >= known_score) return best;  // the first cell with the best score
  }
  return best;
}

std::optional<Alignment> align_local(const ScoreProfile& query, std::span<const uint8_t> target,
                                     const GapPenalties& gaps, int64_t max_cells, int32_t known_score) {
  // Forward pass storing H column by column ([t_end + 1][n] int32), up to the first column that reaches
  // the best score; then a walk back from the end cell that re-derives each step from H alone.
  const int32_t oe = gaps.open + gaps.extend;
  const int32_t ext = gaps.extend;
  const int64_t n = query.n_res;
  const auto m = static_cast<int64_t>(target.size());
  if (n == 0 || m == 0) return std::nullopt;
  std::vector<int32_t> hm;  // H, column-major: hm[j * n + i]
  hm.reserve(static_cast<size_t>(std::min(n * m, std::max<int64_t>(max_cells, 0))));
  std::vector<int32_t> e(static_cast<size_t>(n), kNegInf);
  LocalScore end;
  for (int64_t j = 0; j < m; ++j) {
    if ((j + 1) * n > max_cells) return std::nullopt;
    hm.resize(static_cast<size_t>((j + 1) * n));  // within the reserved size: no copy
    int32_t* col = hm.data() + j * n;
    const int32_t* prev = j > 0 ? hm.data() + (j - 1) * n : nullptr;
    const uint8_t tc = target[static_cast<size_t>(j)];
    int32_t diag = 0;
    int32_t f = kNegInf;
    for (int64_t i = 0; i < n; ++i) {
      const int32_t h_left = prev ? prev[i] : 0;
      const int32_t e_val = std::max(h_left - oe, e[static_cast<size_t>(i)] - ext);
      e[static_cast<size_t>(i)] = e_val;
      const int32_t h_val = std::max({0, diag + query.score(i, tc), e_val, f});
      diag = h_left;
      col[i] = h_val;
      f = std::max(h_val - oe, f - ext);
      if (h_val > end.score) end = {h_val, i, j};
    }
    if (known_score > 0 && end.score >= known_score) break;
  }
  if (end.score <= 0) return std::nullopt;
  const auto h_at = [&](int64_t i, int64_t j) -> int32_t {
    return i < 0 || j < 0 ? 0 : hm[static_cast<size_t>(j * n + i)];
  };
  return detail::walk_back(query, target, gaps, end, h_at);
}

AlignmentStats alignment_stats(const Alignment& alignment, std::string_view query, std::string_view target) {
  const auto upper = data::to_ascii_upper;
  AlignmentStats stats;
  int64_t i = alignment.q_start;
  int64_t j = alignment.t_start;
  char previous = 'M';
  for (const char op : alignment.ops) {
    ++stats.length;
    if (op == 'M') {
      if (upper(query[static_cast<size_t>(i)]) == upper(target[static_cast<size_t>(j)])) {
        ++stats.identical;
      } else {
        ++stats.mismatches;
      }
      ++i;
      ++j;
    } else {
      if (op != previous) ++stats.gap_opens;
      if (op == 'I')
        ++j;
      else
        ++i;
    }
    previous = op;
  }
  return stats;
}

int32_t rescore_alignment(const Alignment& alignment, const ScoreProfile& query, std::span<const uint8_t> target,
                          const GapPenalties& gaps) {
  int32_t score = 0;
  int64_t i = alignment.q_start;
  int64_t j = alignment.t_start;
  char previous = 'M';
  for (const char op : alignment.ops) {
    if (op == 'M') {
      score += query.score(i++, target[static_cast<size_t>(j++)]);
    } else {
      score -= gaps.extend + (op != previous ? gaps.open : 0);
      if (op == 'I')
        ++j;
      else
        ++i;
    }
    previous = op;
  }
  return score;
}

}  // namespace kfold::msa
