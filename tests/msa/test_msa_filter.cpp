// The diversity filter (hhfilter -diff-like, msa/msa_filter.hpp) on constructed alignments whose answer
// is known: clusters of near-copies, rows covering only part of the query, and its guarantees on random
// alignments (every block keeps min(N, rows covering it); the query first; MSA order kept).
#include <doctest/doctest.h>

#include <random>

#include "data/a3m.hpp"
#include "data/error.hpp"
#include "msa/msa_filter.hpp"
#include "msa/reference_alignment.hpp"

using namespace kfold;

namespace {

data::Msa make_msa(const std::vector<std::string>& rows) {
  data::Msa m;
  m.sequences = rows;
  for (size_t i = 0; i < rows.size(); ++i) {
    m.deletion_matrix.emplace_back(rows[i].size(), 0);
    m.descriptions.push_back("r" + std::to_string(i));
  }
  return m;
}

// Copy of `s` with `fraction` of its positions replaced by random residues.
std::string perturb(std::mt19937_64& rng, std::string s, double fraction) {
  std::bernoulli_distribution flip(fraction);
  for (char& c : s)
    if (flip(rng)) c = test::random_protein(rng, 1)[0];
  return s;
}

bool covers(const std::string& row, int64_t block, int64_t length) {
  const int64_t begin = block * msa::kDiversityBlock;
  const int64_t end = std::min(length, begin + msa::kDiversityBlock);
  const auto residues = std::count_if(row.begin() + begin, row.begin() + end, [](char c) { return c != '-'; });
  return 2 * residues >= end - begin;
}

}  // namespace

TEST_CASE("filter_diverse: one representative per cluster of near-copies, the first of each") {
  // 5 unrelated families (random sequences, ~6% identical by chance), 8 copies each at ~95% identity,
  // interleaved in MSA order: r1 = family 0 copy 0, r2 = family 1 copy 0, ...
  std::mt19937_64 rng(17);
  const int64_t length = 120;
  std::vector<std::string> families;
  for (int f = 0; f < 5; ++f) families.push_back(test::random_protein(rng, length));
  std::vector<std::string> rows{test::random_protein(rng, length)};  // the query
  for (int copy = 0; copy < 8; ++copy)
    for (const auto& family : families) rows.push_back(perturb(rng, family, 0.05));
  const auto m = make_msa(rows);
  CHECK(msa::filter_diverse(m, 5) == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  // Seven: every family's first copy, then two second copies (near-copies are ~90% identical to each
  // other, so they only enter once the threshold reaches that).
  const auto seven = msa::filter_diverse(m, 7);
  REQUIRE(seven.size() == 8);
  CHECK(std::vector<int64_t>(seven.begin(), seven.begin() + 6) == std::vector<int64_t>{0, 1, 2, 3, 4, 5});
  CHECK(msa::filter_diverse(m, 0).size() == rows.size());
  CHECK(msa::filter_diverse(m, 1000).size() == rows.size());  // fewer rows than asked: all of them
}

TEST_CASE("filter_diverse: a block covered only by a few rows keeps them") {
  // 100 columns = 2 blocks. Rows 1-6 cover the first block only, rows 7-8 only the second.
  std::mt19937_64 rng(5);
  std::vector<std::string> rows{test::random_protein(rng, 100)};
  for (int i = 0; i < 6; ++i) rows.push_back(test::random_protein(rng, 50) + std::string(50, '-'));
  for (int i = 0; i < 2; ++i) rows.push_back(std::string(50, '-') + test::random_protein(rng, 50));
  rows.push_back(std::string(30, '-') + test::random_protein(rng, 40) + std::string(30, '-'));  // 20/50 each: no block
  const auto m = make_msa(rows);
  CHECK(msa::filter_diverse(m, 3) == std::vector<int64_t>{0, 1, 2, 3, 7, 8});
  CHECK(msa::filter_diverse(m, 1) == std::vector<int64_t>{0, 1, 7});
}

TEST_CASE("filter_diverse: guarantees on random alignments") {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 20; ++trial) {
    const int64_t length = 30 + trial * 17;
    const std::string query = test::random_protein(rng, length);
    std::vector<std::string> rows{query};
    std::uniform_int_distribution<int64_t> start(0, length - 1);
    for (int r = 0; r < 60; ++r) {
      std::string row = perturb(rng, query, 0.1 + 0.04 * (r % 20));
      const int64_t a = start(rng), b = start(rng);
      for (int64_t k = 0; k < length; ++k)
        if (k < std::min(a, b) || k > std::max(a, b)) row[static_cast<size_t>(k)] = '-';
      rows.push_back(row);
    }
    const auto m = make_msa(rows);
    for (const int64_t n : {1, 4, 15}) {
      const auto kept = msa::filter_diverse(m, n);
      CAPTURE(trial);
      CAPTURE(n);
      REQUIRE(!kept.empty());
      CHECK(kept.front() == 0);
      CHECK(std::is_sorted(kept.begin(), kept.end()));
      const int64_t blocks = (length + msa::kDiversityBlock - 1) / msa::kDiversityBlock;
      for (int64_t b = 0; b < blocks; ++b) {
        int64_t available = 0, kept_covering = 0;
        for (size_t r = 1; r < rows.size(); ++r) available += covers(rows[r], b, length);
        for (const int64_t r : kept) kept_covering += r > 0 && covers(rows[static_cast<size_t>(r)], b, length);
        CHECK(kept_covering >= std::min(n, available));
      }
    }
  }
}

TEST_CASE("filter_msa: --max-seq-id first, then --diff, and bad values are input errors") {
  const auto m = make_msa({"ACDEFGHIKL", "ACDEFGHIKV", "ACDEFGHIKL", "WWWWWGHIKL"});
  CHECK(msa::filter_msa(m, {0.95, 0}).sequences == std::vector<std::string>{"ACDEFGHIKL", "ACDEFGHIKV", "WWWWWGHIKL"});
  // Row 3 (50% to the query) enters at a lower threshold than row 1 (90%).
  CHECK(msa::filter_msa(m, {0.95, 1}).sequences == std::vector<std::string>{"ACDEFGHIKL", "WWWWWGHIKL"});
  CHECK_THROWS_WITH(msa::filter_msa(m, {0.0, 0}), doctest::Contains("--max-seq-id"));
  CHECK_THROWS_WITH(msa::filter_msa(m, {1.0, -1}), doctest::Contains("--diff must be >= 0"));
}

TEST_CASE("filter_max_seq_id and neff: identity exactly at the threshold") {
  // Row 1 is 9/10 = 0.9 identical to the query, row 2 8/10 = 0.8 (hand-counted).
  const auto m = make_msa({"ACDEFGHIKL", "ACDEFGHIKV", "ACDEFGHIWV"});
  REQUIRE(msa::row_identity(m.sequences[0], m.sequences[1]) == doctest::Approx(0.9));
  REQUIRE(msa::row_identity(m.sequences[0], m.sequences[2]) == doctest::Approx(0.8));
  // "identity to every row kept so far <= max_seq_id": 0.9 itself is kept. (Identities are ratios of small
  // integers; 9/10 computed in double equals the literal 0.9.)
  CHECK(msa::filter_max_seq_id(m, 0.9) == std::vector<int64_t>{0, 1, 2});  // row 2: 0.8 to row 0, 0.9 to row 1
  CHECK(msa::filter_max_seq_id(m, 0.89) == std::vector<int64_t>{0, 2});
  // Neff counts rows at >= 0.8: 0-1 (0.9), 0-2 (0.8), 1-2 (0.9): every row has 3 neighbours -> Neff = 1.
  CHECK(msa::neff(m, 0.8) == doctest::Approx(1.0));
  CHECK(msa::neff(m, 0.85) == doctest::Approx(1.0 / 2 + 1.0 / 3 + 1.0 / 2));
}

TEST_CASE("neff: leaving a pair early gives the count of every pair's row_identity") {
  // Neff stops comparing a pair once its mismatches rule the threshold out; the answer must be the plain
  // definition's, sum_i 1 / (1 + |{j != i : row_identity(i, j) >= t}|), also for pairs at the threshold exactly.
  std::mt19937_64 rng(7);
  const std::string query = test::random_protein(rng, 150);  // three 64-column blocks, the last partial
  std::vector<std::string> rows{query};
  std::bernoulli_distribution gap(0.15);
  for (int i = 0; i < 300; ++i) {
    std::string row = perturb(rng, rows[std::uniform_int_distribution<size_t>(0, rows.size() - 1)(rng)],
                              std::uniform_real_distribution<double>(0.0, 0.5)(rng));
    for (char& c : row)
      if (gap(rng)) c = '-';
    rows.push_back(std::move(row));
  }
  rows.push_back(rows[5]);                // a duplicate
  rows.push_back(std::string(150, '-'));  // no residue at all: identity 0 to every row
  std::string at_threshold = query;       // 120 of 150 identical: 0.8 exactly
  for (int k = 0; k < 30; ++k)
    at_threshold[static_cast<size_t>(k * 5)] = query[static_cast<size_t>(k * 5)] == 'W' ? 'A' : 'W';
  rows.push_back(at_threshold);
  const auto m = make_msa(rows);
  for (const double t : {0.0, 0.3, 0.62, 0.8, 0.95, 1.0}) {
    double expected = 0.0;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].find_first_not_of('-') == std::string::npos) continue;  // an all-gap row counts 0
      int64_t neighbours = 1;                                             // itself
      for (size_t j = 0; j < rows.size(); ++j)
        neighbours +=
            j != i && rows[j].find_first_not_of('-') != std::string::npos && msa::row_identity(rows[i], rows[j]) >= t;
      expected += 1.0 / static_cast<double>(neighbours);
    }
    CAPTURE(t);
    CHECK(msa::neff(m, t) == doctest::Approx(expected).epsilon(1e-12));
    CHECK(msa::neff(m, t, {}, 1) == msa::neff(m, t, {}, 2));  // integer counts: any thread count
  }
}

TEST_CASE("row_identity and filter_max_seq_id: rows that share no column are not identical") {
  // Row 1 covers the first half (3/5 identical to the query), row 2 the second half (2/5); rows 1 and 2
  // share no column: identity 0, so --max-seq-id keeps both fragments.
  const auto m = make_msa({"ACDEFGHIKL", "ACDWW-----", "-----GHWWW"});
  CHECK(msa::row_identity(m.sequences[1], m.sequences[2]) == 0.0);
  CHECK(msa::filter_max_seq_id(m, 0.7) == std::vector<int64_t>{0, 1, 2});
  CHECK(msa::neff(m, 0.8) == doctest::Approx(3.0));
}

TEST_CASE("neff: rows without a residue count 0") {
  // A hit outside a cropped domain: all gaps. Each counted 1 (20 of them: Neff 21 for the query alone, and
  // kfold batch's summary reported it).
  std::vector<std::string> rows{"ACDEFGHIKL"};
  for (int i = 0; i < 20; ++i) rows.emplace_back(10, '-');
  CHECK(msa::neff(make_msa(rows), 0.8) == 1.0);
  rows.emplace_back("ACDEFGHIK-");
  CHECK(msa::neff(make_msa(rows), 0.8) == doctest::Approx(1.0));  // the query and its near copy: 1/2 + 1/2
  CHECK(msa::neff(make_msa(rows), 0.0) == doctest::Approx(1.0));  // nor their neighbours at identity 0
}

TEST_CASE("filter_diverse: the identity threshold starts at 0.3") {
  // One block. Row 1 is 4/12 = 0.33 identical to the query, row 2 3/12 = 0.25: at t = 0.3 only row 2
  // qualifies, so with one row per block it is row 2 that is kept.
  const auto m = make_msa({"ACDEFGHIKLMN", "ACDEWYPQRSTV", "ACDWWYPQRSTV"});
  REQUIRE(msa::row_identity(m.sequences[0], m.sequences[1]) == doctest::Approx(4.0 / 12));
  REQUIRE(msa::row_identity(m.sequences[0], m.sequences[2]) == doctest::Approx(3.0 / 12));
  CHECK(msa::filter_diverse(m, 1) == std::vector<int64_t>{0, 2});
}

TEST_CASE("filter_msa: --max-seq-id above 1 is refused (a percentage typed as 95 would filter nothing)") {
  const auto m = make_msa({"ACDEFGHIKL", "ACDEFGHIKV"});
  CHECK_NOTHROW(msa::filter_msa(m, {1.0, 0}));
  CHECK_THROWS_WITH_AS(msa::filter_msa(m, {1.5, 0}), doctest::Contains("--max-seq-id"), InputError);
  CHECK_THROWS_WITH_AS(msa::filter_msa(m, {95.0, 0}), doctest::Contains("--max-seq-id"), InputError);
}

TEST_CASE("select_rows: the row index equal to the depth is refused (no out-of-bounds read)") {
  const auto m = make_msa({"ACDEFGHIKL", "ACDEFGHIKV", "ACDEFGHIWV"});
  CHECK_THROWS_WITH_AS(msa::select_rows(m, {0, 3}), doctest::Contains("outside the MSA's rows 0..2"), InputError);
  CHECK(msa::select_rows(m, {0, 2}).sequences == std::vector<std::string>{"ACDEFGHIKL", "ACDEFGHIWV"});
}

TEST_CASE("filter_msa and select_rows keep each kept row's inserted residues (written back to the A3M)") {
  // h: MKL with 'a' inserted before column 1; g: MKV with 'c' before column 2 (identical to the query).
  const auto m = data::parse_a3m_string(">q\nMKV\n>h\nMaKL\n>g\nMKcV\n", "test.a3m");
  REQUIRE(m.insertions.size() == 3);
  const auto filtered = msa::filter_msa(m, {0.9, 0});  // g (identity 1 to the query) goes
  REQUIRE(filtered.sequences == std::vector<std::string>{"MKV", "MKL"});
  CHECK(filtered.insertions == std::vector<std::string>{m.insertions[0], m.insertions[1]});
  CHECK(data::to_a3m(filtered).find("MaKL") != std::string::npos);  // not "MxKL"
  CHECK(msa::select_rows(m, {2}).insertions == std::vector<std::string>{m.insertions[2]});
}
