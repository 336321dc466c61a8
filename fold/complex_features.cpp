// Complex inputs for the monomer models: concatenated chains, residue-index gaps, block-diagonal MSA.
#include "fold/complex_features.hpp"

#include <fmt/ranges.h>

#include <string>

#include "data/error.hpp"
#include "data/log.hpp"

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
  std::vector<int64_t> lengths;
  for (const auto& c : chains) lengths.push_back(static_cast<int64_t>(c.sequence.residues.size()));
  mark_chains(f, lengths, gap);
  return f;
}

void mark_chains(RawFeatures& f, const std::vector<int64_t>& lengths, int32_t gap) {
  int64_t total = 0;
  for (const int64_t length : lengths) {
    if (length < 1) fail_input("a chain of {} residues: every chain needs at least one", length);
    total += length;
  }
  if (total != f.n_res) fail_input("chains of {} residues in all for a query of {}", total, f.n_res);
  // Chain k's residue indices are shifted by k x gap; its asym_id is k + 1.
  int64_t offset = 0;
  int32_t shift = 0;
  f.asym_id.assign(static_cast<size_t>(f.n_res), 0);
  for (size_t k = 0; k < lengths.size(); ++k) {
    for (int64_t i = offset; i < offset + lengths[k]; ++i) {
      f.residue_index[static_cast<size_t>(i)] += shift;
      f.asym_id[static_cast<size_t>(i)] = static_cast<int32_t>(k + 1);
    }
    offset += lengths[k];
    shift += gap;
  }
}

void mark_colabfold_complex(RawFeatures& f, const std::vector<data::Msa>& msas,
                            const std::vector<std::string>& sources) {
  const auto source = [&](size_t k) { return k < sources.size() ? sources[k] : fmt::format("MSA {}", k + 1); };
  const std::vector<int64_t>* lengths = nullptr;
  size_t declared_by = 0;
  for (size_t k = 0; k < msas.size(); ++k) {
    if (msas[k].chain_lengths.empty()) continue;
    if (lengths != nullptr && msas[k].chain_lengths != *lengths)
      fail_input("{}: its ColabFold header declares chains of {} residues, {} declares chains of {}", source(k),
                 fmt::join(msas[k].chain_lengths, " + "), source(declared_by), fmt::join(*lengths, " + "));
    lengths = &msas[k].chain_lengths;
    declared_by = k;
  }
  if (lengths == nullptr) return;
  mark_chains(f, *lengths);  // the MSA matched the query: the lengths sum to it (the A3M reader checked them)
  log_info(
      "{}: a complex of {} chains ({} residues; ColabFold's A3M header): asym_id 1..{}, residue_index +{} per "
      "chain",
      source(declared_by), lengths->size(), fmt::join(*lengths, ", "), lengths->size(), kChainBreakGap);
}

}  // namespace kfold::fold
