// Several chains as one input of AlphaFold's monomer models (ColabFold's way of predicting complexes with
// them): the sequences concatenated, residue_index jumping by `gap` (ColabFold: 200) at each chain
// break so that the relative-position features (clipped at 32) see unconnected chains, and an unpaired, block-diagonal
// MSA: the concatenated query first, then each chain's MSA rows with gaps over the other chains.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
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
// and residue_index shifted by k x gap for chain k. Throws InputError unless the lengths are positive and sum to
// f.n_res.
void mark_chains(RawFeatures& f, const std::vector<int64_t>& lengths, int32_t gap = kChainBreakGap);

// mark_chains with the chains a ColabFold complex A3M among `msas` declares (data::Msa::chain_lengths), the
// query being the chains joined as ColabFold writes it; nothing when none does. InputError naming the MSA
// (`sources`) when two declare different chains.
void mark_colabfold_complex(RawFeatures& f, const std::vector<data::Msa>& msas,
                            const std::vector<std::string>& sources);

}  // namespace kfold::fold
