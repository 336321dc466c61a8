// `kfold predict --relax`: a predicted structure relaxed against AlphaFold's structural violation checks
// (fold/violation_relax.hpp), and relax_metrics.json as AlphaFold's run_alphafold.py writes it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "data/protein.hpp"
#include "pipelines/predict/structure_checks.hpp"

namespace kfold::pipelines {

// The header remark of every relaxed structure file.
inline constexpr const char* kRelaxRemark =
    "RELAXED by kfold: restrained minimisation of AlphaFold's structural violation terms (not Amber, no hydrogens)";

struct RelaxedPrediction {
  data::Protein protein;                    // the relaxed atoms; everything else (B-factors: pLDDT) as the input
  std::vector<float> remaining_violations;  // [n_res] 1 for a residue still violating after the relax
};

// Relaxes `prediction` (a structure as unrelaxed_<model>.pdb holds it, or any structure: `kfold relax`) and logs
// what changed under `name`, and the chain breaks found.
// `check_cancelled` (optional) is called at every energy evaluation and throws to stop.
RelaxedPrediction relax_prediction(const data::Protein& prediction, const std::string& name, ChainBonds bonds,
                                   const std::function<void()>& check_cancelled = {});

// relax_metrics.json: json.dumps({model: {"remaining_violations": [0.0, ...], "remaining_violations_count":
// n}}, indent=4), AlphaFold's file and format, models in the given order; atomic write.
std::string relax_metrics_json(const std::vector<std::pair<std::string, std::vector<float>>>& remaining);
void write_relax_metrics_json(const std::filesystem::path& path,
                              const std::vector<std::pair<std::string, std::vector<float>>>& remaining);

}  // namespace kfold::pipelines
