// k-mer prefilter (BLAST-style): neighbourhood 3-mers of the query (words scoring >= T against the
// query's profile) are looked up along each target; two non-overlapping hits on one diagonal within a
// window trigger an ungapped score of that whole diagonal (its maximal segment); a target's prefilter
// score is its best diagonal. Only the best candidates per query go on to gapped alignment.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "msa/score_profile.hpp"
#include "msa/sequence_db.hpp"

namespace kfold::msa {

struct PrefilterOptions {
  int32_t word_threshold = 11;      // T: neighbourhood word score (BLAST's blastp default for 3-mers)
  int32_t two_hit_window = 40;      // A: largest distance between two hits on a diagonal
  int32_t min_ungapped_score = 15;  // smallest best-diagonal score a candidate needs
  int64_t max_candidates = 2000;    // candidates kept per query (best prefilter scores)
};

inline constexpr int64_t kWordLength = 3;
inline constexpr int64_t kWordCount = kAlphabetSize * kAlphabetSize * kAlphabetSize;

// Neighbourhood words of one query: for each 3-mer code, the query positions where it scores >= T.
// Words with X never match.
class WordTable {
 public:
  WordTable(const ScoreProfile& query, int32_t threshold);
  std::span<const int32_t> positions(int64_t word) const {
    return {positions_.data() + starts_[static_cast<size_t>(word)],
            static_cast<size_t>(starts_[static_cast<size_t>(word) + 1] - starts_[static_cast<size_t>(word)])};
  }
  int64_t entries() const { return static_cast<int64_t>(positions_.size()); }

 private:
  std::vector<int64_t> starts_;     // [kWordCount + 1]
  std::vector<int32_t> positions_;  // query positions (< kMaxQueryLength, so int32 keeps the table small)
};

struct Candidate {
  int64_t target = 0;
  int32_t ungapped_score = 0;
};

// Best first, ties by target index; keeps at most `max_count`.
void keep_best_candidates(std::vector<Candidate>& candidates, int64_t max_count);

// Scans database sequences with one query's word table. Holds per-thread buffers: one per thread.
class PrefilterScanner {
 public:
  // Appends the targets in [begin, end) whose best diagonal scores >= options.min_ungapped_score,
  // then keeps the best options.max_candidates of what `out` holds.
  void scan(const ScoreProfile& query, const WordTable& words, const SequenceDb& db, int64_t begin, int64_t end,
            const PrefilterOptions& options, std::vector<Candidate>& out);

 private:
  struct DiagonalState {
    uint32_t stamp = 0;
    int32_t last_hit = 0;  // target position of the last word hit on this diagonal
    bool done = false;     // diagonal already scored for this target
  };
  int32_t ungapped_diagonal_score(const ScoreProfile& query, int64_t offset) const;

  std::vector<uint8_t> target_;
  std::vector<DiagonalState> diagonals_;
  uint32_t stamp_ = 0;
};

}  // namespace kfold::msa
