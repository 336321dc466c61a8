// What every output of a random-weight run says (torch-free: the file writers of kfold_predict_outputs use it too).
#pragma once

namespace kfold::pipelines {

// In the log, structure headers, the result's attribute and RANDOM_WEIGHTS.txt.
inline constexpr const char* kRandomWeightsWarning =
    "WARNING: random weights, not a prediction (kfold predict --random-weights: a demo of the pipeline)";
// Its short form, in red below a random-weight run's plots.
inline constexpr const char* kRandomWeightsPlotWarning = "RANDOM WEIGHTS: NOT A PREDICTION";

}  // namespace kfold::pipelines
