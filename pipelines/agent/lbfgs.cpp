// L-BFGS with two-loop recursion and backtracking (quadratic interpolation) Armijo line search.
#include "pipelines/agent/lbfgs.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include "data/error.hpp"

namespace kfold::pipelines::agent {

namespace {

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0.0;
  const size_t n = a.size();
  for (size_t k = 0; k < n; ++k) s += static_cast<double>(a[k]) * static_cast<double>(b[k]);
  return s;
}

// y += alpha * x
void axpy(double alpha, const std::vector<float>& x, std::vector<float>& y) {
  const auto a = static_cast<float>(alpha);
  const size_t n = x.size();
  for (size_t k = 0; k < n; ++k) y[k] += a * x[k];
}

struct Pair {
  std::vector<float> s;  // x_{k+1} - x_k
  std::vector<float> y;  // g_{k+1} - g_k
  double rho = 0.0;      // 1 / (y . s)
};

}  // namespace

LbfgsResult minimize_lbfgs(std::vector<float>& x, const LbfgsObjective& objective, const LbfgsOptions& options,
                           const LbfgsProgress& progress) {
  if (options.history < 1) fail_internal("L-BFGS: history must be >= 1 (got {})", options.history);
  const size_t n = x.size();
  LbfgsResult result;
  std::vector<float> g(n, 0.0f);
  double f = objective(x, g);
  ++result.evaluations;
  if (!std::isfinite(f)) fail_runtime("L-BFGS: the objective is not finite at the starting point");
  double gnorm = std::sqrt(dot(g, g));
  result.objective = f;
  result.gradient_norm = gnorm;
  auto converged = [&](double gn) { return gn / std::max(1.0, std::sqrt(dot(x, x))) < options.epsilon; };
  if (converged(gnorm)) {
    result.converged = true;
    result.stop_reason = "converged at the starting point";
    return result;
  }
  std::deque<Pair> history;
  std::vector<float> d(n);
  std::vector<float> x_prev(n);
  std::vector<float> g_prev(n);
  std::vector<double> alpha(static_cast<size_t>(options.history));
  for (size_t k = 0; k < n; ++k) d[k] = -g[k];
  double step = 1.0 / gnorm;  // first step: unit length along -g
  for (int64_t iter = 1; options.max_iterations == 0 || iter <= options.max_iterations; ++iter) {
    double dg = dot(d, g);
    if (!(dg < 0.0)) {  // not a descent direction (numerical trouble): restart from steepest descent
      history.clear();
      for (size_t k = 0; k < n; ++k) d[k] = -g[k];
      dg = -gnorm * gnorm;
      step = 1.0 / gnorm;
    }
    x_prev = x;
    g_prev = g;
    const double f_prev = f;
    bool accepted = false;
    double t = step;
    for (int64_t ls = 0; ls < options.max_line_search; ++ls) {
      x = x_prev;
      axpy(t, d, x);
      f = objective(x, g);
      ++result.evaluations;
      // Armijo's sufficient decrease, and a strict one: once t * dg is below the objective's rounding, the
      // test alone accepts steps that change nothing, and the fit would spend its iterations standing still.
      if (std::isfinite(f) && f <= f_prev + options.armijo * t * dg && f < f_prev) {
        accepted = true;
        break;
      }
      // Minimiser of the quadratic through f_prev, dg and f(t), kept within [0.1 t, 0.5 t].
      double t_new = 0.5 * t;
      if (std::isfinite(f)) {
        const double denom = 2.0 * (f - f_prev - dg * t);
        if (denom > 0.0) t_new = std::clamp(-dg * t * t / denom, 0.1 * t, 0.5 * t);
      }
      t = t_new;
    }
    if (!accepted) {
      x = x_prev;
      g = g_prev;
      f = f_prev;
      result.stop_reason = "line search found no decrease (at the numerical optimum)";
      result.iterations = iter - 1;
      break;
    }
    result.iterations = iter;
    gnorm = std::sqrt(dot(g, g));
    result.objective = f;
    result.gradient_norm = gnorm;
    if (progress) progress(iter, f, gnorm, result.evaluations);
    if (converged(gnorm)) {
      result.converged = true;
      result.stop_reason = "converged (relative gradient norm below epsilon)";
      break;
    }
    // New curvature pair; skipped when y.s is not positive (keeps the inverse Hessian positive definite).
    Pair p;
    if (static_cast<int64_t>(history.size()) == options.history) {
      p = std::move(history.front());
      history.pop_front();
    }
    p.s.resize(n);
    p.y.resize(n);
    for (size_t k = 0; k < n; ++k) {
      p.s[k] = x[k] - x_prev[k];
      p.y[k] = g[k] - g_prev[k];
    }
    const double ys = dot(p.y, p.s);
    if (ys > 1e-12 * std::sqrt(dot(p.y, p.y) * dot(p.s, p.s))) {
      p.rho = 1.0 / ys;
      history.push_back(std::move(p));
    }
    // Two-loop recursion: d = -H g.
    for (size_t k = 0; k < n; ++k) d[k] = -g[k];
    const auto m = static_cast<int64_t>(history.size());
    for (int64_t k = m - 1; k >= 0; --k) {
      const Pair& h = history[static_cast<size_t>(k)];
      alpha[static_cast<size_t>(k)] = h.rho * dot(h.s, d);
      axpy(-alpha[static_cast<size_t>(k)], h.y, d);
    }
    if (m > 0) {
      const Pair& last = history.back();
      const double gamma = 1.0 / (last.rho * dot(last.y, last.y));
      for (size_t k = 0; k < n; ++k) d[k] = static_cast<float>(gamma * d[k]);
    }
    for (int64_t k = 0; k < m; ++k) {
      const Pair& h = history[static_cast<size_t>(k)];
      const double beta = h.rho * dot(h.y, d);
      axpy(alpha[static_cast<size_t>(k)] - beta, h.s, d);
    }
    step = m > 0 ? 1.0 : 1.0 / gnorm;
    if (options.max_iterations != 0 && iter == options.max_iterations) result.stop_reason = "maximum iterations";
  }
  return result;
}

}  // namespace kfold::pipelines::agent
