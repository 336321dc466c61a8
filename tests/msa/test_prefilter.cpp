// The k-mer index prefilter: planted homologs survive it, decoys mostly do not; chunking does not change
// candidates; pairs need one diagonal; a reused scanner equals a fresh one; low-complexity masking, -s presets, option
// checks and the output directory's done marker; the huge page allocator of the index and scan state.
#include <doctest/doctest.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "msa/prefilter.hpp"
#include "msa/reference_alignment.hpp"
#include "msa/search.hpp"
#include "msa/search_output.hpp"
#include "test_support.hpp"

using namespace kfold;

namespace {

// A query, mutated copies of it (substitution rates 10-50%, a few indels) and random decoys.
struct Family {
  std::string query;
  std::string fasta;
  int64_t n_homologs = 0;
};

Family make_family(uint64_t seed) {
  std::mt19937_64 rng(seed);
  Family f;
  f.query = test::random_protein(rng, 220);
  for (const double sub : {0.1, 0.2, 0.3, 0.4, 0.5}) {
    f.fasta += ">hom" + std::to_string(f.n_homologs++) + "\n" + test::random_protein(rng, 20) +
               test::mutate(rng, f.query, sub, 0.02) + test::random_protein(rng, 30) + "\n";
  }
  for (int d = 0; d < 400; ++d)
    f.fasta += ">decoy" + std::to_string(d) + "\n" + test::random_protein(rng, 100 + d % 300) + "\n";
  return f;
}

// `fasta` written to dir/db.fasta and opened as a database.
msa::SequenceDb open_fasta_db(const test::ScratchDir& dir, const std::string& fasta) {
  data::write_file_atomic(dir / "db.fasta", fasta);
  return msa::SequenceDb::open(dir / "db.fasta");
}

// `n` random decoy records of `length` residues.
std::string decoys(std::mt19937_64& rng, int n, int64_t length) {
  std::string fasta;
  for (int d = 0; d < n; ++d) fasta += ">decoy" + std::to_string(d) + "\n" + test::random_protein(rng, length) + "\n";
  return fasta;
}

// `n` residues of A, G and S: no 4-mer of them scores 38 against anything (at most 4 x 6 = 24), nor with one
// W, C or H.
std::string low_scoring_filler(std::mt19937_64& rng, size_t n) {
  std::string s(n, 'A');
  for (char& c : s) c = "AGS"[std::uniform_int_distribution<int>(0, 2)(rng)];
  return s;
}

std::vector<msa::Candidate> scan_all(const msa::ScoreProfile& profile, const msa::SequenceDb& db,
                                     const std::vector<int64_t>& bounds, const msa::PrefilterOptions& options) {
  const msa::NeighbourWords words(profile, options.word_threshold, msa::low_complexity_mask(profile.codes));
  msa::PrefilterScanner scanner;
  std::vector<msa::Candidate> out;
  for (size_t c = 0; c + 1 < bounds.size(); ++c) {
    const msa::KmerIndex index(db, bounds[c], bounds[c + 1]);
    scanner.scan(profile, words, index, options, out);
  }
  return out;
}

// A mutated piece of a random database sequence after a random prefix: hits on varied targets, diagonals and
// query positions.
std::string mutated_piece(const msa::SequenceDb& db, std::mt19937_64& rng) {
  const auto t = static_cast<int64_t>(rng() % static_cast<uint64_t>(db.size()));
  std::string residues(db.residues(t));
  const size_t len = std::min<size_t>(residues.size(), 40 + rng() % 160);
  const size_t at = rng() % (residues.size() - len + 1);
  return test::random_protein(rng, rng() % 30) + test::mutate(rng, residues.substr(at, len), 0.3, 0.02);
}

}  // namespace

TEST_CASE("prefilter: planted homologs pass, decoys rank below them, chunking changes nothing") {
  const Family f = make_family(11);
  test::ScratchDir dir("msa_prefilter");
  const auto db = open_fasta_db(dir, f.fasta);
  const auto profile = msa::make_sequence_profile(f.query, msa::blosum62());
  msa::PrefilterOptions options;
  options.max_candidates = 20;
  const auto one_chunk = scan_all(profile, db, msa::index_chunk_bounds(db), options);
  REQUIRE(one_chunk.size() >= static_cast<size_t>(f.n_homologs));
  // Every homolog is a candidate, ahead of every decoy (the first f.n_homologs places).
  for (int64_t k = 0; k < f.n_homologs; ++k) {
    CAPTURE(k);
    CHECK(db.id(one_chunk[static_cast<size_t>(k)].target).rfind("hom", 0) == 0);
  }
  // Many small chunks: the same candidates in the same order.
  const auto bounds = msa::index_chunk_bounds(db, 5000);
  CHECK(bounds.size() > 10);
  const auto chunked = scan_all(profile, db, bounds, options);
  REQUIRE(chunked.size() == one_chunk.size());
  for (size_t k = 0; k < chunked.size(); ++k) {
    CHECK(chunked[k].target == one_chunk[k].target);
    CHECK(chunked[k].ungapped_score == one_chunk[k].ungapped_score);
  }
  // Chunks sized by memory: each chunk's index and every thread's scan state fit the budget (a chunk of
  // one sequence may not); more threads, more chunks; the same candidates.
  for (const int64_t threads : {1, 4, 16}) {
    const int64_t budget = 60000;
    const auto by_memory = msa::prefilter_chunk_bounds(db, budget, threads);
    CAPTURE(threads);
    REQUIRE(by_memory.front() == 0);
    REQUIRE(by_memory.back() == db.size());
    for (size_t c = 0; c + 1 < by_memory.size(); ++c) {
      int64_t bytes = 0;
      for (int64_t i = by_memory[c]; i < by_memory[c + 1]; ++i) {
        const auto length = static_cast<int64_t>(db.residues(i).size());
        bytes += msa::kIndexBytesPerResidue * length + threads * msa::PrefilterScanner::state_bytes(length);
      }
      CHECK((bytes <= budget || by_memory[c + 1] - by_memory[c] == 1));
    }
    const auto scanned = scan_all(profile, db, by_memory, options);
    REQUIRE(scanned.size() == one_chunk.size());
    for (size_t k = 0; k < scanned.size(); ++k) CHECK(scanned[k].target == one_chunk[k].target);
  }
  CHECK(msa::prefilter_chunk_bounds(db, 60000, 16).size() > msa::prefilter_chunk_bounds(db, 60000, 1).size());
  // The scan state of a target: 8 bytes of scores, a 4-byte bin layout, a touched bit (a byte) and 4 bytes per
  // diagonal bin (8 to 8192 bins, about length / 8).
  CHECK(msa::PrefilterScanner::state_bytes(10) == 13 + 4 * 8);
  CHECK(msa::PrefilterScanner::state_bytes(300) == 13 + 4 * 64);
  CHECK(msa::PrefilterScanner::state_bytes(1000000) == 13 + 4 * 8192);
  // The fastest preset still finds the close homologs.
  options = msa::prefilter_for_sensitivity(msa::kMinSensitivity);
  const auto fast = scan_all(profile, db, msa::index_chunk_bounds(db), options);
  for (int64_t k = 0; k < 3; ++k) CHECK(db.id(fast[static_cast<size_t>(k)].target).rfind("hom", 0) == 0);
}

TEST_CASE("prefilter: a homolog inside a very long sequence is found (hits of other diagonals in between)") {
  // An exact copy of the query 30,000 and 70,000 residues into random sequences: random seed hits on other
  // diagonals of the same target come between the copy's hits. A single last hit per target lost both
  // copies at T = 13 (the copy's score was 0 here, the full self score with a last hit per diagonal).
  std::mt19937_64 rng(5);
  const std::string query = test::random_protein(rng, 220);
  std::string fasta;
  for (const int offset : {30000, 70000})
    fasta += ">long" + std::to_string(offset) + "\n" + test::random_protein(rng, offset) + query +
             test::random_protein(rng, 5000) + "\n";
  test::ScratchDir dir("msa_prefilter_long");
  const auto db = open_fasta_db(dir, fasta + decoys(rng, 50, 300));
  const auto profile = msa::make_sequence_profile(query, msa::blosum62());
  const int32_t self_score = msa::ungapped_diagonal_score(profile, profile.codes, 0);
  for (const int32_t threshold : {13, 16}) {
    CAPTURE(threshold);
    msa::PrefilterOptions options;
    options.word_threshold = threshold;
    options.max_candidates = 5;
    const auto candidates = scan_all(profile, db, msa::index_chunk_bounds(db), options);
    REQUIRE(candidates.size() >= 2);
    for (size_t k = 0; k < 2; ++k) {
      CHECK(db.id(candidates[k].target).rfind("long", 0) == 0);
      CHECK(candidates[k].ungapped_score == self_score);
    }
  }
}

TEST_CASE("prefilter: two seed hits on different diagonals of one diagonal bin are not a pair") {
  // Seed words U = WCHW at query 0 and V = CWWH at query 6 (39 each against themselves; T = 38: no other
  // word seeds, not even those overlapping U or V, as the filler is A/G/S). A 60-residue target has 8 diagonal bins:
  // U at target 10 (diagonal 10) and V at target 24 (diagonal 18) share bin 2 but not a diagonal. A bin
  // holding only the query position made them a pair, an extension on diagonal 18 and a candidate.
  std::mt19937_64 rng(8);
  const auto filler = [&](size_t n) { return low_scoring_filler(rng, n); };
  const std::string query = "WCHW" + filler(2) + "CWWH" + filler(50);
  const auto target = [&](size_t v_at) {
    std::string t = filler(60);
    t.replace(10, 4, "WCHW");
    t.replace(v_at, 4, "CWWH");
    return t;
  };
  test::ScratchDir dir("msa_prefilter_bins");
  // "same": V at target 16, the pair's diagonal 10 (the control); "shared_bin": V at target 24.
  const auto db = open_fasta_db(dir, ">same\n" + target(16) + "\n>shared_bin\n" + target(24) + "\n");
  const auto profile = msa::make_sequence_profile(query, msa::blosum62());
  msa::PrefilterOptions options;
  options.word_threshold = 38;
  const msa::NeighbourWords words(profile, options.word_threshold);
  const msa::KmerIndex index(db, 0, db.size());
  msa::PrefilterScanner scanner;
  std::vector<msa::Candidate> out;
  scanner.scan(profile, words, index, options, out);
  REQUIRE(out.size() == 1);
  CHECK(db.id(out[0].target) == "same");
  CHECK(out[0].ungapped_score >= 39 + 39);
  // With a minimum score of 0 every target with a seed hit is a candidate, the unpaired one at 0.
  options.min_ungapped_score = 0;
  out.clear();
  scanner.scan(profile, words, index, options, out);
  REQUIRE(out.size() == 2);
  CHECK(db.id(out[1].target) == "shared_bin");
  CHECK(out[1].ungapped_score == 0);
}

TEST_CASE("huge page allocator: large arrays are 2 MiB aligned, small ones ordinary, contents kept") {
  msa::HugePageVector<uint32_t> large(msa::kHugePageBytes / sizeof(uint32_t) + 5, 7);
  CHECK(reinterpret_cast<uintptr_t>(large.data()) % msa::kHugePageBytes == 0);
  msa::HugePageVector<uint32_t> small(10, 3);
  for (int k = 0; k < 1000000; ++k) small.push_back(static_cast<uint32_t>(k));  // grows past 2 MiB
  CHECK(small[9] == 3);
  CHECK(small.back() == 999999);
  CHECK(reinterpret_cast<uintptr_t>(small.data()) % msa::kHugePageBytes == 0);
  CHECK(large.back() == 7);
  auto array = msa::make_huge_page_array<msa::KmerIndex::Entry>(300000);
  array[299999] = {1, 2};
  CHECK(array[299999].pos == 2);
}

TEST_CASE("prefilter: candidates are ranked by E-value, not raw score (long decoys do not crowd out homologs)") {
  // Homologs in 200-residue sequences among 3,000-residue random decoys, whose chance best segment scores
  // higher than a short sequence's: ranked by raw score, decoys took the places of the weaker homologs.
  std::mt19937_64 rng(21);
  const std::string query = test::random_protein(rng, 150);
  std::string fasta;
  for (int h = 0; h < 5; ++h)
    fasta += ">hom" + std::to_string(h) + "\n" + test::random_protein(rng, 25) + test::mutate(rng, query, 0.7, 0.0) +
             test::random_protein(rng, 25) + "\n";
  test::ScratchDir dir("msa_prefilter_rank");
  const auto db = open_fasta_db(dir, fasta + decoys(rng, 300, 3000));
  const auto profile = msa::make_sequence_profile(query, msa::blosum62());
  msa::PrefilterOptions options;
  options.max_candidates = 100000;
  auto all = scan_all(profile, db, msa::index_chunk_bounds(db), options);
  const auto homolog_places = [&](const std::vector<msa::Candidate>& ranked) {
    std::vector<size_t> places;
    for (size_t k = 0; k < ranked.size(); ++k)
      if (db.id(ranked[k].target).rfind("hom", 0) == 0) places.push_back(k);
    return places;
  };
  const auto by_rank = homolog_places(all);
  std::stable_sort(all.begin(), all.end(), [](const msa::Candidate& a, const msa::Candidate& b) {
    return a.ungapped_score > b.ungapped_score;
  });
  const auto by_score = homolog_places(all);
  // Four homologs score far above chance; the fifth (ungapped score 39) is 26th of 305 by E-value but
  // 144th by raw score, behind long decoys whose chance best segments score up to 48.
  CAPTURE(fmt::format("by rank: {}, by raw score: {}", fmt::join(by_rank, " "), fmt::join(by_score, " ")));
  REQUIRE(by_rank.size() == 5);
  CHECK(by_rank[3] == 3);
  CHECK(by_rank.back() < 30);
  CHECK(by_score.back() > 100);  // what ranking by raw score did: this case tests the ranking
  CHECK(msa::make_candidate(0, 40, 3000).rank < msa::make_candidate(1, 40, 200).rank);
}

TEST_CASE("k-mer index: every word occurrence is listed with its target and position") {
  test::ScratchDir dir("msa_kmer_index");
  data::write_file_atomic(dir / "db.fasta", ">a\nACDEFACDE\n>b\nXACDEWW\n>c\nAC\n");
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  const msa::KmerIndex index(db, 0, db.size());
  std::vector<uint8_t> codes;
  msa::encode_residues("ACDE", codes);
  const auto occ = index.occurrences(static_cast<uint32_t>(msa::seed_word(codes.data())));
  REQUIRE(occ.size() == 3);
  CHECK((occ[0].target == 0 && occ[0].pos == 0));
  CHECK((occ[1].target == 0 && occ[1].pos == 5));
  CHECK((occ[2].target == 1 && occ[2].pos == 1));
  msa::encode_residues("XACD", codes);
  CHECK(msa::seed_word(codes.data()) == -1);  // words with X are not indexed
  CHECK(index.codes(2).size() == 2);
}

TEST_CASE("k-mer index: the same index for any thread count, and rebuilt in place") {
  test::ScratchDir dir("msa_kmer_index_threads");
  std::mt19937_64 rng(8);
  std::string fasta;
  for (int i = 0; i < 40; ++i)
    fasta += ">s" + std::to_string(i) + "\n" + test::random_protein(rng, 5 + 37 * (i % 7)) + "\n";
  data::write_file_atomic(dir / "db.fasta", fasta);
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  const msa::KmerIndex serial(db, 3, db.size(), 1);
  for (const int threads : {2, 3, 7, 64}) {
    const msa::KmerIndex parallel(db, 3, db.size(), threads, 1);  // parts of any size
    for (uint32_t word = 0; word < msa::kSeedWords; ++word) {
      const auto a = serial.occurrences(word), b = parallel.occurrences(word);
      REQUIRE(a.size() == b.size());
      for (size_t k = 0; k < a.size(); ++k) REQUIRE((a[k].target == b[k].target && a[k].pos == b[k].pos));
    }
    for (int64_t t = 0; t < db.size() - 3; ++t)
      CHECK(std::equal(serial.codes(t).begin(), serial.codes(t).end(), parallel.codes(t).begin(),
                       parallel.codes(t).end()));
  }
  // Rebuilt in place (a smaller range first, then a larger one): the same index as a fresh build, a new build id.
  msa::KmerIndex rebuilt(db, 10, 12, 2, 1);
  const uint64_t first_build = rebuilt.build_id();
  rebuilt.rebuild(db, 3, db.size(), 3, 1);
  CHECK(rebuilt.build_id() != first_build);
  CHECK((rebuilt.begin() == 3 && rebuilt.end() == db.size()));
  for (uint32_t word = 0; word < msa::kSeedWords; ++word) {
    const auto a = serial.occurrences(word), b = rebuilt.occurrences(word);
    REQUIRE(a.size() == b.size());
    for (size_t k = 0; k < a.size(); ++k) REQUIRE((a[k].target == b[k].target && a[k].pos == b[k].pos));
  }
  // Then a smaller range again, in the memory of the larger one.
  rebuilt.rebuild(db, 10, 14, 2, 1);
  const msa::KmerIndex fresh(db, 10, 14, 1);
  for (uint32_t word = 0; word < msa::kSeedWords; ++word) {
    const auto a = fresh.occurrences(word), b = rebuilt.occurrences(word);
    REQUIRE(a.size() == b.size());
    for (size_t k = 0; k < a.size(); ++k) REQUIRE((a[k].target == b[k].target && a[k].pos == b[k].pos));
  }
  for (int64_t t = 0; t < 4; ++t)
    CHECK(std::equal(fresh.codes(t).begin(), fresh.codes(t).end(), rebuilt.codes(t).begin(), rebuilt.codes(t).end()));
}

TEST_CASE("low_complexity_mask: a poly-Q run is masked, a random protein is not") {
  std::mt19937_64 rng(5);
  const std::string left = test::random_protein(rng, 60);
  const std::string right = test::random_protein(rng, 60);
  std::vector<uint8_t> codes;
  msa::encode_residues(left + std::string(30, 'Q') + right, codes);
  const auto mask = msa::low_complexity_mask(codes);
  for (size_t i = 60; i < 90; ++i) CHECK(mask[i] == 1);
  int64_t masked_outside = 0;
  for (size_t i = 0; i < 50; ++i) masked_outside += mask[i];
  for (size_t i = 100; i < mask.size(); ++i) masked_outside += mask[i];
  CHECK(masked_outside == 0);
  // Masked positions get no seed words.
  const auto profile = msa::make_sequence_profile(left + std::string(30, 'Q') + right, msa::blosum62());
  const msa::NeighbourWords words(profile, 11, mask);
  CHECK(words.at(70).empty());
  CHECK(!words.at(10).empty());  // a self-word of a random 4-mer scores well above 11
}

TEST_CASE("sensitivity presets and prefilter options are validated with clear errors") {
  const auto fast = msa::prefilter_for_sensitivity(msa::kMinSensitivity);
  const auto deflt = msa::prefilter_for_sensitivity(msa::kDefaultSensitivity);
  const auto slow = msa::prefilter_for_sensitivity(msa::kMaxSensitivity);
  CHECK(fast.word_threshold >= deflt.word_threshold);
  CHECK(deflt.word_threshold >= slow.word_threshold);
  CHECK(fast.max_candidates < deflt.max_candidates);
  CHECK(deflt.max_candidates < slow.max_candidates);
  CHECK(deflt.word_threshold == msa::PrefilterOptions{}.word_threshold);
  CHECK(deflt.max_candidates == msa::PrefilterOptions{}.max_candidates);
  CHECK_THROWS_WITH_AS(msa::check_sensitivity(0.5), doctest::Contains("-s/--sensitivity must be between"), InputError);
  CHECK_THROWS_AS(msa::prefilter_for_sensitivity(7.5), InputError);
  msa::SearchOptions options;
  options.prefilter.word_threshold = 0;
  CHECK_THROWS_WITH_AS(msa::check_search_options(options), doctest::Contains("--word-threshold"), InputError);
  options.prefilter.word_threshold = 16;
  options.prefilter.max_candidates = 0;
  CHECK_THROWS_WITH_AS(msa::check_search_options(options), doctest::Contains("--max-prefilter"), InputError);
}

TEST_CASE("search output: a done marker marks a complete output directory") {
  const Family f = make_family(3);
  test::ScratchDir dir("msa_done");
  data::write_file_atomic(dir / "db.fasta", f.fasta);
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  const std::vector<data::Sequence> queries = {{"q", "", f.query}};
  msa::SearchOptions options;
  options.threads = 2;
  const auto results = msa::search(queries, db, options);
  CHECK(results[0].hits.size() >= 4);
  msa::write_search_outputs(dir / "out", queries, results, db, {});
  CHECK(std::filesystem::exists(dir / "out" / msa::kDoneMarker));
  CHECK(std::filesystem::exists(dir / "out" / "q.a3m"));
  // Bad query ids fail before the directory is touched: the earlier complete output keeps its marker.
  CHECK_THROWS_AS(msa::write_search_outputs(dir / "out", {{"..", "", f.query}}, results, db, {}), InputError);
  CHECK(std::filesystem::exists(dir / "out" / msa::kDoneMarker));
}

TEST_CASE(
    "prefilter: one scanner over 300 different queries equals a fresh scanner each time (through the epoch wrap)") {
  const Family f = make_family(12);
  test::ScratchDir dir("msa_prefilter_rescan");
  const auto db = open_fasta_db(dir, f.fasta);
  const msa::KmerIndex index(db, 0, db.size());
  msa::PrefilterOptions options;
  options.min_ungapped_score = 0;  // every touched target, so any leftover state shows
  std::mt19937_64 rng(5);
  msa::PrefilterScanner shared;
  for (int k = 0; k < 300; ++k) {
    const std::string query = mutated_piece(db, rng);
    const auto profile = msa::make_sequence_profile(query, msa::blosum62());
    const msa::NeighbourWords words(profile, options.word_threshold);
    std::vector<msa::Candidate> a, b;
    shared.scan(profile, words, index, options, a);
    msa::PrefilterScanner fresh;
    fresh.scan(profile, words, index, options, b);
    CAPTURE(k);
    REQUIRE(a.size() == b.size());
    for (size_t c = 0; c < a.size(); ++c)
      REQUIRE((a[c].target == b[c].target && a[c].ungapped_score == b[c].ungapped_score));
  }
}

TEST_CASE("prefilter: a bin written 255 or 256 scans ago (around the epoch wrap) is not a hit of this scan") {
  // Seeds only from WCHW and CWWH (T = 38, filler A/G/S), as in the shared-bin test above.
  std::mt19937_64 rng(8);
  const auto filler = [&](size_t n) { return low_scoring_filler(rng, n); };
  std::string target = filler(300);
  target.replace(60, 4, "WCHW");
  target.replace(74, 4, "CWWH");
  test::ScratchDir dir("msa_prefilter_epoch_wrap");
  const auto db = open_fasta_db(dir, ">t\n" + target + "\n");
  const msa::KmerIndex index(db, 0, db.size());
  msa::PrefilterOptions options;
  options.word_threshold = 38;
  options.min_ungapped_score = 0;
  // A: WCHW at query 10 (diagonal 50). B: CWWH at query 24 (diagonal 50, 14 positions later): alone, no pair.
  const std::string a = filler(10) + "WCHW" + filler(50);
  const std::string b = filler(24) + "CWWH" + filler(50);
  const std::string none = filler(20);
  const auto scan = [&](msa::PrefilterScanner& s, const std::string& q) {
    const auto profile = msa::make_sequence_profile(q, msa::blosum62());
    const msa::NeighbourWords words(profile, options.word_threshold);
    std::vector<msa::Candidate> out;
    s.scan(profile, words, index, options, out);
    return out;
  };
  // B at scan 256 (epoch 1 again), and at scan 257 (a wrap at 0x200 instead of 0x100 gave a false pair there).
  for (const int last : {256, 257}) {
    CAPTURE(last);
    msa::PrefilterScanner shared;
    scan(shared, a);                                    // scan 1: epoch 1
    for (int k = 2; k < last; ++k) scan(shared, none);  // scans 2..last-1
    const auto got = scan(shared, b);
    REQUIRE(got.size() == 1);
    CHECK(got[0].ungapped_score == 0);
  }
}

TEST_CASE("NeighbourWords: exactly the 4-mers scoring >= T at each position (brute force over 20^4)") {
  // The word of letters a0 a1 a2 a3 at query position i scores sum_j score(i + j, a_j); BLAST's neighbourhood
  // is every word with score >= T, a word scoring exactly T included.
  std::mt19937_64 rng(77);
  const std::string q = test::random_protein(rng, 12);
  const auto profile = msa::make_sequence_profile(q, msa::blosum62());
  for (const int32_t threshold : {11, 14, 17}) {
    CAPTURE(threshold);
    const msa::NeighbourWords words(profile, threshold);
    REQUIRE(words.positions() == static_cast<int64_t>(q.size()) - 3);
    int64_t at_threshold = 0;
    for (int64_t i = 0; i < words.positions(); ++i) {
      std::vector<uint32_t> expected;
      for (uint32_t w = 0; w < msa::kSeedWords; ++w) {
        int32_t score = 0;
        uint32_t rest = w;
        for (int64_t j = 3; j >= 0; --j) {
          score += profile.score(i + j, static_cast<uint8_t>(rest % msa::kSeedAlphabet));
          rest /= msa::kSeedAlphabet;
        }
        if (score >= threshold) expected.push_back(w);
        at_threshold += score == threshold;
      }
      std::vector<uint32_t> got(words.at(i).begin(), words.at(i).end());
      std::sort(got.begin(), got.end());
      CAPTURE(i);
      CHECK(got == expected);
    }
    REQUIRE(at_threshold > 0);  // the boundary is exercised
  }
}

TEST_CASE("prefilter candidates: --max-prefilter wins, else the preset raised to an explicit --max-seqs") {
  using kfold::msa::prefilter_candidates;
  CHECK(prefilter_candidates(1000, std::nullopt, std::nullopt) == 1000);
  CHECK(prefilter_candidates(1000, std::nullopt, 5000) == 5000);
  CHECK(prefilter_candidates(1000, std::nullopt, 10) == 1000);
  CHECK(prefilter_candidates(1000, 300, 5000) == 300);
  CHECK(prefilter_candidates(1000, 3000, std::nullopt) == 3000);
  // The whole prefilter as kfold search, predict --db and kfold.search build it.
  kfold::msa::PrefilterOptions base;
  base.mask_low_complexity = false;
  base.two_hit_window = 30;
  const auto preset = kfold::msa::prefilter_for_sensitivity(2.5);
  const auto built = kfold::msa::prefilter_for_search(base, 2.5, std::nullopt, std::nullopt, 5000);
  CHECK(built.word_threshold == preset.word_threshold);
  CHECK(built.max_candidates == std::max<int64_t>(preset.max_candidates, 5000));
  CHECK((!built.mask_low_complexity && built.two_hit_window == 30));  // the rest of `base` kept
  CHECK(kfold::msa::prefilter_for_search(base, 2.5, 21, 300, 5000).word_threshold == 21);
  CHECK(kfold::msa::prefilter_for_search(base, 2.5, 21, 300, 5000).max_candidates == 300);
  CHECK_THROWS_AS(kfold::msa::prefilter_for_search(base, 9.0, std::nullopt, std::nullopt, std::nullopt),
                  kfold::InputError);
}

TEST_CASE("prefilter: two seed hits exactly the two-hit window apart are a pair, one further are not") {
  // Seeds only from WCHW and CWWH (T = 38, filler A/G/S): WCHW at query 0, CWWH at query `gap`, and a target
  // holding the query itself (one diagonal).
  std::mt19937_64 rng(21);
  const auto filler = [&](size_t n) { return low_scoring_filler(rng, n); };
  msa::PrefilterOptions options;
  options.word_threshold = 38;
  REQUIRE(options.two_hit_window == 40);
  for (const int gap : {40, 41}) {
    CAPTURE(gap);
    const std::string query = "WCHW" + filler(static_cast<size_t>(gap - 4)) + "CWWH" + filler(20);
    test::ScratchDir dir("msa_prefilter_window");
    const auto db = open_fasta_db(dir, ">t\n" + filler(10) + query + filler(10) + "\n");
    const auto profile = msa::make_sequence_profile(query, msa::blosum62());
    const msa::NeighbourWords words(profile, options.word_threshold);
    const msa::KmerIndex index(db, 0, db.size());
    msa::PrefilterScanner scanner;
    std::vector<msa::Candidate> out;
    scanner.scan(profile, words, index, options, out);
    CHECK(out.size() == (gap <= options.two_hit_window ? 1u : 0u));
  }
}

TEST_CASE("low_complexity_mask: a sequence of exactly one window is judged, word thresholds 1 and 60 are valid") {
  std::vector<uint8_t> codes;
  msa::encode_residues(std::string(12, 'Q'), codes);
  CHECK(msa::low_complexity_mask(codes) == std::vector<uint8_t>(12, 1));
  msa::encode_residues(std::string(11, 'Q'), codes);
  CHECK(msa::low_complexity_mask(codes) == std::vector<uint8_t>(11, 0));  // shorter than the window: never
  msa::PrefilterOptions options;
  for (const int32_t t : {1, 60}) {
    options.word_threshold = t;
    CHECK_NOTHROW(msa::check_prefilter_options(options));
  }
  options.word_threshold = 61;
  CHECK_THROWS_WITH_AS(msa::check_prefilter_options(options), doctest::Contains("--word-threshold"), InputError);
}

TEST_CASE("prefilter: blocks of targets and windows of query positions of any size give the same candidates") {
  // The scan reads each occurrence list once per block of targets and holds the runs of a window of query
  // positions (PrefilterScanner's sizes; a block is ~131,000 short targets by default, more than any test
  // database): tiny blocks and windows must give exactly the single-block, single-window candidates.
  const Family f = make_family(12);
  test::ScratchDir dir("msa_prefilter_blocks");
  const auto db = open_fasta_db(dir, f.fasta);
  const msa::KmerIndex index(db, 0, db.size());
  msa::PrefilterOptions options;
  options.min_ungapped_score = 0;  // every touched target
  std::mt19937_64 rng(11);
  msa::PrefilterScanner whole;
  msa::PrefilterScanner blocks(/*block_bins=*/64, /*window_runs=*/1);  // a few targets a block, a position a window
  msa::PrefilterScanner windows(msa::PrefilterScanner::kBlockBins, /*window_runs=*/500);
  for (int k = 0; k < 40; ++k) {
    const std::string query = mutated_piece(db, rng);
    const auto profile = msa::make_sequence_profile(query, msa::blosum62());
    const msa::NeighbourWords words(profile, options.word_threshold);
    std::vector<msa::Candidate> a, b, c;
    whole.scan(profile, words, index, options, a);
    blocks.scan(profile, words, index, options, b);
    windows.scan(profile, words, index, options, c);
    CAPTURE(k);
    REQUIRE(!a.empty());
    REQUIRE(a.size() == b.size());
    REQUIRE(a.size() == c.size());
    for (size_t i = 0; i < a.size(); ++i) {
      REQUIRE((a[i].target == b[i].target && a[i].ungapped_score == b[i].ungapped_score));
      REQUIRE((a[i].target == c[i].target && a[i].ungapped_score == c[i].ungapped_score));
    }
  }
}
