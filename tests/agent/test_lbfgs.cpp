// minimize_lbfgs (the Potts fit's optimiser): the minimum of a smooth function, and a stop, rather than
// iterations spent standing still, once the objective's rounding hides any further decrease.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "pipelines/agent/lbfgs.hpp"

namespace agent = kfold::pipelines::agent;

TEST_CASE("L-BFGS: the Rosenbrock function's minimum at (1, 1)") {
  std::vector<float> x = {-1.2f, 1.0f};
  const agent::LbfgsObjective rosenbrock = [](const std::vector<float>& v, std::vector<float>& g) {
    const double a = v[0], b = v[1];
    g[0] = static_cast<float>(-2.0 * (1.0 - a) - 400.0 * a * (b - a * a));
    g[1] = static_cast<float>(200.0 * (b - a * a));
    return (1.0 - a) * (1.0 - a) + 100.0 * (b - a * a) * (b - a * a);
  };
  agent::LbfgsOptions options;
  options.max_iterations = 500;
  options.epsilon = 1e-5;
  const auto result = agent::minimize_lbfgs(x, rosenbrock, options);
  CHECK(result.converged);
  CHECK(x[0] == doctest::Approx(1.0).epsilon(1e-3));  // tolerance: epsilon 1e-5 on the gradient, float x
  CHECK(x[1] == doctest::Approx(1.0).epsilon(1e-3));
}

TEST_CASE("L-BFGS: a plateau of the objective's rounding ends the fit instead of every iteration left") {
  // f = 1e4 + (x - 1)^4 rounded to float: flat (float's step at 1e4 is ~1e-3) where |x - 1| < ~0.15, where the
  // exact gradient 4 (x - 1)^3 is still far above epsilon, so only the lack of decrease can stop the fit.
  std::vector<float> x = {3.0f};
  const agent::LbfgsObjective quantised = [](const std::vector<float>& v, std::vector<float>& g) {
    const double d = v[0] - 1.0;
    g[0] = static_cast<float>(4.0 * d * d * d);
    return static_cast<double>(static_cast<float>(1e4 + d * d * d * d));
  };
  agent::LbfgsOptions options;
  options.max_iterations = 100000;
  options.epsilon = 1e-9;
  const auto result = agent::minimize_lbfgs(x, quantised, options);
  CHECK_FALSE(result.converged);
  CHECK(result.stop_reason.find("no decrease") != std::string::npos);
  CHECK(result.iterations < 100);  // it ran to 100000 iterations of steps too small to change x
  CHECK(result.evaluations < 1000);
  CHECK(std::abs(x[0] - 1.0f) < 0.2f);  // on the plateau
}
