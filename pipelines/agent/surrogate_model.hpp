// The surrogate of measured results: ridge regression (closed form, Cholesky of the d x d normal
// equations or of the n x n kernel when n < d) on variant features, and a seeded bootstrap ensemble of
// such ridges whose spread is the uncertainty. Features: the evolutionary scores (standardised; the agent
// passes each model's site and residue terms, site_decomposition.hpp) and
// one-hot indicators of the mutated positions, of the mutant residues and of each position x residue
// seen in the training data (an unseen one is the prior's: see SurrogateModel). Additive: a multiple
// mutant's features are the sums of its substitutions'.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "pipelines/agent/variant.hpp"

namespace kfold::pipelines::agent {

// Row-major dense matrix.
struct Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> data;
  Matrix() = default;
  Matrix(int64_t r, int64_t c) : rows(r), cols(c), data(static_cast<size_t>(r * c), 0.0) {}
  double& operator()(int64_t i, int64_t j) { return data[static_cast<size_t>(i * cols + j)]; }
  double operator()(int64_t i, int64_t j) const { return data[static_cast<size_t>(i * cols + j)]; }
  const double* row(int64_t i) const { return data.data() + i * cols; }
};

// In place: A = L L^T (lower triangle holds L). Throws RuntimeError when A is not positive definite.
void cholesky_factor(Matrix& a);
// Solves (L L^T) x = b for a factor from cholesky_factor.
std::vector<double> cholesky_solve(const Matrix& l, std::vector<double> b);

// min_w,b sum_i v_i (y_i - b - x_i w)^2 + lambda |w|^2 (intercept b not penalised; solved on data centred
// on the v-weighted means, rows scaled by sqrt(v_i)). `weights` v: positive, one per row; empty: all 1.
struct RidgeSolution {
  std::vector<double> w;  // [d]
  double intercept = 0.0;
  double predict(const double* x) const;
};
// Primal form: (Xc^T Xc + lambda I) w = Xc^T yc.
RidgeSolution ridge_fit_primal(const Matrix& x, const std::vector<double>& y, double lambda,
                               const std::vector<double>& weights = {});
// Kernel form: w = Xc^T alpha, (Xc Xc^T + lambda I) alpha = yc.
RidgeSolution ridge_fit_kernel(const Matrix& x, const std::vector<double>& y, double lambda,
                               const std::vector<double>& weights = {});
// The cheaper of the two (kernel when n < d). Same solution up to rounding.
RidgeSolution ridge_fit(const Matrix& x, const std::vector<double>& y, double lambda,
                        const std::vector<double>& weights = {});
// Exact leave-one-out predictions of ridge with an unpenalised intercept: y_i - r_i / (1 - h_ii), h the
// weighted problem's hat matrix (the prediction of a refit without row i, the other rows keeping weights).
std::vector<double> ridge_loo_predictions(const Matrix& x, const std::vector<double>& y, double lambda,
                                          const std::vector<double>& weights = {});
// The same for each of `lambdas`, sharing the centring and the Gram matrix (OpenMP over the lambdas, each
// computed by one thread: the same numbers for any `threads`).
std::vector<std::vector<double>> ridge_loo_predictions(const Matrix& x, const std::vector<double>& y,
                                                       const std::vector<double>& lambdas,
                                                       const std::vector<double>& weights, int threads);
// The diagonal of (L L^T)^-1 for a factor L from cholesky_factor.
std::vector<double> cholesky_inverse_diagonal(const Matrix& l);

// Row weights from measurement standard deviations: 1 / (sd_i^2 + tau^2), tau^2 the median of the given
// sd^2 (variance that no measurement's own sd covers: model error, day-to-day drift), a row without sd
// counted at that median; scaled to mean 1. All 1 when no row has an sd or every sd is 0. So a row twice as
// noisy as the median weighs 0.4 of a median row, an exact one 2x: precise rows count more, and no row
// ever dominates.
std::vector<double> measurement_weights(const std::vector<std::optional<double>>& sds);

// What the surrogate knows of one variant: the variant and its evolutionary scores (NaN allowed: the
// feature is then the mean, 0 after standardisation).
struct SurrogateRow {
  Variant variant;
  std::vector<double> dense;  // evolutionary features, the same count in every row
};

// The feature map, built once from the training variants and the dense columns' moments over the
// training and the scored rows together.
class SurrogateFeatures {
 public:
  SurrogateFeatures(const std::vector<SurrogateRow>& training, const std::vector<SurrogateRow>& all_rows);
  int64_t size() const { return n_features_; }
  // Multiplies the position indicators by `scale` (a scale s is a ridge penalty lambda / s^2 on them:
  // residues at one position tend to behave alike, so their shared effect deserves a weaker prior).
  void set_position_scale(double scale) { position_scale_ = scale; }
  std::vector<double> features(const SurrogateRow& row) const;
  Matrix matrix(const std::vector<SurrogateRow>& rows) const;
  // The indicator kinds: mutated position, mutant residue, position x residue.
  static constexpr int kIndicatorKinds = 3;
  // The effect of each training indicator of one kind in a fit with weights w: w[feature] x its value.
  std::vector<double> indicator_effects(const std::vector<double>& w, int kind) const;
  // The indicators of `row` that no training variant has (a fit gives them weight 0): a key per indicator
  // (the same position or residue gives the same key in every row) and its kind.
  struct Unseen {
    uint64_t key;
    int kind;
  };
  std::vector<Unseen> unseen(const SurrogateRow& row) const;

 private:
  int64_t n_dense_ = 0;
  std::vector<double> dense_mean_;
  std::vector<double> dense_sd_;
  std::map<int64_t, int64_t> position_;                           // position -> feature
  std::map<char, int64_t> mutant_;                                // mutant residue -> feature
  std::map<std::pair<int64_t, char>, int64_t> position_residue_;  // (position, mutant) -> feature
  int64_t n_features_ = 0;
  double position_scale_ = 1.0;
};

struct SurrogateOptions {
  int64_t members = 32;
  uint64_t seed = 0;
  int threads = 0;  // OpenMP over members; the result is the same for any count
  // Ridge penalty chosen by exact leave-one-out error on the whole training set (ties: the larger).
  std::vector<double> lambdas = {0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0};
  // Scales of the position indicators tried with every lambda (SurrogateFeatures::set_position_scale).
  std::vector<double> position_scales = {1.0, 2.0, 4.0};
};

struct SurrogatePrediction {
  std::vector<double> mean;  // [n_rows] mean of the members' fits
  // [n_rows] the predictive sd of a new measurement: sqrt(ensemble_sd^2 + the leave-one-out residual
  // variance). The ensemble alone covered ~26 % of DHFR's held-out measurements within 1 sd: it knows the
  // fits' disagreement, not the model's error nor the assay's noise. scores.tsv's sd and plate.csv's sd.
  std::vector<double> sd;
  // [n_rows] the ensemble's own spread: sqrt(variance of the fits (n - 1) + prior variance), what the
  // members' draws (Thompson) span; UCB adds beta times this one (the noise is the same for every
  // candidate and says nothing of where to measure).
  std::vector<double> ensemble_sd;
  std::vector<std::vector<double>> members;  // [members][n_rows] the fits plus the prior draws
};

class SurrogateModel {
 public:
  // Fits the ensemble: member m refits on n rows drawn with replacement by SplitMix64(seed, m), each with its
  // weight (measurement_weights; empty: all 1), which also weighs the leave-one-out error that picks lambda.
  // A fit says nothing of an indicator no training variant has (a position or residue never measured): there
  // member m adds its own draw of that indicator's effect, N(0, v), v the variance of the effects of the
  // measured indicators of the same kind in the fit on all rows, plus that of their mean (empirical Bayes:
  // an unmeasured position is as different as the measured ones were; with one measured indicator of the kind, v is
  // the variance of the measurements). So the spread is wide where the data are silent
  // (without the draws it was narrowest there), and the same unmeasured position moves all its variants together in a
  // member, as a Thompson draw should.
  SurrogateModel(std::vector<SurrogateRow> training, std::vector<double> values, const std::vector<SurrogateRow>& all,
                 const SurrogateOptions& options, std::vector<double> weights = {});
  SurrogatePrediction predict(const std::vector<SurrogateRow>& rows) const;
  // Ridge penalty and position scale chosen together by leave-one-out error (ties: the later grid point).
  double lambda() const { return lambda_; }
  double position_scale() const { return position_scale_; }
  // The sd of an unmeasured position's effect (the draws of the other kinds: prior_sd_ by kind).
  double position_prior_sd() const { return prior_sd_[0]; }
  int64_t n_train() const { return static_cast<int64_t>(values_.size()); }
  int64_t n_features() const { return features_.size(); }
  const std::vector<double>& values() const { return values_; }
  // Leave-one-out predictions of the training rows (calibration), at the chosen lambda.
  const std::vector<double>& loo_predictions() const { return loo_; }
  // The weighted mean squared leave-one-out residual (weights as the fit's): the error of a prediction
  // for a variant the fit has not seen, model error and measurement noise together; part of
  // SurrogatePrediction::sd.
  double residual_variance() const { return residual_variance_; }
  const std::vector<SurrogateRow>& training() const { return training_; }

 private:
  std::vector<SurrogateRow> training_;
  std::vector<double> values_;
  std::vector<double> weights_;  // [n_train], empty: all 1
  SurrogateFeatures features_;
  double lambda_ = 1.0;
  double position_scale_ = 1.0;
  std::vector<double> loo_;
  double residual_variance_ = 0.0;
  std::vector<RidgeSolution> members_;
  std::array<double, SurrogateFeatures::kIndicatorKinds> prior_sd_{};  // an unseen indicator's effect, by kind
  uint64_t seed_ = 0;
  int threads_ = 0;
};

// Tukey's lower fence of `values`: the first quartile less 1.5 interquartile ranges (quartiles interpolated
// linearly between order statistics); -infinity for fewer than 4 values or when the quartiles are equal (a
// live/dead screen's 0s and 1s: without spread in the middle half, no value is "far").
double lower_tukey_fence(std::vector<double> values);

// Spearman correlation (average ranks for ties); NaN when fewer than 2 values or a constant input.
double spearman(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace kfold::pipelines::agent
