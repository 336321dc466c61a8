// make_pssm (msa/pssm.hpp) against a direct computation of its documented formula: position-based
// sequence weights (Henikoff & Henikoff 1994), BLOSUM62-derived pseudocounts with alpha = mean distinct
// residues per column - 1 and beta = 10, log-odds in BLOSUM62 units rounded and clamped to +-15; a column
// holding no residue scores as BLOSUM62's X row; the X column of a scored position is -1.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "msa/alphabet.hpp"
#include "msa/pssm.hpp"

using namespace kfold;

namespace {

// Codes of an aligned row: '-' is kGapCode.
std::vector<uint8_t> row_codes(const std::string& row) {
  std::vector<uint8_t> codes;
  for (const char c : row) {
    if (c == '-') {
      codes.push_back(msa::kGapCode);
    } else {
      std::vector<uint8_t> one;
      msa::encode_residues(std::string(1, c), one);
      codes.push_back(one.front());
    }
  }
  return codes;
}

// The documented formula, written out independently of msa/pssm.cpp.
std::vector<std::array<int, 21>> direct_pssm(const std::vector<std::vector<uint8_t>>& rows, double beta) {
  const auto& q = msa::background_frequencies();
  const auto& s = msa::blosum62();
  const double lambda = msa::kBlosum62UngappedLambda;
  const size_t n_res = rows[0].size();
  // Henikoff weights: each column with r distinct residues gives a row holding residue c 1 / (r * n_c).
  std::vector<double> w(rows.size(), 0.0);
  double distinct_sum = 0.0;
  int columns = 0;
  for (size_t i = 0; i < n_res; ++i) {
    std::array<int, 20> n{};
    for (const auto& row : rows)
      if (row[i] < 20) ++n[row[i]];
    const int r = static_cast<int>(std::count_if(n.begin(), n.end(), [](int x) { return x > 0; }));
    if (r == 0) continue;
    distinct_sum += r;
    ++columns;
    for (size_t k = 0; k < rows.size(); ++k)
      if (rows[k][i] < 20) w[k] += 1.0 / (r * n[rows[k][i]]);
  }
  const double alpha = std::max(0.0, (columns ? distinct_sum / columns : 1.0) - 1.0);
  std::vector<std::array<int, 21>> out(n_res);
  for (size_t i = 0; i < n_res; ++i) {
    std::array<double, 20> f{};
    double total = 0.0;
    for (size_t k = 0; k < rows.size(); ++k)
      if (rows[k][i] < 20) {
        f[rows[k][i]] += w[k];
        total += w[k];
      }
    if (total == 0.0) {
      for (int a = 0; a < 21; ++a) out[i][a] = s[msa::kCodeX][a];
      continue;
    }
    for (double& x : f) x /= total;
    for (int a = 0; a < 20; ++a) {
      // g_a = sum_b f_b q(a | b), q(a | b) = q_a e^{lambda s(a, b)} / sum_a' q_a' e^{lambda s(a', b)}
      double g = 0.0;
      for (int b = 0; b < 20; ++b) {
        double norm = 0.0;
        for (int c = 0; c < 20; ++c) norm += q[c] * std::exp(lambda * s[c][b]);
        g += f[b] * q[a] * std::exp(lambda * s[a][b]) / norm;
      }
      const double p = (alpha * f[a] + beta * g) / (alpha + beta);
      out[i][a] = static_cast<int>(std::clamp(std::round(std::log(p / q[a]) / lambda), -15.0, 15.0));
    }
    out[i][msa::kCodeX] = -1;
  }
  return out;
}

}  // namespace

TEST_CASE("make_pssm: weights, pseudocounts and log-odds as documented (a direct computation)") {
  // A query with an X, rows with gaps, a column only the query's X fills (scored as BLOSUM62's X row), a
  // conserved column, a variable one and a column one row leaves out.
  const std::vector<std::string> aligned = {
      "MKVLAWXGHE", "MKILAW-GYE", "MRVIAF-GHD", "-KVLSW-GHE", "MKVLAW-NH-", "LKVMAY-GFE",
  };
  std::vector<std::vector<uint8_t>> rows;
  for (const auto& r : aligned) rows.push_back(row_codes(r));
  for (const double beta : {10.0, 3.0}) {
    CAPTURE(beta);
    const auto profile = msa::make_pssm(rows, {beta, 15});
    const auto expected = direct_pssm(rows, beta);
    REQUIRE(profile.n_res == 10);
    CHECK(profile.codes == rows[0]);
    int lo = 127, hi = -128;
    for (int64_t i = 0; i < profile.n_res; ++i)
      for (int a = 0; a < 21; ++a) {
        CAPTURE(i);
        CAPTURE(a);
        CHECK(profile.score(i, static_cast<uint8_t>(a)) == expected[static_cast<size_t>(i)][static_cast<size_t>(a)]);
        lo = std::min(lo, expected[static_cast<size_t>(i)][static_cast<size_t>(a)]);
        hi = std::max(hi, expected[static_cast<size_t>(i)][static_cast<size_t>(a)]);
      }
    CHECK(profile.min_score == lo);
    CHECK(profile.max_score == hi);
  }
  // The query alone: alpha = 0, all pseudocounts: each row is about BLOSUM62's row of the query residue.
  const auto alone = msa::make_pssm({rows[0]});
  const auto& s = msa::blosum62();
  for (int64_t i = 0; i < 10; ++i) {
    if (rows[0][static_cast<size_t>(i)] >= 20) continue;
    for (int a = 0; a < 20; ++a)
      CHECK(std::abs(alone.score(i, static_cast<uint8_t>(a)) - s[a][rows[0][static_cast<size_t>(i)]]) <= 1);
  }
}
