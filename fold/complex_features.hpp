// Several chains as one input of AlphaFold's monomer models (ColabFold's way of predicting complexes with
// them): the sequences concatenated, residue_index jumping by `gap` (ColabFold: 200) at each chain
// break so that the relative-position features (clipped at 32) see unconnected chains, and an unpaired, block-diagonal
// MSA: the concatenated query first, then each chain's MSA rows with gaps over the other chains.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "data/msa.hpp"
#include "data/sequence.hpp"
#include "fold/raw_features.hpp"

namespace kfold::fold {

inline constexpr int32_t kChainBreakGap = 200;

struct ChainInput {
  data::Sequence sequence;
  std::optional<data::Msa> msa;  // its first row is the chain's sequence; nullopt: single sequence
};

// Throws InputError (naming the chain) for an empty chain or an MSA whose first row is not its chain.
RawFeatures make_complex_raw_features(const std::vector<ChainInput>& chains, int32_t gap = kChainBreakGap);

// Features of a concatenated query made a complex of chains of `lengths` residues in order: asym_id 1, 2, ...
// and residue_index shifted by k x gap for chain k (e.g. from ColabFold's complex A3M header,
// data::colabfold_chain_lengths). Throws InputError unless the lengths are positive and sum to f.n_res.
void mark_chains(RawFeatures& f, const std::vector<int64_t>& lengths, int32_t gap = kChainBreakGap);

// mark_chains with the chains a ColabFold complex A3M among `msa_files` declares in its header (the query being
// the chains joined, as ColabFold writes it); nothing when none does. InputError naming the file when two
// files declare different chains or the lengths do not sum to the query's.
void mark_colabfold_complex(RawFeatures& f, const std::vector<std::filesystem::path>& msa_files);

}  // namespace kfold::fold
