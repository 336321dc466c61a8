// violations.json (pipelines/predict/violations_json.hpp).
#include "pipelines/predict/violations_json.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/structure_io.hpp"

namespace kfold::pipelines {

std::string violations_entry_json(const fold::ViolationMetrics& metrics, std::span<const int64_t> residue_index,
                                  std::span<const int64_t> chain_index) {
  std::vector<int64_t> numbers;
  std::vector<std::string> chains;
  const bool complex = std::any_of(chain_index.begin(), chain_index.end(), [](int64_t c) { return c != 0; });
  for (const int64_t position : metrics.residue_violations) {
    if (position < 0 || position >= static_cast<int64_t>(residue_index.size()) ||
        (complex && position >= static_cast<int64_t>(chain_index.size())))
      fail_runtime("violations: residue position {} outside the {} residues", position, residue_index.size());
    numbers.push_back(residue_index[static_cast<size_t>(position)] + 1);
    if (complex) chains.push_back(data::chain_name(chain_index[static_cast<size_t>(position)]));
  }
  nlohmann::ordered_json entry;
  entry["num_residue_violations"] = numbers.size();
  entry["violating_residues"] = numbers;
  if (complex) entry["violating_residue_chains"] = chains;
  entry["violations_per_residue"] = metrics.per_residue;
  entry["violations_between_residue_bond"] = metrics.between_residue_bond;
  entry["violations_between_residue_clash"] = metrics.between_residue_clash;
  entry["violations_within_residue"] = metrics.within_residue;
  entry["violations_extreme_ca_ca_distance"] = metrics.extreme_ca_ca_distance;
  return entry.dump();
}

void write_violations_json(const std::filesystem::path& path,
                           const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string text = "{";
  for (size_t i = 0; i < entries.size(); ++i)
    text += (i > 0 ? ",\n    " : "\n    ") + nlohmann::json(entries[i].first).dump() + ": " + entries[i].second;
  data::write_file_atomic(path, text + (entries.empty() ? "}\n" : "\n}\n"));
}

}  // namespace kfold::pipelines
