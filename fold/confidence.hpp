// Confidence metrics from the confidence heads' logits: per-residue pLDDT, predicted aligned error
// (PAE) and predicted TM-score (pTM / interface ipTM), as AlphaFold's common/confidence.py
// (AlphaFold2 Suppl. 1.9.6 and 1.9.7).
#pragma once

#include <ATen/core/Tensor.h>

namespace kfold::fold {

// pLDDT in 0..100: the expectation of the lDDT-Cα bin centres (i + 0.5) / num_bins under
// softmax(logits). logits [n_res, num_bins] (the PredictedLddtHead's) -> [n_res], logits' dtype.
at::Tensor compute_plddt(const at::Tensor& logits);

// Centres of the aligned-error bins: breaks + step / 2, plus a catch-all bin one step beyond the last
// (step = breaks[1] - breaks[0]). breaks [num_bins - 1] -> [num_bins].
at::Tensor aligned_error_bin_centers(const at::Tensor& breaks);

struct PredictedAlignedError {
  at::Tensor aligned_confidence_probs;     // [n_res, n_res, num_bins] softmax of the logits
  at::Tensor predicted_aligned_error;      // [n_res, n_res] expected aligned error (Angstrom)
  double max_predicted_aligned_error = 0;  // the last bin centre: the largest value PAE can take
};

// logits [n_res, n_res, num_bins], breaks [num_bins - 1] (the PredictedAlignedErrorHead's).
PredictedAlignedError compute_predicted_aligned_error(const at::Tensor& logits, const at::Tensor& breaks);

// Predicted TM-score (DeepMind AlphaFold v2.3's predicted_tm_score): for every residue i taken as the
// alignment anchor, the weighted mean over residues j of E[1 / (1 + (e_ij / d0)^2)] under the binned
// aligned-error distribution, with d0 = 1.24 * (max(int(sum w), 19) - 15)^(1/3) - 1.8; the result is the
// value at the anchor with the largest weighted score.
// residue_weights [n_res] in [0, 1] (undefined: all ones); interface (ipTM): only pairs from
// different chains count, which needs asym_id [n_res] (chain ids).
double predicted_tm_score(const at::Tensor& logits, const at::Tensor& breaks, const at::Tensor& residue_weights = {},
                          const at::Tensor& asym_id = {}, bool interface = false);

}  // namespace kfold::fold
