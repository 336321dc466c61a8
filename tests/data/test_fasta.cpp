// Tests for data/fasta: records, whitespace, errors with file/line/column, '*', gzip, long lines, writing.
#include <doctest/doctest.h>
#include <zlib.h>

#include <fstream>
#include <string>

#include "data/error.hpp"
#include "data/fasta.hpp"
#include "test_support.hpp"

using kfold::InputError;
using kfold::data::FastaReader;
using kfold::data::parse_fasta;
using kfold::data::read_fasta;
using kfold::data::Sequence;

namespace {

void write_gzip(const std::filesystem::path& path, const std::string& text) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

}  // namespace

TEST_CASE("fasta: multi-record file with descriptions, wrapped lines and lowercase") {
  const auto seqs = parse_fasta(">sp|P1|A first protein\nMKV\nlae\n>second\n  ACD EF  \n", "in.fa");
  REQUIRE(seqs.size() == 2);
  CHECK(seqs[0].id == "sp|P1|A");
  CHECK(seqs[0].description == "first protein");
  CHECK(seqs[0].residues == "MKVLAE");
  CHECK(seqs[1].id == "second");
  CHECK(seqs[1].description == "");
  CHECK(seqs[1].residues == "ACDEF");
}

TEST_CASE("fasta: a no-break space ends the id as a blank does") {
  // A header pasted from a web page: the id took the UTF-8 bytes and the description (a folder "P1\xc2\xa0kinase").
  const auto seqs = parse_fasta(">P1\xc2\xa0kinase A\n MKV\n>P2 \xc2\xa0\xc2\xa0 x\nW\n>P3\xc2\xa0\nW\n", "in.fa");
  REQUIRE(seqs.size() == 3);
  CHECK(seqs[0].id == "P1");
  CHECK(seqs[0].description == "kinase A");
  CHECK(seqs[1].id == "P2");
  CHECK(seqs[1].description == "x");
  CHECK(seqs[2].id == "P3");
  CHECK(seqs[2].description.empty());
  CHECK(kfold::data::split_fasta_header("a\xc3\xa9"
                                        "b c")
            .first ==
        "a\xc3\xa9"
        "b");                                                             // other UTF-8 stays in the id
  CHECK(kfold::data::split_fasta_header(" \xc2\xa0P4 y").first == "P4");  // before the id too (it was empty)
}

TEST_CASE("fasta: CRLF line endings and blank lines are ignored") {
  const auto seqs = parse_fasta("\r\n\r\n>a  desc with  spaces \r\nMK\r\n\r\nVL\r\n\r\n>b\r\nW\r\n", "crlf.fa");
  REQUIRE(seqs.size() == 2);
  CHECK(seqs[0].id == "a");
  CHECK(seqs[0].description == "desc with  spaces");
  CHECK(seqs[0].residues == "MKVL");
  CHECK(seqs[1].residues == "W");
}

TEST_CASE("fasta: non-standard letters are kept, uppercased") {
  const auto seqs = parse_fasta(">x\nACxbzuojBZUOJX\n", "x.fa");
  CHECK(seqs[0].residues == "ACXBZUOJBZUOJX");
}

TEST_CASE("fasta: text before the first header is an error naming the line") {
  CHECK_THROWS_WITH_AS(parse_fasta("\nMKV\n>a\nMKV\n", "nohdr.fa"),
                       doctest::Contains("nohdr.fa:2: missing FASTA header"), InputError);
}

TEST_CASE("fasta: empty header and empty records") {
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMK\n>   \nMK\n", "e.fa"), doctest::Contains("e.fa:3: empty FASTA header"),
                       InputError);
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMK\n>b desc\n\n>c\nMK\n", "e.fa"),
                       doctest::Contains("e.fa:3: FASTA record 'b' has no residues"), InputError);
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMK\n>last\n", "e.fa"),
                       doctest::Contains("e.fa:3: FASTA record 'last' has no residues"), InputError);
  // A database's reader skips them and says where the first was.
  FastaReader db(kfold::data::LineReader::from_string(">a\nMK\n>b desc\n\n>c\nMK\n>d\n", "db.fa"));
  db.read_as_database();
  Sequence seq;
  std::vector<std::string> ids;
  while (db.next(seq)) ids.push_back(seq.id);
  CHECK(ids == std::vector<std::string>{"a", "c"});
  CHECK(db.empty_records() == 2);
  CHECK(db.first_empty_record() == "db.fa:3 'b'");
  CHECK_THROWS_WITH_AS(parse_fasta("", "empty.fa"), doctest::Contains("empty.fa: no FASTA records"), InputError);
  CHECK_THROWS_WITH_AS(parse_fasta("\n  \n", "blank.fa"), doctest::Contains("no FASTA records"), InputError);
}

TEST_CASE("fasta: duplicate ids are rejected by default and allowed on request") {
  const std::string text = ">a\nMK\n>b\nVL\n>a other\nWW\n";
  CHECK_THROWS_WITH_AS(parse_fasta(text, "dup.fa"),
                       doctest::Contains("dup.fa:5: duplicate id 'a' (first seen at line 1)"), InputError);
  const auto seqs = parse_fasta(text, "dup.fa", {.unique_ids = false});
  REQUIRE(seqs.size() == 3);
  CHECK(seqs[2].id == "a");
  CHECK(seqs[2].description == "other");
}

TEST_CASE("fasta: '*' is dropped at the end of a record and rejected elsewhere") {
  CHECK(parse_fasta(">a\nMKV*\n", "s.fa")[0].residues == "MKV");
  CHECK(parse_fasta(">a\nMKV\n*\n>b\nW*  \n", "s.fa")[1].residues == "W");
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMK*V\n", "s.fa"),
                       doctest::Contains("s.fa:2:3: '*' (stop codon) in sequence 'a' is allowed only at the end"),
                       InputError);
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMK*\nV\n", "s.fa"), doctest::Contains("s.fa:2:3: '*'"), InputError);
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMK**\n", "s.fa"), doctest::Contains("s.fa:2:3: '*'"), InputError);
  CHECK_THROWS_WITH_AS(parse_fasta(">a\n*\n", "s.fa"), doctest::Contains("record 'a' has no residues"), InputError);
}

TEST_CASE("fasta: invalid characters name file, line, column and character") {
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMKV\nAC1D\n", "bad.fa"),
                       doctest::Contains("bad.fa:3:3: invalid character '1' in sequence 'a'"), InputError);
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMK-V\n", "bad.fa"), doctest::Contains("bad.fa:2:3: invalid character '-'"),
                       InputError);
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMK.V\n", "bad.fa"), doctest::Contains("bad.fa:2:3: invalid character '.'"),
                       InputError);
  // An aligned row given as the query: the message says to remove the gaps.
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMK-V\n", "bad.fa"),
                       doctest::Contains("an alignment gap: is this an aligned row"), InputError);
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMK.V\n", "bad.fa"), doctest::Contains("remove its '-' and '.'"), InputError);
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nM K;\n", "bad.fa"), doctest::Contains("bad.fa:2:4: invalid character ';'"),
                       InputError);
  CHECK_THROWS_WITH_AS(parse_fasta(">a\nMK\xc3\xa9\n", "bad.fa"),
                       doctest::Contains("bad.fa:2:3: invalid character byte 0xc3"), InputError);
  // (the advice is the route kfold predict takes a complex by: it said kfold predicts one chain)
  CHECK_THROWS_WITH_AS(parse_fasta(">ab\nMKV:GSH\n", "bad.fa"),
                       doctest::Contains("ColabFold's chain separator: for a complex, join the chains without it in "
                                         "one record and give the ColabFold complex A3M, whose first line says the "
                                         "chains' lengths, as its MSA: kfold predict --msa, kfold batch --msa-dir"),
                       InputError);
}

TEST_CASE("fasta: a 1,000,000-residue single line") {
  const std::string pattern = "ACDEFGHIKLMNPQRSTVWY";
  std::string residues;
  residues.reserve(1'000'000);
  while (residues.size() < 1'000'000) residues += pattern;
  residues.resize(1'000'000);
  const auto seqs = parse_fasta(">big\n" + residues + "\n>small\nMK\n", "big.fa");
  REQUIRE(seqs.size() == 2);
  CHECK(seqs[0].residues.size() == 1'000'000);
  CHECK(seqs[0].residues == residues);
  CHECK(seqs[1].residues == "MK");
}

TEST_CASE("fasta: gzip input is read transparently, record by record") {
  kfold::test::ScratchDir dir("fasta_gzip");
  std::string text;
  for (int i = 0; i < 5000; ++i) text += ">seq" + std::to_string(i) + " n=" + std::to_string(i) + "\nMKVLAEW\nGG\n";
  write_gzip(dir / "db.fasta.gz", text);
  FastaReader reader(dir / "db.fasta.gz");
  Sequence sequence;
  int64_t count = 0;
  int64_t mismatches = 0;
  while (reader.next(sequence)) {
    const bool same = sequence.id == "seq" + std::to_string(count) &&
                      sequence.description == "n=" + std::to_string(count) && sequence.residues == "MKVLAEWGG" &&
                      reader.record_line() == 3 * count + 1;
    if (!same) ++mismatches;
    ++count;
  }
  CHECK(count == 5000);
  CHECK(mismatches == 0);
  CHECK(read_fasta(dir / "db.fasta.gz").size() == 5000);
}

TEST_CASE("fasta: binary, garbage and missing files give clear errors") {
  kfold::test::ScratchDir dir("fasta_garbage");
  const auto binary = dir / "binary.fa";
  const char bytes[] = ">a\nMK\x00\x01\x02V\n";
  write_bytes(binary, std::string(bytes, sizeof(bytes) - 1));
  const std::string binary_error = binary.string() + ":2: binary data";
  CHECK_THROWS_WITH_AS(read_fasta(binary), doctest::Contains(binary_error.c_str()), InputError);
  const auto garbage = dir / "garbage.fa";
  write_bytes(garbage, "this is not a FASTA file\n");
  const std::string garbage_error = garbage.string() + ":1: missing FASTA header";
  CHECK_THROWS_WITH_AS(read_fasta(garbage), doctest::Contains(garbage_error.c_str()), InputError);
  CHECK_THROWS_WITH_AS(read_fasta(dir / "absent.fa"), doctest::Contains("absent.fa: file not found"), InputError);
}

TEST_CASE("fasta: write_fasta wraps lines and reads back identically") {
  kfold::test::ScratchDir dir("fasta_write");
  const std::vector<Sequence> seqs = {{"a", "first one", std::string(25, 'M')}, {"b", "", "ACDEFGHIK"}};
  kfold::data::write_fasta(dir / "out.fa", seqs, 10);
  std::ifstream in(dir / "out.fa");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == ">a first one\nMMMMMMMMMM\nMMMMMMMMMM\nMMMMM\n>b\nACDEFGHIK\n");
  const auto back = read_fasta(dir / "out.fa");
  REQUIRE(back.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(back[i].id == seqs[i].id);
    CHECK(back[i].description == seqs[i].description);
    CHECK(back[i].residues == seqs[i].residues);
  }
  CHECK(kfold::data::to_fasta(seqs, 0) == ">a first one\n" + std::string(25, 'M') + "\n>b\nACDEFGHIK\n");
  CHECK_THROWS_WITH_AS(kfold::data::to_fasta({{"has space", "", "MK"}}), doctest::Contains("id 'has space'"),
                       InputError);
  CHECK_THROWS_WITH_AS(kfold::data::to_fasta({{"a", "", "MK-"}}), doctest::Contains("contains '-'"), InputError);
  // A no-break space ends an id and starts no description when read back: refused in an id, dropped at the start of
  // a description (they were written and read back as id 'P1', description 'x').
  CHECK_THROWS_WITH_AS(kfold::data::to_fasta({{"P1\xc2\xa0x", "", "MK"}}), doctest::Contains("without whitespace"),
                       InputError);
  const std::string nbsp = kfold::data::to_fasta({{"P2", "\xc2\xa0 note", "MK"}});
  CHECK(nbsp == ">P2 note\nMK\n");
  const auto read_back = kfold::data::parse_fasta(nbsp, "nbsp.fa");
  REQUIRE(read_back.size() == 1);
  CHECK(read_back[0].description == "note");
}

TEST_CASE("fasta: the ubiquitin example") {
  const auto seqs = read_fasta(kfold::test::source_dir() / "data/examples/ubiquitin.fasta");
  REQUIRE(seqs.size() == 1);
  CHECK(seqs[0].id == "ubiquitin");
  CHECK(seqs[0].residues == "MQIFVKTLTGKTITLEVEPSDTIENVKAKIQDKEGIPPDQQRLIFAGKQLEDGRTLSDYNIQKESTLHLVLRLRGG");
  CHECK(seqs[0].residues.size() == 76);
}

TEST_CASE("fasta: a database's internal stops read as X, the first one located") {
  FastaReader db(kfold::data::LineReader::from_string(">a\nM*K\n>b\nVV\nL*W*\n", "stops.fa"));
  db.read_as_database();
  Sequence seq;
  std::vector<std::string> residues;
  while (db.next(seq)) residues.push_back(seq.residues);
  CHECK(residues == std::vector<std::string>{"MXK", "VVLXW"});
  CHECK(db.internal_stops() == 2);
  CHECK(db.first_internal_stop() == "stops.fa:2:2");
}

TEST_CASE("fasta: the writer's line width of 1 and records without residues") {
  CHECK(kfold::data::to_fasta({{"a", "", "MKV"}}, 1) == ">a\nM\nK\nV\n");
  CHECK(kfold::data::to_fasta({{"a", "", "MKV"}}, 2) == ">a\nMK\nV\n");
  CHECK_THROWS_WITH_AS(kfold::data::to_fasta({{"a", "", "MK"}, {"empty", "", ""}}),
                       doctest::Contains("sequence 'empty' has no residues"), InputError);
}
