// `kfold predict --relax` (pipelines/predict/relax_prediction.hpp).
#include "pipelines/predict/relax_prediction.hpp"

#include <ATen/ATen.h>

#include <fmt/ranges.h>

#include <chrono>
#include <utility>

#include "data/atomic_output.hpp"
#include "data/log.hpp"
#include "fold/violation_relax.hpp"
#include "pipelines/predict/json_text.hpp"

namespace kfold::pipelines {

RelaxedPrediction relax_prediction(const data::Protein& prediction, const std::string& name, ChainBonds bonds,
                                   const std::function<void()>& check_cancelled) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = prediction.n_res();
  std::vector<std::string> breaks;
  const auto t = protein_tensors(prediction, bonds, &breaks);
  if (!breaks.empty())
    log_warn("{}: chain breaks between residues of successive numbers, neither checked nor closed as peptide bonds: {}",
             name, breaks_text(breaks));
  if (const auto across = peptide_bonds_across_chains(prediction); !across.empty())
    log_warn(
        "{}: peptide bonds between residues of different chains: {}; chains are never bonded, so these count as "
        "clashes and relax pulls them apart: give each chain one name if they are one",
        name, fmt::join(across, ", "));
  fold::RelaxOptions options;
  options.check_cancelled = check_cancelled;
  const auto r = fold::relax_structure(t.aatype, t.residue_index, t.positions, t.mask, options);
  RelaxedPrediction out{prediction, std::vector<float>(static_cast<size_t>(n), 0.0f)};
  const auto positions = r.atom37_positions.contiguous();
  out.protein.atom_positions.assign(positions.data_ptr<float>(), positions.data_ptr<float>() + positions.numel());
  for (const int64_t i : r.final.residue_violations) out.remaining_violations[static_cast<size_t>(i)] = 1.0f;
  log_info(
      "{}: relaxed in {:.1f} s: residues with structural violations {} -> {}, RMSD {:.3f} A (max {:.2f} A), {} "
      "round{}",
      name, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
      r.initial.residue_violations.size(), r.final.residue_violations.size(), r.rmsd, r.max_displacement, r.rounds,
      r.rounds == 1 ? "" : "s");
  if (!r.final.residue_violations.empty())
    log_warn("{}: {} residues still violate after relaxing", name, r.final.residue_violations.size());
  return out;
}

std::string relax_metrics_json(const std::vector<std::pair<std::string, std::vector<float>>>& remaining) {
  // json.dumps(..., indent=4): a newline and 4 spaces per level, items end with ",", ": " after keys.
  if (remaining.empty()) return "{}";
  std::string out = "{";
  for (size_t m = 0; m < remaining.size(); ++m) {
    const auto& [model, violations] = remaining[m];
    double count = 0;
    out += (m > 0 ? ",\n    " : "\n    ") + json_string(model) + ": {\n        \"remaining_violations\": [";
    for (size_t i = 0; i < violations.size(); ++i) {
      out += (i > 0 ? ",\n            " : "\n            ") + python_float(violations[i]);
      count += violations[i];
    }
    out += violations.empty() ? "]" : "\n        ]";
    out += ",\n        \"remaining_violations_count\": " + python_float(count) + "\n    }";
  }
  return out + "\n}";
}

void write_relax_metrics_json(const std::filesystem::path& path,
                              const std::vector<std::pair<std::string, std::vector<float>>>& remaining) {
  data::write_file_atomic(path, relax_metrics_json(remaining));
}

}  // namespace kfold::pipelines
