// Limited-memory BFGS minimiser (Nocedal & Wright, algorithm 7.4 and 7.5) with a backtracking Armijo
// line search, for smooth objectives such as the Potts pseudo-likelihood. Parameters and gradients are
// float (millions of them); every dot product accumulates in double in a fixed order, so a run is
// deterministic whenever the objective is.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kfold::pipelines::agent {

struct LbfgsOptions {
  int64_t max_iterations = 100;  // 0: until convergence
  int64_t history = 5;           // pairs (s, y) kept
  double epsilon = 1e-3;         // stop when ||g|| / max(1, ||x||) < epsilon (as liblbfgs/plmc)
  int64_t max_line_search = 30;  // evaluations per line search
  double armijo = 1e-4;          // sufficient-decrease constant c1
};

struct LbfgsResult {
  double objective = 0.0;
  double gradient_norm = 0.0;
  int64_t iterations = 0;
  int64_t evaluations = 0;
  bool converged = false;
  std::string stop_reason;
};

// Fills `g` (resized by the caller to x.size()) with the gradient at `x` and returns the objective.
using LbfgsObjective = std::function<double(const std::vector<float>& x, std::vector<float>& g)>;
// Called after every iteration with (iteration, objective, gradient norm, evaluations so far).
using LbfgsProgress =
    std::function<void(int64_t iteration, double objective, double gradient_norm, int64_t evaluations)>;

// Minimises from `x` (updated in place). Never throws for lack of progress: it stops and says why.
LbfgsResult minimize_lbfgs(std::vector<float>& x, const LbfgsObjective& objective, const LbfgsOptions& options,
                           const LbfgsProgress& progress = {});

}  // namespace kfold::pipelines::agent
