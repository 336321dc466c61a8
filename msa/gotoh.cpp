// Scalar Gotoh local alignment: score with end cell, anchored reverse pass, global traceback in the
// rectangle between start and end.
#include "msa/gotoh.hpp"

#include <algorithm>
#include <limits>
#include <vector>

namespace kfold::msa {
namespace {

constexpr int32_t kNegInf = std::numeric_limits<int32_t>::min() / 4;

// Reverse pass: the alignment must start (in reverse) by pairing q[q_end] with t[t_end]. Returns the
// (q_start, t_start) of the first cell, target-major, whose anchored score equals `best`.
std::pair<int64_t, int64_t> find_start(const ScoreProfile& query, std::span<const uint8_t> target,
                                       const GapPenalties& gaps, int64_t q_end, int64_t t_end, int32_t best) {
  const int32_t oe = gaps.open + gaps.extend;
  const int32_t ext = gaps.extend;
  const int64_t n = q_end + 1;  // reversed query length
  std::vector<int32_t> h(static_cast<size_t>(n), kNegInf);
  std::vector<int32_t> e(static_cast<size_t>(n), kNegInf);
  for (int64_t b = 0; b <= t_end; ++b) {
    const uint8_t tc = target[static_cast<size_t>(t_end - b)];
    int32_t diag = b == 0 ? 0 : kNegInf;  // H[-1][b-1]: only the anchor cell may start
    int32_t f = kNegInf;
    for (int64_t a = 0; a < n; ++a) {
      const int32_t h_left = h[static_cast<size_t>(a)];
      const int32_t e_val = std::max(h_left - oe, e[static_cast<size_t>(a)] - ext);
      e[static_cast<size_t>(a)] = e_val;
      const int32_t m = diag == kNegInf ? kNegInf : diag + query.score(q_end - a, tc);
      const int32_t h_val = std::max({m, e_val, f});
      diag = h_left;
      h[static_cast<size_t>(a)] = h_val;
      f = std::max(h_val - oe, f - ext);
      if (m == best) return {q_end - a, t_end - b};
    }
  }
  return {0, 0};  // unreachable when `best` came from the forward pass
}

}  // namespace

LocalScore gotoh_local_score(const ScoreProfile& query, std::span<const uint8_t> target, const GapPenalties& gaps) {
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
  }
  return best;
}

std::optional<Alignment> align_local(const ScoreProfile& query, std::span<const uint8_t> target,
                                     const GapPenalties& gaps, int64_t max_cells) {
  const LocalScore end = gotoh_local_score(query, target, gaps);
  if (end.score <= 0) return std::nullopt;
  const auto [q_start, t_start] = find_start(query, target, gaps, end.q_end, end.t_end, end.score);
  const int64_t n = end.q_end - q_start + 1;
  const int64_t m = end.t_end - t_start + 1;
  if ((n + 1) * (m + 1) > max_cells) return std::nullopt;

  // Global Gotoh on q[q_start..q_end] x t[t_start..t_end], rows i over the query, columns j over the
  // target. Trace byte per cell: bits 0-1 where H came from (0 diagonal, 1 E, 2 F), bit 2 "E extends E",
  // bit 3 "F extends F". E consumes target residues (insertions), F query residues (deletions).
  const int32_t oe = gaps.open + gaps.extend;
  const int32_t ext = gaps.extend;
  const auto width = static_cast<size_t>(m + 1);
  std::vector<uint8_t> trace(static_cast<size_t>(n + 1) * width, 0);
  std::vector<int32_t> h_row(width);           // H of the previous row, then of this row
  std::vector<int32_t> f_col(width, kNegInf);  // F per column
  h_row[0] = 0;
  for (int64_t j = 1; j <= m; ++j) {
    h_row[static_cast<size_t>(j)] = -(gaps.open + ext * static_cast<int32_t>(j));
    trace[static_cast<size_t>(j)] = static_cast<uint8_t>(1 | (j > 1 ? 4 : 0));
  }
  for (int64_t i = 1; i <= n; ++i) {
    const int8_t* row = query.row(q_start + i - 1);
    uint8_t* tr = trace.data() + static_cast<size_t>(i) * width;
    int32_t diag = h_row[0];
    h_row[0] = -(gaps.open + ext * static_cast<int32_t>(i));
    tr[0] = static_cast<uint8_t>(2 | (i > 1 ? 8 : 0));
    int32_t h_left = h_row[0];
    int32_t e = kNegInf;
    for (int64_t j = 1; j <= m; ++j) {
      const auto ju = static_cast<size_t>(j);
      uint8_t bits = 0;
      const int32_t e_open = h_left - oe;
      const int32_t e_ext = e - ext;
      if (e_ext > e_open) bits |= 4;
      e = std::max(e_open, e_ext);
      const int32_t f_open = h_row[ju] - oe;
      const int32_t f_ext = f_col[ju] - ext;
      if (f_ext > f_open) bits |= 8;
      const int32_t f = std::max(f_open, f_ext);
      f_col[ju] = f;
      const int32_t match = diag + row[target[static_cast<size_t>(t_start + j - 1)]];
      int32_t h = match;
      if (e > h) {
        h = e;
        bits = static_cast<uint8_t>((bits & ~3) | 1);
      }
      if (f > h) {
        h = f;
        bits = static_cast<uint8_t>((bits & ~3) | 2);
      }
      tr[j] = bits;
      diag = h_row[ju];
      h_row[ju] = h;
      h_left = h;
    }
  }

  Alignment alignment;
  alignment.score = end.score;
  alignment.q_start = q_start;
  alignment.q_end = end.q_end;
  alignment.t_start = t_start;
  alignment.t_end = end.t_end;
  int64_t i = n;
  int64_t j = m;
  int state = 0;  // 0 H, 1 E, 2 F
  while (i > 0 || j > 0) {
    const uint8_t bits = trace[static_cast<size_t>(i) * width + static_cast<size_t>(j)];
    if (state == 0) {
      state = bits & 3;
      if (state == 0) {
        alignment.ops.push_back('M');
        --i;
        --j;
      }
      continue;
    }
    if (state == 1) {
      alignment.ops.push_back('I');
      --j;
      if (!(bits & 4)) state = 0;
    } else {
      alignment.ops.push_back('D');
      --i;
      if (!(bits & 8)) state = 0;
    }
  }
  std::reverse(alignment.ops.begin(), alignment.ops.end());
  return alignment;
}

AlignmentStats alignment_stats(const Alignment& alignment, std::span<const uint8_t> query_codes,
                               std::span<const uint8_t> target) {
  AlignmentStats stats;
  int64_t i = alignment.q_start;
  int64_t j = alignment.t_start;
  char previous = 'M';
  for (const char op : alignment.ops) {
    ++stats.length;
    if (op == 'M') {
      if (query_codes[static_cast<size_t>(i)] == target[static_cast<size_t>(j)]) {
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
