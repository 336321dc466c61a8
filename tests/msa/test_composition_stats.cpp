// Composition corrections: the ungapped lambda against closed-form and published values, the per-target
// ratio and the local bias shift against direct computations, and the search on a query with a biased
// composition (decoys of the same composition stop looking significant, homologs stay).
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <cmath>
#include <random>

#include "data/atomic_output.hpp"
#include "msa/composition_stats.hpp"
#include "msa/karlin_altschul.hpp"
#include "msa/prefilter.hpp"
#include "msa/pssm.hpp"
#include "msa/reference_alignment.hpp"
#include "msa/score_profile.hpp"
#include "msa/search.hpp"
#include "test_support.hpp"

using namespace kfold;

namespace {

const std::string kLetters = "ARNDCQEGHILKMFPSTWYV";

// Glu/Lys/Leu-rich, like a coiled coil: E 0.22, K 0.19, L 0.13, R/Q/A 0.08 each, the rest in
// background proportions.
std::vector<double> biased_weights() {
  const auto& bg = msa::background_frequencies();
  std::vector<double> w(bg.begin(), bg.end());
  const std::string rich = "EKLRQA";
  const double rich_weights[] = {0.22, 0.19, 0.13, 0.08, 0.08, 0.08};
  double other = 0.0;
  for (size_t a = 0; a < w.size(); ++a)
    if (rich.find(kLetters[a]) == std::string::npos) other += w[a];
  for (size_t a = 0; a < w.size(); ++a) {
    const auto k = rich.find(kLetters[a]);
    w[a] = k != std::string::npos ? rich_weights[k] : w[a] / other * (1.0 - 0.78);
  }
  return w;
}

std::string weighted_protein(std::mt19937_64& rng, int64_t length, const std::vector<double>& weights) {
  std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
  std::string s;
  for (int64_t i = 0; i < length; ++i) s.push_back(kLetters[pick(rng)]);
  return s;
}

// The ratio computed directly from the two sequences: raw query composition, target composition with
// kTargetCompositionPseudocounts, the pair score distribution summed over residue pairs, lambda by
// Newton's method from above.
double direct_lambda_ratio(const std::string& query, const std::string& target) {
  const auto& bg = msa::background_frequencies();
  const auto counts = [](const std::string& s) {
    std::array<double, 20> c{};
    for (const char x : s) c[kLetters.find(x)] += 1.0;
    return c;
  };
  const auto cq = counts(query);
  const auto ct = counts(target);
  std::array<double, 20> fq{};
  std::array<double, 20> ft{};
  for (size_t a = 0; a < 20; ++a) {
    fq[a] = cq[a] / static_cast<double>(query.size());
    ft[a] = (ct[a] + msa::kTargetCompositionPseudocounts * bg[a]) /
            (static_cast<double>(target.size()) + msa::kTargetCompositionPseudocounts);
  }
  const auto& m = msa::blosum62();
  double lambda = 2.0;
  for (int it = 0; it < 200; ++it) {
    double f = -1.0;
    double df = 0.0;
    for (size_t a = 0; a < 20; ++a)
      for (size_t b = 0; b < 20; ++b) {
        const double p = fq[a] * ft[b] * std::exp(lambda * m[a][b]);
        f += p;
        df += p * m[a][b];
      }
    const double next = lambda - f / df;
    if (std::abs(next - lambda) < 1e-14) break;
    lambda = next;
  }
  return std::clamp(lambda / msa::kBlosum62UngappedLambda, msa::kMinLambdaRatio, 1.0);
}

std::vector<uint8_t> codes_of(const std::string& s) {
  std::vector<uint8_t> codes;
  msa::encode_residues(s, codes);
  return codes;
}

}  // namespace

TEST_CASE("ungapped_lambda: closed form, BLOSUM62's published value, no root") {
  // p(-1) = 2/3, p(+1) = 1/3: (2/3) / x + x / 3 = 1 with x = e^lambda has the root x = 2.
  const std::vector<double> two_point = {2.0 / 3.0, 0.0, 1.0 / 3.0};
  CHECK(msa::ungapped_lambda(two_point, -1) == doctest::Approx(std::log(2.0)).epsilon(1e-10));
  // BLOSUM62 with the Robinson & Robinson frequencies: NCBI's 0.3176 (to its four digits).
  const auto& bg = msa::background_frequencies();
  std::vector<double> p(30, 0.0);  // scores -4 .. 11 (index score + 4)
  for (size_t a = 0; a < 20; ++a)
    for (size_t b = 0; b < 20; ++b) p[static_cast<size_t>(msa::blosum62()[a][b] + 4)] += bg[a] * bg[b];
  CHECK(msa::ungapped_lambda(p, -4) == doctest::Approx(0.3176).epsilon(2e-4));
  // No root: a non-negative mean, or no positive score.
  CHECK(msa::ungapped_lambda(std::vector<double>{0.5, 0.0, 0.5}, -1) == 0.0);
  CHECK(msa::ungapped_lambda(std::vector<double>{0.3, 0.7}, -1) == 0.0);
}

TEST_CASE("CompositionStats: the ratio equals a direct pairwise computation, masked positions are left out") {
  std::mt19937_64 rng(11);
  const auto biased = biased_weights();
  const std::string normal_query = test::random_protein(rng, 200);
  const std::string biased_query = weighted_protein(rng, 250, biased);
  const auto& bg = msa::background_frequencies();
  const std::vector<double> background(bg.begin(), bg.end());
  for (const auto& [query, name] : {std::pair{normal_query, "uniform"}, std::pair{biased_query, "biased"}}) {
    const msa::ScoreProfile profile = msa::make_sequence_profile(query, msa::blosum62());
    const msa::CompositionStats stats(profile, {});
    for (const std::string& target :
         {weighted_protein(rng, 300, background), weighted_protein(rng, 180, biased), test::random_protein(rng, 40)}) {
      CAPTURE(name);
      CAPTURE(target);
      CHECK(stats.lambda_ratio(codes_of(target)) == doctest::Approx(direct_lambda_ratio(query, target)).epsilon(1e-9));
    }
  }
  // Background-like query and target: no correction. Both Glu/Lys-rich: a strong one.
  const msa::CompositionStats normal(
      msa::make_sequence_profile(weighted_protein(rng, 400, background), msa::blosum62()), {});
  CHECK(normal.lambda_ratio(codes_of(weighted_protein(rng, 400, background))) >= 0.97);
  const msa::CompositionStats rich(msa::make_sequence_profile(biased_query, msa::blosum62()), {});
  const double biased_ratio = rich.lambda_ratio(codes_of(weighted_protein(rng, 400, biased)));
  CHECK(biased_ratio < 0.75);
  CHECK(biased_ratio >= msa::kMinLambdaRatio);
  // A query that is a uniform half and a biased half, with the biased half masked, is the uniform half.
  const std::string half = normal_query.substr(0, 100);
  const std::string joined = half + biased_query.substr(0, 100);
  std::vector<uint8_t> mask(200, 0);
  std::fill(mask.begin() + 100, mask.end(), 1);
  const msa::CompositionStats masked(msa::make_sequence_profile(joined, msa::blosum62()), mask);
  const std::string target = weighted_protein(rng, 300, biased);
  CHECK(masked.lambda_ratio(codes_of(target)) == doctest::Approx(direct_lambda_ratio(half, target)).epsilon(1e-9));
  // Nothing left unmasked: no correction.
  CHECK(msa::CompositionStats(msa::make_sequence_profile(half, msa::blosum62()), std::vector<uint8_t>(100, 1))
            .lambda_ratio(codes_of(target)) == 1.0);
}

TEST_CASE("correct_local_composition_bias: each row shifted by its background mean minus its window mean") {
  std::mt19937_64 rng(3);
  const auto biased = biased_weights();
  // 120 uniform residues, then 120 Glu/Lys-rich ones; positions 30-41 masked.
  const std::string query = test::random_protein(rng, 120) + weighted_protein(rng, 120, biased);
  std::vector<uint8_t> mask(query.size(), 0);
  std::fill(mask.begin() + 30, mask.begin() + 42, 1);
  msa::ScoreProfile profile = msa::make_sequence_profile(query, msa::blosum62());
  msa::mask_profile_positions(profile, mask, msa::blosum62());
  const msa::ScoreProfile before = profile;
  msa::correct_local_composition_bias(profile, mask);
  const auto& m = msa::blosum62();
  const auto& bg = msa::background_frequencies();
  double uniform_shift = 0.0;
  double glu_lys_shift = 0.0;  // over the biased half's Glu and Lys
  int glu_lys = 0;
  for (size_t i = 0; i < query.size(); ++i) {
    CAPTURE(i);
    int expected = 0;  // direct: sum over the window of the query's own letters
    if (mask[i] == 0) {
      const size_t a = kLetters.find(query[i]);
      double background = 0.0;
      for (size_t b = 0; b < 20; ++b) background += bg[b] * m[a][b];
      double sum = 0.0;
      int n = 0;
      for (size_t j = i >= 20 ? i - 20 : 0; j <= std::min(query.size() - 1, i + 20); ++j)
        if (j != i && mask[j] == 0) {
          sum += m[a][kLetters.find(query[j])];
          ++n;
        }
      expected = static_cast<int>(std::lround(background - sum / n));
    }
    for (int64_t c = 0; c < msa::kAlphabetSize; ++c)
      CHECK(profile.score(static_cast<int64_t>(i), static_cast<uint8_t>(c)) ==
            before.score(static_cast<int64_t>(i), static_cast<uint8_t>(c)) + expected);
    if (i < 120) uniform_shift += expected / 120.0;
    if (i >= 120 && (query[i] == 'E' || query[i] == 'K')) {
      glu_lys_shift += expected;
      ++glu_lys;
    }
  }
  // Uniform residues: shifts about 0 on average (measured 0.05). Glu and Lys in the Glu/Lys-rich half:
  // every score lowered by about 1 (measured -1.02).
  CHECK(std::abs(uniform_shift) < 0.3);
  CHECK(glu_lys_shift / glu_lys < -0.7);
  const auto [lo, hi] = std::minmax_element(profile.scores.begin(), profile.scores.end());
  CHECK(profile.min_score == *lo);
  CHECK(profile.max_score == *hi);
}

TEST_CASE("search: composition corrections keep biased decoys out and homologs in, any thread count") {
  // A Glu/Lys-rich query; the database: three homologs of it (30/50/60 % substituted), 200 unrelated
  // sequences of the same biased composition and 300 of background composition. Measured: with plain
  // BLOSUM62 scores and statistics 187 of the 200 biased decoys reach E <= 1 (chance: ~0.4 hits in the
  // whole database); with either correction or both, none do, and the homologs stay below 1e-10.
  std::mt19937_64 rng(6);
  const auto biased = biased_weights();
  const auto& bg = msa::background_frequencies();
  const std::vector<double> background(bg.begin(), bg.end());
  const std::string query = weighted_protein(rng, 300, biased);
  std::string fasta;
  for (const double sub : {0.3, 0.5, 0.6})
    fasta += fmt::format(">hom{}\n{}{}{}\n", sub, weighted_protein(rng, 10, background),
                         test::mutate(rng, query, sub, 0.0), weighted_protein(rng, 10, background));
  for (int i = 0; i < 200; ++i) fasta += fmt::format(">biased{}\n{}\n", i, weighted_protein(rng, 150 + i, biased));
  for (int i = 0; i < 300; ++i)
    fasta += fmt::format(">normal{}\n{}\n", i, weighted_protein(rng, 80 + i % 200, background));
  test::ScratchDir dir("msa_composition");
  data::write_file_atomic(dir / "db.fasta", fasta);
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  const std::vector<data::Sequence> queries = {{"q", "", query}};
  const auto count = [&](const msa::QueryResult& r, const std::string& prefix, double max_e) {
    int64_t n = 0;
    for (const auto& h : r.hits) n += db.id(h.target).rfind(prefix, 0) == 0 && h.evalue <= max_e;
    return n;
  };
  const auto params = msa::blosum62_params(msa::GapPenalties{});
  const auto space = msa::search_space(params, static_cast<int64_t>(query.size()), db.total_residues(), db.size());

  for (const bool stats : {false, true}) {
    for (const bool bias : {false, true}) {
      CAPTURE(stats);
      CAPTURE(bias);
      msa::SearchOptions options;
      options.evalue = 10.0;
      options.threads = 1;
      options.composition_stats = stats;
      options.composition_bias = bias;
      const auto one = msa::search(queries, db, options);
      if (!stats && !bias) {
        CHECK(count(one[0], "biased", 1.0) >= 20);
      } else {
        CHECK(count(one[0], "biased", 1.0) <= 1);
        CHECK(count(one[0], "normal", 1.0) <= 1);
      }
      CHECK(count(one[0], "hom", 1e-10) == 3);
      // Each hit: E-value and bits of score * lambda_ratio, the ratio from CompositionStats of the
      // query's profile as the search scores it (masked, then bias-corrected).
      msa::ScoreProfile profile = msa::make_sequence_profile(query, msa::blosum62());
      const auto mask = msa::low_complexity_mask(profile.codes);
      msa::mask_profile_positions(profile, mask, msa::blosum62());
      if (bias) msa::correct_local_composition_bias(profile, mask);
      const msa::CompositionStats composition(profile, mask);
      REQUIRE(!one[0].hits.empty());
      for (const auto& h : one[0].hits) {
        CAPTURE(db.id(h.target));
        const double ratio = stats ? composition.lambda_ratio(codes_of(std::string(db.residues(h.target)))) : 1.0;
        CHECK(h.lambda_ratio == ratio);
        CHECK(h.evalue == doctest::Approx(msa::evalue(params, space, h.score * ratio)).epsilon(1e-12));
        CHECK(h.bits == doctest::Approx(msa::bit_score(params, h.score * ratio)).epsilon(1e-12));
      }
      // The same hits, scores and E-values with two threads.
      options.threads = 2;
      const auto two = msa::search(queries, db, options);
      REQUIRE(two[0].hits.size() == one[0].hits.size());
      for (size_t k = 0; k < two[0].hits.size(); ++k) {
        CHECK(two[0].hits[k].target == one[0].hits[k].target);
        CHECK(two[0].hits[k].score == one[0].hits[k].score);
        CHECK(two[0].hits[k].evalue == one[0].hits[k].evalue);
      }
    }
  }
}
