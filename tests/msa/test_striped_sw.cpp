// Striped Smith-Waterman scores (every ISA, 8/16/32-bit) against a plain full-matrix reference, and
// the striped tracebacks against the scalar one (align_local); the run-time choice of ISA.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "msa/gotoh.hpp"
#include "msa/reference_alignment.hpp"
#include "msa/score_profile.hpp"
#include "msa/striped_sw.hpp"

using namespace kfold;

namespace {

std::vector<msa::SimdLevel> levels() {
  std::vector<msa::SimdLevel> out;
  for (auto level : {msa::SimdLevel::scalar, msa::SimdLevel::sse2, msa::SimdLevel::avx2, msa::SimdLevel::avx512})
    if (msa::simd_level_supported(level)) out.push_back(level);
  return out;
}

struct Scored {
  int32_t score;
  msa::ScorePrecision precision;
};

Scored striped(const std::string& q, const std::string& t, msa::SimdLevel level, msa::GapPenalties gaps = {}) {
  const auto profile = msa::make_sequence_profile(q, msa::blosum62());
  msa::StripedAligner aligner(profile, gaps, level);
  std::vector<uint8_t> codes;
  msa::encode_residues(t, codes);
  const int32_t s = aligner.score(codes);
  return {s, aligner.last_precision()};
}

}  // namespace

TEST_CASE("StripedAligner equals the reference on random and related pairs, every ISA") {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> length(1, 180);
  int64_t u8 = 0, i16 = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const std::string q = test::random_protein(rng, length(rng));
    std::string t;
    switch (trial % 3) {
      case 0:
        t = test::random_protein(rng, length(rng));
        break;  // unrelated
      case 1:
        t = test::mutate(rng, q, 0.3, 0.05);
        break;  // close homolog
      default:
        t = test::random_protein(rng, 20) + test::mutate(rng, q, 0.6, 0.08) + test::random_protein(rng, 30);
    }
    if (t.empty()) t = "A";
    const msa::GapPenalties gaps = trial % 5 == 4 ? msa::GapPenalties{10, 2} : msa::GapPenalties{};
    const int32_t expected = test::reference_sw(q, t, gaps.open, gaps.extend);
    for (const auto level : levels()) {
      const Scored got = striped(q, t, level, gaps);
      CAPTURE(trial);
      CAPTURE(msa::simd_level_name(level));
      CHECK(got.score == expected);
      if (level != msa::SimdLevel::scalar) (got.precision == msa::ScorePrecision::u8 ? u8 : i16)++;
    }
  }
  CHECK(u8 > 0);
  CHECK(i16 > 0);  // close homologs of 150+ residues score above 255 - bias
}

TEST_CASE("StripedAligner: 8-bit saturation rescued by 16-bit, 16-bit by 32-bit") {
  std::mt19937_64 rng(7);
  const std::string q = test::random_protein(rng, 400);
  for (const auto level : levels()) {
    if (level == msa::SimdLevel::scalar) continue;
    const Scored self = striped(q, q, level);
    CHECK(self.score == test::reference_sw(q, q, 11, 1));
    CHECK(self.precision == msa::ScorePrecision::i16);
    // 3000 tryptophans score 33000 against themselves: beyond int16.
    const std::string w(3000, 'W');
    const Scored huge = striped(w, w, level);
    CHECK(huge.score == 33000);
    CHECK(huge.precision == msa::ScorePrecision::i32);
    // Just below the 8-bit limit stays 8-bit and exact.
    const std::string w20(20, 'W');
    const Scored small = striped(w20, w20, level);
    CHECK(small.score == 220);
    CHECK(small.precision == msa::ScorePrecision::u8);
  }
}

TEST_CASE("StripedAligner: adversarial shapes (length 1, lane boundaries, long gaps, X)") {
  std::mt19937_64 rng(3);
  std::vector<std::pair<std::string, std::string>> cases = {{"W", "W"},     {"W", "A"},       {"A", "W"},
                                                            {"C", "CCCCC"}, {"XXXX", "XXXX"}, {"BZUOJ", "DECXX"}};
  for (const int64_t n : {15, 16, 17, 31, 32, 33, 64, 65}) cases.emplace_back(test::random_protein(rng, n), "");
  for (auto& [q, t] : cases)
    if (t.empty()) t = test::mutate(rng, q, 0.1, 0.0);
  // A long gap that only the lazy-F loop can carry across segments.
  const std::string left = test::random_protein(rng, 60), right = test::random_protein(rng, 60);
  cases.emplace_back(left + test::random_protein(rng, 40) + right, left + right);
  cases.emplace_back(left + right, left + test::random_protein(rng, 40) + right);
  for (const auto& [q, t] : cases) {
    const int32_t expected = test::reference_sw(q, t, 11, 1);
    for (const auto level : levels()) {
      CAPTURE(q);
      CAPTURE(t);
      CHECK(striped(q, t, level).score == expected);
    }
  }
}

TEST_CASE("StripedAligner: long related sequences agree across ISAs") {
  std::mt19937_64 rng(11);
  const std::string q = test::random_protein(rng, 1500);
  const std::string t = test::mutate(rng, q, 0.5, 0.05);
  const int32_t expected = test::reference_sw(q, t, 11, 1);
  for (const auto level : levels()) CHECK(striped(q, t, level).score == expected);
}

TEST_CASE("StripedAligner::align: the same alignment as the scalar traceback, every ISA and width") {
  // Identical ops and coordinates (same end cell and tie rules), on random, related, gapped and
  // saturating pairs; the scalar traceback is itself checked against the reference in test_gotoh.
  std::mt19937_64 rng(21);
  std::uniform_int_distribution<int64_t> length(1, 300);
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int trial = 0; trial < 240; ++trial) {
    const std::string q = test::random_protein(rng, length(rng));
    std::string t = trial % 3 == 0   ? test::random_protein(rng, length(rng))
                    : trial % 3 == 1 ? test::mutate(rng, q, 0.3, 0.06)
                                     : test::random_protein(rng, 25) + test::mutate(rng, q, 0.6, 0.1);
    pairs.emplace_back(q, t.empty() ? "W" : t);
  }
  const std::string left = test::random_protein(rng, 70), right = test::random_protein(rng, 70);
  pairs.emplace_back(left + test::random_protein(rng, 45) + right, left + right);  // long deletion
  pairs.emplace_back(left + right, left + test::random_protein(rng, 45) + right);  // long insertion
  pairs.emplace_back(std::string(2000, 'W'), std::string(2000, 'W'));              // beyond 16 bits
  pairs.emplace_back(test::random_protein(rng, 900), "");
  pairs.back().second = test::mutate(rng, pairs.back().first, 0.1, 0.02);  // 16 bits
  int64_t traced = 0;
  for (const auto& [q, t] : pairs) {
    const auto profile = msa::make_sequence_profile(q, msa::blosum62());
    std::vector<uint8_t> codes;
    msa::encode_residues(t, codes);
    for (const msa::GapPenalties gaps : {msa::GapPenalties{}, msa::GapPenalties{10, 2}}) {
      const auto expected = msa::align_local(profile, codes, gaps);
      for (const auto level : levels()) {
        msa::StripedAligner aligner(profile, gaps, level);
        const int32_t score = aligner.score(codes);
        const auto got = aligner.align(codes, score);
        CAPTURE(q);
        CAPTURE(t);
        CAPTURE(msa::simd_level_name(level));
        REQUIRE(got.has_value() == expected.has_value());
        if (!got) continue;
        ++traced;
        CHECK(got->score == expected->score);
        CHECK(got->ops == expected->ops);
        CHECK(got->q_start == expected->q_start);
        CHECK(got->t_start == expected->t_start);
        CHECK(got->q_end == expected->q_end);
        CHECK(got->t_end == expected->t_end);
        CHECK(msa::rescore_alignment(*got, profile, codes, gaps) == score);
      }
    }
  }
  CHECK(traced > 400);
}

TEST_CASE("StripedAligner: 32-bit lanes on a long close homolog, score and traceback, every ISA") {
  // Scores beyond 16 bits (a 7000-residue query and a close homolog) ran on the scalar Gotoh code, 4-7x
  // slower per cell, and traced back in a full int32 matrix: the striped 32-bit lanes give the same.
  std::mt19937_64 rng(77);
  const std::string q = test::random_protein(rng, 7000);
  const std::string t =
      test::random_protein(rng, 40) + test::mutate(rng, q, 0.04, 0.004) + test::random_protein(rng, 25);
  const int32_t expected = test::reference_sw(q, t, 11, 1);
  REQUIRE(expected > 32767);
  const auto profile = msa::make_sequence_profile(q, msa::blosum62());
  std::vector<uint8_t> codes;
  msa::encode_residues(t, codes);
  const auto reference = msa::align_local(profile, codes, {});
  REQUIRE(reference);
  for (const auto level : levels()) {
    CAPTURE(msa::simd_level_name(level));
    msa::StripedAligner aligner(profile, {}, level);
    CHECK(aligner.score(codes) == expected);
    CHECK(aligner.last_precision() == msa::ScorePrecision::i32);
    const auto got = aligner.align(codes, expected);
    REQUIRE(got);
    CHECK(got->ops == reference->ops);
    CHECK((got->q_start == reference->q_start && got->t_start == reference->t_start && got->q_end == reference->q_end &&
           got->t_end == reference->t_end));
  }
}

TEST_CASE("StripedAligner::align: beyond max_cells the target is narrowed to the alignment's columns") {
  std::mt19937_64 rng(4);
  const std::string q = test::random_protein(rng, 200);
  const auto profile = msa::make_sequence_profile(q, msa::blosum62());
  std::vector<uint8_t> codes;
  msa::encode_residues(test::random_protein(rng, 50) + q, codes);  // the alignment ends at column 249
  // A related copy deep in a long target (a domain of titin): hits like it were skipped as "too large to
  // trace back" when the cells before the end column exceeded max_cells.
  std::vector<uint8_t> deep;
  msa::encode_residues(
      test::random_protein(rng, 3000) + test::mutate(rng, q, 0.3, 0.03) + test::random_protein(rng, 400), deep);
  for (const auto level : levels()) {
    CAPTURE(static_cast<int>(level));
    msa::StripedAligner aligner(profile, {}, level);
    const int32_t score = aligner.score(codes);
    const auto stored = aligner.align(codes, score, 200 * 250);    // the end column within max_cells
    const auto narrowed = aligner.align(codes, score, 200 * 249);  // one column short: narrowed first
    REQUIRE(stored);
    REQUIRE(narrowed);
    CHECK((narrowed->t_start == 50 && narrowed->t_end == 249 && narrowed->q_start == 0 && narrowed->q_end == 199));
    CHECK(narrowed->ops == stored->ops);
    CHECK_FALSE(aligner.align(codes, score, 200 * 199));  // the alignment's own 200 columns do not fit
    CHECK_FALSE(aligner.align(codes, 0));

    const int32_t deep_score = aligner.score(deep);
    const auto full = aligner.align(deep, deep_score);
    const auto windowed = aligner.align(deep, deep_score, 200 * 400);
    REQUIRE(full);
    REQUIRE(windowed);
    CHECK(windowed->score == full->score);
    CHECK((windowed->t_start == full->t_start && windowed->t_end == full->t_end));
    CHECK((windowed->q_start == full->q_start && windowed->q_end == full->q_end));
    CHECK(windowed->ops == full->ops);
  }
}

// Resident memory of this process in MiB (/proc/self/statm), or -1 where it cannot be read.
double resident_mib() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = -1;
  statm >> size >> resident;
  return resident < 0 ? -1.0 : static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

TEST_CASE("StripedAligner::align: the traceback buffer commits memory only as far as the alignment goes") {
  // A 3000-residue query whose homology ends at column 3000 of a 90,000-residue target: the buffer is
  // sized for the whole reach of max_cells (~512 MiB of 16-bit cells); zero-filled, all of it was resident.
  std::mt19937_64 rng(8);
  const std::string q = test::random_protein(rng, 3000);
  const auto profile = msa::make_sequence_profile(q, msa::blosum62());
  std::vector<uint8_t> codes;
  msa::encode_residues(q + test::random_protein(rng, 87000), codes);
  for (const auto level : levels()) {
    if (level == msa::SimdLevel::scalar) continue;  // align_local reserves, never fills
    CAPTURE(msa::simd_level_name(level));
    msa::StripedAligner aligner(profile, {}, level);
    const int32_t score = aligner.score(codes);
    const double before = resident_mib();
    const auto alignment = aligner.align(codes, score);
    [[maybe_unused]] const double grown = resident_mib() - before;
    REQUIRE(alignment);
    CHECK(alignment->t_end == 2999);
#if !defined(__SANITIZE_ADDRESS__)
    if (before >= 0) CHECK(grown < 100.0);  // the 3000 columns reached: ~17 MiB
#endif
  }
}

TEST_CASE("detect_simd_level: a vector level this CPU has, unless KFOLD_SIMD names another one it has") {
  const char* saved = std::getenv("KFOLD_SIMD");
  const std::string restore = saved ? saved : "";
  ::unsetenv("KFOLD_SIMD");
  const msa::SimdLevel fastest = msa::detect_simd_level();
  CHECK(msa::simd_level_supported(fastest));
  // The timed choice is made once per process: asking again gives the same level.
  CHECK(msa::detect_simd_level() == fastest);
  if (msa::simd_level_supported(msa::SimdLevel::avx2))
    CHECK((fastest == msa::SimdLevel::avx2 || fastest == msa::SimdLevel::avx512));
  for (const msa::SimdLevel level : levels()) {
    ::setenv("KFOLD_SIMD", std::string(msa::simd_level_name(level)).c_str(), 1);
    CHECK(msa::detect_simd_level() == level);
  }
  ::setenv("KFOLD_SIMD", "neon", 1);  // not a level: ignored
  CHECK(msa::detect_simd_level() == fastest);
  if (!msa::simd_level_supported(msa::SimdLevel::avx512)) {
    ::setenv("KFOLD_SIMD", "avx512", 1);  // a level this CPU lacks: ignored
    CHECK(msa::detect_simd_level() == fastest);
  }
  if (saved)
    ::setenv("KFOLD_SIMD", restore.c_str(), 1);
  else
    ::unsetenv("KFOLD_SIMD");
}
