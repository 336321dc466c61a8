// Model ranking and ranking_debug.json (AlphaFold's run_alphafold.py).
#include "pipelines/predict/ranking.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "pipelines/predict/json_text.hpp"

namespace kfold::pipelines {

const char* ranking_key(RankBy rank_by) {
  switch (rank_by) {
    case RankBy::ptm:
      return "ptm";
    case RankBy::iptm_ptm:
      return "iptm+ptm";
    case RankBy::plddt:
      break;
  }
  return "plddts";
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
