// AlphaFold DB confidence files: confidence_<model>.json (per-residue pLDDT and its category) and
// pae_<model>.json (predicted aligned error), byte for byte as AlphaFold's confidence.confidence_json
// and confidence.pae_json write them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace kfold::pipelines {

// AlphaFold DB's pLDDT category: 'D' (very low, [0, 50)), 'L' (low, [50, 70)), 'M' (confident,
// [70, 90)), 'H' (very high, [90, 100]). Throws RuntimeError outside [0, 100] or on NaN.
char confidence_category(double plddt);

// {"residueNumber":[1,...,N],"confidenceScore":[pLDDT rounded to 2 decimals],"confidenceCategory":["D",...]}
// with no spaces; the category comes from the unrounded score (as AlphaFold). plddt [n_res].
std::string confidence_json(std::span<const float> plddt);

// [{"predicted_aligned_error":[[...],...],"max_predicted_aligned_error":x}] with no spaces; PAE values
// rounded to 1 decimal as numpy.round. pae [n_res, n_res] row-major (row: aligned residue). Throws
// InputError when pae.size() != n_res * n_res, RuntimeError on non-finite values.
std::string pae_json(std::span<const float> pae, int64_t n_res, double max_pae);

// Atomic writes (temp name, then rename) of the texts above.
void write_confidence_json(const std::filesystem::path& path, std::span<const float> plddt);
void write_pae_json(const std::filesystem::path& path, std::span<const float> pae, int64_t n_res, double max_pae);

}  // namespace kfold::pipelines
