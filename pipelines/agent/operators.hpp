// Proposal operators of this version: every single substitution, and consensus / back-to-consensus
// substitutions from the family alignment (with, when max_mutations allows, one combination of the
// strongest of them). Each respects `frozen` and adds hypothesis records with rationale facts.
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

}  // namespace kfold::pipelines::agent
