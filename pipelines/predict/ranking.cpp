// Model ranking and ranking_debug.json (AlphaFold's run_alphafold.py).
#include "pipelines/predict/ranking.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <utility>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "pipelines/predict/json_text.hpp"

namespace kfold::pipelines {

namespace {

constexpr std::pair<RankBy, const char*> kRankByNames[] = {
    {RankBy::plddt, "plddt"}, {RankBy::ptm, "ptm"}, {RankBy::iptm_ptm, "iptm+ptm"}, {RankBy::automatic, "auto"}};

}  // namespace

const char* rank_by_name(RankBy rank_by) {
  for (const auto& [value, name] : kRankByNames)
    if (value == rank_by) return name;
  fail_internal("rank_by_name: unknown RankBy {}", static_cast<int>(rank_by));
}

RankBy parse_rank_by(std::string_view name) {
  for (const auto& [value, known] : kRankByNames)
    if (name == known) return value;
  fail_input("--rank {}: expected plddt, ptm, iptm+ptm or auto", name);
}

RankBy resolve_rank_by(RankBy requested, int64_t n_chains, bool every_model_has_pae) {
  if (requested == RankBy::automatic) return n_chains > 1 && every_model_has_pae ? RankBy::iptm_ptm : RankBy::plddt;
  if (requested == RankBy::iptm_ptm && n_chains < 2)
    fail_input(
        "--rank iptm+ptm: the target is one chain, and ipTM scores residue pairs of different chains (give a "
        "complex: a ColabFold complex A3M or features with asym_id), or use --rank auto");
  return requested;
}

double ranking_confidence(RankBy rank_by, double mean_plddt, double ptm, std::optional<double> iptm) {
  switch (rank_by) {
    case RankBy::plddt:
      return mean_plddt;
    case RankBy::ptm:
      return ptm;
    case RankBy::iptm_ptm:
      if (!iptm) fail_internal("ranking_confidence: iptm+ptm without an ipTM");
      return 0.8 * *iptm + 0.2 * ptm;
    case RankBy::automatic:
      break;
  }
  fail_internal("ranking_confidence: the ranking metric was not resolved");
}

const char* ranking_key(RankBy rank_by) {
  switch (rank_by) {
    case RankBy::ptm:
      return "ptm";
    case RankBy::iptm_ptm:
      return "iptm+ptm";
    case RankBy::plddt:
      return "plddts";
    case RankBy::automatic:
      break;
  }
  fail_internal("ranking_key: the ranking metric was not resolved");
}

std::vector<std::string> rank_models(const std::vector<ModelScore>& scores) {
  for (const auto& s : scores)
    if (std::isnan(s.ranking_confidence)) fail_runtime("model {}: ranking confidence is NaN", s.model_name);
  std::vector<size_t> index(scores.size());
  std::iota(index.begin(), index.end(), size_t{0});
  std::stable_sort(index.begin(), index.end(),
                   [&](size_t a, size_t b) { return scores[a].ranking_confidence > scores[b].ranking_confidence; });
  std::vector<std::string> order;
  for (const size_t i : index) order.push_back(scores[i].model_name);
  return order;
}

std::string ranking_debug_json(const std::vector<ModelScore>& scores, RankBy rank_by) {
  std::set<std::string> seen;
  for (const auto& s : scores)
    if (!seen.insert(s.model_name).second) fail_input("model {} is ranked twice", s.model_name);
  const auto order = rank_models(scores);
  // json.dumps(..., indent=4): newline + 4 spaces per level, ", " never (items end with ","), ": ".
  std::string out = "{\n    " + json_string(ranking_key(rank_by)) + ": ";
  if (scores.empty()) {
    out += "{},\n    \"order\": []\n}";
    return out;
  }
  out += "{\n";
  for (size_t i = 0; i < scores.size(); ++i)
    out += "        " + json_string(scores[i].model_name) + ": " + python_float(scores[i].ranking_confidence) +
           (i + 1 < scores.size() ? ",\n" : "\n");
  out += "    },\n    \"order\": [\n";
  for (size_t i = 0; i < order.size(); ++i)
    out += "        " + json_string(order[i]) + (i + 1 < order.size() ? ",\n" : "\n");
  return out + "    ]\n}";
}

void write_ranking_debug_json(const std::filesystem::path& path, const std::vector<ModelScore>& scores,
                              RankBy rank_by) {
  data::write_file_atomic(path, ranking_debug_json(scores, rank_by));
}

}  // namespace kfold::pipelines
