// `kfold predict --relax` (pipelines/predict/relax_prediction.hpp).
#include "pipelines/predict/relax_prediction.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <utility>

#include "data/atomic_output.hpp"
#include "data/log.hpp"
#include "fold/violation_relax.hpp"
#include "pipelines/predict/json_text.hpp"

namespace kfold::pipelines {

std::vector<int64_t> violation_check_residue_index(const data::Protein& protein) {
  const auto& number = protein.residue_index;
  const auto code = [&](size_t i) { return protein.insertion_code.empty() ? ' ' : protein.insertion_code[i]; };
  std::vector<int64_t> index(number.size());
  int64_t chain_end = 0;  // the largest index given so far
  for (size_t first = 0; first < number.size();) {
    size_t last = first;  // the chain: residues [first, last)
    while (last < number.size() && protein.chain_index[last] == protein.chain_index[first]) ++last;
    std::vector<size_t> order(last - first);
    std::iota(order.begin(), order.end(), first);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return std::pair(number[a], code(a)) < std::pair(number[b], code(b)); });
    for (size_t k = 0; k < order.size(); ++k) {
      const size_t i = order[k], prev = k > 0 ? order[k - 1] : i;
      if (k == 0)
        index[i] = first == 0 ? number[i] : chain_end + 100;
      else if (number[i] != number[prev])
        index[i] = index[prev] + (number[i] - number[prev]);
      else  // an insertion code (100, 100A) follows its predecessor; the same residue twice is apart
        index[i] = index[prev] + (code(i) != code(prev) ? 1 : 100);
      chain_end = std::max(chain_end, index[i]);
    }
    first = last;
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

RelaxedPrediction relax_prediction(const data::Protein& prediction, const std::string& name,
                                   const std::function<void()>& check_cancelled) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = prediction.n_res();
  const auto t = protein_tensors(prediction);
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
