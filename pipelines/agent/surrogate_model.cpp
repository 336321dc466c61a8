// Closed-form ridge regression (primal and kernel forms, exact leave-one-out) and the bootstrap ensemble
// surrogate of measured results.
#include "pipelines/agent/surrogate_model.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "data/error.hpp"
#include "data/first_error.hpp"
#include "pipelines/agent/plate_layout.hpp"

namespace kfold::pipelines::agent {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A standard normal number that depends only on (seed, key, index): Box-Muller on two splitmix64 draws of a
// state hashed from all three (a state of seed ^ key * gamma made neighbouring keys' streams overlap: splitmix64
// steps by that same gamma).
double standard_normal(uint64_t seed, uint64_t key, uint64_t index) {
  const uint64_t hashed_key = SplitMix64(key).next();
  SplitMix64 rng(SplitMix64(seed ^ hashed_key).next() + index * 0xd1b54a32d192ed03ULL);
  const double u1 = (static_cast<double>(rng.next() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
  const double u2 = static_cast<double>(rng.next() >> 11) * 0x1.0p-53;          // [0, 1)
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// The weighted problem as an unweighted one without intercept: rows centred on the weighted means and
// scaled by sqrt(w_i), so that |y - Xc w|^2 is sum_i w_i (y_i - b - x_i w)^2 at the optimal intercept b.
struct Centred {
  Matrix x;                    // [n, d] centred columns, row i times sqrt_w[i]
  std::vector<double> y;       // [n] centred, times sqrt_w[i]
  std::vector<double> x_mean;  // [d] weighted means
  double y_mean = 0.0;
  std::vector<double> sqrt_w;   // [n]
  std::vector<double> w_share;  // [n] w_i / sum w (the intercept's leverage)
};

Centred centre(const Matrix& x, const std::vector<double>& y, const std::vector<double>& weights) {
  if (static_cast<int64_t>(y.size()) != x.rows) fail_runtime("ridge: {} values for {} rows", y.size(), x.rows);
  if (x.rows < 1) fail_runtime("ridge: no training rows");
  if (!weights.empty() && static_cast<int64_t>(weights.size()) != x.rows)
    fail_runtime("ridge: {} weights for {} rows", weights.size(), x.rows);
  const auto n = static_cast<size_t>(x.rows);
  std::vector<double> w = weights.empty() ? std::vector<double>(n, 1.0) : weights;
  double total = 0.0;
  for (const double v : w) {
    if (!(v > 0.0) || !std::isfinite(v)) fail_runtime("ridge: weight {} is not positive and finite", v);
    total += v;
  }
  Centred c;
  c.x = x;
  c.y = y;
  c.x_mean.assign(static_cast<size_t>(x.cols), 0.0);
  c.sqrt_w.resize(n);
  c.w_share.resize(n);
  for (size_t i = 0; i < n; ++i) {
    c.w_share[i] = w[i] / total;
    c.sqrt_w[i] = std::sqrt(w[i]);
    for (int64_t j = 0; j < x.cols; ++j)
      c.x_mean[static_cast<size_t>(j)] += c.w_share[i] * x(static_cast<int64_t>(i), j);
    c.y_mean += c.w_share[i] * y[i];
  }
  for (size_t i = 0; i < n; ++i) {
    const auto r = static_cast<int64_t>(i);
    for (int64_t j = 0; j < x.cols; ++j) c.x(r, j) = c.sqrt_w[i] * (c.x(r, j) - c.x_mean[static_cast<size_t>(j)]);
    c.y[i] = c.sqrt_w[i] * (c.y[i] - c.y_mean);
  }
  return c;
}

// Xc^T Xc + lambda I  [d, d]
Matrix gram_primal(const Matrix& xc, double lambda) {
  Matrix a(xc.cols, xc.cols);
  for (int64_t i = 0; i < xc.rows; ++i) {
    const double* r = xc.row(i);
    for (int64_t p = 0; p < xc.cols; ++p) {
      if (r[p] == 0.0) continue;
      for (int64_t q = 0; q <= p; ++q) a(p, q) += r[p] * r[q];
    }
  }
  for (int64_t p = 0; p < xc.cols; ++p) {
    a(p, p) += lambda;
    for (int64_t q = 0; q < p; ++q) a(q, p) = a(p, q);
  }
  return a;
}

// Xc Xc^T + lambda I  [n, n], from the nonzero entries of x: Xc's rows are sqrt(w_i) (x_i - mean), so
// (Xc Xc^T)_ij = sqrt(w_i w_j) (x_i.x_j - x_i.mean - x_j.mean + mean.mean). The surrogate's rows are mostly
// indicators (a few nonzeros in thousands of columns): the dense product of the centred rows took n^2 d.
Matrix gram_kernel(const Matrix& x, const Centred& c, double lambda) {
  const int64_t n = x.rows;
  std::vector<std::vector<std::pair<int64_t, double>>> nonzeros(static_cast<size_t>(n));
  std::vector<double> dot_mean(static_cast<size_t>(n), 0.0);  // x_i . mean
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < x.cols; ++p)
      if (const double v = x(i, p); v != 0.0) {
        nonzeros[static_cast<size_t>(i)].emplace_back(p, v);
        dot_mean[static_cast<size_t>(i)] += v * c.x_mean[static_cast<size_t>(p)];
      }
  double mean_mean = 0.0;
  for (const double m : c.x_mean) mean_mean += m * m;
  Matrix k(n, n);
  std::vector<double> row(static_cast<size_t>(x.cols), 0.0);  // x_i scattered
  for (int64_t i = 0; i < n; ++i) {
    for (const auto& [p, v] : nonzeros[static_cast<size_t>(i)]) row[static_cast<size_t>(p)] = v;
    for (int64_t j = 0; j <= i; ++j) {
      double dot = 0.0;
      for (const auto& [p, v] : nonzeros[static_cast<size_t>(j)]) dot += row[static_cast<size_t>(p)] * v;
      const double centred = dot - dot_mean[static_cast<size_t>(i)] - dot_mean[static_cast<size_t>(j)] + mean_mean;
      k(i, j) = k(j, i) = c.sqrt_w[static_cast<size_t>(i)] * c.sqrt_w[static_cast<size_t>(j)] * centred;
    }
    k(i, i) += lambda;
    for (const auto& [p, v] : nonzeros[static_cast<size_t>(i)]) row[static_cast<size_t>(p)] = 0.0;
  }
  return k;
}

RidgeSolution finish(const Centred& c, std::vector<double> w) {
  RidgeSolution s;
  s.w = std::move(w);
  s.intercept = c.y_mean;
  for (size_t j = 0; j < s.w.size(); ++j) s.intercept -= c.x_mean[j] * s.w[j];
  return s;
}

std::vector<double> average_ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[order[k]] = 0.5 * static_cast<double>(i + j);
    i = j + 1;
  }
  return r;
}

// sum_k a[k] b[k] over four partial sums (the compiler keeps a single sum's order: no vector instructions),
// in a fixed order: the same result on every run and thread count.
double dot(const double* a, const double* b, int64_t n) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  int64_t k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += a[k] * b[k];
    s1 += a[k + 1] * b[k + 1];
    s2 += a[k + 2] * b[k + 2];
    s3 += a[k + 3] * b[k + 3];
  }
  for (; k < n; ++k) s0 += a[k] * b[k];
  return (s0 + s1) + (s2 + s3);
}

}  // namespace

void cholesky_factor(Matrix& a) {
  const int64_t n = a.rows;
  for (int64_t j = 0; j < n; ++j) {
    const double d = a(j, j) - dot(a.row(j), a.row(j), j);
    if (!(d > 0.0)) fail_runtime("cholesky: matrix not positive definite at pivot {} ({})", j, d);
    const double l = std::sqrt(d);
    a(j, j) = l;
    for (int64_t i = j + 1; i < n; ++i) a(i, j) = (a(i, j) - dot(a.row(i), a.row(j), j)) / l;
  }
}

std::vector<double> cholesky_solve(const Matrix& l, std::vector<double> b) {
  const int64_t n = l.rows;
  for (int64_t i = 0; i < n; ++i) {  // L z = b
    double s = b[static_cast<size_t>(i)];
    for (int64_t k = 0; k < i; ++k) s -= l(i, k) * b[static_cast<size_t>(k)];
    b[static_cast<size_t>(i)] = s / l(i, i);
  }
  for (int64_t i = n - 1; i >= 0; --i) {  // L^T x = z
    double s = b[static_cast<size_t>(i)];
    for (int64_t k = i + 1; k < n; ++k) s -= l(k, i) * b[static_cast<size_t>(k)];
    b[static_cast<size_t>(i)] = s / l(i, i);
  }
  return b;
}

double RidgeSolution::predict(const double* x) const {
  double s = intercept;
  for (size_t j = 0; j < w.size(); ++j) s += x[j] * w[j];
  return s;
}

RidgeSolution ridge_fit_primal(const Matrix& x, const std::vector<double>& y, double lambda,
                               const std::vector<double>& weights) {
  const Centred c = centre(x, y, weights);
  Matrix a = gram_primal(c.x, lambda);
  std::vector<double> b(static_cast<size_t>(x.cols), 0.0);
  for (int64_t i = 0; i < x.rows; ++i) {
    for (int64_t p = 0; p < x.cols; ++p) b[static_cast<size_t>(p)] += c.x(i, p) * c.y[static_cast<size_t>(i)];
  }
  cholesky_factor(a);
  return finish(c, cholesky_solve(a, std::move(b)));
}

RidgeSolution ridge_fit_kernel(const Matrix& x, const std::vector<double>& y, double lambda,
                               const std::vector<double>& weights) {
  const Centred c = centre(x, y, weights);
  Matrix k = gram_kernel(x, c, lambda);
  cholesky_factor(k);
  const std::vector<double> alpha = cholesky_solve(k, c.y);
  std::vector<double> w(static_cast<size_t>(x.cols), 0.0);
  for (int64_t i = 0; i < x.rows; ++i) {
    for (int64_t p = 0; p < x.cols; ++p) w[static_cast<size_t>(p)] += c.x(i, p) * alpha[static_cast<size_t>(i)];
  }
  return finish(c, std::move(w));
}

RidgeSolution ridge_fit(const Matrix& x, const std::vector<double>& y, double lambda,
                        const std::vector<double>& weights) {
  return x.rows < x.cols ? ridge_fit_kernel(x, y, lambda, weights) : ridge_fit_primal(x, y, lambda, weights);
}

std::vector<double> cholesky_inverse_diagonal(const Matrix& l) {
  // (L L^T)^-1 = L^-T L^-1: its diagonal entry j is the squared norm of column j of L^-1, found by forward
  // substitution down the column (n^3 / 6 multiply-adds in all; n solves took 2 n^3, reading L by columns).
  const int64_t n = l.rows;
  std::vector<double> diagonal(static_cast<size_t>(n));
  std::vector<double> column(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    column[static_cast<size_t>(j)] = 1.0 / l(j, j);
    double squares = column[static_cast<size_t>(j)] * column[static_cast<size_t>(j)];
    for (int64_t i = j + 1; i < n; ++i) {
      const double* row = l.row(i);
      column[static_cast<size_t>(i)] = -dot(row + j, column.data() + j, i - j) / row[i];
      squares += column[static_cast<size_t>(i)] * column[static_cast<size_t>(i)];
    }
    diagonal[static_cast<size_t>(j)] = squares;
  }
  return diagonal;
}

std::vector<std::vector<double>> ridge_loo_predictions(const Matrix& x, const std::vector<double>& y,
                                                       const std::vector<double>& lambdas,
                                                       const std::vector<double>& weights, int threads) {
  const Centred c = centre(x, y, weights);
  const int64_t n = x.rows;
  const bool kernel = n < x.cols;
  // The Gram matrix without the penalty, shared by every lambda: [n, n] (kernel form) or [d, d].
  const Matrix gram = kernel ? gram_kernel(x, c, 0.0) : gram_primal(c.x, 0.0);
  std::vector<double> xty;  // Xc^T yc (primal form)
  if (!kernel) {
    xty.assign(static_cast<size_t>(x.cols), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < x.cols; ++p) xty[static_cast<size_t>(p)] += c.x(i, p) * c.y[static_cast<size_t>(i)];
  }
  std::vector<std::vector<double>> out(lambdas.size());
  data::FirstError error;  // (a matrix not positive definite: no exception may leave the OpenMP region)
  // One lambda per thread, each computed alone: the same numbers for any thread count.
#pragma omp parallel for schedule(dynamic) num_threads(std::max(threads, 1))
  for (size_t g = 0; g < lambdas.size(); ++g) {
    try {
      const double lambda = lambdas[g];
      std::vector<double> leverage = c.w_share;  // the intercept's share
      std::vector<double> fitted(static_cast<size_t>(n), 0.0);
      Matrix factor = gram;
      for (int64_t i = 0; i < factor.rows; ++i) factor(i, i) += lambda;
      cholesky_factor(factor);
      if (kernel) {
        // H = K (K + lambda I)^-1 = I - lambda (K + lambda I)^-1; residual r = lambda alpha.
        const std::vector<double> alpha = cholesky_solve(factor, c.y);
        const std::vector<double> inverse_diagonal = cholesky_inverse_diagonal(factor);
        for (int64_t i = 0; i < n; ++i) {
          const auto u = static_cast<size_t>(i);
          leverage[u] += 1.0 - lambda * inverse_diagonal[u];
          fitted[u] = c.y[u] - lambda * alpha[u];
        }
      } else {
        const std::vector<double> w = cholesky_solve(factor, xty);
        for (int64_t i = 0; i < n; ++i) {
          const std::vector<double> xi(c.x.row(i), c.x.row(i) + x.cols);
          const std::vector<double> m = cholesky_solve(factor, xi);
          double h = 0.0;
          double f = 0.0;
          for (int64_t p = 0; p < x.cols; ++p) {
            h += xi[static_cast<size_t>(p)] * m[static_cast<size_t>(p)];
            f += xi[static_cast<size_t>(p)] * w[static_cast<size_t>(p)];
          }
          leverage[static_cast<size_t>(i)] += h;
          fitted[static_cast<size_t>(i)] = f;
        }
      }
      std::vector<double> loo(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const auto u = static_cast<size_t>(i);
        const double r = (c.y[u] - fitted[u]) / c.sqrt_w[u];  // the residual in y's units
        const double denom = std::max(1.0 - leverage[u], 1e-12);
        loo[u] = y[u] - r / denom;
      }
      out[g] = std::move(loo);
    } catch (...) {
      error.record(static_cast<int64_t>(g), std::current_exception());
    }
  }
  error.rethrow();
  return out;
}

std::vector<double> ridge_loo_predictions(const Matrix& x, const std::vector<double>& y, double lambda,
                                          const std::vector<double>& weights) {
  return ridge_loo_predictions(x, y, std::vector<double>{lambda}, weights, 1).front();
}

SurrogateFeatures::SurrogateFeatures(const std::vector<SurrogateRow>& training,
                                     const std::vector<SurrogateRow>& all_rows) {
  n_dense_ = all_rows.empty() ? (training.empty() ? 0 : static_cast<int64_t>(training.front().dense.size()))
                              : static_cast<int64_t>(all_rows.front().dense.size());
  dense_mean_.assign(static_cast<size_t>(n_dense_), 0.0);
  dense_sd_.assign(static_cast<size_t>(n_dense_), 1.0);
  // Moments over the training and the scored rows together: from the scored rows alone (a library of two
  // near-equal variants) the training rows' features could be 1e6 standard deviations out, and their Gram
  // matrix no longer positive definite in floating point.
  for (int64_t j = 0; j < n_dense_; ++j) {
    double sum = 0.0;
    double n = 0.0;
    for (const auto* rows : {&training, &all_rows}) {
      for (const auto& r : *rows) {
        const double v = r.dense.at(static_cast<size_t>(j));
        if (std::isfinite(v)) {
          sum += v;
          n += 1.0;
        }
      }
    }
    if (n < 1.0) continue;
    const double mean = sum / n;
    double ss = 0.0;
    for (const auto* rows : {&training, &all_rows}) {
      for (const auto& r : *rows) {
        const double v = r.dense[static_cast<size_t>(j)];
        if (std::isfinite(v)) ss += (v - mean) * (v - mean);
      }
    }
    dense_mean_[static_cast<size_t>(j)] = mean;
    if (n >= 2.0 && ss > 0.0) dense_sd_[static_cast<size_t>(j)] = std::sqrt(ss / (n - 1.0));
  }
  // Indicators in a fixed order (sorted keys), so the feature layout never depends on input order.
  for (const auto& r : training) {
    for (const Substitution& s : r.variant.substitutions) {
      position_.emplace(s.position, 0);
      mutant_.emplace(s.mutant, 0);
      position_residue_.emplace(std::make_pair(s.position, s.mutant), 0);
    }
  }
  int64_t next = n_dense_;
  for (auto& [k, v] : position_) v = next++;
  for (auto& [k, v] : mutant_) v = next++;
  for (auto& [k, v] : position_residue_) v = next++;
  n_features_ = next;
}

std::vector<double> SurrogateFeatures::features(const SurrogateRow& row) const {
  std::vector<double> f(static_cast<size_t>(n_features_), 0.0);
  if (static_cast<int64_t>(row.dense.size()) != n_dense_) {
    fail_runtime("surrogate: a row has {} evolutionary scores, expected {}", row.dense.size(), n_dense_);
  }
  for (int64_t j = 0; j < n_dense_; ++j) {
    const size_t u = static_cast<size_t>(j);
    f[u] = std::isfinite(row.dense[u]) ? (row.dense[u] - dense_mean_[u]) / dense_sd_[u] : 0.0;
  }
  for (const Substitution& s : row.variant.substitutions) {
    if (const auto it = position_.find(s.position); it != position_.end()) {
      f[static_cast<size_t>(it->second)] += position_scale_;
    }
    if (const auto it = mutant_.find(s.mutant); it != mutant_.end()) f[static_cast<size_t>(it->second)] += 1.0;
    if (const auto it = position_residue_.find({s.position, s.mutant}); it != position_residue_.end()) {
      f[static_cast<size_t>(it->second)] += 1.0;
    }
  }
  return f;
}

std::vector<double> SurrogateFeatures::indicator_effects(const std::vector<double>& w, int kind) const {
  std::vector<double> out;
  const auto add = [&](const auto& features, double value) {
    for (const auto& [key, feature] : features) out.push_back(w.at(static_cast<size_t>(feature)) * value);
  };
  if (kind == 0) add(position_, position_scale_);
  if (kind == 1) add(mutant_, 1.0);
  if (kind == 2) add(position_residue_, 1.0);
  return out;
}

std::vector<SurrogateFeatures::Unseen> SurrogateFeatures::unseen(const SurrogateRow& row) const {
  // Keys: the kind in the top bits, then the position (and residue); distinct for any real numbering.
  std::vector<Unseen> out;
  for (const Substitution& s : row.variant.substitutions) {
    const auto position = static_cast<uint64_t>(s.position) & 0xFFFFFFFFULL;
    const auto residue = static_cast<uint64_t>(static_cast<unsigned char>(s.mutant));
    if (!position_.count(s.position)) out.push_back({(1ULL << 60) | position, 0});
    if (!mutant_.count(s.mutant)) out.push_back({(2ULL << 60) | residue, 1});
    if (!position_residue_.count({s.position, s.mutant})) out.push_back({(3ULL << 60) | position << 8 | residue, 2});
  }
  return out;
}

Matrix SurrogateFeatures::matrix(const std::vector<SurrogateRow>& rows) const {
  Matrix m(static_cast<int64_t>(rows.size()), n_features_);
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<double> f = features(rows[i]);
    std::copy(f.begin(), f.end(), m.data.begin() + static_cast<std::ptrdiff_t>(i * static_cast<size_t>(n_features_)));
  }
  return m;
}

std::vector<double> measurement_weights(const std::vector<std::optional<double>>& sds) {
  std::vector<double> variances;
  for (const auto& sd : sds)
    if (sd) variances.push_back(*sd * *sd);
  std::vector<double> weights(sds.size(), 1.0);
  if (variances.empty()) return weights;
  std::sort(variances.begin(), variances.end());
  const size_t m = variances.size() / 2;
  const double tau2 = variances.size() % 2 == 1 ? variances[m] : 0.5 * (variances[m - 1] + variances[m]);
  if (!(tau2 > 0.0)) return weights;  // every sd 0 (or most): nothing to tell the rows apart by
  double total = 0.0;
  for (size_t i = 0; i < sds.size(); ++i) {
    weights[i] = 1.0 / ((sds[i] ? *sds[i] * *sds[i] : tau2) + tau2);
    total += weights[i];
  }
  for (double& w : weights) w *= static_cast<double>(weights.size()) / total;
  return weights;
}

SurrogateModel::SurrogateModel(std::vector<SurrogateRow> training, std::vector<double> values,
                               const std::vector<SurrogateRow>& all, const SurrogateOptions& options,
                               std::vector<double> weights)
    : training_(std::move(training)),
      values_(std::move(values)),
      weights_(std::move(weights)),
      features_(training_, all),
      threads_(options.threads) {
  if (training_.size() != values_.size())
    fail_runtime("surrogate: {} rows, {} values", training_.size(), values_.size());
  if (!weights_.empty() && weights_.size() != values_.size())
    fail_runtime("surrogate: {} weights for {} rows", weights_.size(), values_.size());
  if (training_.size() < 2) fail_runtime("surrogate: needs at least 2 measurements (got {})", training_.size());
  if (options.members < 1 || options.lambdas.empty() || options.position_scales.empty())
    fail_runtime("surrogate: bad options");
  // Ridge penalty and position scale: smallest leave-one-out squared error over the grid.
  double best = std::numeric_limits<double>::infinity();
  const int64_t n = static_cast<int64_t>(training_.size());
  for (const double scale : options.position_scales) {
    features_.set_position_scale(scale);
    const Matrix xs = features_.matrix(training_);
    const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
    const auto loo_of_lambdas = ridge_loo_predictions(xs, values_, options.lambdas, weights_, threads);
    for (size_t g = 0; g < options.lambdas.size(); ++g) {
      const double lambda = options.lambdas[g];
      const std::vector<double>& loo = loo_of_lambdas[g];
      double sse = 0.0;  // weighted as the fit: a noisy measurement's miss counts less
      for (int64_t i = 0; i < n; ++i) {
        const auto u = static_cast<size_t>(i);
        const double e = loo[u] - values_[u];
        sse += (weights_.empty() ? 1.0 : weights_[u]) * e * e;
      }
      if (sse <= best) {  // ties: the later grid point (larger lambda, larger scale)
        best = sse;
        lambda_ = lambda;
        position_scale_ = scale;
        loo_ = loo;
      }
    }
  }
  features_.set_position_scale(position_scale_);
  {
    double sse = 0.0;
    double total_weight = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const auto u = static_cast<size_t>(i);
      const double w = weights_.empty() ? 1.0 : weights_[u];
      sse += w * (loo_[u] - values_[u]) * (loo_[u] - values_[u]);
      total_weight += w;
    }
    residual_variance_ = sse / total_weight;
  }
  seed_ = options.seed;
  const Matrix x = features_.matrix(training_);
  const RidgeSolution full = ridge_fit(x, values_, lambda_, weights_);
  // A kind with a single measured indicator (a saturation scan of one position) says nothing of how its
  // indicators differ: their prior is then the measurements' own spread (it was 0: no reason to look elsewhere).
  double value_mean = 0.0, value_ss = 0.0;
  for (const double v : values_) value_mean += v / static_cast<double>(n);
  for (const double v : values_) value_ss += (v - value_mean) * (v - value_mean);
  const double value_sd = n > 1 ? std::sqrt(value_ss / static_cast<double>(n - 1)) : 0.0;
  for (int kind = 0; kind < SurrogateFeatures::kIndicatorKinds; ++kind) {
    double sum = 0.0, count = 0.0;
    for (const double effect : features_.indicator_effects(full.w, kind)) {
      sum += effect * effect;
      count += 1.0;
    }
    // The intercept takes up the indicators' mean: count - 1 degrees of freedom, and a new one also differs
    // by the error of that mean (variance / count).
    prior_sd_[static_cast<size_t>(kind)] =
        count > 1.0 ? std::sqrt(sum / (count - 1.0) * (1.0 + 1.0 / count)) : value_sd;
  }
  members_.resize(static_cast<size_t>(options.members));
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  data::FirstError error;  // ridge_fit's errors (a matrix not positive definite) leave no OpenMP region
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (int64_t m = 0; m < options.members; ++m) {
    try {
      // Member m's draws depend only on (seed, m): the same ensemble for any thread count.
      SplitMix64 rng(options.seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(m) * 0xd1b54a32d192ed03ULL + 1);
      Matrix xb(n, x.cols);
      std::vector<double> yb(static_cast<size_t>(n));
      std::vector<double> wb(weights_.empty() ? 0 : static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const int64_t pick = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
        std::copy(x.row(pick), x.row(pick) + x.cols, xb.data.begin() + static_cast<std::ptrdiff_t>(i * x.cols));
        yb[static_cast<size_t>(i)] = values_[static_cast<size_t>(pick)];
        if (!weights_.empty()) wb[static_cast<size_t>(i)] = weights_[static_cast<size_t>(pick)];
      }
      members_[static_cast<size_t>(m)] = ridge_fit(xb, yb, lambda_, wb);
    } catch (...) {
      error.record(m, std::current_exception());
    }
  }
  error.rethrow();
}

SurrogatePrediction SurrogateModel::predict(const std::vector<SurrogateRow>& rows) const {
  const Matrix x = features_.matrix(rows);
  const int64_t n = x.rows;
  const int64_t n_members = static_cast<int64_t>(members_.size());
  SurrogatePrediction p;
  p.members.assign(members_.size(), std::vector<double>(static_cast<size_t>(n)));
  const int threads = threads_ > 0 ? threads_ : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t m = 0; m < n_members; ++m) {
    for (int64_t i = 0; i < n; ++i) {
      p.members[static_cast<size_t>(m)][static_cast<size_t>(i)] = members_[static_cast<size_t>(m)].predict(x.row(i));
    }
  }
  p.mean.assign(static_cast<size_t>(n), 0.0);
  p.sd.assign(static_cast<size_t>(n), 0.0);
  p.ensemble_sd.assign(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const size_t u = static_cast<size_t>(i);
    double sum = 0.0;
    for (const auto& member : p.members) sum += member[u];
    const double mean = sum / static_cast<double>(n_members);
    double ss = 0.0;
    for (const auto& member : p.members) ss += (member[u] - mean) * (member[u] - mean);
    // The unseen indicators: mean 0, variance prior_sd^2 of their kind each; every member draws them. One
    // indicator twice in a variant (two substitutions to one unseen residue) is one draw counted twice.
    std::map<uint64_t, std::pair<double, int>> unseen;  // key -> (sd, count)
    for (const auto& [key, kind] : features_.unseen(rows[u])) {
      auto& entry = unseen.try_emplace(key, prior_sd_[static_cast<size_t>(kind)], 0).first->second;
      ++entry.second;
    }
    double prior_variance = 0.0;
    for (const auto& [key, entry] : unseen) {
      const double sd = entry.first * entry.second;
      prior_variance += sd * sd;
      for (int64_t m = 0; m < n_members; ++m)
        p.members[static_cast<size_t>(m)][u] += sd * standard_normal(seed_, key, static_cast<uint64_t>(m));
    }
    p.mean[u] = mean;
    const double ensemble_variance = ss / static_cast<double>(n_members - 1) + prior_variance;
    p.ensemble_sd[u] = n_members > 1 ? std::sqrt(ensemble_variance) : kNaN;
    p.sd[u] = n_members > 1 ? std::sqrt(ensemble_variance + residual_variance_) : kNaN;
  }
  return p;
}

double lower_tukey_fence(std::vector<double> values) {
  if (values.size() < 4) return -std::numeric_limits<double>::infinity();
  std::sort(values.begin(), values.end());
  const auto quantile = [&](double q) {
    const double at = q * static_cast<double>(values.size() - 1);
    const auto below = static_cast<size_t>(at);
    const double above = below + 1 < values.size() ? values[below + 1] : values[below];
    return values[below] + (at - static_cast<double>(below)) * (above - values[below]);
  };
  const double q1 = quantile(0.25);
  const double q3 = quantile(0.75);
  return q3 > q1 ? q1 - 1.5 * (q3 - q1) : -std::numeric_limits<double>::infinity();
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) return kNaN;
  const std::vector<double> ra = average_ranks(a);
  const std::vector<double> rb = average_ranks(b);
  // Average ranks (from 0) always sum to n (n - 1) / 2: the exact mean. A mean summed as r / n missed it by 1e-16,
  // and all tied values (constant measurements) then had a variance of 1e-32, not 0, and a perfect correlation.
  const double ma = (static_cast<double>(a.size()) - 1.0) / 2.0;
  const double mb = ma;
  double sab = 0.0;
  double saa = 0.0;
  double sbb = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return saa > 0.0 && sbb > 0.0 ? sab / std::sqrt(saa * sbb) : kNaN;
}

}  // namespace kfold::pipelines::agent
