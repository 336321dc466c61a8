// Plate selection: variants that pass the hard liability filters, none already measured, at most
// `max_per_position` per residue, plus wild-type control and blank wells. Two quotas: exploit (the best ranking
// key: the acquisition value with a surrogate - UCB, or per pick one Thompson-drawn ensemble member - else the
// zero-shot total) and explore (plate.explore_fraction of the variant wells: the best explore_key - the
// zero-shot total with the evolutionary term's residue term in its place - at residues with nothing
// measured and nothing yet on the plate, one well per residue). Greedy picks pay plate.similarity_penalty x (spread of
// the key) per substitution shared with an earlier pick. The table's construct proposals take up to
// plate.constructs wells first (in proposal order), out of the variant wells.
//
// Layout, deterministic given the seed and the round. Wells are named as plate readers and liquid-handler
// picklists write them: row letter and two-digit column, A01 .. H12 (P24 on 384 wells). The plate uses its
// first ceil(n / C) rows (n wells used, C columns: all rows when it is full). The m reference wells
// (plate.controls wild-type controls and plate.blanks buffer-only blanks) are spread over those R rows first,
// so that row, column and edge effects can be estimated and normalised:
//   - rows evenly spaced from a seeded start: reference k (k = 0 .. m-1) in row floor((k R + t) / m), seeded
//     t in [0, R): a distinct row for each while m <= R, else floor(m / R) or ceil(m / R) in every row;
//   - columns the same with their own seeded start, dealt out row by row to the columns still owed the most
//     references (ties: a seeded column order): a distinct column for each while m <= C, else floor(m / C)
//     or ceil(m / C) in every column, never two in one well;
//   - the blanks interleaved evenly among the controls in well order, from a seeded offset;
//   - a draw is kept when the controls and the blanks each have a well off the plate's edge (row A, the last
//     row, column 01, the last column), where the rows used have such wells; else the next draw (at most
//     64); when none is (few references over few rows: 1 control and 1 blank over 4 rows sit two rows apart,
//     one on the edge), the references are spread the same way over the wells off the edge, where they fit.
// The variant and construct wells then take the free wells in well order, in a seeded random order (so that
// plate-position effects do not follow the ranking); when fewer variants qualify, the empty wells are the
// last free ones.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/scoring.hpp"

namespace kfold::pipelines::agent {

struct PlateWell {
  std::string well;        // "A01" .. ("H12" on 96 wells, "P24" on 384)
  int64_t row = -1;        // index into ScoreTable::rows; -1 for a control, a blank or a construct
  int64_t rank = 0;        // 1 = best variant; 0 for controls, blanks and constructs
  std::string pick;        // "exploit", "explore", "control", "blank" or "construct"
  int64_t construct = -1;  // index into ScoreTable::constructs for a construct well
};

struct Plate {
  std::vector<PlateWell> wells;  // in well order (A01, A02, ...)
  int64_t n_variants = 0;
  int64_t n_controls = 0;
  int64_t n_blanks = 0;
  int64_t n_candidates = 0;  // variants that were eligible
  int64_t n_filtered = 0;    // removed by hard liability flags
  int64_t n_explore = 0;     // variant wells picked for exploration
  int64_t n_constructs = 0;  // construct wells
};

// Rows x columns of a plate size (24: 4x6, 48: 6x8, 96: 8x12, 384: 16x24).
std::pair<int64_t, int64_t> plate_shape(int64_t size);
// The name of the well at a row-major index: row letter, two-digit column ("A01", "H12", "P24").
std::string well_name(int64_t index, int64_t size);

// The variants (exploit and explore quotas), construct, control and blank wells of one plate. `seed` drives
// the Thompson draws and, with `round` (1 for the first round of a campaign), the seeded layout: a
// fixed campaign seed still lays out each round's plate differently, so that plate-position effects
// never follow the ranking round after round. InputError when the controls, blanks and construct wells
// leave no variant well, or when neither a variant nor a construct qualifies.
Plate select_plate(const ScoreTable& table, const Campaign& campaign, uint64_t seed, int64_t round = 1);

// The rows worth predicting (the structure shortlist), at most `budget` of them, best first: the plate's
// eligible variants (finite total, no hard flag, not measured, not the wild type) picked greedily by the
// plate's exploit key (the acquisition with a surrogate, else the total) under the plate's own rules: at
// most plate.max_per_position per residue and the similarity penalty, so that the predictions go to
// variants that can share a plate (ties: hypothesis order).
std::vector<size_t> structure_shortlist(const ScoreTable& table, const Campaign& campaign, int64_t budget);

// The plate's variant wells (no controls, blanks or constructs), best rank first.
std::vector<const PlateWell*> ranked_variant_wells(const Plate& plate);

// Deterministic 64-bit generator (splitmix64): the same numbers on every platform and library.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next();
  uint64_t below(uint64_t n);  // uniform in [0, n), n > 0

 private:
  uint64_t state_;
};

}  // namespace kfold::pipelines::agent
