// MSA row filters and diversity: redundancy filtering by pairwise identity (like hhfilter -id), a
// diversity filter that keeps the most diverse rows of every stretch of the query (like hhfilter
// -diff), and Neff, the sum of sequence weights where a row's weight is 1 / (rows at >= 80% identity
// to it).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "data/msa.hpp"

namespace kfold::msa {

// Identity of two aligned rows: identical residues / columns where both have a residue (0 when none).
double row_identity(const std::string& a, const std::string& b);

// Rows to keep, in order: the query (row 0) always, then each row whose identity to every row kept
// so far is <= max_seq_id. max_seq_id >= 1 keeps everything. O(depth * kept * length).
// `check_cancelled`, when given, is called every 64 rows and may throw to stop (Python's Ctrl-C).
std::vector<int64_t> filter_max_seq_id(const data::Msa& msa, double max_seq_id,
                                       const std::function<void()>& check_cancelled = {});

// Columns of the query per block of the diversity filter (hhfilter's stretch of 50 columns).
inline constexpr int64_t kDiversityBlock = 50;

// Rows to keep, in order, so that every block of kDiversityBlock query columns is covered by at least
// `min_per_block` kept rows besides the query (or by every row that covers it, when fewer do); a row
// covers a block when it has residues in at least half of the block's columns. The most diverse rows
// go first: an identity threshold t rises from 0.3 to 1.0 in steps of 0.05, and at each t every row, in
// MSA order, is kept when it covers a block that still lacks rows and its identity to each row kept so
// far is <= t. The query (row 0) is always kept; min_per_block <= 0 keeps everything.
std::vector<int64_t> filter_diverse(const data::Msa& msa, int64_t min_per_block);

// The output filters of a search, in this order: max_seq_id (< 1), then the diversity filter (diff > 0).
struct MsaFilterOptions {
  double max_seq_id = 1.0;
  int64_t diff = 0;
};
// Throws InputError for values out of range (naming the command-line options).
void check_msa_filter_options(const MsaFilterOptions& options);
data::Msa filter_msa(const data::Msa& msa, const MsaFilterOptions& options);

// The rows `rows` of `msa` (with their deletions, descriptions and insertions).
data::Msa select_rows(const data::Msa& msa, const std::vector<int64_t>& rows);

// Neff = sum_i 1 / |{j : row_identity(i, j) >= identity}| (the query included) over the rows with at least
// one residue (an all-gap row, e.g. outside a cropped domain, adds nothing). O(depth^2 * length),
// rows in parallel; a pair is left as soon as its mismatches rule the threshold out (about 7x faster on a
// family's MSA at 0.8). `check_cancelled` as for filter_max_seq_id (its exception is rethrown after the loop).
// threads: OpenMP threads for the rows (0: OpenMP's default); the result does not depend on them.
// show_progress: a "Neff" progress bar for MSAs of 4096 rows or more (not from inside another parallel loop).
double neff(const data::Msa& msa, double identity = 0.8, const std::function<void()>& check_cancelled = {},
            int threads = 0, bool show_progress = false);

}  // namespace kfold::msa
