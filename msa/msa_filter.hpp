// MSA row filters and diversity: redundancy filtering by pairwise identity (like hhfilter -id) and
// Neff, the sum of sequence weights where a row's weight is 1 / (rows at >= 80% identity to it).
#pragma once

#include <cstdint>
#include <vector>

#include "data/msa.hpp"

namespace kfold::msa {

// Identity of two aligned rows: identical residues / columns where both have a residue (0 when none).
double row_identity(const std::string& a, const std::string& b);

// Rows to keep, in order: the query (row 0) always, then each row whose identity to every row kept
// so far is <= max_seq_id. max_seq_id >= 1 keeps everything. O(depth * kept * length).
std::vector<int64_t> filter_max_seq_id(const data::Msa& msa, double max_seq_id);

// The rows `rows` of `msa` (with their deletions, descriptions and insertions).
data::Msa select_rows(const data::Msa& msa, const std::vector<int64_t>& rows);

// Neff = sum_i 1 / |{j : row_identity(i, j) >= identity}| (the query included). O(depth^2 * length).
double neff(const data::Msa& msa, double identity = 0.8);

}  // namespace kfold::msa
