// Neighbourhood-word tables, two-hit diagonal detection and ungapped diagonal scores.
#include "msa/prefilter.hpp"

#include <algorithm>

#include "msa/alphabet.hpp"

namespace kfold::msa {

WordTable::WordTable(const ScoreProfile& query, int32_t threshold) {
  constexpr int64_t kAa = 20;                        // neighbourhood words use the 20 amino acids only
  std::vector<std::pair<int32_t, int32_t>> entries;  // (word, query position)
  for (int64_t i = 0; i + kWordLength <= query.n_res; ++i) {
    const int8_t* r0 = query.row(i);
    const int8_t* r1 = query.row(i + 1);
    const int8_t* r2 = query.row(i + 2);
    const int32_t max1 = *std::max_element(r1, r1 + kAa);
    const int32_t max2 = *std::max_element(r2, r2 + kAa);
    for (int64_t a = 0; a < kAa; ++a) {
      const int32_t s0 = r0[a];
      if (s0 + max1 + max2 < threshold) continue;
      for (int64_t b = 0; b < kAa; ++b) {
        const int32_t s01 = s0 + r1[b];
        if (s01 + max2 < threshold) continue;
        for (int64_t c = 0; c < kAa; ++c) {
          if (s01 + r2[c] >= threshold)
            entries.emplace_back(static_cast<int32_t>((a * kAlphabetSize + b) * kAlphabetSize + c),
                                 static_cast<int32_t>(i));
        }
      }
    }
  }
  starts_.assign(static_cast<size_t>(kWordCount + 1), 0);
  for (const auto& [word, pos] : entries) ++starts_[static_cast<size_t>(word) + 1];
  for (int64_t w = 0; w < kWordCount; ++w) starts_[static_cast<size_t>(w + 1)] += starts_[static_cast<size_t>(w)];
  positions_.resize(entries.size());
  std::vector<int64_t> fill(starts_.begin(), starts_.end() - 1);
  for (const auto& [word, pos] : entries) positions_[static_cast<size_t>(fill[static_cast<size_t>(word)]++)] = pos;
}

void keep_best_candidates(std::vector<Candidate>& candidates, int64_t max_count) {
  const auto better = [](const Candidate& a, const Candidate& b) {
    return a.ungapped_score != b.ungapped_score ? a.ungapped_score > b.ungapped_score : a.target < b.target;
  };
  if (static_cast<int64_t>(candidates.size()) > max_count) {
    std::nth_element(candidates.begin(), candidates.begin() + max_count, candidates.end(), better);
    candidates.resize(static_cast<size_t>(max_count));
  }
  std::sort(candidates.begin(), candidates.end(), better);
}

int32_t PrefilterScanner::ungapped_diagonal_score(const ScoreProfile& query, int64_t offset) const {
  // Target position = query position + offset.
  const int64_t n = static_cast<int64_t>(target_.size());
  const int64_t q_begin = std::max<int64_t>(0, -offset);
  const int64_t q_end = std::min(query.n_res, n - offset);
  int32_t run = 0;
  int32_t best = 0;
  for (int64_t q = q_begin; q < q_end; ++q) {
    run = std::max(0, run + query.score(q, target_[static_cast<size_t>(q + offset)]));
    best = std::max(best, run);
  }
  return best;
}

void PrefilterScanner::scan(const ScoreProfile& query, const WordTable& words, const SequenceDb& db, int64_t begin,
                            int64_t end, const PrefilterOptions& options, std::vector<Candidate>& out) {
  const int64_t q_len = query.n_res;
  for (int64_t t = begin; t < end; ++t) {
    const std::string_view residues = db.residues(t);
    const auto n = static_cast<int64_t>(residues.size());
    if (n < kWordLength || q_len < kWordLength) continue;
    encode_residues(residues, target_);
    const auto n_diag = static_cast<size_t>(q_len + n + 1);
    if (diagonals_.size() < n_diag) diagonals_.resize(n_diag);
    if (++stamp_ == 0) {  // wrapped: forget every old stamp
      std::fill(diagonals_.begin(), diagonals_.end(), DiagonalState{});
      stamp_ = 1;
    }
    int32_t best = 0;
    int64_t word = target_[0] * kAlphabetSize + target_[1];
    for (int64_t pos = kWordLength - 1; pos < n; ++pos) {
      word = (word % (kAlphabetSize * kAlphabetSize)) * kAlphabetSize + target_[static_cast<size_t>(pos)];
      const auto start = static_cast<int32_t>(pos - (kWordLength - 1));
      for (const int32_t q : words.positions(word)) {
        DiagonalState& d = diagonals_[static_cast<size_t>(start - q + q_len)];
        if (d.stamp != stamp_) {
          d = {stamp_, start, false};
          continue;
        }
        if (d.done) continue;
        const int32_t distance = start - d.last_hit;
        if (distance < kWordLength) continue;  // overlaps the previous hit
        if (distance <= options.two_hit_window) {
          d.done = true;
          best = std::max(best, ungapped_diagonal_score(query, static_cast<int64_t>(start) - q));
        } else {
          d.last_hit = start;
        }
      }
    }
    if (best >= options.min_ungapped_score) out.push_back({t, best});
  }
  keep_best_candidates(out, options.max_candidates);
}

}  // namespace kfold::msa
