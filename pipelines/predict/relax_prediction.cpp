// `kfold predict --relax` (pipelines/predict/relax_prediction.hpp).
#include "pipelines/predict/relax_prediction.hpp"

#include <ATen/ATen.h>

#include <chrono>

#include "data/atomic_output.hpp"
#include "data/log.hpp"
#include "fold/violation_relax.hpp"
#include "pipelines/predict/json_text.hpp"

namespace kfold::pipelines {

std::vector<int64_t> violation_check_residue_index(const data::Protein& protein) {
  std::vector<int64_t> index(protein.residue_index);
  int64_t offset = 0;
  for (size_t i = 1; i < index.size(); ++i) {
    if (protein.chain_index[i] != protein.chain_index[i - 1])
      offset = index[i - 1] + 100 - protein.residue_index[i];
    else if (protein.residue_index[i] + offset <= index[i - 1])  // insertion codes (100, 100A): consecutive
      offset = index[i - 1] + 1 - protein.residue_index[i];
    index[i] = protein.residue_index[i] + offset;
  }
  return index;
}

namespace {

// A Protein as the tensors the checks and the relax take. Residue numbers as written (a prediction's
// residue_index + 1) give the same chain breaks as the model's residue_index.
struct ProteinTensors {
  at::Tensor aatype, residue_index, positions, mask;  // [L], [L], [L, 37, 3], [L, 37]
};
ProteinTensors protein_tensors(const data::Protein& protein) {
  protein.check_shapes();
  const int64_t n = protein.n_res();
  return {at::tensor(at::ArrayRef<int64_t>(protein.aatype)),
          at::tensor(at::ArrayRef<int64_t>(violation_check_residue_index(protein))),
          at::tensor(at::ArrayRef<float>(protein.atom_positions)).reshape({n, 37, 3}),
          at::tensor(at::ArrayRef<float>(protein.atom_mask)).reshape({n, 37})};
}

}  // namespace

fold::ViolationMetrics check_protein(const data::Protein& protein) {
  const auto t = protein_tensors(protein);
  return fold::check_structure(t.aatype, t.residue_index, t.positions, t.mask);
}

RelaxedPrediction relax_prediction(const data::Protein& prediction, const std::string& name) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = prediction.n_res();
  const auto t = protein_tensors(prediction);
  const auto r = fold::relax_structure(t.aatype, t.residue_index, t.positions, t.mask);
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
    log_warn("{}: {} residues still violate after relaxing (relax_metrics.json)", name,
             r.final.residue_violations.size());
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
