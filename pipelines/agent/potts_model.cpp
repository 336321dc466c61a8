// Potts model fitting (pseudo-likelihood, L-BFGS), Hamiltonian differences and APC coupling scores.
#include "pipelines/agent/potts_model.hpp"

#include <algorithm>
#include <cmath>

#include "data/error.hpp"
#include "pipelines/agent/site_independent_model.hpp"

namespace kfold::pipelines::agent {

double PottsModel::energy(const uint8_t* x) const {
  double e = 0.0;
  for (int64_t i = 0; i < n_col; ++i) {
    e += h(i, x[i]);
    for (int64_t j = i + 1; j < n_col; ++j) e += J(i, j, x[i], x[j]);
  }
  return e;
}

double PottsModel::delta_energy(const uint8_t* background,
                                const std::vector<std::pair<int64_t, uint8_t>>& mutations) const {
  std::vector<uint8_t> mutated(static_cast<size_t>(n_col), 0);
  std::vector<uint8_t> x(background, background + n_col);
  for (const auto& [col, state] : mutations) {
    if (col < 0 || col >= n_col || state >= kStates) fail_runtime("delta_energy: bad mutation ({}, {})", col, state);
    mutated[static_cast<size_t>(col)] = 1;
    x[static_cast<size_t>(col)] = state;
  }
  double d = 0.0;
  for (const auto& [i, state] : mutations) {
    const uint8_t old_i = background[i];
    d += static_cast<double>(h(i, state)) - h(i, old_i);
    for (int64_t j = 0; j < n_col; ++j) {
      if (j == i) continue;
      if (mutated[static_cast<size_t>(j)]) {
        if (j < i) continue;  // each mutated pair once
        d += static_cast<double>(J(i, j, state, x[static_cast<size_t>(j)])) - J(i, j, old_i, background[j]);
      } else {
        d += static_cast<double>(J(i, j, state, background[j])) - J(i, j, old_i, background[j]);
      }
    }
  }
  return d;
}

PottsModel fit_potts_model(const FamilyAlignment& alignment, const SequenceWeights& weights,
                           const PottsFitOptions& options) {
  if (alignment.n_col < 2)
    fail_input("Potts model: the alignment has {} column(s); it needs at least 2", alignment.n_col);
  PottsModel model;
  model.n_col = alignment.n_col;
  const int64_t L = alignment.n_col;
  model.lambda_J_used =
      options.scale_lambda_J ? options.lambda_J * static_cast<double>((kStates - 1) * (L - 1)) : options.lambda_J;
  model.params.assign(static_cast<size_t>(potts_n_params(L)), 0.0f);
  // Fields start at the independent-site solution log(f_i(a) Neff + 1), centred per column (plmc).
  const SiteIndependentModel independent = fit_site_independent_model(alignment, weights, 0.0);
  for (int64_t i = 0; i < L; ++i) {
    double mean = 0.0;
    std::vector<double> hi(kStates);
    for (uint8_t a = 0; a < kStates; ++a) {
      hi[a] = std::log(independent.raw_frequency(i, a) * weights.neff + 1.0);
      mean += hi[a] / kStates;
    }
    for (uint8_t a = 0; a < kStates; ++a) {
      model.params[static_cast<size_t>(potts_field_offset(i) + a)] = static_cast<float>(hi[a] - mean);
    }
  }
  PottsPseudoLikelihood objective(alignment, weights.weights, options.lambda_h, model.lambda_J_used, options.threads);
  LbfgsOptions lbfgs;
  lbfgs.max_iterations = options.max_iterations;
  lbfgs.epsilon = options.epsilon;
  model.fit = minimize_lbfgs(
      model.params, [&](const std::vector<float>& x, std::vector<float>& g) { return objective.evaluate(x, g); }, lbfgs,
      options.progress);
  return model;
}

std::vector<CouplingScore> coupling_scores(const PottsModel& model) {
  const int64_t L = model.n_col;
  constexpr int64_t q = 20;  // amino acids only
  std::vector<double> fn(static_cast<size_t>(L * L), 0.0);
  for (int64_t i = 0; i < L; ++i) {
    for (int64_t j = i + 1; j < L; ++j) {
      double block[q][q];
      double total = 0.0;
      double row[q] = {};
      double col[q] = {};
      for (int64_t a = 0; a < q; ++a) {
        for (int64_t b = 0; b < q; ++b) {
          block[a][b] = model.J(i, j, static_cast<uint8_t>(a), static_cast<uint8_t>(b));
          row[a] += block[a][b] / q;
          col[b] += block[a][b] / q;
          total += block[a][b] / (q * q);
        }
      }
      double ss = 0.0;
      for (int64_t a = 0; a < q; ++a) {
        for (int64_t b = 0; b < q; ++b) {
          const double v = block[a][b] - row[a] - col[b] + total;  // zero-sum gauge
          ss += v * v;
        }
      }
      fn[static_cast<size_t>(i * L + j)] = fn[static_cast<size_t>(j * L + i)] = std::sqrt(ss);
    }
  }
  std::vector<double> mean_i(static_cast<size_t>(L), 0.0);
  double mean = 0.0;
  for (int64_t i = 0; i < L; ++i) {
    for (int64_t j = 0; j < L; ++j) {
      if (j != i) mean_i[static_cast<size_t>(i)] += fn[static_cast<size_t>(i * L + j)] / static_cast<double>(L - 1);
    }
    mean += mean_i[static_cast<size_t>(i)] / static_cast<double>(L);
  }
  std::vector<CouplingScore> out;
  out.reserve(static_cast<size_t>(L * (L - 1) / 2));
  for (int64_t i = 0; i < L; ++i) {
    for (int64_t j = i + 1; j < L; ++j) {
      CouplingScore s;
      s.i = i;
      s.j = j;
      s.frobenius = fn[static_cast<size_t>(i * L + j)];
      s.apc = s.frobenius - (mean > 0.0 ? mean_i[static_cast<size_t>(i)] * mean_i[static_cast<size_t>(j)] / mean : 0.0);
      out.push_back(s);
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const CouplingScore& a, const CouplingScore& b) { return a.apc > b.apc; });
  return out;
}

}  // namespace kfold::pipelines::agent
