// Several chains as one input of AlphaFold's monomer models (ColabFold's way of predicting complexes with
// them): the sequences concatenated, residue_index jumping by `gap` (ColabFold: 200) at each chain
// break so that the relative-position features (clipped at 32) see unconnected chains, and an unpaired, block-diagonal
// MSA: the concatenated query first, then each chain's MSA rows with gaps over the other chains.
#pragma once

#include <cstdint>
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

}  // namespace kfold::fold
