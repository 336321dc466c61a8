// The k-mer index stored in a database folder (`kfold db index`): mapped back word for word and residue for
// residue as it was built; a search that maps it gives exactly the hits of one that builds it (one chunk and
// several); a damaged, truncated or foreign index is refused by name and the search builds its own.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/process_owner.hpp"
#include "data/text_input.hpp"
#include "msa/kmer_index.hpp"
#include "msa/kmer_index_file.hpp"
#include "msa/reference_alignment.hpp"
#include "msa/search.hpp"
#include "test_support.hpp"

using namespace kfold;
namespace fs = std::filesystem;

namespace {

// 3 queries, each with 4 mutated copies among 300 random decoys, packed by create_db in dir/db.
struct Database {
  std::vector<data::Sequence> queries;
  fs::path dir;
};

Database make_database(const fs::path& dir) {
  std::mt19937_64 rng(77);
  Database d;
  std::string fasta;
  for (int qi = 0; qi < 3; ++qi) {
    const std::string q = test::random_protein(rng, 120 + 50 * qi);
    d.queries.push_back({"query" + std::to_string(qi), "", q});
    for (const double sub : {0.1, 0.3, 0.5, 0.6})
      fasta += fmt::format(">hom{}_{} planted\n{}\n", qi, sub, test::mutate(rng, q, sub, 0.03));
  }
  for (int k = 0; k < 300; ++k) fasta += fmt::format(">decoy{}\n{}\n", k, test::random_protein(rng, 60 + k % 240));
  data::write_file_atomic(dir / "db.fasta", fasta);
  msa::create_db(dir / "db.fasta", dir / "db");
  d.dir = dir / "db";
  return d;
}

std::string fingerprint(const std::vector<msa::QueryResult>& results) {
  std::string s;
  for (const auto& r : results)
    for (const auto& h : r.hits) s += fmt::format("{} {} {} {:.6e}\n", h.target, h.score, h.alignment.ops, h.evalue);
  return s;
}

std::vector<msa::QueryResult> search(const Database& d, int64_t chunk_residues = msa::kIndexChunkResidues) {
  msa::SearchOptions options;
  options.threads = 2;
  options.index_chunk_residues = chunk_residues;
  return msa::search(d.queries, msa::SequenceDb::open(d.dir), options);
}

}  // namespace

TEST_CASE("stored k-mer index: mapped back, every word's occurrences and every sequence's codes are the built ones") {
  test::ScratchDir dir("kmer_index_file_roundtrip");
  const Database d = make_database(dir.path());
  const auto db = msa::SequenceDb::open(d.dir);
  const int64_t begin = 17, end = db.size() - 5;  // a chunk inside the database
  const msa::KmerIndex built(db, begin, end, 2);
  built.write(dir / "chunk.kmi");
  const auto mapped = msa::KmerIndex::map_file(dir / "chunk.kmi", db, begin, end);
  CHECK(mapped->mapped());
  CHECK_FALSE(built.mapped());
  CHECK(mapped->begin() == begin);
  CHECK(mapped->end() == end);
  CHECK(mapped->n_entries() == built.n_entries());
  CHECK(mapped->build_id() != built.build_id());  // scanners lay themselves out again
  int64_t differing_words = 0;
  for (uint32_t w = 0; w < msa::kSeedWords; ++w) {
    const auto a = built.occurrences(w), b = mapped->occurrences(w);
    differing_words += a.size() != b.size() || !std::equal(a.begin(), a.end(), b.begin(), [](auto x, auto y) {
                         return x.target == y.target && x.pos == y.pos;
                       });
  }
  CHECK(differing_words == 0);
  for (int64_t i = 0; i < end - begin; ++i) {
    const auto a = built.codes(i), b = mapped->codes(i);
    CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  }
  // rebuild() on a mapped index builds in memory.
  auto rebuilt = msa::KmerIndex::map_file(dir / "chunk.kmi", db, begin, end);
  rebuilt->rebuild(db, 0, db.size(), 1);
  CHECK_FALSE(rebuilt->mapped());
  CHECK(rebuilt->end() == db.size());
}

TEST_CASE("stored k-mer index: a search that maps it finds what one that builds it finds, one chunk or several") {
  test::ScratchDir dir("kmer_index_file_search");
  const Database d = make_database(dir.path());
  const std::string built_one = fingerprint(search(d));
  const std::string built_many = fingerprint(search(d, 20000));
  REQUIRE_FALSE(built_one.empty());
  const auto bounds = [&](int64_t residues) { return msa::index_chunk_bounds(msa::SequenceDb::open(d.dir), residues); };
  REQUIRE(bounds(20000).size() > 3);  // several chunks

  const auto stats = msa::write_stored_index(d.dir, 2);
  CHECK(stats.chunks == 1);
  CHECK(fs::exists(d.dir / "kmer_index" / "index.json"));
  CHECK(msa::stored_index_files(msa::SequenceDb::open(d.dir), bounds(msa::kIndexChunkResidues)).size() == 1);
  // Chunks other than the stored ones (a test's chunk size, or --index-memory): built in memory, no warning.
  {
    test::CapturedWarnings warnings;
    CHECK(msa::stored_index_files(msa::SequenceDb::open(d.dir), bounds(20000), 20000).empty());
    CHECK(fingerprint(search(d, 20000)) == built_many);
    CHECK(warnings.lines.empty());
  }
  CHECK(fingerprint(search(d)) == built_one);

  // Stored again in several chunks (replacing the first: no temporary or old folder is left).
  const auto many = msa::write_stored_index(d.dir, 1, 20000);
  CHECK(many.chunks == static_cast<int64_t>(bounds(20000).size()) - 1);
  CHECK(many.entries == stats.entries);
  CHECK(msa::stored_index_files(msa::SequenceDb::open(d.dir), bounds(20000), 20000).size() == bounds(20000).size() - 1);
  CHECK(fingerprint(search(d, 20000)) == built_many);
  int64_t folders = 0;
  for (const auto& entry : fs::directory_iterator(d.dir)) folders += entry.is_directory();
  CHECK(folders == 1);
}

TEST_CASE("stored k-mer index: damaged, truncated or another database's index is refused by name, search goes on") {
  test::ScratchDir dir("kmer_index_file_damaged");
  const Database d = make_database(dir.path());
  const std::string built = fingerprint(search(d));
  msa::write_stored_index(d.dir, 1);
  const fs::path chunk = d.dir / "kmer_index" / "chunk_0.kmi";
  const fs::path manifest = d.dir / "kmer_index" / "index.json";
  const std::string chunk_bytes = test::read_bytes(chunk), manifest_text = data::read_text_file(manifest);
  const auto db = msa::SequenceDb::open(d.dir);

  SUBCASE("truncated chunk") {
    const std::string truncated = fmt::format("chunk_0.kmi: {} bytes", chunk_bytes.size() - 1);
    std::ofstream(chunk, std::ios::binary | std::ios::trunc) << chunk_bytes.substr(0, chunk_bytes.size() - 1);
    CHECK_THROWS_WITH_AS(msa::KmerIndex::map_file(chunk, db, 0, db.size()), doctest::Contains(truncated.c_str()),
                         InputError);
  }
  SUBCASE("a sequence length changed (another database's index)") {
    std::string bytes = chunk_bytes;
    // code_offsets[1] (after the 8-word header and kSeedWords + 1 starts) one higher.
    const size_t at = 8 * (8 + msa::kSeedWords + 1 + 1);
    int64_t offset = 0;
    std::memcpy(&offset, bytes.data() + at, 8);
    ++offset;
    std::memcpy(bytes.data() + at, &offset, 8);
    std::ofstream(chunk, std::ios::binary | std::ios::trunc) << bytes;
    CHECK_THROWS_WITH_AS(msa::KmerIndex::map_file(chunk, db, 0, db.size()),
                         doctest::Contains("sequence 0 ('hom0_0.1') has"), InputError);
  }
  SUBCASE("not an index file") {
    std::ofstream(chunk, std::ios::binary | std::ios::trunc) << std::string(chunk_bytes.size(), 'x');
    CHECK_THROWS_WITH_AS(msa::KmerIndex::map_file(chunk, db, 0, db.size()), doctest::Contains("no k-mer index header"),
                         InputError);
  }
  SUBCASE("a residue code out of range") {
    std::string bytes = chunk_bytes;
    bytes.back() = static_cast<char>(msa::kAlphabetSize);
    std::ofstream(chunk, std::ios::binary | std::ios::trunc) << bytes;
    CHECK_THROWS_WITH_AS(msa::KmerIndex::map_file(chunk, db, 0, db.size()),
                         doctest::Contains("a residue code 21 (codes are below 21)"), InputError);
  }
  SUBCASE("a FIFO under the chunk's name") {
    fs::remove(chunk);
    REQUIRE(::mkfifo(chunk.c_str(), 0600) == 0);  // opening it must not wait for a writer
    CHECK_THROWS_WITH_AS(msa::KmerIndex::map_file(chunk, db, 0, db.size()), doctest::Contains("not a regular file"),
                         InputError);
  }
  SUBCASE("another range of sequences") {
    CHECK_THROWS_WITH_AS(msa::KmerIndex::map_file(chunk, db, 1, db.size()), doctest::Contains("holds sequences 0 to"),
                         InputError);
    return;
  }
  SUBCASE("a manifest of another database") {
    auto json = manifest_text;
    const auto at = json.find("\"residues\": ");
    REQUIRE(at != std::string::npos);
    json.insert(at + 12, "1");
    data::write_file_atomic(manifest, json);
    test::CapturedWarnings warnings;
    CHECK(msa::stored_index_files(db, msa::index_chunk_bounds(db)).empty());
    REQUIRE(warnings.lines.size() == 1);
    CHECK(warnings.lines[0].find("made for a database of") != std::string::npos);
  }
  SUBCASE("the index of another database of the same sizes, copied in") {
    // The first homolog's residues replaced by others: the sizes, lengths and chunks all match; the hits of the
    // other database's k-mers were missed without a word (its best hit too).
    std::string fasta = data::read_text_file(dir.path() / "db.fasta");
    const size_t begin = fasta.find('\n') + 1, end = fasta.find('\n', begin);
    std::mt19937_64 rng(5);
    fasta.replace(begin, end - begin, test::random_protein(rng, static_cast<int64_t>(end - begin)));
    data::write_file_atomic(dir.path() / "other.fasta", fasta);
    msa::create_db(dir.path() / "other.fasta", dir.path() / "other");
    msa::write_stored_index(dir.path() / "other", 1);
    fs::remove_all(d.dir / "kmer_index");
    fs::copy(dir.path() / "other" / "kmer_index", d.dir / "kmer_index");
    test::CapturedWarnings warnings;
    CHECK(msa::stored_index_files(db, msa::index_chunk_bounds(db)).empty());
    REQUIRE(warnings.lines.size() == 1);
    CHECK(warnings.lines[0].find("made for another database (residues digest") != std::string::npos);
  }
  SUBCASE("a manifest that is no JSON") {
    data::write_file_atomic(manifest, "{\"format\": ");
    test::CapturedWarnings warnings;
    CHECK(msa::stored_index_files(db, msa::index_chunk_bounds(db)).empty());
    REQUIRE(warnings.lines.size() == 1);
    CHECK(warnings.lines[0].find("index.json is not valid JSON") != std::string::npos);
  }
  // The search warns, names the file and builds its index: the same hits.
  test::CapturedWarnings warnings;
  CHECK(fingerprint(search(d)) == built);
  REQUIRE(warnings.lines.size() == 1);
  CHECK(warnings.lines[0].find("kmer_index") != std::string::npos);
}

TEST_CASE("stored k-mer index: what a killed run left is removed, a file under the folder's name is refused") {
  test::ScratchDir dir("kmer_index_file_leftovers");
  const Database d = make_database(dir.path());
  // A run killed while it swapped the folders left the old index aside and its new one under a temporary name,
  // an hour ago, each with its owner file (a pid with another start time than any process's): removed. A user's
  // folder of such a name has no owner file: kept.
  const auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const char* name : {"kmer_index.old.4242", "kmer_index.tmp.4242", "kmer_index.tmp.2024"}) {
    fs::create_directories(d.dir / name);
    data::write_file_atomic(d.dir / name / "chunk_0.kmi", "x");
    if (std::string_view(name).ends_with("4242"))  // kfold's: its owner file (a user's folder has none)
      data::write_file_atomic(d.dir / name / "owner", fmt::format("{} 4242 100\n", data::this_process().host));
    for (const auto& entry : fs::directory_iterator(d.dir / name)) fs::last_write_time(entry.path(), hour_ago);
    fs::last_write_time(d.dir / name, hour_ago);
  }
  fs::create_directories(d.dir / "kmer_index.old");  // a user's own copy: no pid, never taken for a leftover
  fs::last_write_time(d.dir / "kmer_index.old", hour_ago);
  {
    test::CapturedWarnings warnings;
    msa::write_stored_index(d.dir, 1);
    CHECK(warnings.lines.size() == 2);
  }
  CHECK(fs::exists(d.dir / "kmer_index.old"));
  msa::write_stored_index(d.dir, 1);  // again, replacing the index (its old copy aside, then removed)
  CHECK(fs::exists(d.dir / "kmer_index.old"));
  CHECK_FALSE(fs::exists(d.dir / "kmer_index.old.4242"));
  CHECK_FALSE(fs::exists(d.dir / "kmer_index.tmp.4242"));
  CHECK(fs::exists(d.dir / "kmer_index.tmp.2024" / "chunk_0.kmi"));
  CHECK_FALSE(fs::exists(d.dir / "kmer_index" / "owner"));
  CHECK(std::distance(fs::directory_iterator(d.dir), fs::directory_iterator()) == 8);  // 5 db files, 3 folders
  fs::remove_all(d.dir / "kmer_index");
  data::write_file_atomic(d.dir / "kmer_index", "a file");
  CHECK_THROWS_WITH_AS(msa::write_stored_index(d.dir, 1), doctest::Contains("exists and is no folder"), InputError);
}

TEST_CASE("stored k-mer index: a FASTA database has none to store, a folder that is no database is refused") {
  test::ScratchDir dir("kmer_index_file_fasta");
  const Database d = make_database(dir.path());
  CHECK_THROWS_WITH_AS(msa::write_stored_index(dir / "db.fasta", 1),
                       doctest::Contains("a FASTA file; the k-mer index is stored in a database folder"), InputError);
  fs::create_directories(dir / "empty");
  CHECK_THROWS_WITH_AS(msa::write_stored_index(dir / "empty", 1), doctest::Contains("not a kfold database"),
                       InputError);
  CHECK(msa::stored_index_files(msa::SequenceDb::open(dir / "db.fasta"), {0, 1}).empty());
}

TEST_CASE("stored k-mer index: entries damaged past their targets cost hits, never memory") {
  // Entries are not checked when mapped (512 MiB a chunk): positions beyond every target (+ 0xC0000000)
  // made the ungapped extension read past the target (a crash) before it clamped its seed.
  test::ScratchDir dir("kmer_index_file_entries");
  const Database d = make_database(dir.path());
  msa::write_stored_index(d.dir, 1);
  const fs::path chunk = d.dir / "kmer_index" / "chunk_0.kmi";
  std::string bytes = test::read_bytes(chunk);
  const auto db = msa::SequenceDb::open(d.dir);
  const auto index = msa::KmerIndex::map_file(chunk, db, 0, db.size());
  const size_t first = 8 * (8 + msa::kSeedWords + 1 + db.size() + 1);
  for (int64_t e = 0; e < index->n_entries(); ++e) {
    uint32_t pos = 0;
    std::memcpy(&pos, bytes.data() + first + 8 * e + 4, 4);
    pos += 0xC0000000u;
    std::memcpy(bytes.data() + first + 8 * e + 4, &pos, 4);
  }
  std::ofstream(chunk, std::ios::binary | std::ios::trunc) << bytes;
  const auto results = search(d);
  CHECK(results.size() == d.queries.size());
}

TEST_CASE("stored k-mer index: a database holding a byte that is no residue is refused as damaged, no index left") {
  test::ScratchDir dir("kmer_index_file_damaged_db");
  const Database d = make_database(dir.path());
  {  // residue 6 of the first sequence (it was indexed as X, and the command said it was done)
    std::fstream residues(d.dir / "residues.bin", std::ios::in | std::ios::out | std::ios::binary);
    residues.seekp(5);
    residues.put(static_cast<char>(0xfa));
  }
  const msa::SequenceDb db = msa::SequenceDb::open(d.dir);
  const std::string expected = fmt::format(
      "sequence '{}' holds the byte 0xfa at residue 6, which is no amino acid: the database is damaged; "
      "create it again with 'kfold db create'",
      db.id(0));
  CHECK_THROWS_WITH_AS(msa::write_stored_index(d.dir, 1), doctest::Contains(expected.c_str()), InputError);
  CHECK_THROWS_WITH_AS(msa::check_residue_bytes(db, 0, db.size()), doctest::Contains(expected.c_str()), InputError);
  CHECK_NOTHROW(msa::check_residue_bytes(db, 1, db.size()));
  CHECK_FALSE(fs::exists(d.dir / msa::kStoredIndexFolder));
  for (const auto& entry : fs::directory_iterator(d.dir))
    CHECK_FALSE(entry.path().filename().string().starts_with("kmer_index"));
}
