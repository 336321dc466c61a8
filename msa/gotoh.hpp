// Scalar Smith-Waterman-Gotoh local alignment with affine gaps: the exact 32-bit score (the last
// resort after the 8- and 16-bit SIMD kernels) and the traceback of accepted hits.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "msa/alphabet.hpp"
#include "msa/score_profile.hpp"

namespace kfold::msa {

struct LocalScore {
  int32_t score = 0;
  int64_t q_end = -1;  // 0-based, inclusive; -1 when score is 0
  int64_t t_end = -1;
};

// Best local score and the first cell (target-major order) where it is reached. A known_score > 0 (the
// exact best score, e.g. from the SIMD kernels) ends the pass after the column where it is reached.
LocalScore gotoh_local_score(const ScoreProfile& query, std::span<const uint8_t> target, const GapPenalties& gaps,
                             int32_t known_score = 0);

struct Alignment {
  int32_t score = 0;
  int64_t q_start = 0, q_end = -1;  // 0-based, inclusive
  int64_t t_start = 0, t_end = -1;
  // One letter per column: 'M' query residue paired with target residue, 'I' target residue not in the
  // query (an insertion; lowercase in A3M), 'D' query residue facing a gap in the target.
  std::string ops;
};

// The optimal local alignment: one forward pass storing H (4 bytes per cell) up to the first column
// that reaches the best score (known_score, the exact score if already known, lets it stop there
// without a full pass), then a walk back from the end cell that re-derives every step from H alone
// (ties: match, then insertion, then deletion, shortest gap first). Returns nullopt when that part of
// the matrix has more than `max_cells` cells or the score is 0.
std::optional<Alignment> align_local(const ScoreProfile& query, std::span<const uint8_t> target,
                                     const GapPenalties& gaps, int64_t max_cells = int64_t{1} << 28,
                                     int32_t known_score = 0);

struct AlignmentStats {
  int64_t length = 0;      // columns
  int64_t identical = 0;   // 'M' columns with the same letter (case-blind; B is not D, Z not E, U not C)
  int64_t mismatches = 0;  // 'M' columns with different letters
  int64_t gap_opens = 0;   // runs of 'I' or 'D'
};
// Of the residues' letters, not their alphabet codes (which alias B, Z, U, O and J to scored residues), so that
// hits.m8's identities agree with the letters of the A3M.
AlignmentStats alignment_stats(const Alignment& alignment, std::string_view query, std::string_view target);

// Score of `alignment` recomputed from its columns (for consistency checks).
int32_t rescore_alignment(const Alignment& alignment, const ScoreProfile& query, std::span<const uint8_t> target,
                          const GapPenalties& gaps);

}  // namespace kfold::msa
