// Model ranking and ranking_debug.json as AlphaFold's run_alphafold.py writes it:
// {"plddts": {model: mean pLDDT, ...}, "order": [best model first, ...]} (indent 4), or with the
// key "ptm" / "iptm+ptm" when the models are ranked by pTM / 0.8 ipTM + 0.2 pTM.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kfold::pipelines {

enum class RankBy { plddt, ptm, iptm_ptm };

// The ranking_debug.json key of a ranking metric: "plddts", "ptm", "iptm+ptm".
const char* ranking_key(RankBy rank_by);

struct ModelScore {
  std::string model_name;         // e.g. "model_1_ptm"
  double ranking_confidence = 0;  // mean pLDDT (0..100), pTM (0..1) or 0.8 ipTM + 0.2 pTM
};

// Model names by decreasing ranking confidence; ties keep the input order (Python's stable sort).
// ranked_<k>.pdb is written for order[k]. Throws RuntimeError on a NaN score.
std::vector<std::string> rank_models(const std::vector<ModelScore>& scores);

// ranking_debug.json's text: json.dumps({key: {name: score}, "order": rank_models(scores)}, indent=4).
// Throws InputError on duplicate model names.
std::string ranking_debug_json(const std::vector<ModelScore>& scores, RankBy rank_by);
void write_ranking_debug_json(const std::filesystem::path& path, const std::vector<ModelScore>& scores, RankBy rank_by);

}  // namespace kfold::pipelines
