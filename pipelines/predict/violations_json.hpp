// violations.json: AlphaFold's structural violation checks (fold/structural_violations.hpp) of every model's
// structure, the numbers AlphaFold's relax step reports, for a user to see which residues a structure gets
// wrong (peptide bonds and angles, clashes, within-residue geometry) before trusting it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fold/structural_violations.hpp"

namespace kfold::pipelines {

// One model's entry, with AlphaFold's metric names (folding.compute_violation_metrics, relax's
// get_violation_metrics): {"num_residue_violations": n, "violating_residues": [residue numbers as in the
// PDB/mmCIF files, residue_index + 1], for a complex "violating_residue_chains": [their chains, "A", "B", ...],
// "violations_per_residue": fraction, "violations_between_residue_bond", "violations_between_residue_clash",
// "violations_within_residue", "violations_extreme_ca_ca_distance"}. residue_index [n_res] (0-based, as the
// structure files number the residues), chain_index [n_res] (0 = A; empty: one chain). Compact JSON text.
std::string violations_entry_json(const fold::ViolationMetrics& metrics, std::span<const int64_t> residue_index,
                                  std::span<const int64_t> chain_index = {});

// {"<model>": entry, ...} in the given order, one model per line; atomic write.
void write_violations_json(const std::filesystem::path& path,
                           const std::vector<std::pair<std::string, std::string>>& entries);

}  // namespace kfold::pipelines
