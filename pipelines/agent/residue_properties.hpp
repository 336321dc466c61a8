// Physico-chemical properties of the 20 amino acids used by the solubility term: Kyte-Doolittle
// hydropathy (Kyte & Doolittle 1982) and charge at pH 7 (K, R +1; D, E -1; His 0).
#pragma once

#include <string_view>

namespace kfold::pipelines::agent {

// Each throws RuntimeError for a letter that is not one of the 20 standard amino acids.
double kyte_doolittle(char amino_acid);
int residue_charge(char amino_acid);

// Sum of residue_charge over the sequence.
int net_charge(std::string_view sequence);

}  // namespace kfold::pipelines::agent
