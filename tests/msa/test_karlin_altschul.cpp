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
  // l = (1.9 / 0.267) ln(K (300 - l)(1e6 - 3000 l)) - 30 (BLAST+'s alpha, beta); iterating from 0 by hand:
  // 86.171, 81.633, 81.912, 81.895, 81.8962 -> l = 81.896, m' = 218.104, n' = 754,311.6.
  const auto space = msa::search_space(p, 300, 1'000'000, 3'000);
  CHECK(space.length_correction == doctest::Approx(81.8961).epsilon(1e-5));
  CHECK(space.effective_query == doctest::Approx(218.1039).epsilon(1e-5));
  CHECK(space.effective_db == doctest::Approx(754311.6).epsilon(1e-6));
  // E = K m' n' exp(-lambda S) for S = 50: 0.041 * 218.104 * 754,311.6 * exp(-13.35) = 10.744 (within 0.01%).
  CHECK(msa::evalue(p, space, 50) == doctest::Approx(10.744).epsilon(1e-4));
  CHECK(msa::evalue(p, space, 100) == doctest::Approx(10.744 * std::exp(-0.267 * 50)).epsilon(1e-4));
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
  // Tiny inputs: the uncorrected space is already below the minimum, so no correction.
  const auto tiny = msa::search_space(p, 5, 10, 2);
  CHECK(tiny.length_correction == 0.0);
  CHECK(tiny.effective_query == 5.0);
  CHECK(tiny.effective_db == 10.0);
}

TEST_CASE("Karlin-Altschul: the length correction is a root or the cap, for any mean sequence length") {
  // Peptide and fragment databases included: 100,000 sequences of mean length 10..1000, queries of
  // 30..1000 residues. Either l solves l = (alpha / lambda) ln(K m' n') + beta (to 1e-6), or l = 0 where
  // that is negative, or the corrected space sits at
  // the cap K m' n' = max(m, N) with the root beyond it; m' and n' stay positive, and a longer mean
  // length never gives a smaller correction.
  const auto p = msa::blosum62_params({11, 1});
  const int64_t n_seq = 100'000;
  for (const int64_t m : {30, 100, 300, 1000}) {
    double previous = -1.0;
    for (const int64_t mean : {10, 20, 30, 50, 80, 100, 110, 125, 150, 200, 450, 1000}) {
      const int64_t n = mean * n_seq;
      const auto space = msa::search_space(p, m, n, n_seq);
      const double l = space.length_correction;
      CAPTURE(m);
      CAPTURE(mean);
      CHECK(l >= 0.0);
      CHECK(space.effective_query > 0.0);
      CHECK(space.effective_db > 0.0);
      CHECK(p.k * space.size() >= std::max<double>(m, n) * (1 - 1e-9));
      const double g = p.alpha / p.lambda * std::log(p.k * space.size()) + p.beta;
      const bool capped = p.k * space.size() <= std::max<double>(m, n) * (1 + 1e-6);
      if (capped)
        CHECK(g >= l - 1e-6);  // the root lies beyond the cap
      else if (l == 0.0)
        CHECK(g <= 0.0);  // beta < 0: no correction for a small enough space
      else
        CHECK(g == doctest::Approx(l).epsilon(1e-6));
      CHECK(l >= previous - 1e-9);
      previous = l;
    }
  }
}

TEST_CASE("Karlin-Altschul: every supported gap setting has NCBI BLAST's published BLOSUM62 lambda, K, H") {
  // NCBI C++ Toolkit, algo/blast/core/blast_stat.c, blosum62_values (typed in here from that table).
  struct Published {
    int32_t open, extend;
    double lambda, k, h;
  };
  const Published published[] = {
      {11, 2, 0.297, 0.082, 0.27}, {10, 2, 0.291, 0.075, 0.23}, {9, 2, 0.279, 0.058, 0.19},
      {8, 2, 0.264, 0.045, 0.15},  {7, 2, 0.239, 0.027, 0.10},  {6, 2, 0.201, 0.012, 0.061},
      {13, 1, 0.292, 0.071, 0.23}, {12, 1, 0.283, 0.059, 0.19}, {11, 1, 0.267, 0.041, 0.14},
      {10, 1, 0.243, 0.024, 0.10}, {9, 1, 0.206, 0.010, 0.052},
  };
  for (const Published& row : published) {
    CAPTURE(row.open);
    CAPTURE(row.extend);
    const auto p = msa::blosum62_params({row.open, row.extend});
    CHECK(p.lambda == row.lambda);  // exact: the same decimal literals
    CHECK(p.k == row.k);
    CHECK(p.h == row.h);
  }
}

TEST_CASE("Karlin-Altschul: unsupported gap costs are an input error") {
  CHECK_THROWS_WITH(msa::blosum62_params({7, 3}), doctest::Contains("no published Karlin-Altschul parameters"));
}

TEST_CASE("Karlin-Altschul: every supported gap setting has NCBI BLAST's published alpha and beta") {
  // The length correction's parameters (blast_stat.c, blosum62_values, columns alpha and beta): --gap-open /
  // --gap-extend other than 11/1 use them for every E-value.
  struct Published {
    int32_t open, extend;
    double alpha, beta;
  };
  const Published published[] = {
      {11, 2, 1.1, -10}, {10, 2, 1.3, -15}, {9, 2, 1.5, -19},  {8, 2, 1.8, -26},  {7, 2, 2.5, -46}, {6, 2, 3.3, -58},
      {13, 1, 1.2, -11}, {12, 1, 1.5, -19}, {11, 1, 1.9, -30}, {10, 1, 2.5, -44}, {9, 1, 4.0, -87},
  };
  for (const Published& row : published) {
    CAPTURE(row.open);
    CAPTURE(row.extend);
    const auto p = msa::blosum62_params({row.open, row.extend});
    CHECK(p.alpha == row.alpha);
    CHECK(p.beta == row.beta);
  }
}
