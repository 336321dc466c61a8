// E-values and bit scores against numbers worked out by hand from the formulas.
#include <doctest/doctest.h>

#include <cmath>

#include "msa/karlin_altschul.hpp"

using namespace kfold;

TEST_CASE("Karlin-Altschul: BLOSUM62 11/1 parameters and hand-computed values") {
  const auto p = msa::blosum62_params({11, 1});
  CHECK(p.lambda == doctest::Approx(0.267));
  CHECK(p.k == doctest::Approx(0.041));
  CHECK(p.h == doctest::Approx(0.14));
  // Bit score of S = 50: (0.267 * 50 - ln 0.041) / ln 2 = (13.35 + 3.194183) / 0.693147 = 23.868.
  CHECK(msa::bit_score(p, 50) == doctest::Approx(23.8682).epsilon(1e-4));
  // Query 300, database 1,000,000 residues in 3,000 sequences. Length correction l solves
  // l = ln(K (300 - l)(1e6 - 3000 l)) / H; iterating from 0 by hand: 116.608, 110.017, 110.484, 110.451,
  // 110.4534 -> l = 110.453, m' = 189.547, n' = 668,640.3.
  const auto space = msa::search_space(p, 300, 1'000'000, 3'000);
  CHECK(space.length_correction == doctest::Approx(110.453).epsilon(1e-5));
  CHECK(space.effective_query == doctest::Approx(189.547).epsilon(1e-5));
  CHECK(space.effective_db == doctest::Approx(668640.3).epsilon(1e-6));
  // E = K m' n' exp(-lambda S) for S = 50: 0.041 * 189.547 * 668,640.3 * exp(-13.35) = 8.2768 (within 0.01%).
  CHECK(msa::evalue(p, space, 50) == doctest::Approx(8.2768).epsilon(1e-4));
  CHECK(msa::evalue(p, space, 100) == doctest::Approx(8.2768 * std::exp(-0.267 * 50)).epsilon(1e-4));
}

TEST_CASE("Karlin-Altschul: E-values fall with score and grow with the database") {
  const auto p = msa::blosum62_params({11, 1});
  const auto small = msa::search_space(p, 250, 100'000, 300);
  const auto large = msa::search_space(p, 250, 10'000'000, 30'000);
  double previous = 1e300;
  for (int s = 10; s < 300; s += 7) {
    const double e = msa::evalue(p, small, s);
    CHECK(e < previous);
    previous = e;
    CHECK(msa::evalue(p, large, s) > e);
    // One extra bit halves the E-value at a fixed search space.
    CHECK(msa::evalue(p, small, s + std::log(2.0) / p.lambda) == doctest::Approx(e / 2).epsilon(1e-9));
  }
  // Tiny inputs keep a positive search space.
  const auto tiny = msa::search_space(p, 5, 10, 2);
  CHECK(tiny.effective_query >= 1 / p.k - 1e-9);
  CHECK(tiny.effective_db >= 1.0);
}

TEST_CASE("Karlin-Altschul: unsupported gap costs are an input error") {
  CHECK_THROWS_WITH(msa::blosum62_params({7, 3}), doctest::Contains("no published Karlin-Altschul parameters"));
}
