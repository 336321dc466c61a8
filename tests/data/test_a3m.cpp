// Tests for data/a3m: AlphaFold's deletion matrix on a hand-worked example, checks, writing and round trips.
#include <doctest/doctest.h>
#include <zlib.h>

#include <string>
#include <vector>

#include "data/a3m.hpp"
#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/header_text.hpp"
#include "test_support.hpp"

using kfold::InputError;
using kfold::data::Msa;
using kfold::data::parse_a3m_string;
using kfold::data::to_a3m;
using Matrix = std::vector<std::vector<int32_t>>;

namespace {

// Hand-worked example. Row hit1 "Mkk-V.LaEw": M is column 0; 'kk' (2 insertions) precede the gap in
// column 1; V, L are columns 2, 3 ('.' is ignored); 'a' precedes E in column 4; the trailing 'w' follows
// the last column, so AlphaFold does not count it. Row hit3 "aaaMK" + "VLE": 3 insertions before column 0.
const char* const kExample =
    "#5\t1\n"
    ">query some description\n"
    "MKVLE\n"
    "\n"
    ">hit1 first hit\n"
    "Mkk-V.LaEw\n"
    ">hit2\n"
    "--VLE\n"
    ">hit3 split over two lines\n"
    "aaaMK\n"
    "VLE\n";

const Matrix kExampleDeletions = {
    {0, 0, 0, 0, 0},  // query
    {0, 2, 0, 0, 1},  // hit1
    {0, 0, 0, 0, 0},  // hit2
    {3, 0, 0, 0, 0},  // hit3
};

void check_same_msa(const Msa& a, const Msa& b) {
  CHECK(a.sequences == b.sequences);
  CHECK(a.deletion_matrix == b.deletion_matrix);
  CHECK(a.descriptions == b.descriptions);
}

}  // namespace

TEST_CASE("a3m: deletion matrix on a hand-worked example") {
  const Msa msa = parse_a3m_string(kExample, "example.a3m");
  CHECK(msa.depth() == 4);
  CHECK(msa.length() == 5);
  CHECK(msa.sequences == std::vector<std::string>{"MKVLE", "M-VLE", "--VLE", "MKVLE"});
  CHECK(msa.deletion_matrix == kExampleDeletions);
  CHECK(msa.descriptions ==
        std::vector<std::string>{"query some description", "hit1 first hit", "hit2", "hit3 split over two lines"});
  CHECK(msa.insertions == std::vector<std::string>{"", "kkaw", "", "aaa"});
}

TEST_CASE("a3m: CRLF, blank lines and '#' lines") {
  const Msa msa = parse_a3m_string("#A3M#\r\n\r\n>q\r\nMK\r\nV\r\n#comment\r\n>h\r\nmM-V\r\n\r\n", "crlf.a3m");
  CHECK(msa.sequences == std::vector<std::string>{"MKV", "M-V"});
  CHECK(msa.deletion_matrix == Matrix{{0, 0, 0}, {1, 0, 0}});
  CHECK(msa.descriptions == std::vector<std::string>{"q", "h"});
}

TEST_CASE("a3m: write then read gives the same MSA, with the inserted residues kept") {
  const Msa msa = parse_a3m_string(kExample, "example.a3m");
  const std::string text = to_a3m(msa);
  CHECK(text ==
        ">query some description\nMKVLE\n>hit1 first hit\nMkk-VLaEw\n>hit2\n--VLE\n"
        ">hit3 split over two lines\naaaMKVLE\n");
  const Msa back = parse_a3m_string(text, "written.a3m");
  check_same_msa(back, msa);
  CHECK(back.insertions == msa.insertions);

  kfold::test::ScratchDir dir("a3m_write");
  kfold::data::write_a3m(dir / "out.a3m", msa);
  check_same_msa(kfold::data::read_a3m(dir / "out.a3m"), msa);
}

TEST_CASE("a3m: without known insertions the writer emits 'x' per deletion") {
  Msa msa;
  msa.sequences = {"MKV", "A-V", "--W"};
  msa.deletion_matrix = {{0, 0, 0}, {2, 0, 1}, {0, 3, 0}};
  msa.descriptions = {"q", "h1 desc", ""};
  const std::string text = to_a3m(msa);
  CHECK(text == ">q\nMKV\n>h1 desc\nxxA-xV\n>\n-xxx-W\n");
  check_same_msa(parse_a3m_string(text, "x.a3m"), msa);

  msa.insertions = {"", "ABc", "c"};  // row 1: letters written lowercase; row 2: too few, so 'x'
  CHECK(to_a3m(msa) == ">q\nMKV\n>h1 desc\nabA-cV\n>\n-xxx-W\n");
}

TEST_CASE("a3m and fasta: headers are written as every reader splits them, Python's splitlines too") {
  // A database's headers reach the outputs: \v, \f, \x1c (Python line breaks), U+0085, U+2028, U+2029
  // (UTF-8 line and paragraph separators), DEL; bytes that are no UTF-8 (Latin-1, a cut sequence, overlong
  // and surrogate forms) stay as they were read, and valid_utf8_text (search outputs) makes them '?'.
  const std::string raw =
      "hit\xe2\x80\xa8x \v1 \f2 \x1c"
      "3 \xc2\x85"
      "4 \xe2\x80\xa8"
      "5 \xe2\x80\xa9"
      "6 \x7f"
      "7 \xe9t\xe9 \xe2\x80 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\xa0\x80 \xc0\xaf\tend";
  const std::string rest =
      "  1  2  3  4  5  6  7 \xe9t\xe9 \xe2\x80 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\xa0\x80 \xc0\xaf\tend";
  CHECK(kfold::data::portable_header_text(raw) == "hit x" + rest);
  CHECK(
      kfold::data::valid_utf8_text("\xe9t\xe9 \xe2\x80 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\xa0\x80 \xc0\xaf") ==
      "?t? ?? \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ??? ??");
  // escaped_utf8_text (log lines, error messages): Python's "backslashreplace", valid characters unchanged.
  CHECK(kfold::data::escaped_utf8_text("\xe9t\xe9 \xe2\x80 \xc3\xa9 \xf0\x9f\x98\x80 \xed\xa0\x80\tend\n") ==
        R"(\xe9t\xe9 \xe2\x80 )"
        "\xc3\xa9 \xf0\x9f\x98\x80 "
        R"(\xed\xa0\x80)"
        "\tend\n");
  Msa msa;
  msa.sequences = {"MKV", "MKV"};
  msa.deletion_matrix = {{0, 0, 0}, {0, 0, 0}};
  msa.descriptions = {"q", raw};
  CHECK(to_a3m(msa) == ">q\nMKV\n>hit_x" + rest + "\nMKV\n");  // the id one token, as the FASTA's
  const kfold::data::Sequence sequence{"id\x1c\xc2\x85x", raw.substr(8), "MKV"};
  CHECK(kfold::data::to_fasta({sequence}) == ">id__x " + rest.substr(2) + "\nMKV\n");  // (description trimmed)
}

TEST_CASE("a3m: the writer rejects inconsistent MSAs") {
  Msa msa;
  CHECK_THROWS_WITH_AS(to_a3m(msa), doctest::Contains("the MSA is empty"), InputError);
  msa.sequences = {"MKV", "MK"};
  msa.deletion_matrix = {{0, 0, 0}, {0, 0}};
  msa.descriptions = {"q", "short"};
  CHECK_THROWS_WITH_AS(to_a3m(msa), doctest::Contains("row 'short' has 2 columns"), InputError);
  msa.sequences[1] = "MkV";
  msa.deletion_matrix[1] = {0, 0, 0};
  CHECK_THROWS_WITH_AS(to_a3m(msa), doctest::Contains("row 'short' contains 'k'"), InputError);
  msa.descriptions.pop_back();
  CHECK_THROWS_WITH_AS(to_a3m(msa), doctest::Contains("2 rows but 2 deletion-matrix rows and 1 descriptions"),
                       InputError);
}

TEST_CASE("a3m: a row with the wrong number of match columns names file, line and record") {
  CHECK_THROWS_WITH_AS(parse_a3m_string(">q\nMKVLE\n>good\nMKaVLE\n>bad hit\nMKVL\n", "rows.a3m"),
                       doctest::Contains("rows.a3m:5: A3M row 'bad' has 4 match columns (uppercase letters "
                                         "and '-'), the query has 5"),
                       InputError);
  CHECK_THROWS_WITH_AS(parse_a3m_string(">q\nMKV\n>long\nMKVA\n", "rows.a3m"),
                       doctest::Contains("rows.a3m:3: A3M row 'long' has 4 match columns"), InputError);
  CHECK_THROWS_WITH_AS(parse_a3m_string(">q\nMKV\n>empty\n>next\nMKV\n", "rows.a3m"),
                       doctest::Contains("rows.a3m:3: A3M row 'empty' has 0 match columns"), InputError);
}

TEST_CASE("a3m: malformed input errors") {
  CHECK_THROWS_WITH_AS(parse_a3m_string("", "empty.a3m"), doctest::Contains("empty.a3m: no A3M records"), InputError);
  CHECK_THROWS_WITH_AS(parse_a3m_string("#12\t1\n\n", "hdr.a3m"), doctest::Contains("no A3M records"), InputError);
  CHECK_THROWS_WITH_AS(parse_a3m_string("MKV\n>q\nMKV\n", "nohdr.a3m"),
                       doctest::Contains("nohdr.a3m:1: missing A3M header"), InputError);
  // A Stockholm alignment without its first line (which decides the format) is named as one.
  for (const char* text : {"q  MKV\nh  MK-\n//\n", "#=GS h DE x\nq MKV\n", "//\n"})
    CHECK_THROWS_WITH_AS(parse_a3m_string(text, "s.a3m"),
                         doctest::Contains("looks like a Stockholm alignment: add '# STOCKHOLM 1.0' as its first line"),
                         InputError);
  CHECK_THROWS_WITH_AS(parse_a3m_string("MKV\n", "m.a3m"),
                       "m.a3m:1: missing A3M header: expected a line starting with '>' before the residues",
                       InputError);
  CHECK_THROWS_WITH_AS(parse_a3m_string(">q\nMkV\n", "q.a3m"),
                       doctest::Contains("q.a3m:2:2: the query (first record) has an insertion 'k'"), InputError);
  CHECK_THROWS_WITH_AS(parse_a3m_string(">q\n\n>h\nMKV\n", "q.a3m"),
                       doctest::Contains("q.a3m:1: the query (first record 'q') has no residues"), InputError);
  CHECK_THROWS_WITH_AS(parse_a3m_string(">q\nMKV\n>h\nM*V\n", "bad.a3m"),
                       doctest::Contains("bad.a3m:4:2: '*' (stop codon) in A3M row 'h' is allowed only at the end"),
                       InputError);
  CHECK_THROWS_WITH_AS(parse_a3m_string(">q\nMKV\n>h\nMK*\n-\n", "bad.a3m"),
                       doctest::Contains("bad.a3m:4:3: '*' (stop codon)"), InputError);
  CHECK_THROWS_WITH_AS(parse_a3m_string(">q\nMKV\n>h\nMKV*.\n", "bad.a3m"), doctest::Contains("bad.a3m:4:4: '*'"),
                       InputError);
}

TEST_CASE("a3m: a '*' ends a row and blanks before '>' are read past, as AlphaFold's parse_a3m reads them") {
  const Msa msa = parse_a3m_string("  #76\t1\n  >q desc\nMKV*\n\t>h\nM-\nV *  \n", "ok.a3m");
  REQUIRE(msa.depth() == 2);
  CHECK(msa.sequences[0] == "MKV");
  CHECK(msa.sequences[1] == "M-V");
  CHECK(msa.descriptions[0] == "q desc");
  CHECK(msa.descriptions[1] == "h");
  const Msa complex = parse_a3m_string(" #2,1\t1,1\n>q\nMKV\n", "c.a3m");
  CHECK(complex.chain_lengths == std::vector<int64_t>{2, 1});
}

TEST_CASE("a3m: gzip input") {
  kfold::test::ScratchDir dir("a3m_gzip");
  const auto path = dir / "msa.a3m.gz";
  const std::string text = kExample;
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
  REQUIRE(gzclose(file) == Z_OK);
  const Msa msa = kfold::data::read_a3m(path);
  CHECK(msa.deletion_matrix == kExampleDeletions);
}

TEST_CASE("a3m: the ubiquitin example matches the ubiquitin FASTA query") {
  const auto examples = kfold::test::source_dir() / "data/examples";
  const Msa msa = kfold::data::read_a3m(examples / "ubiquitin.a3m");
  const auto query = kfold::data::read_fasta(examples / "ubiquitin.fasta");
  CHECK(msa.depth() == 9);
  CHECK(msa.length() == 76);
  CHECK(msa.sequences[0] == query[0].residues);
  CHECK(msa.descriptions[1].starts_with("synthetic_homolog_1 "));
  CHECK(msa.deletion_matrix[3][10] == 2);  // "gs" before column 10
  CHECK(msa.deletion_matrix[3][52] == 1);  // "k" before column 52
  CHECK(msa.deletion_matrix[6][60] == 3);  // "eqd" before column 60
  CHECK(msa.deletion_matrix[8][7] == 4);   // "nptq" before column 7
  int64_t total = 0;
  for (const auto& row : msa.deletion_matrix)
    for (const int32_t count : row) total += count;
  CHECK(total == 10);
  CHECK(msa.sequences[4].starts_with("-----KTLTG"));
}

TEST_CASE("a3m: the writer rejects query deletions, negative counts, line breaks and no columns") {
  Msa msa;
  msa.sequences = {"MKV", "MKV"};
  msa.deletion_matrix = {{0, 0, 0}, {0, 2, 0}};
  msa.descriptions = {"q", "h1"};
  CHECK(to_a3m(msa) == ">q\nMKV\n>h1\nMxxKV\n");
  msa.deletion_matrix[0][1] = 1;
  CHECK_THROWS_WITH_AS(to_a3m(msa), doctest::Contains("the query row 'q' has deletions"), InputError);
  msa.deletion_matrix[0][1] = 0;
  msa.deletion_matrix[1][1] = -1;
  CHECK_THROWS_WITH_AS(to_a3m(msa), doctest::Contains("row 'h1' has a negative deletion count"), InputError);
  msa.deletion_matrix[1][1] = 0;
  msa.descriptions[1] = "h1 two\nlines";
  CHECK_THROWS_WITH_AS(to_a3m(msa), doctest::Contains("description of row 'h1' contains a line break"), InputError);
  // A row without a header name is named by its 1-based position.
  msa.descriptions[1] = "";
  msa.sequences[1] = "MkV";
  CHECK_THROWS_WITH_AS(to_a3m(msa), doctest::Contains("row '#2' contains 'k'"), InputError);
  Msa no_columns;
  no_columns.sequences = {""};
  no_columns.deletion_matrix = {{}};
  no_columns.descriptions = {"q"};
  CHECK_THROWS_WITH_AS(to_a3m(no_columns), doctest::Contains("the MSA is empty"), InputError);
}

TEST_CASE("a3m: HH-suite's annotation records are left out, with a warning naming them") {
  // hhblits -addss writes ss_pred and ss_conf before the query; ss_dssp and Consensus rows occur after it too.
  kfold::test::CapturedWarnings warnings;
  const Msa msa = parse_a3m_string(
      "#A3M#\n>ss_pred PSIPRED predicted secondary structure\nCCCEEEHHHC\n>ss_conf PSIPRED confidence values\n"
      "9988776655\n>q\nMKTAYIAKQR\n>ss_dssp\nCC-EEEHHHC\n>h1\nMKSAYIAKQR\n>Consensus\nxktayiakqr\n"
      ">d1_consensus\nMKTA\n",
      "hh.a3m");
  CHECK(msa.descriptions == std::vector<std::string>{"q", "h1"});
  CHECK(msa.sequences == std::vector<std::string>{"MKTAYIAKQR", "MKSAYIAKQR"});
  REQUIRE(warnings.lines.size() == 1);
  CHECK(warnings.lines[0].find("5 HH-suite annotation record(s) (ss_pred, ss_conf, ss_dssp, Consensus, "
                               "d1_consensus)") != std::string::npos);
}

TEST_CASE("a3m: the chains of ColabFold's complex A3M header, read and written back") {
  const auto lengths_of = [](const std::string& text) { return parse_a3m_string(text, "x.a3m").chain_lengths; };
  CHECK(lengths_of("#10,6\t1,1\n>101\t102\nMKTAYIAKQRGGSSAA\n") == std::vector<int64_t>{10, 6});
  CHECK(lengths_of("#3,4,5\t1,1,1\r\n>q\nAAAAAAAAAAAA\n") == std::vector<int64_t>{3, 4, 5});
  CHECK(lengths_of("#2\t1\n>101\nMK\n").empty());  // a monomer
  CHECK(lengths_of(">q\nMK\n").empty());
  CHECK(lengths_of("#A3M#\n>q\nMK\n").empty());  // HH-suite's first line
  CHECK(lengths_of("# a comment\n>q\nMK\n").empty());
  CHECK(lengths_of("#1,1 1,1\n>q\nMK\n") == std::vector<int64_t>{1, 1});  // spaces for the tab (an editor's)
  // '#' and a number that make no header: an error (read past, the complex was predicted as one fused chain).
  for (const auto& [header, why] :
       std::vector<std::pair<std::string, std::string>>{{"#1,1\t1", "(2 length(s) and 1 copy number(s))"},
                                                        {"#1,x\t1,1", "('x' is not a number from 1 to 2^31)"},
                                                        {"#0,2\t1,1", "('0' is not a number from 1 to 2^31)"},
                                                        {"#-4,6\t1,1", "('-4' is not a number"},
                                                        {"#1,1", "(no copy numbers after the lengths)"},
                                                        {"#1,1\t1,", "('' is not a number"}})
    CHECK_THROWS_WITH_AS(lengths_of(header + "\n>q\nMK\n"),
                         doctest::Contains(("x.a3m:1: '" + header + "' is no ColabFold complex header " + why).c_str()),
                         InputError);
  CHECK(lengths_of(">q\nMK\n#1,1\t1,1\n").empty());  // only as the first line
  // The first line with text: a notebook's """ string starts with a line break (the header was not read).
  CHECK(lengths_of("\n \n#1,1\t1,1\n>q\nMK\n") == std::vector<int64_t>{1, 1});
  CHECK_THROWS_WITH_AS(lengths_of("\n#1,2\t1,1\n>q\nMK\n"), doctest::Contains("x.a3m:2: its ColabFold header"),
                       InputError);
  {
    kfold::test::CapturedWarnings warnings;  // a homo-oligomer: its columns are one copy
    CHECK(lengths_of("#2\t2\n>101\nMK\n").empty());
    CHECK(lengths_of("#1,1\t2,1\n>101\nMK\n") == std::vector<int64_t>{1, 1});
    REQUIRE(warnings.lines.size() == 2);
    CHECK(warnings.lines[0].find("x.a3m:1: a ColabFold A3M of a homo-oligomer (2 copies of chain 1") !=
          std::string::npos);
  }
  CHECK_THROWS_WITH_AS(lengths_of("#10,5\t1,1\n>101\t102\nMKTAYIAKQRGGSSAA\n"),
                       doctest::Contains("x.a3m:1: its ColabFold header declares chains of 10 + 5 residues, 15 in all; "
                                         "its query row has 16 columns"),
                       InputError);
  // Written back with the header (batch's and predict's msas/ copies keep the chains).
  const Msa complex = parse_a3m_string("#10,6\t1,1\n>101\t102\nMKTAYIAKQRGGSSAA\n>h\nMKTAYIAKQR------\n", "c.a3m");
  CHECK(to_a3m(complex).starts_with("#10,6\t1,1\n>101"));
  CHECK(parse_a3m_string(to_a3m(complex), "again.a3m").chain_lengths == std::vector<int64_t>{10, 6});
}
