// The search driver on a small synthetic database: planted homologs found with small E-values,
// decoys not; identical results for 1 and 3 threads and for every ISA; MSAs in query coordinates.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <fstream>
#include <set>

#include "data/a3m.hpp"
#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/log.hpp"
#include "data/progress.hpp"
#include "data/text_input.hpp"
#include "msa/calibration_support.hpp"
#include "msa/kmer_index_file.hpp"
#include "msa/msa_filter.hpp"
#include "msa/pssm.hpp"
#include "msa/reference_alignment.hpp"
#include "msa/search.hpp"
#include "msa/search_output.hpp"
#include "test_support.hpp"

using namespace kfold;

namespace {

struct Planted {
  std::vector<data::Sequence> queries;
  std::string fasta;
  std::vector<std::string> homolog_ids;
};

Planted make_database() {
  std::mt19937_64 rng(2024);
  Planted p;
  for (int qi = 0; qi < 3; ++qi) {
    const std::string q = test::random_protein(rng, 150 + 40 * qi);
    p.queries.push_back({"query" + std::to_string(qi), "test query", q});
    int k = 0;
    for (const double sub : {0.1, 0.3, 0.5, 0.6}) {
      const std::string id = "hom" + std::to_string(qi) + "_" + std::to_string(k++);
      p.homolog_ids.push_back(id);
      p.fasta += ">" + id + " planted\n" + test::random_protein(rng, 15) + test::mutate(rng, q, sub, 0.03) +
                 test::random_protein(rng, 25) + "\n";
    }
  }
  for (int d = 0; d < 300; ++d)
    p.fasta += ">decoy" + std::to_string(d) + "\n" + test::random_protein(rng, 80 + d % 200) + "\n";
  return p;
}

// The planted database as `kfold db create` makes it, in `dir`.
msa::SequenceDb open_database(const Planted& p, const std::filesystem::path& dir) {
  data::write_file_atomic(dir / "db.fasta", p.fasta);
  msa::create_db(dir / "db.fasta", dir / "db");
  return msa::SequenceDb::open(dir / "db");
}

std::string fingerprint(const std::vector<msa::QueryResult>& results) {
  std::string s;
  for (const auto& r : results)
    for (const auto& h : r.hits)
      s += fmt::format("{} {} {} {:.6e} {}\n", h.target, h.score, h.alignment.ops, h.evalue, h.bits);
  return s;
}

}  // namespace

TEST_CASE("search: planted homologs are found, decoys are not, any thread count and ISA") {
  test::ScratchDir dir("msa_search");
  const Planted p = make_database();
  const auto db = open_database(p, dir.path());
  msa::SearchOptions options;
  options.threads = 1;
  const auto results = msa::search(p.queries, db, options);
  REQUIRE(results.size() == 3);
  for (size_t qi = 0; qi < 3; ++qi) {
    CAPTURE(qi);
    std::vector<std::string> found;
    for (const auto& h : results[qi].hits) {
      found.emplace_back(db.id(h.target));
      CHECK(h.evalue <= 1e-3);
      CHECK(found.back().rfind("hom" + std::to_string(qi) + "_", 0) == 0);  // no decoys, no other family
    }
    // The 10%, 30% and 50% substituted copies are always found; 60% is at the edge of detectability.
    for (int k = 0; k < 3; ++k)
      CHECK(std::find(found.begin(), found.end(), "hom" + std::to_string(qi) + "_" + std::to_string(k)) != found.end());
    for (size_t k = 1; k < results[qi].hits.size(); ++k)
      CHECK(results[qi].hits[k - 1].evalue <= results[qi].hits[k].evalue);
  }
  options.threads = 3;
  CHECK(fingerprint(msa::search(p.queries, db, options)) == fingerprint(results));
  // A small index memory (--index-memory): the database in chunks of ~2,000 residues, same results.
  options.index_chunk_residues = 2000;
  REQUIRE(msa::index_chunk_bounds(db, options.index_chunk_residues).size() > 3);
  CHECK(fingerprint(msa::search(p.queries, db, options)) == fingerprint(results));
  // Two rounds: the second visits the chunks backwards (from the index still loaded).
  options.iterations = 2;
  const auto chunked_rounds = fingerprint(msa::search(p.queries, db, options));
  options.index_chunk_residues = msa::kIndexChunkResidues;
  CHECK(fingerprint(msa::search(p.queries, db, options)) == chunked_rounds);
  options.iterations = 1;
  // A memory bound (--index-memory) sizes the chunks by the thread count too: same results either way.
  options.index_memory_bytes = 40000;
  REQUIRE(msa::prefilter_chunk_bounds(db, options.index_memory_bytes, 3).size() >
          msa::prefilter_chunk_bounds(db, options.index_memory_bytes, 1).size());
  for (const int64_t threads : {1, 3}) {
    options.threads = threads;
    CHECK(fingerprint(msa::search(p.queries, db, options)) == fingerprint(results));
  }
  options.index_memory_bytes = 0;
  for (const auto level :
       {msa::SimdLevel::scalar, msa::SimdLevel::sse2, msa::SimdLevel::avx2, msa::SimdLevel::avx512}) {
    if (!msa::simd_level_supported(level)) continue;
    options.simd = level;
    CHECK(fingerprint(msa::search(p.queries, db, options)) == fingerprint(results));
  }

  // MSA: query first, every row has the query's length, reads back through the data layer.
  const auto summaries = msa::write_search_outputs(dir / "out", p.queries, results, db, {});
  for (size_t qi = 0; qi < 3; ++qi) {
    const auto msa_back = data::read_a3m(dir / "out" / ("query" + std::to_string(qi) + ".a3m"));
    CHECK(msa_back.depth() == static_cast<int64_t>(results[qi].hits.size()) + 1);
    CHECK(msa_back.sequences[0] == p.queries[qi].residues);
    for (const auto& row : msa_back.sequences) CHECK(row.size() == p.queries[qi].residues.size());
    CHECK(summaries[qi].depth == msa_back.depth());
    CHECK(summaries[qi].neff == doctest::Approx(msa::neff(msa_back)));
    CHECK(summaries[qi].neff >= 1.0);
  }
  // Output files do not depend on the output threads (MSAs and Neff are computed in parallel).
  msa::OutputOptions parallel;
  parallel.threads = 3;
  parallel.filter.diff = 2;
  msa::OutputOptions serial = parallel;
  serial.threads = 1;
  msa::write_search_outputs(dir / "out_parallel", p.queries, results, db, parallel);
  msa::write_search_outputs(dir / "out_serial", p.queries, results, db, serial);
  for (const std::string name : {"query0.a3m", "query1.a3m", "query2.a3m", "hits.m8"})
    CHECK(data::read_text_file(dir / "out_parallel" / name) == data::read_text_file(dir / "out_serial" / name));
}

TEST_CASE("search: progress counts index chunks, alignment blocks and tracebacks, and ends at its total") {
  test::ScratchDir dir("msa_search_progress");
  const Planted p = make_database();
  const auto db = open_database(p, dir.path());
  msa::SearchOptions options;
  options.threads = 2;
  options.iterations = 2;
  options.index_chunk_residues = 2000;
  const auto n_chunk = static_cast<int64_t>(msa::index_chunk_bounds(db, options.index_chunk_residues).size()) - 1;
  for (const size_t n_query : {size_t{1}, size_t{3}}) {
    CAPTURE(n_query);
    std::vector<int64_t> done;
    int64_t total = 0;
    kfold::set_progress_sink([&](const std::string& label, int64_t d, int64_t t) {
      CHECK(label == "search");
      done.push_back(d);
      total = t;
    });
    const std::vector<data::Sequence> queries(p.queries.begin(), p.queries.begin() + static_cast<long>(n_query));
    msa::search(queries, db, options);
    kfold::set_progress_sink(nullptr);
    // Per query and round: one unit per index chunk, 8 for the alignments, 1 for the tracebacks.
    CHECK(total == static_cast<int64_t>(n_query) * 2 * (n_chunk + 8 + 1));
    REQUIRE_FALSE(done.empty());
    CHECK(done.back() == total);
    // One query alone still moves in steps (it was 0 then 1 of 1 for the whole search).
    CHECK(std::set<int64_t>(done.begin(), done.end()).size() >= static_cast<size_t>(n_chunk + 3));
  }
}

TEST_CASE("search: E-values are calibrated: random queries against a random database give E false hits each") {
  // Sequences drawn from BLOSUM62's background (Robinson & Robinson) frequencies; every database sequence
  // reaches the gapped alignment (T 11, no ungapped score needed), so the prefilter hides no chance hit.
  // Expected: about E hits with E-value <= E per query (Karlin-Altschul with BLAST+'s length correction).
  // Measured with this seed: 428 hits at E <= 10 for 40 queries (400 expected; the length correction of
  // BLAST 2.0, ln(K m' n') / H, gave 656, 1.6x optimistic, and fails) and 36 at E <= 1 (40 expected).
  // Tolerance 0.7x .. 1.3x at E <= 10 (Poisson sd ~5% of 400, and hits of one query share its length).
  std::mt19937_64 rng(5);
  test::BackgroundSequences background;
  const auto random_sequence = [&](int lo, int hi) {
    return background(rng, std::uniform_int_distribution<int>(lo, hi)(rng));
  };
  std::string fasta;
  for (int k = 0; k < 3000; ++k) fasta += ">r" + std::to_string(k) + "\n" + random_sequence(100, 400) + "\n";
  std::vector<data::Sequence> queries;
  for (int k = 0; k < 40; ++k) queries.push_back({"q" + std::to_string(k), "", random_sequence(100, 250)});
  test::ScratchDir dir("msa_search_calibration");
  data::write_file_atomic(dir / "db.fasta", fasta);
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  const msa::SearchOptions options = test::exhaustive_search_options();
  int64_t within_10 = 0;
  int64_t within_1 = 0;
  for (const auto& result : msa::search(queries, db, options)) {
    CHECK(result.n_candidates == 3000);
    for (const auto& hit : result.hits) {
      within_10 += hit.evalue <= 10.0;
      within_1 += hit.evalue <= 1.0;
    }
  }
  MESSAGE("false hits: ", within_10, " at E <= 10 (400 expected), ", within_1, " at E <= 1 (40 expected)");
  CHECK(within_10 >= 280);
  CHECK(within_10 <= 520);
  CHECK(within_1 <= 60);
}

TEST_CASE("search: a query whose candidates the prefilter's limit cut is told so (its MSA could be deeper)") {
  test::ScratchDir dir("msa_search_limit");
  const Planted p = make_database();
  const auto db = open_database(p, dir.path());
  kfold::test::CapturedWarnings captured;
  msa::SearchOptions options;
  options.threads = 1;
  options.prefilter.max_candidates = 2;  // each query has 4 homologs: 2 candidates, both real
  const auto limited = msa::search({p.queries[0]}, db, options);
  options.prefilter.max_candidates = 1000;  // the default at -s 4: no limit reached with 4 homologs
  const auto unlimited = msa::search({p.queries[0]}, db, options);
  const std::vector<std::string> warnings = captured.lines;
  CHECK(limited[0].hits.size() == 2);
  CHECK(unlimited[0].hits.size() >= 3);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("query0: 2 of the prefilter's 2 candidates (its limit) passed the E-value") !=
        std::string::npos);
  CHECK(warnings[0].find("--max-prefilter 10000") != std::string::npos);
  // A database of the query's homologs alone, every one a candidate and a hit: the limit left nothing out.
  std::string fasta;
  for (int k = 0; k < 3; ++k) {
    std::string copy = p.queries[0].residues;
    copy[static_cast<size_t>(10 * k)] = 'W';
    fasta += fmt::format(">copy{}\n{}\n", k, copy);
  }
  data::write_file_atomic(dir.path() / "copies.fasta", fasta);
  const auto copies = msa::SequenceDb::open(dir.path() / "copies.fasta");
  kfold::test::CapturedWarnings whole;
  options.prefilter.max_candidates = 3;
  CHECK(msa::search({p.queries[0]}, copies, options)[0].hits.size() == 3u);
  CHECK(whole.lines.empty());
}

TEST_CASE("search outputs: a damaged residue byte in a packed database is named, never written to an A3M") {
  test::ScratchDir dir("msa_search_damaged_db");
  const Planted p = make_database();
  data::write_file_atomic(dir.path() / "copy.fasta", ">copy\n" + p.queries[0].residues + "\n");
  msa::create_db(dir.path() / "copy.fasta", dir.path() / "db");
  msa::write_stored_index(dir.path() / "db", 1);  // before the damage: the search maps it
  {
    std::fstream residues(dir.path() / "db" / "residues.bin", std::ios::in | std::ios::out | std::ios::binary);
    residues.seekp(20);
    residues.put('-');  // read as X by the alignment; a gap in the A3M would shift nothing but lie
  }
  constexpr const char* kDamage =
      "sequence 'copy' holds the byte 0x2d at residue 21, which is no amino acid: the database is damaged";
  const auto db = msa::SequenceDb::open(dir.path() / "db");
  msa::SearchOptions options;
  const auto results = msa::search({p.queries[0]}, db, options);
  REQUIRE(results[0].hits.size() == 1u);
  CHECK_THROWS_WITH_AS(msa::build_msa(p.queries[0], results[0], db), doctest::Contains(kDamage), InputError);
  // A search that builds its index in memory reads every residue: refused before any alignment.
  options.index_memory_bytes = int64_t{16} << 20;
  CHECK_THROWS_WITH_AS(msa::search({p.queries[0]}, db, options), doctest::Contains(kDamage), InputError);
}

TEST_CASE("search: check_cancelled stops the search early and its exception reaches the caller") {
  test::ScratchDir dir("msa_search_cancel");
  const Planted p = make_database();
  const auto db = open_database(p, dir.path());
  struct Stop {};
  for (const int64_t threads : {1, 3}) {
    CAPTURE(threads);
    msa::SearchOptions options;
    options.threads = threads;
    std::atomic<int64_t> calls{0};
    options.check_cancelled = [&calls] { ++calls; };
    msa::search(p.queries, db, options);
    const int64_t all_calls = calls.load();
    REQUIRE(all_calls >= 4 * 3);  // at least the four stages of every query
    calls = 0;
    options.check_cancelled = [&calls] {
      if (++calls > 2) throw Stop{};  // cancelled after the second unit of work
    };
    CHECK_THROWS_AS(msa::search(p.queries, db, options), Stop);
    // Each thread gives up at its next unit, and no stage starts after the one that saw the stop.
    CHECK(calls.load() < all_calls);
  }
}

TEST_CASE("MSA filters: max-seq-id and Neff on a hand-made alignment") {
  data::Msa m;
  m.sequences = {"ACDEFGHIKL", "ACDEFGHIKV", "ACDEFGHIKL", "WWWWWGHIKL", "----FGHIKL"};
  for (size_t i = 0; i < m.sequences.size(); ++i) {
    m.deletion_matrix.emplace_back(10, 0);
    m.descriptions.push_back("r" + std::to_string(i));
  }
  // Identities to row 0: 0.9, 1.0, 0.5, 1.0 (over the 6 shared columns).
  CHECK(msa::row_identity(m.sequences[0], m.sequences[1]) == doctest::Approx(0.9));
  CHECK(msa::row_identity(m.sequences[0], m.sequences[4]) == doctest::Approx(1.0));
  CHECK(msa::filter_max_seq_id(m, 0.95) == std::vector<int64_t>{0, 1, 3});
  CHECK(msa::filter_max_seq_id(m, 1.0) == std::vector<int64_t>{0, 1, 2, 3, 4});
  // Pairs at >= 80%: 0-1 (0.9), 0-2, 1-2 (0.9), 0-4 (6/6), 1-4 (5/6), 2-4, 3-4 (5/6); row 3 is at 0.5 or
  // less to rows 0-2. Neighbour counts (self included): 4, 4, 4, 2, 5 -> Neff = 3/4 + 1/2 + 1/5 = 1.45.
  CHECK(msa::neff(m, 0.8) == doctest::Approx(0.25 + 0.25 + 0.25 + 0.5 + 0.2));
}

TEST_CASE("check_queries: too long, nucleotide and all-X queries are input errors") {
  CHECK_THROWS_WITH_AS(msa::check_queries({{"big", "", std::string(msa::kMaxQueryLength + 1, 'A')}}, "q.fasta"),
                       doctest::Contains("q.fasta: query 'big' has 16385 residues"), InputError);
  CHECK_THROWS_WITH_AS(msa::check_queries({{"dna", "", "ACGTACGTACGGGTACCATTACGATCGA"}}, "q.fasta"),
                       doctest::Contains("nucleotide"), InputError);
  CHECK_THROWS_WITH_AS(msa::check_queries({{"x", "", "XXXX"}}, "q.fasta"), doctest::Contains("no standard amino acid"),
                       InputError);
  CHECK_THROWS_AS(msa::check_queries({}, "q.fasta"), InputError);
  CHECK_NOTHROW(msa::check_queries({{"ok", "", "MKTAYIAKQRQISFVKSHFSRQ"}}, "q.fasta"));
  // pdb_seqres.txt's headers: a DNA chain shorter than the letter rule's 20 residues is told by its header.
  CHECK_THROWS_WITH_AS(msa::check_queries({{"102d_A", "mol:na length:12  DNA", "CGCAAATTTGCG"}}, "seqres.txt"),
                       doctest::Contains("seqres.txt: query '102d_A' is a nucleic-acid chain (its header says mol:na"),
                       InputError);
  CHECK_NOTHROW(msa::check_queries({{"101m_A", "mol:protein length:10  MYOGLOBIN", "MKTAYIAKQR"}}, "seqres.txt"));
  CHECK_NOTHROW(msa::check_queries({{"p", "binds mol:nanobody", "MKTAYIAKQR"}}, "q.fasta"));
  // Low-complexity proteins of few of the four bases' letters are proteins: poly-GA (C9orf72's
  // dipeptide repeat), polyalanine, an Asn/Thr-rich stretch.
  CHECK_NOTHROW(msa::check_queries({{"polyGA", "", std::string(24, 'G') + std::string(24, 'A')}}, "q.fasta"));
  CHECK_NOTHROW(msa::check_queries({{"polyA", "", std::string(30, 'A')}}, "q.fasta"));
  CHECK_NOTHROW(msa::check_queries({{"NT", "", "NNTTNTNTTNNTNTTTNNNTNTNT"}}, "q.fasta"));
  std::string telomere;
  for (int i = 0; i < 6; ++i) telomere += "TTAGGG";  // DNA of three bases
  CHECK_THROWS_WITH_AS(msa::check_queries({{"telomere", "", telomere}}, "q.fasta"), doctest::Contains("nucleotide"),
                       InputError);
}

namespace {

// A protein family: each query column allows two alternative residues; members replace 60 % of the
// query's residues by one of them; the remote homolog takes an alternative at every column, so it shares
// no residue with the query (a single pass cannot see it) but fits the family's profile.
struct Family {
  std::string query, remote;
  std::vector<std::string> members;
};

Family make_family(std::mt19937_64& rng, int n_members) {
  const std::string letters = "ARNDCQEGHILKMFPSTWYV";
  Family f;
  f.query = test::random_protein(rng, 150);
  std::vector<std::array<char, 2>> alternatives;
  for (const char c : f.query) {
    std::array<char, 2> alt{};
    for (char& a : alt) {
      do a = letters[rng() % 20];
      while (a == c);
    }
    alternatives.push_back(alt);
  }
  for (int m = 0; m < n_members; ++m) {
    std::string member = f.query;
    for (size_t i = 0; i < member.size(); ++i)
      if (rng() % 10 < 6) member[i] = alternatives[i][rng() % 2];
    f.members.push_back(member);
  }
  for (size_t i = 0; i < f.query.size(); ++i) f.remote += alternatives[i][rng() % 2];
  return f;
}

}  // namespace

TEST_CASE("search --iterations: a PSSM finds a remote homolog that a single pass misses") {
  // The family's members are in the database with the remote homolog and decoys (make_family).
  std::mt19937_64 rng(77);
  const Family family = make_family(rng, 8);
  const std::string& q = family.query;
  std::string fasta;
  for (size_t m = 0; m < family.members.size(); ++m)
    fasta += ">member" + std::to_string(m) + "\n" + family.members[m] + "\n";
  fasta += ">remote\n" + family.remote + "\n";
  for (int d = 0; d < 200; ++d) fasta += ">decoy" + std::to_string(d) + "\n" + test::random_protein(rng, 150) + "\n";

  test::ScratchDir dir("msa_iterations");
  data::write_file_atomic(dir / "db.fasta", fasta);
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  const std::vector<data::Sequence> queries = {{"q", "", q}};
  const auto ids = [&db](const msa::QueryResult& r) {
    std::vector<std::string> out;
    for (const auto& h : r.hits) out.emplace_back(db.id(h.target));
    return out;
  };
  msa::SearchOptions options;
  const auto one = ids(msa::search(queries, db, options)[0]);
  CHECK(one.size() == 8);  // the members only
  CHECK(std::find(one.begin(), one.end(), "remote") == one.end());
  options.iterations = 3;
  const auto three_results = msa::search(queries, db, options);
  const auto three = ids(three_results[0]);
  const auto remote_at = std::find(three.begin(), three.end(), "remote");
  REQUIRE(remote_at != three.end());
  CHECK(three_results[0].hits[static_cast<size_t>(remote_at - three.begin())].evalue < 1e-20);
  // Members and the remote homolog rank above every decoy, and no decoy comes near the default inclusion
  // threshold 1e-5.
  for (size_t k = 0; k < 9; ++k) CHECK(three[k].rfind("decoy", 0) != 0);
  for (const auto& h : three_results[0].hits)
    if (db.id(h.target).rfind("decoy", 0) == 0) CHECK(h.evalue > 1e-10);
  options.threads = 2;
  CHECK(fingerprint(msa::search(queries, db, options)) == fingerprint(three_results));
}

TEST_CASE("search: a first-round profile from the query's own MSA finds a remote homolog in another database") {
  // As the template search does: the family (make_family) is an MSA in hand, not in the searched
  // database, which holds its remote homolog and decoys.
  std::mt19937_64 rng(78);
  const Family family = make_family(rng, 12);
  const std::string& q = family.query;
  const std::string& remote = family.remote;
  std::vector<std::vector<uint8_t>> rows(1);
  msa::encode_residues(q, rows.front());
  for (const auto& member : family.members) msa::encode_residues(member, rows.emplace_back());
  std::string fasta = ">remote\n" + remote + "\n";
  for (int d = 0; d < 200; ++d) fasta += ">decoy" + std::to_string(d) + "\n" + test::random_protein(rng, 150) + "\n";
  test::ScratchDir dir("msa_first_round_profile");
  data::write_file_atomic(dir / "db.fasta", fasta);
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  const std::vector<data::Sequence> queries = {{"q", "", q}};

  msa::SearchOptions options;
  const auto plain = msa::search(queries, db, options);
  for (const auto& h : plain[0].hits) CHECK(db.id(h.target) != "remote");
  // The query's own sequence profile is the default: the same result.
  options.first_round_profiles = {msa::make_sequence_profile(q, msa::blosum62())};
  CHECK(fingerprint(msa::search(queries, db, options)) == fingerprint(plain));
  // The MSA's PSSM: the remote homolog first, far above every decoy; the same for 1 and 2 threads.
  options.first_round_profiles = {msa::make_pssm(rows)};
  const auto profiled = msa::search(queries, db, options);
  REQUIRE_FALSE(profiled[0].hits.empty());
  CHECK(db.id(profiled[0].hits[0].target) == "remote");
  CHECK(profiled[0].hits[0].evalue < 1e-20);
  options.threads = 2;
  CHECK(fingerprint(msa::search(queries, db, options)) == fingerprint(profiled));
  // A profile of another sequence, or a count that does not match the queries: input errors.
  options.first_round_profiles = {msa::make_sequence_profile(remote, msa::blosum62())};
  CHECK_THROWS_WITH_AS(msa::search(queries, db, options), doctest::Contains("not a profile of its sequence"),
                       InputError);
  options.first_round_profiles = {};
  options.first_round_profiles.resize(2);
  CHECK_THROWS_WITH_AS(msa::search(queries, db, options), doctest::Contains("2 first-round profiles for 1 queries"),
                       InputError);
}

TEST_CASE("search: a low-complexity query region neither seeds nor scores (masked as X)") {
  // The query: 150 random residues and a poly-Q tail of 40. The database: its homolog (60% of
  // residues substituted, no tail), 20 unrelated proteins that each carry a poly-Q run of 35, and
  // 200 decoys. Masked (default), only the homolog is a hit; unmasked and without composition
  // corrections, the poly-Q runs align at E-values far below 1e-3 (40 glutamines score 5 each against
  // each other); unmasked, the local composition-bias correction alone keeps them out.
  test::ScratchDir dir("msa_search_low_complexity");
  std::mt19937_64 rng(31);
  const std::string core = test::random_protein(rng, 150);
  const std::vector<data::Sequence> query{{"lc", "", core + std::string(40, 'Q')}};
  std::string fasta = ">homolog\n" + test::mutate(rng, core, 0.6, 0.0) + "\n";
  for (int i = 0; i < 20; ++i)
    fasta += ">qrich" + std::to_string(i) + "\n" + test::random_protein(rng, 60) + std::string(35, 'Q') +
             test::random_protein(rng, 60) + "\n";
  for (int d = 0; d < 200; ++d) fasta += ">decoy" + std::to_string(d) + "\n" + test::random_protein(rng, 150) + "\n";
  data::write_file_atomic(dir / "db.fasta", fasta);
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  msa::SearchOptions options;
  options.threads = 2;
  const auto hit_ids = [&](const std::vector<msa::QueryResult>& results) {
    std::vector<std::string> ids;
    for (const auto& h : results[0].hits) ids.emplace_back(db.id(h.target));
    return ids;
  };
  CHECK(hit_ids(msa::search(query, db, options)) == std::vector<std::string>{"homolog"});
  options.prefilter.mask_low_complexity = false;
  options.composition_stats = false;
  options.composition_bias = false;
  const auto unmasked = hit_ids(msa::search(query, db, options));
  CHECK(std::count_if(unmasked.begin(), unmasked.end(),
                      [](const std::string& id) { return id.rfind("qrich", 0) == 0; }) == 20);
  options.composition_bias = true;
  CHECK(hit_ids(msa::search(query, db, options)) == std::vector<std::string>{"homolog"});
}

TEST_CASE("search: strong hits whose E-values underflow to 0 are ordered by bit score") {
  test::ScratchDir dir("msa_search_bits_order");
  std::mt19937_64 rng(7);
  // A Glu/Lys-rich query (every third residue E or K). A: a 95%-identical copy. B: the exact query with
  // a long E/K tail: more raw score, but its composition shares the query's bias more, so a smaller
  // lambda ratio and fewer bits.
  std::string q = test::random_protein(rng, 1500);
  for (size_t k = 0; k < q.size(); k += 3) q[k] = k % 2 == 0 ? 'E' : 'K';
  std::string tail;
  for (int k = 0; k < 1500; ++k) tail += "EK";
  const std::string fasta = ">A\n" + test::mutate(rng, q, 0.05, 0.0) + "\n>B\n" + q + tail + "\n";
  data::write_file_atomic(dir / "db.fasta", fasta);
  msa::create_db(dir / "db.fasta", dir / "db");
  const auto db = msa::SequenceDb::open(dir / "db");
  const auto results = msa::search({{"q", "", q}}, db, msa::SearchOptions{});
  REQUIRE(results.size() == 1);
  const auto& hits = results[0].hits;
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].evalue == 0.0);  // both underflow: the tie-break decides
  CHECK(hits[1].evalue == 0.0);
  CHECK(hits[0].bits >= hits[1].bits);
  // The case in point: the raw scores order them the other way (the order before this rule).
  CHECK(db.id(hits[0].target) == "A");
  CHECK(hits[0].score < hits[1].score);
}

TEST_CASE("search: inputs that can never give hits are warned about") {
  test::ScratchDir dir("msa_search_hopeless");
  const Planted p = make_database();
  const auto db = open_database(p, dir.path());
  kfold::test::CapturedWarnings captured;
  // A query that is low complexity from end to end: masked, no seed anywhere.
  const auto results = msa::search({{"polyq", "", std::string(30, 'Q')}}, db, msa::SearchOptions{});
  // A nucleotide FASTA given as the database.
  std::mt19937_64 rng(3);
  std::string dna;
  for (int k = 0; k < 400; ++k) dna += "ACGT"[rng() % 4];
  data::write_file_atomic(dir / "dna.fasta", ">chr\n" + dna + "\n");
  (void)msa::SequenceDb::open(dir / "dna.fasta");
  const std::vector<std::string> warnings = captured.lines;
  CHECK(results[0].hits.empty());
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].find("query polyq: no 4-mer of it can seed a hit (30 residues, low-complexity regions masked)") !=
        std::string::npos);
  CHECK(warnings[1].find("looks like a nucleotide database (400 of its first 400 residues") != std::string::npos);
  // (with the composition-bias correction on, the default, that too may stop every seed: poly-Q in a real database)
  CHECK(warnings[0].find("or --no-mask or --no-comp-bias may help") != std::string::npos);
  // A query shorter than a seed word: no advice that cannot help (-s and --no-mask were suggested).
  kfold::test::CapturedWarnings short_query;
  (void)msa::search({{"tiny", "", "MKV"}}, db, msa::SearchOptions{});
  REQUIRE(short_query.lines.size() == 1);
  CHECK(short_query.lines[0].find("query tiny: 3 residues; the prefilter's two-hit rule (two seed words on one "
                                  "diagonal) needs at least 5: no search is possible") != std::string::npos);
  kfold::test::CapturedWarnings one;  // singular
  (void)msa::search({{"one", "", "M"}}, db, msa::SearchOptions{});
  REQUIRE(one.lines.size() == 1);
  CHECK(one.lines[0].find("query one: 1 residue; the prefilter's") != std::string::npos);
  // 4 residues make one seed word, and the two-hit rule needs two: no hit, even against an exact copy.
  kfold::test::CapturedWarnings four;
  (void)msa::search({{"four", "", "WCWH"}}, db, msa::SearchOptions{});
  REQUIRE(four.lines.size() == 1);
  CHECK(four.lines[0].find("query four: 4 residues; the prefilter's two-hit rule (two seed words on one diagonal) "
                           "needs at least 5") != std::string::npos);
}

TEST_CASE("a3m_file_names: one file per query id, unsafe characters replaced, collisions refused") {
  const auto names = msa::a3m_file_names({{"sp|P1|X", "", "M"}, {"hits.m8", "", "M"}, {"a b", "", "M"}}, "q.fasta");
  CHECK(names == std::vector<std::string>{"sp_P1_X.a3m", "hits.m8.a3m", "a_b.a3m"});  // hits.m8 was refused
  CHECK_THROWS_WITH_AS(msa::a3m_file_names({{"a b", "", "M"}, {"a_b", "", "M"}}, "q.fasta"),
                       doctest::Contains("q.fasta: query id 'a_b' gives the output file name 'a_b.a3m' twice"),
                       InputError);
  // Two files where the folder tells case apart (refused only where it does not: check_search_output_paths).
  CHECK(msa::a3m_file_names({{"Sox2", "", "M"}, {"SOX2", "", "M"}}, "q.fasta").size() == 2);
  CHECK_THROWS_WITH_AS(msa::a3m_file_names({{"..", "", "M"}}, "q.fasta"),
                       doctest::Contains("query id '..' cannot name an output file (DIR/<id>.a3m); give the query"),
                       InputError);
  CHECK(msa::a3m_file_names({{"../../x", "", "M"}}, "q.fasta") == std::vector<std::string>{"_._.._x.a3m"});  // visible
  CHECK_THROWS_WITH_AS(msa::a3m_file_names({{std::string(201, 'a'), "", "M"}}, "q.fasta"),
                       doctest::Contains("is 201 characters long, at most 200"), InputError);
}

TEST_CASE("search --min-cov: a hit spanning exactly half of the query is kept at 0.5, dropped above") {
  // The target is the query's first 100 of 200 residues and nothing else: every column of the optimal local
  // alignment is an identity (positive in BLOSUM62), so the aligned query span is exactly 0..99, coverage 0.5.
  test::ScratchDir dir("msa_min_cov");
  std::mt19937_64 rng(31);
  const std::string q = test::random_protein(rng, 200);
  std::string fasta = ">half\n" + q.substr(0, 100) + "\n";
  for (int d = 0; d < 50; ++d) fasta += ">decoy" + std::to_string(d) + "\n" + test::random_protein(rng, 150) + "\n";
  data::write_file_atomic(dir / "db.fasta", fasta);
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  const std::vector<data::Sequence> queries{{"q", "", q}};
  const auto ids = [&](double min_coverage) {
    msa::SearchOptions options;
    options.threads = 1;
    options.min_coverage = min_coverage;
    std::vector<std::string> found;
    const auto results = msa::search(queries, db, options);
    for (const auto& h : results[0].hits) found.emplace_back(db.id(h.target));
    return found;
  };
  const auto all = ids(0.0);
  REQUIRE(std::find(all.begin(), all.end(), "half") != all.end());
  msa::SearchOptions plain;
  plain.threads = 1;
  const auto results = msa::search(queries, db, plain);
  REQUIRE(!results[0].hits.empty());
  REQUIRE(db.id(results[0].hits[0].target) == "half");
  CHECK(results[0].hits[0].alignment.q_start == 0);
  CHECK(results[0].hits[0].alignment.q_end == 99);
  const auto at_half = ids(0.5);  // "least fraction of the query a hit covers": 0.5 itself passes
  CHECK(std::find(at_half.begin(), at_half.end(), "half") != at_half.end());
  const auto above = ids(0.51);
  CHECK(std::find(above.begin(), above.end(), "half") == above.end());
}

TEST_CASE("build_msa: inserted target residues are counted before the next query column and written lowercase") {
  // Query MKVLEF; target GMKWWVLFG aligned as q0-t1 M, q1-t2 K, insert t3 W, t4 W, q2-t5 V, q3-t6 L, q4 E facing
  // a gap, q5-t7 F. A3M (AlphaFold's parse_a3m convention): the two lowercase letters sit before column 2, so the
  // deletion row is 0 0 2 0 0 0, the aligned row MKVL-F and the A3M text MKwwVL-F.
  test::ScratchDir dir("msa_build_msa");
  data::write_file_atomic(dir / "db.fasta", ">t target\nGMKWWVLFG\n");
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  msa::QueryResult result;
  msa::Hit hit;
  hit.target = 0;
  hit.alignment.q_start = 0;
  hit.alignment.q_end = 5;
  hit.alignment.t_start = 1;
  hit.alignment.t_end = 7;
  hit.alignment.ops = "MMIIMMDM";
  result.hits.push_back(hit);
  const auto msa = msa::build_msa({"q", "", "MKVLEF"}, result, db);
  REQUIRE(msa.depth() == 2);
  CHECK(msa.sequences[1] == "MKVL-F");
  CHECK(msa.deletion_matrix[1] == std::vector<int32_t>{0, 0, 2, 0, 0, 0});
  CHECK(data::to_a3m(msa) == ">q\nMKVLEF\n>t target\nMKwwVL-F\n");
}

TEST_CASE("search --inclusion-evalue: hits above it do not enter the next round's PSSM") {
  // No hit reaches E <= 1e-200 (the planted homologs' E-values are far from underflowing to 0), so round 2's
  // profile is the PSSM of the query alone: the same search as one round started from that profile.
  test::ScratchDir dir("msa_inclusion");
  const Planted p = make_database();
  const auto db = open_database(p, dir.path());
  const std::vector<data::Sequence> queries{p.queries[0]};
  msa::SearchOptions two;
  two.threads = 1;
  two.iterations = 2;
  two.inclusion_evalue = 1e-200;
  const auto first = msa::search(queries, db, [] {
    msa::SearchOptions o;
    o.threads = 1;
    return o;
  }());
  REQUIRE(!first[0].hits.empty());
  for (const auto& h : first[0].hits) REQUIRE(h.evalue > 1e-200);
  msa::SearchOptions one;
  one.threads = 1;
  std::vector<uint8_t> codes;
  msa::encode_residues(queries[0].residues, codes);
  one.first_round_profiles = {msa::make_pssm({codes})};
  CHECK(fingerprint(msa::search(queries, db, two)) == fingerprint(msa::search(queries, db, one)));
}

TEST_CASE("search --alt-ali: a target with three copies of a homolog gives up to three disjoint alignments") {
  // Each alternative alignment is the best local alignment (plain BLOSUM62, 11/1, the full-matrix reference)
  // in the target stretches that no alignment before it covers; the random linkers between copies pass no E-value.
  test::ScratchDir dir("msa_alt_ali");
  std::mt19937_64 rng(57);
  const std::string q = test::random_protein(rng, 120);
  const std::string target = test::random_protein(rng, 10) + test::mutate(rng, q, 0.2, 0.0) +
                             test::random_protein(rng, 20) + test::mutate(rng, q, 0.35, 0.02) +
                             test::random_protein(rng, 10) + test::mutate(rng, q, 0.45, 0.02) +
                             test::random_protein(rng, 10);
  std::string fasta = ">tandem\n" + target + "\n";
  for (int d = 0; d < 60; ++d) fasta += ">decoy" + std::to_string(d) + "\n" + test::random_protein(rng, 200) + "\n";
  data::write_file_atomic(dir / "db.fasta", fasta);
  const auto db = msa::SequenceDb::open(dir / "db.fasta");
  const std::vector<data::Sequence> queries{{"q", "", q}};
  const auto search = [&](int64_t alt, int64_t threads) {
    msa::SearchOptions options;
    options.threads = threads;
    options.alt_alignments = alt;
    options.composition_bias = false;  // plain BLOSUM62 scores, as the reference's
    options.composition_stats = false;
    options.prefilter.mask_low_complexity = false;
    return msa::search(queries, db, options);
  };
  // The reference: the best stretch score left once `taken` ([start, end] target ranges) are cut out.
  const auto best_left = [&](std::vector<std::pair<int64_t, int64_t>> taken) {
    std::sort(taken.begin(), taken.end());
    int32_t best = 0;
    int64_t begin = 0;
    for (const auto& [start, end] : taken) {
      best = std::max(best, test::reference_sw(q, target.substr(begin, start - begin), 11, 1));
      begin = end + 1;
    }
    return std::max(best, test::reference_sw(q, target.substr(begin), 11, 1));
  };
  for (const int64_t alt : {0, 1, 2, 5}) {
    CAPTURE(alt);
    const auto results = search(alt, 1);
    REQUIRE(results[0].hits.size() == static_cast<size_t>(std::min<int64_t>(alt + 1, 3)));
    std::vector<std::pair<int64_t, int64_t>> taken;
    for (const auto& hit : results[0].hits) {  // best E-value first: each the best of what was left
      CHECK(db.id(hit.target) == "tandem");
      CHECK(hit.score == best_left(taken));
      CHECK(hit.evalue <= 1e-3);
      for (const auto& [start, end] : taken) CHECK((hit.alignment.t_end < start || hit.alignment.t_start > end));
      taken.emplace_back(hit.alignment.t_start, hit.alignment.t_end);
    }
    CHECK(fingerprint(search(alt, 3)) == fingerprint(results));
    const data::Msa msa = msa::build_msa(queries[0], results[0], db);
    CHECK(msa.depth() == static_cast<int64_t>(results[0].hits.size()) + 1);
  }
  msa::SearchOptions bad;
  for (const double evalue : {std::numeric_limits<double>::infinity(), std::nan(""), 0.0}) {  // -e 1e999 read as inf
    bad.evalue = evalue;
    CHECK_THROWS_WITH_AS(msa::check_search_options(bad), doctest::Contains("-e/--evalue must be a finite number > 0"),
                         InputError);
  }
  bad.evalue = 1e-3;
  bad.alt_alignments = msa::kMaxAltAlignments + 1;
  CHECK_THROWS_WITH_AS(msa::check_search_options(bad), doctest::Contains("--alt-ali must be between 0 and 100"),
                       InputError);
  CHECK_THROWS_WITH_AS(msa::check_gap_penalties({-1, 1}),
                       "--gap-open must be between 0 and 100 (got -1; BLAST's default is 11)", InputError);
  CHECK_THROWS_WITH_AS(msa::check_gap_penalties({11, 0}),
                       "--gap-extend must be between 1 and 100 (got 0; BLAST's default is 1)", InputError);
}
