// A multiple sequence alignment aligned to its query: AlphaFold's parsers.Msa (sequences, deletion
// matrix, descriptions), plus the inserted residues so that an A3M file can be written back faithfully.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kfold::data {

struct Msa {
  // Row 0 is the query. Every row has length() characters: uppercase letters and '-' (gap), one per
  // query column. [depth][length]
  std::vector<std::string> sequences;
  // deletion_matrix[i][j]: number of residues row i has inserted (relative to the query) just before
  // column j; insertions after the last column are not counted (as in AlphaFold). [depth][length]
  std::vector<std::vector<int32_t>> deletion_matrix;
  // Header text of each row: the A3M header line after '>', or the Stockholm sequence name. [depth]
  std::vector<std::string> descriptions;

  // Optional, not part of AlphaFold's Msa: the inserted residues of each row in order (lowercase), the
  // first deletion_matrix[i][0] of them before column 0 and so on, any left over after the last column.
  // Parsers fill it; code that builds or filters an Msa may leave it empty (or keep it in step with the
  // rows). The A3M writer uses it for rows where it is consistent, otherwise writes 'x' per deletion.
  // [depth] or empty
  std::vector<std::string> insertions;

  // Optional: the chains a ColabFold complex A3M declares in its first line "#L1,L2,...<TAB>1,1,..." (the query
  // row being the chains joined), two or more lengths summing to length(); empty: one chain. The A3M reader
  // fills it, the writer writes the line back, and the features take the chains from it (asym_id).
  std::vector<int64_t> chain_lengths;

  int64_t depth() const { return static_cast<int64_t>(sequences.size()); }
  int64_t length() const { return sequences.empty() ? 0 : static_cast<int64_t>(sequences.front().size()); }
};

// The fix an MSA file too large for the memory left gets (ReadMemoryGuard, data/host_memory.hpp).
inline constexpr const char* kReduceMsa =
    "keep fewer rows (the model samples a few thousand: e.g. hhfilter -i in.a3m -o out.a3m -id 90 -diff 5000, "
    "or a search with a lower --max-seqs) or give the run more memory";

}  // namespace kfold::data
