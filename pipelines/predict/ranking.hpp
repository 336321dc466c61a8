// Model ranking and ranking_debug.json as AlphaFold's run_alphafold.py writes it:
// {"plddts": {model: mean pLDDT, ...}, "order": [best model first, ...]} (indent 4), or with the
// key "ptm" / "iptm+ptm" when the models are ranked by pTM / 0.8 ipTM + 0.2 pTM.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kfold::pipelines {

// automatic (--rank auto, the default): ColabFold's choice, 0.8 ipTM + 0.2 pTM for a complex (several chains) when
// every model has an aligned-error head, mean pLDDT otherwise. resolve_rank_by turns it into one of the others.
enum class RankBy { plddt, ptm, iptm_ptm, automatic };

// --rank's values: "plddt", "ptm", "iptm+ptm", "auto"; parse_rank_by throws InputError on another name.
const char* rank_by_name(RankBy rank_by);
RankBy parse_rank_by(std::string_view name);

// The metric `requested` means for a target of `n_chains` chains run with models that all have (or not) an
// aligned-error head. InputError for iptm+ptm on one chain (ipTM scores pairs of residues of different chains).
RankBy resolve_rank_by(RankBy requested, int64_t n_chains, bool every_model_has_pae);

// One model's score under a resolved metric: mean pLDDT, pTM, or 0.8 ipTM + 0.2 pTM (AlphaFold-Multimer's).
double ranking_confidence(RankBy rank_by, double mean_plddt, double ptm, std::optional<double> iptm);

// The ranking_debug.json key of a resolved ranking metric: "plddts", "ptm", "iptm+ptm".
const char* ranking_key(RankBy rank_by);

struct ModelScore {
  std::string model_name;         // e.g. "model_1_ptm"
  double ranking_confidence = 0;  // ranking_confidence(): mean pLDDT (0..100), pTM (0..1) or 0.8 ipTM + 0.2 pTM
};

// Model names by decreasing ranking confidence; ties keep the input order (Python's stable sort).
// ranked_<k>.pdb is written for order[k]. Throws RuntimeError on a NaN score.
std::vector<std::string> rank_models(const std::vector<ModelScore>& scores);

// ranking_debug.json's text: json.dumps({key: {name: score}, "order": rank_models(scores)}, indent=4).
// Throws InputError on duplicate model names.
std::string ranking_debug_json(const std::vector<ModelScore>& scores, RankBy rank_by);
void write_ranking_debug_json(const std::filesystem::path& path, const std::vector<ModelScore>& scores, RankBy rank_by);

}  // namespace kfold::pipelines
