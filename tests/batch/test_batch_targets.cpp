// Batch inputs and shards (pipelines/batch/batch_targets.hpp): the three input forms, bad targets kept
// with their reason, duplicate ids refused, and shards that partition the targets balanced by length.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <tuple>
#include <vector>

#include "data/error.hpp"
#include "pipelines/batch/batch_targets.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using kfold::pipelines::BatchTarget;

namespace {

void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("read_batch_targets: CSV with header, FASTA, folder") {
  kfold::test::ScratchDir tmp("batch_targets_forms");
  write(tmp.path() / "t.csv", "id,sequence\nalpha,ACDEF\n\nbeta , ghik* \n");
  auto targets = kfold::pipelines::read_batch_targets(tmp.path() / "t.csv");
  REQUIRE(targets.size() == 2);
  CHECK(targets[0].id == "alpha");
  CHECK(targets[0].sequence == "ACDEF");
  CHECK(targets[1].id == "beta");
  CHECK(targets[1].sequence == "GHIK");
  CHECK(targets[1].problem.empty());
  CHECK(targets[1].source == (tmp.path() / "t.csv").string() + ":4");

  CHECK(targets[0].description.empty());
  // A CSV of another name (targets.txt, .tsv) is read as one by its first line (it was read as FASTA: "residues
  // before the first '>' header"); a FASTA of such a name stays FASTA.
  write(tmp.path() / "targets.txt", "\nalpha,ACDEF\nbeta,GHIK\n");
  targets = kfold::pipelines::read_batch_targets(tmp.path() / "targets.txt");
  REQUIRE(targets.size() == 2);
  CHECK(targets[1].id == "beta");
  CHECK(targets[1].sequence == "GHIK");
  write(tmp.path() / "targets.txt", ">alpha x,y\nACDEF\n");
  CHECK(kfold::pipelines::read_batch_targets(tmp.path() / "targets.txt")[0].sequence == "ACDEF");

  // A header's words after the id are the description (DIR/<id>/query.fasta keeps them).
  write(tmp.path() / "t.fasta", ">one first  human\tkinase \nACD\nEF\n>two|x\nKL-M\n>three\n");
  targets = kfold::pipelines::read_batch_targets(tmp.path() / "t.fasta");
  REQUIRE(targets.size() == 3);
  CHECK(targets[0].sequence == "ACDEF");
  CHECK(targets[0].description == "first  human\tkinase");
  CHECK(targets[2].description.empty());
  CHECK(targets[1].id == "two_x");  // made safe for a folder name
  CHECK(targets[1].problem.find("invalid character '-' in sequence 'two|x'; expected amino-acid letters") !=
        std::string::npos);
  CHECK(targets[1].problem.find("t.fasta:5") != std::string::npos);
  CHECK(targets[2].problem.find("no residues") != std::string::npos);
  // A '*' ending a line but not the record: named where it stands, as kfold predict's reader names it.
  write(tmp.path() / "stop.fasta", ">s\nMK*\nV\n");
  targets = kfold::pipelines::read_batch_targets(tmp.path() / "stop.fasta");
  REQUIRE(targets.size() == 1);
  CHECK(targets[0].problem == (tmp.path() / "stop.fasta").string() +
                                  ":2:3: '*' (stop codon) in sequence 's' is allowed only at the end of the sequence");

  fs::create_directory(tmp.path() / "dir");
  write(tmp.path() / "dir" / "b.fa", ">anything\nMKV\n");
  write(tmp.path() / "dir" / "a.fasta", ">x\nMK\n>y\nMK\n");
  write(tmp.path() / "dir" / "notes.txt", "not a target");
  write(tmp.path() / "dir" / "._a.fasta", std::string("\0\5\26\7", 4));  // macOS metadata: skipped, as hidden
  write(tmp.path() / "dir" / ".draft.fasta", ">draft\nMK\n");
  {
    const kfold::test::CapturedWarnings warnings;  // notes.txt is not read, and said so (hidden files are not)
    targets = kfold::pipelines::read_batch_targets(tmp.path() / "dir");
    REQUIRE(warnings.lines.size() == 1u);
    CHECK(warnings.lines[0].find(": 1 entry without a FASTA name (.fasta, .fa, .faa, .fas, any case, optionally .gz) "
                                 "not read, e.g. 'notes.txt'") != std::string::npos);
  }
  REQUIRE(targets.size() == 2);
  CHECK(targets[0].id == "a");  // file stems, sorted
  CHECK(targets[0].problem.find("holds 2 sequences") != std::string::npos);
  CHECK(targets[1].id == "b");
  CHECK(targets[1].sequence == "MKV");
  CHECK(targets[1].description.empty());  // ">anything": the id is the file's stem, the header's id is dropped

  // Only the FASTA extension leaves the file name; any header cased "sequence"/"seq" or behind a
  // byte-order mark is a header; ids never start with '.'.
  fs::create_directory(tmp.path() / "dotted");
  write(tmp.path() / "dotted" / "trp.v2.FA.gz", ">x\nMKV\n");
  targets = kfold::pipelines::read_batch_targets(tmp.path() / "dotted");
  REQUIRE(targets.size() == 1);
  CHECK(targets[0].id == "trp.v2");
  write(tmp.path() / "h.csv", "\xEF\xBB\xBFname,Sequence\n.hidden,MKV\n");
  targets = kfold::pipelines::read_batch_targets(tmp.path() / "h.csv");
  REQUIRE(targets.size() == 1);
  CHECK(targets[0].id == "_hidden");
  // targets.csv.gz is a CSV too (it was read as FASTA: "is this a FASTA file?"); gzip is told by content.
  write(tmp.path() / "t.CSV.gz", "a,MKV\nb,MKW\n");
  targets = kfold::pipelines::read_batch_targets(tmp.path() / "t.CSV.gz");
  REQUIRE(targets.size() == 2);
  CHECK(targets[1].sequence == "MKW");
}

TEST_CASE("read_batch_targets: errors name the file and line") {
  kfold::test::ScratchDir tmp("batch_targets_errors");
  write(tmp.path() / "dup.csv", "a,MK\nb,MK\na,MKV\n");
  CHECK_THROWS_WITH_AS(kfold::pipelines::read_batch_targets(tmp.path() / "dup.csv"),
                       doctest::Contains("dup.csv:3: id 'a' again (first at"), kfold::InputError);
  // Ids that differ in letter case only (SOX2, Sox2: human and mouse) are two folders where the output folder
  // tells case apart (here); check_case_distinct_ids refuses them only where it does not.
  write(tmp.path() / "case.csv", "SOX2,MK\nb,MK\nSox2,MKV\n");
  const auto orthologues = kfold::pipelines::read_batch_targets(tmp.path() / "case.csv");
  CHECK(orthologues.size() == 3);
  CHECK_NOTHROW(kfold::pipelines::check_case_distinct_ids(orthologues, tmp.path()));
  // Each refused with its file:line (an unclosed quote was read as part of the id: '"x', the folder _x).
  const std::vector<std::tuple<std::string, std::string, std::string>> refused = {
      {"three.csv", "a,MK,extra\n",
       "three.csv:1: expected two fields 'id,sequence', got 3 (an id cannot hold a comma, quoted or not)"},
      {"quote.csv", "id,sequence\n\"x,MQIF\n", "quote.csv:2: a quoted cell is not closed on the line"},
      {"quoted_comma.csv", "\"a,b\",MK\n", "quoted_comma.csv:1: expected two fields 'id,sequence', got 3"},
      {"semicolons.csv", "a;MK\n",
       "got 1 (an id cannot hold a comma, quoted or not) (the line has no comma but semicolons"},
  };
  for (const auto& [name, text, expected] : refused) {
    CAPTURE(name);
    write(tmp.path() / name, text);
    CHECK_THROWS_WITH_AS(kfold::pipelines::read_batch_targets(tmp.path() / name), doctest::Contains(expected.c_str()),
                         kfold::InputError);
  }
  // Quoted cells (pandas' QUOTE_ALL) are read as before, and a bad residue is named by its column on the line.
  write(tmp.path() / "quoted.csv", "\"id\",\"sequence\"\n\"a\", \"MKV\"\n\"b\",\"MK1\"\n");
  const auto quoted = kfold::pipelines::read_batch_targets(tmp.path() / "quoted.csv");
  REQUIRE(quoted.size() == 2);
  CHECK(quoted[0].id == "a");
  CHECK(quoted[0].sequence == "MKV");
  CHECK(quoted[1].problem.find("quoted.csv:3:8: invalid character '1'") != std::string::npos);
  write(tmp.path() / "own.csv", "summary.tsv,MKV\n");
  CHECK_THROWS_WITH_AS(kfold::pipelines::read_batch_targets(tmp.path() / "own.csv"),
                       doctest::Contains("own.csv:1: id 'summary.tsv' is the name of the batch's own summary file"),
                       kfold::InputError);
  write(tmp.path() / "empty.fasta", "\n");
  CHECK_THROWS_WITH_AS(kfold::pipelines::read_batch_targets(tmp.path() / "empty.fasta"),
                       doctest::Contains("no targets"), kfold::InputError);
  CHECK_THROWS_AS(kfold::pipelines::read_batch_targets(tmp.path() / "missing.csv"), kfold::InputError);
  // An id too long for a file name is refused before any work (it stopped every shard at its first summary).
  write(tmp.path() / "long.csv", "short,MKV\n" + std::string(201, 'a') + ",MKV\n");
  CHECK_THROWS_WITH_AS(kfold::pipelines::read_batch_targets(tmp.path() / "long.csv"),
                       doctest::Contains("long.csv:2: id 'aaaa"), kfold::InputError);
  // (.append, not +: GCC 12 warns -Warray-bounds inside libstdc++'s operator+ on this temporary, a false positive.)
  write(tmp.path() / "ok.csv", std::string(200, 'a').append(",MKV\n"));
  CHECK(kfold::pipelines::read_batch_targets(tmp.path() / "ok.csv").front().id.size() == 200);
}

TEST_CASE("parse_shard") {
  CHECK(kfold::pipelines::parse_shard("3/100", "--shard") == std::pair<int64_t, int64_t>{3, 100});
  CHECK(kfold::pipelines::parse_shard("0/1", "--shard") == std::pair<int64_t, int64_t>{0, 1});
  for (const char* bad : {"1/1", "-1/4", "2", "a/b", "1/0", "1/2/3", "0/1000001", "1/99999999999999999999"})
    CHECK_THROWS_WITH_AS(kfold::pipelines::parse_shard(bad, "--shard"), doctest::Contains("expected I/N"),
                         kfold::InputError);
}

TEST_CASE("shard_targets: an exact partition, balanced by length squared, sorted by length") {
  std::vector<BatchTarget> targets;
  for (int i = 0; i < 103; ++i)
    targets.push_back(
        {"t" + std::to_string(i), std::string(static_cast<size_t>(10 + (i * 37) % 500), 'A'), "", "", ""});
  for (const int64_t count : {1, 2, 7, 200}) {
    std::set<int64_t> seen;
    std::vector<double> load;
    for (int64_t shard = 0; shard < count; ++shard) {
      const auto mine = kfold::pipelines::shard_targets(targets, shard, count);
      double cost = 0;
      for (size_t k = 0; k < mine.size(); ++k) {
        CHECK(seen.insert(mine[k]).second);  // in no other shard
        const double n = static_cast<double>(targets[static_cast<size_t>(mine[k])].sequence.size());
        cost += n * n;
        if (k > 0) CHECK(targets[static_cast<size_t>(mine[k - 1])].sequence.size() <= n);
      }
      load.push_back(cost);
    }
    CHECK(seen.size() == targets.size());
    if (count == 7) {
      // Greedy longest-first: no shard exceeds another by more than the largest target's cost.
      const double spread = *std::max_element(load.begin(), load.end()) - *std::min_element(load.begin(), load.end());
      CHECK(spread <= 509.0 * 509.0);
    }
  }
  // Deterministic: the same inputs give the same shard.
  CHECK(kfold::pipelines::shard_targets(targets, 3, 7) == kfold::pipelines::shard_targets(targets, 3, 7));
}

TEST_CASE("shard_targets: greedy longest-first on the cost L^2 (hand-worked assignment)") {
  // Lengths 300, 200, 200, 100 on two shards, longest first, each to the shard with the smaller load:
  // L^2: 300 -> s0 (90,000); 200 -> s1 (40,000); 200 -> s1 (80,000); 100 -> s1 (80,000 < 90,000; 90,000).
  // A linear cost would send 100 to s0 instead (300 < 400).
  std::vector<BatchTarget> targets;
  for (const auto& [id, length] :
       std::vector<std::pair<std::string, size_t>>{{"a", 300}, {"b", 200}, {"c", 200}, {"d", 100}})
    targets.push_back({id, std::string(length, 'A'), "", "", ""});
  CHECK(kfold::pipelines::shard_targets(targets, 0, 2) == std::vector<int64_t>{0});
  CHECK(kfold::pipelines::shard_targets(targets, 1, 2) == std::vector<int64_t>{3, 1, 2});  // sorted by length, then id
}

TEST_CASE("read_batch_targets: a header 'id,<other column>' is refused, not run as a target named 'id'") {
  // "residues" is all amino-acid letters: without the check the header ran as target 'id' of RESIDUES.
  kfold::test::ScratchDir tmp("batch_targets_id_header");
  write(tmp.path() / "t.csv", "id,residues\nalpha,MKV\n");
  CHECK_THROWS_WITH_AS(kfold::pipelines::read_batch_targets(tmp.path() / "t.csv"),
                       doctest::Contains("t.csv:1: 'id,residues' is neither a target nor the header"),
                       kfold::InputError);
}
