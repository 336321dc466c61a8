// Sequence weights and site-independent scores against the independent numpy implementation of
// scripts/make_fixture_agent.py (tests/fixtures/agent/).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

#include "pipelines/agent/family_alignment.hpp"
#include "pipelines/agent/sequence_weights.hpp"
#include "pipelines/agent/site_independent_model.hpp"
#include "test_support.hpp"

using namespace kfold::pipelines::agent;

namespace {

nlohmann::json expected() {
  std::ifstream in(kfold::test::source_dir() / "tests/fixtures/agent/expected.json");
  return nlohmann::json::parse(in);
}

FamilyAlignment synthetic() {
  return read_family_alignment(kfold::test::source_dir() / "tests/fixtures/agent/synthetic.a2m");
}

}  // namespace

TEST_CASE("agent reference: alignment decoding matches the numpy reader") {
  const auto e = expected();
  const FamilyAlignment a = synthetic();
  CHECK(a.n_seq == e["n_seq"].get<int64_t>());
  CHECK(a.n_col == e["n_col"].get<int64_t>());
  CHECK(a.focus_start == e["focus_start"].get<int64_t>());
  CHECK(a.focus_residues == e["focus_residues"].get<std::string>());
  CHECK(a.column_residue == e["column_residue"].get<std::vector<int64_t>>());
}

TEST_CASE("agent reference: sequence weights and Neff (exact counts, 1e-12)") {
  const auto e = expected();
  const FamilyAlignment a = synthetic();
  for (const int threads : {1, 2, 3}) {
    const SequenceWeights w = compute_sequence_weights(a, 0.8, threads);
    CHECK(w.neighbours == e["neighbours"].get<std::vector<int64_t>>());
    const auto ref = e["weights"].get<std::vector<double>>();
    REQUIRE(w.weights.size() == ref.size());
    for (size_t k = 0; k < ref.size(); ++k) CHECK(w.weights[k] == doctest::Approx(ref[k]).epsilon(1e-12));
    CHECK(w.neff == doctest::Approx(e["neff"].get<double>()).epsilon(1e-12));
  }
}

TEST_CASE("agent reference: site-independent scores of every single (1e-9 absolute)") {
  const auto e = expected();
  const FamilyAlignment a = synthetic();
  const SequenceWeights w = compute_sequence_weights(a, 0.8, 2);
  const SiteIndependentModel m = fit_site_independent_model(a, w);
  int64_t n = 0;
  for (const auto& s : e["singles"]) {
    const int64_t col = a.column_of_residue(s[0].get<int64_t>());
    REQUIRE(col >= 0);
    const uint8_t wt = residue_state(s[1].get<std::string>()[0]);
    REQUIRE(a.state(0, col) == wt);
    const double score = m.score(col, wt, residue_state(s[2].get<std::string>()[0]));
    CHECK(std::fabs(score - s[3].get<double>()) < 1e-9);
    ++n;
  }
  CHECK(n == 19 * a.n_col);
  for (int64_t c = 0; c < a.n_col; ++c) {
    double total = 0.0;
    for (uint8_t s = 0; s < kStates; ++s) total += m.frequency(c, s);
    CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
  }
}
