// Proposal operators: every single substitution; consensus / back-to-consensus substitutions from the
// family alignment (with, when max_mutations allows, one combination of the strongest of them); double
// mutants at strongly coevolving pairs of the Potts model; combinations of measured beneficial singles.
// Each respects `frozen` and max_mutations and adds hypothesis records with rationale facts.
#pragma once

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/hypothesis.hpp"

namespace kfold::pipelines::agent {

// All 19 substitutions at every residue not in campaign.frozen ("single_substitution").
void propose_single_substitutions(const Campaign& campaign, HypothesisSet& out);

// At each aligned, non-frozen residue whose wild type is not the family consensus (most frequent amino
// acid by weighted frequency, gaps aside) and the consensus has frequency >= min_frequency: the
// substitution to the consensus ("consensus"). With max_mutations >= 2 also one variant combining the
// max_mutations consensus substitutions of largest frequency gain ("consensus_combination").
void propose_consensus(const Campaign& campaign, const EvolutionaryModels& models, HypothesisSet& out,
                       double min_frequency = 0.3);

// With max_mutations >= 2 and a Potts model the stability term uses (not one `auto` found too shallow: its
// couplings would be noise): the top `n_pairs` column pairs by APC coupling score (at least
// `min_separation` residues apart, neither frozen), and at each the `per_pair` double mutants (a, b), a
// and b not wild type, of largest Potts ΔE among those whose coupling favours them over the wild-type
// combination (epistasis J(a,b) - J(a,wt_j) - J(wt_i,b) + J(wt_i,wt_j) > 0) ("coevolution_pair").
void propose_coevolution_pairs(const Campaign& campaign, const EvolutionaryModels& models, HypothesisSet& out,
                               int64_t n_pairs = 10, int64_t per_pair = 2, int64_t min_separation = 3);

// With max_mutations >= 2 and measured single substitutions: the measured singles better than the wild
// type (its measured mean, or without a wild-type measurement the median of all measurements, as the
// rationale says), best first, at most `top` of them at distinct non-frozen positions; every pair of them and the
// combination of the best max_mutations ("combine_beneficial").
void propose_beneficial_combinations(const Campaign& campaign, HypothesisSet& out, int64_t top = 8);

// Keeps the hypotheses whose variant is in campaign.library_variants (renumbered in their order) and adds
// the library's other variants ("library"). Without a library: `in` unchanged.
HypothesisSet restrict_to_library(const Campaign& campaign, const HypothesisSet& in);

}  // namespace kfold::pipelines::agent
