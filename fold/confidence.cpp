// Confidence metrics: pLDDT, PAE and pTM from the confidence heads' logits (AlphaFold2 Suppl. 1.9.6-1.9.7).
#include "fold/confidence.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "data/error.hpp"

namespace kfold::fold {

at::Tensor compute_plddt(const at::Tensor& logits) {
  if (logits.dim() != 2 || logits.size(-1) < 1)
    fail_internal("compute_plddt: logits must be [n_res, num_bins], got {} dimensions", logits.dim());
  const int64_t num_bins = logits.size(-1);
  const auto bin_centers =
      (at::arange(num_bins, logits.options()) + 0.5) / static_cast<double>(num_bins);  // [num_bins]
  const auto probs = at::softmax(logits, -1);                                          // [n_res, num_bins]
  return (probs * bin_centers).sum(-1) * 100.0;                                        // [n_res]
}

at::Tensor aligned_error_bin_centers(const at::Tensor& breaks) {
  if (breaks.dim() != 1 || breaks.size(0) < 2)
    fail_input("aligned error breaks must be [num_bins - 1] with at least 2 edges, got {} values", breaks.numel());
  const auto step = breaks[1] - breaks[0];                       // []
  const auto centers = breaks + step / 2;                        // [num_bins - 1]
  return at::cat({centers, (centers[-1] + step).reshape({1})});  // [num_bins]
}

namespace {

void check_pae_logits(const at::Tensor& logits, const at::Tensor& breaks, const char* what) {
  if (logits.dim() != 3 || logits.size(0) != logits.size(1))
    fail_input("{}: logits must be [n_res, n_res, num_bins], got {} dimensions", what, logits.dim());
  if (breaks.dim() != 1 || logits.size(2) != breaks.size(0) + 1)
    fail_input("{}: logits have {} bins but breaks {} edges (expected num_bins - 1)", what, logits.size(2),
               breaks.numel());
}

}  // namespace

PredictedAlignedError compute_predicted_aligned_error(const at::Tensor& logits, const at::Tensor& breaks) {
  check_pae_logits(logits, breaks, "compute_predicted_aligned_error");
  const auto bin_centers = aligned_error_bin_centers(breaks.to(logits.options()));  // [num_bins]
  PredictedAlignedError out;
  out.aligned_confidence_probs = at::softmax(logits, -1);                              // [n_res, n_res, num_bins]
  out.predicted_aligned_error = (out.aligned_confidence_probs * bin_centers).sum(-1);  // [n_res, n_res]
  out.max_predicted_aligned_error = bin_centers[-1].item<double>();
  return out;
}

double predicted_tm_score(const at::Tensor& logits, const at::Tensor& breaks, const at::Tensor& residue_weights,
                          const at::Tensor& asym_id, bool interface) {
  check_pae_logits(logits, breaks, "predicted_tm_score");
  const int64_t n_res = logits.size(0);
  const auto f64 = logits.options().dtype(at::kDouble);
  const auto weights = residue_weights.defined() ? residue_weights.to(f64) : at::ones({n_res}, f64);  // [n_res]
  if (weights.dim() != 1 || weights.size(0) != n_res)
    fail_internal("predicted_tm_score: residue_weights must be [{}], got {} values", n_res, weights.numel());

  // d0 of the TM-score (Yang & Skolnick 2004, eq. 5) for the weighted residue count, clipped at 19
  // residues so that d0 stays positive; like AlphaFold, the count is truncated to an integer.
  const auto num_res = static_cast<int64_t>(weights.sum().item<double>());
  const double d0 = 1.24 * std::cbrt(static_cast<double>(std::max<int64_t>(num_res, 19) - 15)) - 1.8;

  const auto bin_centers = aligned_error_bin_centers(breaks.to(logits.options()));  // [num_bins]
  const auto tm_per_bin = 1.0 / (1.0 + bin_centers.square() / (d0 * d0));           // [num_bins]
  const auto probs = at::softmax(logits, -1);                                       // [n_res, n_res, num_bins]
  auto predicted_tm_term = (probs * tm_per_bin).sum(-1).to(at::kDouble);            // [n_res, n_res]

  auto pair_weights = weights.unsqueeze(1) * weights.unsqueeze(0);  // [n_res, n_res]
  if (interface) {
    if (!asym_id.defined() || asym_id.dim() != 1 || asym_id.size(0) != n_res)
      fail_internal("predicted_tm_score: the interface score needs asym_id [{}] (chain ids)", n_res);
    const auto ids = asym_id.to(logits.device());
    const auto pair_mask = (ids.unsqueeze(1) != ids.unsqueeze(0)).to(at::kDouble);  // [n_res, n_res]
    predicted_tm_term = predicted_tm_term * pair_mask;
    pair_weights = pair_weights * pair_mask;
  }
  const auto normed = pair_weights / (1e-8 + pair_weights.sum(-1, /*keepdim=*/true));  // [n_res, n_res]
  const auto per_alignment = (predicted_tm_term * normed).sum(-1);                     // [n_res]
  return per_alignment[(per_alignment * weights).argmax()].item<double>();
}

}  // namespace kfold::fold
