// A PSSM's own Karlin-Altschul parameters: the ungapped K against BLOSUM62's published value and a lattice
// invariance, pssm_statistics' scaling of BLOSUM62's gapped parameters, and the search's false hits on
// background decoys after three PSSM rounds.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "data/atomic_output.hpp"
#include "msa/calibration_support.hpp"
#include "msa/composition_stats.hpp"
#include "msa/karlin_altschul.hpp"
#include "msa/pssm.hpp"
#include "msa/reference_alignment.hpp"
#include "msa/search.hpp"
#include "test_support.hpp"

using namespace kfold;

namespace {

const auto& kBackground = msa::background_frequencies();
const std::string& kLetters = test::kAminoAcidLetters;

// BLOSUM62's score distribution with its background frequencies, scores -4 .. 11 (every score times `scale`).
std::vector<double> blosum62_distribution(int32_t scale) {
  std::vector<double> p(static_cast<size_t>(15 * scale + 1), 0.0);
  for (int64_t a = 0; a < 20; ++a)
    for (int64_t b = 0; b < 20; ++b)
      p[static_cast<size_t>((msa::blosum62()[a][b] + 4) * scale)] += kBackground[a] * kBackground[b];
  return p;
}

}  // namespace

TEST_CASE("ungapped_k: BLOSUM62's published K, the same for scores on a coarser lattice") {
  const auto p = blosum62_distribution(1);
  const double lambda = msa::ungapped_lambda(p, -4);
  const double k = msa::ungapped_k(p, -4, lambda);
  CHECK(k == doctest::Approx(0.134).epsilon(0.005));  // NCBI's 0.134 (computed: 0.1337)
  // Every score doubled: lambda halves and K, a property of the alignment counts, stays (tolerance 1e-6).
  const auto p2 = blosum62_distribution(2);
  const double lambda2 = msa::ungapped_lambda(p2, -8);
  CHECK(lambda2 == doctest::Approx(lambda / 2).epsilon(1e-6));
  CHECK(msa::ungapped_k(p2, -8, lambda2) == doctest::Approx(k).epsilon(1e-6));
  CHECK(msa::ungapped_k(p, -4, 0.0) == 0.0);
}

TEST_CASE("pssm_statistics: BLOSUM62's gapped lambda and K scaled by the PSSM's ungapped ones") {
  std::mt19937_64 rng(3);
  const std::string query = test::random_protein(rng, 120);
  std::vector<std::vector<uint8_t>> rows(1);
  msa::encode_residues(query, rows.front());
  for (int m = 0; m < 30; ++m) msa::encode_residues(test::mutate(rng, query, 0.4, 0.0), rows.emplace_back());
  const msa::ScoreProfile profile = msa::make_pssm(rows);
  CHECK(profile.pssm);
  const auto gapped = msa::blosum62_params({11, 1});
  const msa::PssmStatistics stats = msa::pssm_statistics(profile, {}, gapped);
  // The ungapped parameters from the score distribution directly.
  std::vector<double> p(256, 0.0);
  for (int64_t i = 0; i < profile.n_res; ++i)
    for (int64_t a = 0; a < 20; ++a) p[static_cast<size_t>(profile.row(i)[a] + 128)] += kBackground[a] / profile.n_res;
  const double lambda = msa::ungapped_lambda(p, -128);
  const double k = msa::ungapped_k(p, -128, lambda);
  CHECK(stats.ungapped_lambda == doctest::Approx(lambda).epsilon(1e-9));
  CHECK(stats.gapped.lambda == doctest::Approx(0.267 * lambda / 0.31761).epsilon(1e-4));
  CHECK(stats.gapped.k == doctest::Approx(0.041 * k / 0.13374).epsilon(1e-3));
  CHECK(stats.gapped.alpha / stats.gapped.lambda == doctest::Approx(1.9 / 0.267).epsilon(1e-9));
  CHECK(stats.gapped.beta == gapped.beta);
  CHECK(k > 0.134);  // more informative than BLOSUM62: a larger K
  // Scores with a positive mean have no lambda: BLOSUM62's parameters.
  msa::ScoreProfile positive = profile;
  for (auto& s : positive.scores) s = 2;
  const msa::PssmStatistics none = msa::pssm_statistics(positive, {}, gapped);
  CHECK(none.gapped.lambda == gapped.lambda);
  CHECK(none.gapped.k == gapped.k);
  CHECK(none.ungapped_lambda == msa::kBlosum62UngappedLambda);
}

TEST_CASE("search --iterations 3: PSSM E-values are calibrated on background decoys") {
  // Eight families of 60 members, each column drawn from its own sparse distribution (Dirichlet 0.2 over the
  // residues, plus a random weight on the query's), and 2,000 decoys of the Robinson & Robinson background,
  // 100-400 residues, which every query aligns to (T 11, no ungapped score needed). After three rounds the
  // decoys' hits with E <= 10 should number about 10 per query times the decoys' share of the residues
  // (66 here). Measured with this seed: 61 in round 1; after three rounds 100 with BLOSUM62's gapped lambda and
  // K (1.5x: the PSSM's K_u is ~1.4x BLOSUM62's), 68 with pssm_statistics. Tolerance: 0.6x .. 1.3x of
  // expected (Poisson sd 12 %; 1.3x = 86).
  std::mt19937_64 rng(1);
  test::BackgroundSequences background;
  const auto random_sequence = [&](int n) { return background(rng, n); };
  std::string fasta;
  std::vector<data::Sequence> queries;
  for (int f = 0; f < 8; ++f) {
    const std::string q = random_sequence(150 + 20 * f);
    queries.push_back({"q" + std::to_string(f), "", q});
    std::gamma_distribution<double> gamma(0.2, 1.0);
    std::vector<std::discrete_distribution<int>> columns;
    for (const char c : q) {
      std::vector<double> w(20);
      double sum = 0.0;
      for (double& x : w) sum += x = gamma(rng);
      const double keep = static_cast<double>(rng() % 1000) / 1000.0;
      for (double& x : w) x = (1.0 - keep) * x / sum;
      w[kLetters.find(c)] += keep;
      columns.emplace_back(w.begin(), w.end());
    }
    for (int m = 0; m < 60; ++m) {
      std::string member = q;
      for (size_t i = 0; i < member.size(); ++i) member[i] = kLetters[static_cast<size_t>(columns[i](rng))];
      fasta += ">fam" + std::to_string(f) + "_" + std::to_string(m) + "\n" + member + "\n";
    }
  }
  int64_t decoy_residues = 0;
  for (int d = 0; d < 2000; ++d) {
    const std::string s = random_sequence(100 + static_cast<int>(rng() % 301));
    decoy_residues += static_cast<int64_t>(s.size());
    fasta += ">decoy" + std::to_string(d) + "\n" + s + "\n";
  }
  test::ScratchDir dir("msa_pssm_calibration");
  data::write_file_atomic(dir / "db.fasta", fasta);
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  msa::SearchOptions options = test::exhaustive_search_options();
  options.iterations = 3;
  int64_t within_10 = 0;
  int64_t members = 0;
  for (const auto& result : msa::search(queries, db, options))
    for (const auto& hit : result.hits) {
      const bool decoy = db.id(hit.target).starts_with("decoy");
      within_10 += decoy && hit.evalue <= 10.0;
      members += !decoy && hit.evalue <= 1e-5;
    }
  const double expected = 10.0 * 8 * static_cast<double>(decoy_residues) / static_cast<double>(db.total_residues());
  MESSAGE("decoy hits at E <= 10 after 3 rounds: ", within_10, " (", expected, " expected)");
  CHECK(members == 480);  // every member found and included
  CHECK(static_cast<double>(within_10) >= 0.6 * expected);
  CHECK(static_cast<double>(within_10) <= 1.3 * expected);
}
