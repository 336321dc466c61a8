// Tracebacks: the alignment's columns rescore to the reported score, which equals the reference
// optimum, and its ranges are consistent.
#include <doctest/doctest.h>

#include "msa/gotoh.hpp"
#include "msa/reference_alignment.hpp"

using namespace kfold;

namespace {

// Independent rescoring from letters and the BLOSUM62 table.
int32_t rescore(const msa::Alignment& a, const std::string& q, const std::string& t, int32_t open, int32_t extend) {
  int32_t score = 0;
  size_t i = static_cast<size_t>(a.q_start), j = static_cast<size_t>(a.t_start);
  char previous = 'M';
  for (const char op : a.ops) {
    if (op == 'M') {
      score += msa::blosum62()[msa::residue_code(q[i++])][msa::residue_code(t[j++])];
    } else {
      score -= extend + (op != previous ? open : 0);
      (op == 'I' ? j : i)++;
    }
    previous = op;
  }
  return score;
}

}  // namespace

TEST_CASE("align_local: traceback rescoring equals the optimal score") {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int64_t> length(5, 200);
  for (int trial = 0; trial < 200; ++trial) {
    const std::string q = test::random_protein(rng, length(rng));
    const std::string t = trial % 2 ? test::mutate(rng, q, 0.4, 0.06) : test::random_protein(rng, length(rng));
    if (t.empty()) continue;
    const auto profile = msa::make_sequence_profile(q, msa::blosum62());
    std::vector<uint8_t> codes;
    msa::encode_residues(t, codes);
    const int32_t expected = test::reference_sw(q, t, 11, 1);
    const auto a = msa::align_local(profile, codes, {});
    CAPTURE(trial);
    if (expected == 0) {
      CHECK(!a);
      continue;
    }
    REQUIRE(a);
    CHECK(a->score == expected);
    CHECK(rescore(*a, q, t, 11, 1) == expected);
    CHECK(msa::rescore_alignment(*a, profile, codes, {}) == expected);
    const auto m = std::count(a->ops.begin(), a->ops.end(), 'M');
    const auto ins = std::count(a->ops.begin(), a->ops.end(), 'I');
    const auto del = std::count(a->ops.begin(), a->ops.end(), 'D');
    CHECK(a->q_end - a->q_start + 1 == m + del);
    CHECK(a->t_end - a->t_start + 1 == m + ins);
    CHECK(a->ops.front() == 'M');
    CHECK(a->ops.back() == 'M');
    const auto stats = msa::alignment_stats(*a, q, t);
    CHECK(stats.length == static_cast<int64_t>(a->ops.size()));
    CHECK(stats.identical + stats.mismatches == m);
  }
}

TEST_CASE("align_local: a planted gap is recovered") {
  // Query = A + B; target = A + 30 random + B: one insertion run of 30 columns.
  std::mt19937_64 rng(9);
  const std::string a = test::random_protein(rng, 80), b = test::random_protein(rng, 80);
  const std::string q = a + b, t = a + test::random_protein(rng, 30) + b;
  const auto profile = msa::make_sequence_profile(q, msa::blosum62());
  std::vector<uint8_t> codes;
  msa::encode_residues(t, codes);
  const auto al = msa::align_local(profile, codes, {});
  REQUIRE(al);
  CHECK(al->q_start == 0);
  CHECK(al->q_end == 159);
  CHECK(std::count(al->ops.begin(), al->ops.end(), 'I') == 30);
  const auto stats = msa::alignment_stats(*al, q, t);
  CHECK(stats.gap_opens == 1);
  CHECK(stats.identical == 160);
  CHECK(stats.mismatches == 0);
  // Letters, not codes: B, Z and U are scored as D, E and C but are not identical to them; case is ignored.
  msa::Alignment four;
  four.q_end = four.t_end = 3;
  four.ops = "MMMM";
  const auto aliased = msa::alignment_stats(four, "DEKC", "BZkU");
  CHECK(aliased.identical == 1);
  CHECK(aliased.mismatches == 3);
  CHECK(al->score == test::reference_sw(q, t, 11, 1));
}
