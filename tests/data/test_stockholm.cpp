// Tests for data/stockholm: multi-block alignments, AlphaFold's gap-column deletion counting, errors.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "data/a3m.hpp"
#include "data/error.hpp"
#include "data/log.hpp"
#include "data/msa_file.hpp"
#include "data/stockholm.hpp"
#include "test_support.hpp"

using kfold::InputError;
using kfold::data::Msa;
using kfold::data::parse_stockholm_string;
using Matrix = std::vector<std::vector<int32_t>>;

namespace {

// Hand-worked example, two blocks. Joined rows (8 columns):
//   query      MK--VL-E   kept columns 0, 1, 4, 5, 7 (the query's gaps 2, 3, 6 are dropped)
//   hit1/1-10  MKaiV--E   'a', 'i' in dropped columns: 2 deletions before kept column 2 (V)
//   hit2       --d-VLeE   'd': 1 deletion before kept column 2; 'e': 1 before kept column 4 (E)
// AlphaFold's parsers.parse_stockholm gives exactly these sequences and this deletion matrix.
const char* const kExample =
    "# STOCKHOLM 1.0\n"
    "#=GF ID example\n"
    "#=GS hit1/1-10 DE some description\n"
    "\n"
    "query      MK--\n"
    "hit1/1-10  MKai\n"
    "hit2       --d-\n"
    "#=GC RF    xx..\n"
    "\n"
    "query      VL-E\n"
    "hit1/1-10  V--E\n"
    "hit2       VLeE\n"
    "#=GR hit2 PP 9999\n"
    "//\n"
    "# STOCKHOLM 1.0\n"
    "other      WWWW\n";

}  // namespace

TEST_CASE("stockholm: multi-block alignment and gap-column deletions (AlphaFold's behaviour)") {
  const Msa msa = parse_stockholm_string(kExample, "example.sto");
  CHECK(msa.depth() == 3);
  CHECK(msa.length() == 5);
  CHECK(msa.sequences == std::vector<std::string>{"MKVLE", "MKV-E", "--VLE"});
  CHECK(msa.deletion_matrix == Matrix{{0, 0, 0, 0, 0}, {0, 0, 2, 0, 0}, {0, 0, 1, 0, 1}});
  CHECK(msa.descriptions == std::vector<std::string>{"query", "hit1/1-10", "hit2"});
  CHECK(msa.insertions == std::vector<std::string>{"", "ai", "de"});
}

TEST_CASE("stockholm: '.' gaps, lowercase residues and conversion to A3M") {
  // HMMER style: '.' for gaps in insert columns, lowercase residues there. Query gaps at columns 2, 3.
  const Msa msa = parse_stockholm_string(
      "# STOCKHOLM 1.0\n"
      "q   mK..Vl\n"
      "h1  M-a.v.\n"
      "h2  .Kgh-L\n",
      "dots.sto");
  CHECK(msa.sequences == std::vector<std::string>{"MKVL", "M-V-", "-K-L"});
  CHECK(msa.deletion_matrix == Matrix{{0, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 2, 0}});
  // Same as AlphaFold's convert_stockholm_to_a3m: dropped-column residues become lowercase insertions.
  const std::string a3m = kfold::data::to_a3m(msa);
  CHECK(a3m == ">q\nMKVL\n>h1\nM-aV-\n>h2\n-Kgh-L\n");
  const Msa back = kfold::data::parse_a3m_string(a3m, "converted.a3m");
  CHECK(back.sequences == msa.sequences);
  CHECK(back.deletion_matrix == msa.deletion_matrix);
  CHECK(back.descriptions == msa.descriptions);
}

TEST_CASE("stockholm: CRLF and a file on disk") {
  kfold::test::ScratchDir dir("stockholm_file");
  std::string text = kExample;
  std::string crlf;
  for (const char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  const auto path = dir / "hits.sto";
  {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    REQUIRE(file != nullptr);
    std::fwrite(crlf.data(), 1, crlf.size(), file);
    std::fclose(file);
  }
  const Msa msa = kfold::data::read_stockholm(path);
  CHECK(msa.deletion_matrix == Matrix{{0, 0, 0, 0, 0}, {0, 0, 2, 0, 0}, {0, 0, 1, 0, 1}});
  // read_msa_file tells Stockholm from A3M by the first line with text: blank lines before it do not count.
  const auto padded = dir / "padded.sto";
  {
    std::FILE* file = std::fopen(padded.c_str(), "wb");
    REQUIRE(file != nullptr);
    const std::string text_with_blank_lines = "\n  \n" + text;
    std::fwrite(text_with_blank_lines.data(), 1, text_with_blank_lines.size(), file);
    std::fclose(file);
  }
  CHECK(kfold::data::read_msa_file(padded).deletion_matrix == msa.deletion_matrix);
}

TEST_CASE("stockholm: errors name the file, line and row") {
  CHECK_THROWS_WITH_AS(parse_stockholm_string(">q\nMKV\n", "fasta.sto"),
                       doctest::Contains("fasta.sto:1: missing '# STOCKHOLM 1.0' header"), InputError);
  CHECK_THROWS_WITH_AS(parse_stockholm_string("", "empty.sto"), doctest::Contains("empty.sto: empty file"), InputError);
  CHECK_THROWS_WITH_AS(parse_stockholm_string("# STOCKHOLM 1.0\n#=GF ID x\n//\n", "none.sto"),
                       doctest::Contains("none.sto: no sequences"), InputError);
  CHECK_THROWS_WITH_AS(
      parse_stockholm_string("# STOCKHOLM 1.0\nq MKV\nh1 MKV\nh2 MK\n\nq A\nh1 A\nh2 A\n//\n", "len.sto"),
      doctest::Contains("len.sto:4: Stockholm row 'h2' has 3 columns, the query 'q' has 4"), InputError);
  CHECK_THROWS_WITH_AS(parse_stockholm_string("# STOCKHOLM 1.0\nq MKV extra\n", "fields.sto"),
                       doctest::Contains("fields.sto:2: expected '<name> <aligned sequence>'"), InputError);
  CHECK_THROWS_WITH_AS(parse_stockholm_string("# STOCKHOLM 1.0\nq MKV\nh M1V\n", "char.sto"),
                       doctest::Contains("char.sto:3:4: invalid character '1' in Stockholm row 'h'"), InputError);
  CHECK_THROWS_WITH_AS(parse_stockholm_string("# STOCKHOLM 1.0\nq --.\nh MKV\n", "gaps.sto"),
                       doctest::Contains("gaps.sto:2: the query (first sequence 'q') has no residues"), InputError);
  // A second alignment after the first's end is not read, and said so (blank lines after it are fine).
  kfold::test::CapturedWarnings captured;
  CHECK(parse_stockholm_string("# STOCKHOLM 1.0\nq MKV\n//\n\n  \n", "blank.sto").sequences.size() == 1);
  CHECK(captured.lines.empty());
  CHECK(parse_stockholm_string("# STOCKHOLM 1.0\nq MKV\n//\n\n# STOCKHOLM 1.0\nq MKI\n//\n", "two.sto").sequences ==
        std::vector<std::string>{"MKV"});
  const std::vector<std::string> warnings = captured.lines;
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("two.sto:5: content after the alignment's end ('//') is not read") != std::string::npos);
}

TEST_CASE("stockholm: a file without its closing '//' is read, warned about, and blamed in a length error") {
  kfold::test::CapturedWarnings captured;
  CHECK(parse_stockholm_string("# STOCKHOLM 1.0\nq MKV\nh MKI\n", "open.sto").sequences.size() == 2);
  REQUIRE(captured.lines.size() == 1);
  CHECK(captured.lines[0].find("open.sto: the Stockholm alignment does not end with '//'") != std::string::npos);
  CHECK_THROWS_WITH_AS(parse_stockholm_string("# STOCKHOLM 1.0\nq MKVW\nh MK", "cut.sto"),
                       doctest::Contains("row 'h' has 2 columns, the query 'q' has 4 (the file does not end with "
                                         "'//': cut short?)"),
                       InputError);
}

TEST_CASE("stockholm: residues in the query's gap columns are kept as lowercase insertions") {
  const Msa msa = parse_stockholm_string("# STOCKHOLM 1.0\nq  M--K\nh  MAwK\n//\n", "upper.sto");
  CHECK(msa.sequences == std::vector<std::string>{"MK", "MK"});
  CHECK(msa.deletion_matrix == Matrix{{0, 0}, {0, 2}});
  CHECK(msa.insertions == std::vector<std::string>{"", "aw"});
}
