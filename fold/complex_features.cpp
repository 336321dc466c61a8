// Complex inputs for the monomer models: concatenated chains, residue-index gaps, block-diagonal MSA.
#include "fold/complex_features.hpp"

#include <string>

#include "data/error.hpp"

namespace kfold::fold {

RawFeatures make_complex_raw_features(const std::vector<ChainInput>& chains, int32_t gap) {
  if (chains.empty()) fail_input("a complex needs at least one chain");
  std::string joined;
  std::string ids;
  for (const ChainInput& c : chains) {
    if (c.sequence.residues.empty()) fail_input("chain '{}' has no residues", c.sequence.id);
    joined += c.sequence.residues;
    ids += (ids.empty() ? "" : "_") + c.sequence.id;
  }
  const auto total = static_cast<int64_t>(joined.size());
  data::Msa msa;
  msa.sequences.push_back(joined);
  msa.deletion_matrix.emplace_back(static_cast<size_t>(total), 0);
  msa.descriptions.push_back(ids);
  int64_t offset = 0;
  for (const ChainInput& c : chains) {
    const auto length = static_cast<int64_t>(c.sequence.residues.size());
    if (c.msa) {
      if (c.msa->depth() < 1 || c.msa->sequences.front() != c.sequence.residues) {
        fail_input("chain '{}': the first row of its MSA is not the chain's sequence", c.sequence.id);
      }
      for (int64_t r = 1; r < c.msa->depth(); ++r) {
        const auto u = static_cast<size_t>(r);
        std::string row(static_cast<size_t>(total), '-');
        row.replace(static_cast<size_t>(offset), static_cast<size_t>(length), c.msa->sequences[u]);
        std::vector<int32_t> deletions(static_cast<size_t>(total), 0);
        std::copy(c.msa->deletion_matrix[u].begin(), c.msa->deletion_matrix[u].end(),
                  deletions.begin() + static_cast<std::ptrdiff_t>(offset));
        msa.sequences.push_back(std::move(row));
        msa.deletion_matrix.push_back(std::move(deletions));
        msa.descriptions.push_back(u < c.msa->descriptions.size() ? c.msa->descriptions[u] : std::string());
      }
    }
    offset += length;
  }
  RawFeatures f = make_raw_features(data::Sequence{ids, "", joined}, {msa}, {"complex MSA"});
  // Chain k's residue indices are shifted by k x gap; its asym_id is k + 1.
  offset = 0;
  int32_t shift = 0;
  f.asym_id.assign(static_cast<size_t>(f.n_res), 0);
  for (size_t k = 0; k < chains.size(); ++k) {
    const auto length = static_cast<int64_t>(chains[k].sequence.residues.size());
    for (int64_t i = offset; i < offset + length; ++i) {
      f.residue_index[static_cast<size_t>(i)] += shift;
      f.asym_id[static_cast<size_t>(i)] = static_cast<int32_t>(k + 1);
    }
    offset += length;
    shift += gap;
  }
  return f;
}

}  // namespace kfold::fold
