// Tests for PDB/mmCIF output: gemmi reads back what kfold writes (coordinates, residue
// numbers, chains, pLDDT in B-factors); header remarks; shape errors. An independent reader
// (biotite) checks the same files in tests/python/test_structure_output.py.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/residue_constants.hpp"
#include "data/structure_io.hpp"
#include "data/text_input.hpp"
#include "test_support.hpp"
#include "tools/example_protein.hpp"

using kfold::data::Protein;

TEST_CASE("structure_io: PDB and mmCIF round-trip through gemmi within file precision") {
  kfold::test::ScratchDir dir("structure_io");
  const Protein p = kfold::test::example_protein();
  const kfold::data::StructureHeader header{"kfold test", {"WARNING: random weights, not a prediction"}};
  kfold::data::write_pdb(dir / "x.pdb", p, header);
  kfold::data::write_mmcif(dir / "x.cif", p, header);
  for (const char* name : {"x.pdb", "x.cif"}) {
    CAPTURE(name);
    const Protein q = kfold::data::read_structure(dir / name);
    REQUIRE(q.n_res() == p.n_res());
    CHECK(q.aatype == p.aatype);
    CHECK(q.residue_index == p.residue_index);
    CHECK(q.chain_index == p.chain_index);
    CHECK(q.atom_mask == p.atom_mask);
    // Tolerances: PDB keeps 3 decimals for coordinates and 2 for B-factors (plus float rounding).
    double max_xyz_error = 0, max_b_error = 0;
    for (size_t i = 0; i < p.atom_positions.size(); ++i)
      max_xyz_error = std::max(max_xyz_error, double(std::abs(q.atom_positions[i] - p.atom_positions[i])));
    for (size_t i = 0; i < p.b_factors.size(); ++i)
      max_b_error = std::max(max_b_error, double(std::abs(q.b_factors[i] - p.b_factors[i])));
    CHECK(max_xyz_error <= 6e-4);
    CHECK(max_b_error <= 6e-3);
  }
  const std::string pdb = kfold::data::read_text_file(dir / "x.pdb");
  CHECK(pdb.find("REMARK 250 WARNING: random weights, not a prediction") != std::string::npos);
  const std::string cif = kfold::data::read_text_file(dir / "x.cif");
  CHECK(cif.rfind("# WARNING: random weights, not a prediction", 0) == 0);
}

TEST_CASE("structure_io: long and multi-line remarks stay within the PDB's 80 columns and the mmCIF comment") {
  const Protein p = kfold::test::example_protein();
  kfold::data::StructureHeader header;
  const std::string long_word(75, 'x');
  header.remarks = {
      "WARNING: random weights, not a prediction (kfold predict --random-weights: a demo of the pipeline)",
      "first line\nsecond line\tafter a tab", long_word};
  const std::string pdb = kfold::data::to_pdb(p, header);
  std::istringstream lines(pdb);
  std::vector<std::string> remarks;
  for (std::string line; std::getline(lines, line);) {
    CHECK(line.size() <= 80);
    if (line.rfind("REMARK 250 ", 0) == 0) remarks.push_back(line.substr(11, line.find_last_not_of(' ') - 10));
  }
  const std::vector<std::string> expected = {
      "WARNING: random weights, not a prediction (kfold predict",  // wrapped at a space before column 80
      "--random-weights: a demo of the pipeline)",
      "first line",
      "second line after a tab",
      long_word.substr(0, 69),
      long_word.substr(69)};
  CHECK(remarks == expected);
  // The mmCIF has the same lines as comments; a newline inside a remark must not start a data line.
  const std::string cif = kfold::data::to_mmcif(p, header);
  CHECK(cif.find("# first line\n# second line after a tab\n") != std::string::npos);
  // ... and as data (_database_PDB_remark, as the PDB's REMARK 250), which readers keep.
  CHECK(cif.find("250 'first line'\n250 'second line after a tab'\n") != std::string::npos);
  kfold::test::ScratchDir dir("structure_io_remarks");
  kfold::data::write_file_atomic(dir / "x.cif", cif);
  CHECK(kfold::data::read_structure(dir / "x.cif").n_res() == p.n_res());
}

TEST_CASE("structure_io: PDB header text is ASCII on whole lines, a coordinate of 9999.999 fits") {
  // kfold relax puts the input's file name in the title: gemmi wrapped it at byte 70, inside a Cyrillic character
  // (Biopython and AlphaFold's from_pdb_string failed to decode the file), and a line break in it wrote a record of
  // its own (END: no atoms read back). Remarks were cut at byte 69 and padded by characters (lines of 114 bytes).
  Protein p = kfold::test::example_protein();
  kfold::data::StructureHeader header;
  std::string cyrillic;
  for (int k = 0; k < 9; ++k) cyrillic += "\u0431\u0435\u043b\u043e\u043a";  // "protein" in Russian, 9 times
  header.title = "relaxed " + cyrillic + ".pdb\nEND";
  header.remarks = {"r\u00e9sum\u00e9 "};
  for (int k = 0; k < 40; ++k) header.remarks[0] += "\u00e9";
  p.atom_positions[0] = 9999.999f;  // %8.3f: "9999.999", 8 columns
  const std::string pdb = kfold::data::to_pdb(p, header);
  std::istringstream lines(pdb);
  int64_t ends = 0;
  for (std::string line; std::getline(lines, line);) {
    CAPTURE(line);
    CHECK(line.size() <= 80);
    CHECK(std::all_of(line.begin(), line.end(), [](char c) { return c >= 0x20 && c < 0x7f; }));
    ends += line.rfind("END", 0) == 0 && line.rfind("ENDMDL", 0) != 0;
  }
  CHECK(ends == 1);
  CHECK(pdb.find("TITLE     RELAXED " + std::string(45, '?') + ".PDB END") != std::string::npos);  // (gemmi's capitals)
  CHECK(pdb.find("REMARK 250 r?sum? ") != std::string::npos);
  kfold::test::ScratchDir dir("structure_io_ascii_header");
  kfold::data::write_file_atomic(dir / "x.pdb", pdb);
  const Protein q = kfold::data::read_structure(dir / "x.pdb");
  CHECK(q.n_res() == p.n_res());
  CHECK(q.atom_positions[0] == doctest::Approx(9999.999).epsilon(1e-7));
  p.atom_positions[0] = 9999.9996f;  // "10000.000": 9 columns
  CHECK_THROWS_WITH_AS(kfold::data::to_pdb(p, header), doctest::Contains("coordinate 10000.000"), kfold::InputError);
}

TEST_CASE("structure_io: more than 99999 atoms do not fit the PDB serial numbers (gemmi wrote hybrid-36)") {
  Protein p;
  const int64_t n = 2703;  // every atom37 slot present: 2,703 x 37 = 100,011 atoms, one TER
  for (int64_t i = 0; i < n; ++i) {
    p.aatype.push_back(0);
    p.residue_index.push_back(i + 1);
    p.chain_index.push_back(0);
    for (int64_t a = 0; a < 37; ++a) {
      p.atom_mask.push_back(1.0f);
      p.b_factors.push_back(50.0f);
      for (int64_t x = 0; x < 3; ++x) p.atom_positions.push_back(0.1f * static_cast<float>(i) + (x == 1 ? a : 0));
    }
  }
  CHECK_THROWS_WITH_AS(kfold::data::to_pdb(p, {}), doctest::Contains("100012 atoms and TER records"),
                       kfold::InputError);
  for (int64_t k = 0; k < 12 * 37; ++k) p.atom_mask[static_cast<size_t>(k)] = 0.0f;  // 99,567 atoms: fits
  const std::string pdb = kfold::data::to_pdb(p, {});
  CHECK(pdb.find("ATOM  99567") != std::string::npos);
  CHECK(pdb.find("TER   99568") != std::string::npos);
}

TEST_CASE("structure_io: inconsistent arrays are an InputError naming the field") {
  Protein p = kfold::test::example_protein();
  p.b_factors.pop_back();
  CHECK_THROWS_WITH_AS(kfold::data::to_pdb(p), doctest::Contains("Protein.b_factors"), kfold::InputError);
}

TEST_CASE("structure_io: reading garbage is an InputError") {
  kfold::test::ScratchDir dir("structure_io_bad");
  kfold::data::write_file_atomic(dir / "junk.pdb", "this is not a structure\n");
  CHECK_THROWS_WITH_AS(kfold::data::read_structure(dir / "junk.pdb"),
                       doctest::Contains("junk.pdb: no ATOM or HETATM records: not a PDB or mmCIF structure"),
                       kfold::InputError);
  // A query given where the structure belongs was "no protein residues found".
  kfold::data::write_file_atomic(dir / "query.fasta", "\n>query\nMKVLAAGIVG\n");
  CHECK_THROWS_WITH_AS(kfold::data::read_structure(dir / "query.fasta"),
                       doctest::Contains("query.fasta: a FASTA file, not a structure"), kfold::InputError);
  kfold::data::write_file_atomic(dir / "short.fasta", ">a\nMKV\n");  // under 9 bytes: gemmi's format "Unknown"
  CHECK_THROWS_WITH_AS(kfold::data::read_structure(dir / "short.fasta"),
                       doctest::Contains("short.fasta: a FASTA file, not a structure"), kfold::InputError);
  // Records in lower case are read (gemmi reads them; the check for records must not refuse them).
  std::string lower = kfold::data::to_pdb(kfold::test::example_protein());
  for (size_t at = lower.find("ATOM  "); at != std::string::npos; at = lower.find("ATOM  ", at))
    lower.replace(at, 4, "atom");
  kfold::data::write_file_atomic(dir / "lower.pdb", lower);
  CHECK(kfold::data::read_structure(dir / "lower.pdb").n_res() == kfold::test::example_protein().n_res());
}

TEST_CASE("structure_io: an mmCIF integer gemmi would read past its limit is an InputError naming its tag") {
  // gemmi 0.5 wraps such a number (undefined behaviour); the largest int and leading zeros still read.
  kfold::test::ScratchDir dir("structure_io_int_overflow");
  const std::string good = kfold::data::to_mmcif(kfold::test::example_protein());
  const auto with_first_seq_id = [&](const std::string& value) {  // in the first _atom_site row
    const size_t start = good.rfind("loop_", good.find("_atom_site.auth_seq_id"));
    std::istringstream in(good.substr(start));
    std::string line;
    std::getline(in, line);  // loop_
    size_t column = 0, tags = 0;
    for (; std::getline(in, line) && line.rfind("_atom_site.", 0) == 0; ++tags)
      if (line.rfind("_atom_site.auth_seq_id", 0) == 0) column = tags;
    std::istringstream row(line);  // the first row
    std::vector<std::string> words{std::istream_iterator<std::string>(row), {}};
    REQUIRE(words.size() == tags);
    words[column] = value;
    std::string edited = good;
    return edited.replace(good.find(line, start), line.size(), fmt::format("{}", fmt::join(words, " ")));
  };
  // Residue numbers: within ±(2^23 - 1), as gemmi orders them by number * 256 + insertion code in an int.
  kfold::data::write_file_atomic(dir / "ok.cif", with_first_seq_id("0008388607"));
  CHECK(kfold::data::read_structure(dir / "ok.cif").residue_index.front() == 8388607);
  // Zero, however written (residue 0 is common in real entries: a tag's last residue; a formal charge of 0).
  for (const std::string zero : {"0", "00", "-0"}) {
    kfold::data::write_file_atomic(dir / "zero.cif", with_first_seq_id(zero));
    CHECK_MESSAGE(kfold::data::read_structure(dir / "zero.cif").residue_index.front() == 0, zero);
  }
  // Columns gemmi keeps as text (an accession of digits) are not its integers; assembly generators are not
  // read at all (gemmi expanded "(1-99999999999)" without a bound or an overflow check).
  // Also when the category comes as a loop of another column first (gemmi's category lookup finds one).
  kfold::data::write_file_atomic(dir / "text.cif", good + "_struct_ref_seq.pdbx_db_accession 2147483648\n" +
                                                       "loop_\n_pdbx_struct_assembly_gen.dummy\nx\n" +
                                                       "_pdbx_struct_assembly_gen.assembly_id 1\n" +
                                                       "_pdbx_struct_assembly_gen.oper_expression '(1-99999999999)'\n" +
                                                       "_pdbx_struct_assembly_gen.asym_id_list A\n" +
                                                       "_pdbx_struct_assembly.id 1\n");
  CHECK(kfold::data::read_structure(dir / "text.cif").n_res() == kfold::test::example_protein().n_res());
  // _atom_site.pdbx_tls_group_id (gemmi's no_sign_atoi): the auth_seq_id column renamed, 99999999999 in it.
  std::string tls = with_first_seq_id("99999999999");
  tls.replace(tls.find("_atom_site.auth_seq_id"), 22, "_atom_site.pdbx_tls_group_id");
  kfold::data::write_file_atomic(dir / "tls.cif", tls);
  CHECK_THROWS_WITH_AS(kfold::data::read_structure(dir / "tls.cif"),
                       doctest::Contains("_atom_site.pdbx_tls_group_id = 99999999999"), kfold::InputError);
  for (const std::string value : {"8388608", "-8388608", "2147483648", "12345678901A"}) {
    CAPTURE(value);
    kfold::data::write_file_atomic(dir / "big.cif", with_first_seq_id(value));
    const std::string expected = fmt::format("big.cif: _atom_site.auth_seq_id = {} (in the loop at line", value);
    CHECK_THROWS_WITH_AS(kfold::data::read_structure(dir / "big.cif"), doctest::Contains(expected.c_str()),
                         kfold::InputError);
  }
  // Not a number: gemmi's "not an integer: x" named neither column nor line. A quoted number is one; '?' is none.
  kfold::data::write_file_atomic(dir / "word.cif", with_first_seq_id("x"));
  CHECK_THROWS_WITH_AS(
      kfold::data::read_structure(dir / "word.cif"),
      doctest::Contains("word.cif: _atom_site.auth_seq_id = x (in the loop at line 70) is not an integer"),
      kfold::InputError);
  kfold::data::write_file_atomic(dir / "quoted.cif", with_first_seq_id("'1'"));
  CHECK(kfold::data::read_structure(dir / "quoted.cif").residue_index.front() == 1);
}

TEST_CASE("structure_io: coordinates that are not numbers or beyond 1e6 A, atoms given twice, hydrogens only") {
  kfold::test::ScratchDir dir("structure_io_bad_atoms");
  const std::string good = kfold::data::to_pdb(kfold::test::example_protein());
  const size_t first = good.find("\nATOM") + 1, end = good.find('\n', first);
  const std::string atom = good.substr(first, end - first);  // the first ATOM record
  const auto with_first_atom = [&](const std::string& record) {
    std::string text = good;
    return text.replace(first, atom.size(), record);
  };
  const auto error = [&](const std::string& text) {
    kfold::data::write_file_atomic(dir / "bad.pdb", text);
    try {
      kfold::data::read_structure(dir / "bad.pdb");
    } catch (const kfold::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // gemmi reads a blank or garbled coordinate field as 0.
  const int line =
      static_cast<int>(std::count(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(first), '\n')) + 1;
  CHECK(error(with_first_atom(atom.substr(0, 30) + "  abc.de" + atom.substr(38))) ==
        fmt::format("{}/bad.pdb:{}: the x coordinate of this ATOM record (columns 31-38) is 'abc.de', not a number; "
                    "the PDB format has x, y, z in columns 31-54: fix the record",
                    dir.path().string(), line));
  CHECK(error(with_first_atom(atom.substr(0, 40)))
            .find("the y coordinate of this ATOM record (columns 39-46) is blank "
                  "or missing") != std::string::npos);
  // Also in a record of 120 columns or more (gemmi reads its first 120 and skips the rest of the line).
  CHECK(error(with_first_atom(atom.substr(0, 40) + std::string(100, ' ')))
            .find("the y coordinate of this ATOM record (columns 39-46) is blank or missing") != std::string::npos);
  // After END gemmi reads nothing: such a record is not checked either.
  CHECK(error(good.substr(0, good.rfind("END")) + "END\n" + atom.substr(0, 40) + "\n") == "no error");
  // A finite coordinate past float's range became inf, and everything computed from it NaN.
  CHECK(error(with_first_atom(atom.substr(0, 30) + "   1e300" + atom.substr(38)))
            .find("has a coordinate that is not a number or beyond ±1e6 Å") != std::string::npos);
  // A B-factor that is not a number went on into kfold relax's output (NaN in the mmCIF, exit 0).
  CHECK(error(with_first_atom(atom.substr(0, 60) + "   nan" + atom.substr(66)))
            .find("has a B-factor that is not a number (nan); write a number there") != std::string::npos);
  // The same atom twice (its residue's records again at the chain's end): one was dropped without a word.
  CHECK(error(std::string(good).insert(good.find("\nTER") + 1, atom + "\n"))
            .find("is given twice; remove one, or label them as alternative locations") != std::string::npos);
  // A segment id on one atom of a residue: gemmi splits the residue in two, which the message now says.
  std::string segment = atom.substr(0, 72);
  segment.resize(72, ' ');
  CHECK(error(with_first_atom(segment + "SEGA")).find("their segment ids differ ('SEGA' and ''") != std::string::npos);
  // Hydrogens only: residues without a single atom read.
  std::string hydrogens;
  std::istringstream lines(good);
  for (std::string l; std::getline(lines, l);)
    if (l.rfind("ATOM", 0) == 0) hydrogens += l.substr(0, 12) + " H  " + l.substr(16, 60) + " H\n";
  CHECK(error(hydrogens).find("protein residues but none of their heavy atoms") != std::string::npos);
  // mmCIF: a column gemmi needs is missing (it read no atom: "no models"), or no data_ line (read as PDB).
  const std::string cif = kfold::data::to_mmcif(kfold::test::example_protein());
  std::string no_x = cif;
  no_x.replace(no_x.find("_atom_site.Cartn_x"), 18, "_atom_site.Cartn_q");
  CHECK(error(no_x).find("lacks _atom_site.Cartn_x, which the structure reader needs; add the column") !=
        std::string::npos);
  std::string no_data = cif.substr(cif.find("data_"));
  no_data = no_data.substr(no_data.find('\n') + 1);
  CHECK(error(no_data).find("mmCIF without a 'data_' line") != std::string::npos);
  // gemmi takes -999 for "no residue number": such a residue is not written.
  Protein p = kfold::test::example_protein();
  p.residue_index.front() = -999;
  CHECK_THROWS_WITH_AS(kfold::data::to_mmcif(p), doctest::Contains("residue number -999 (residue 1) cannot be written"),
                       kfold::InputError);
  // Nor a coordinate that is not finite (no reader takes "nan"; kfold read such a file back as an error).
  p = kfold::test::example_protein();
  p.atom_positions[3] = std::numeric_limits<float>::quiet_NaN();  // residue 1's CA, x
  for (const auto write : {&kfold::data::to_mmcif, &kfold::data::to_pdb})
    CHECK_THROWS_WITH_AS(write(p, {}), doctest::Contains("atom CA of residue 1 has a coordinate that is not finite"),
                         kfold::RuntimeError);
}

TEST_CASE("structure_io: altlocs without A, selenomethionine as HETATM, waters and empty files") {
  // GLY 2 has only altlocs B and C (the first is kept), MSE 3 is HETATM (read as MET, SE as SD), HOH skipped.
  kfold::test::ScratchDir dir("structure_io_altloc");
  kfold::data::write_file_atomic(dir / "alt.pdb",
                                 R"(ATOM      1  N   ALA A   1       0.000   0.000   0.000  1.00 20.00           N
ATOM      2  CA  ALA A   1       1.460   0.000   0.000  1.00 20.00           C
ATOM      3  C   ALA A   1       2.000   1.400   0.000  1.00 20.00           C
ATOM      4  O   ALA A   1       1.300   2.400   0.000  1.00 20.00           O
ATOM      5  CB  ALA A   1       2.000  -0.800   1.200  1.00 20.00           C
ATOM      5  H   ALA A   1      -0.500   0.800   0.000  1.00 20.00           H
ATOM      6  N  BGLY A   2       3.300   1.500   0.000  1.00 20.00           N
ATOM      7  CA BGLY A   2       4.000   2.700   0.000  1.00 20.00           C
ATOM      8  C  BGLY A   2       5.500   2.500   0.000  1.00 20.00           C
ATOM      9  O  BGLY A   2       6.000   1.400   0.000  1.00 20.00           O
ATOM     10  N  CGLY A   2       3.600   1.500   0.000  1.00 20.00           N
ATOM     11  CA CGLY A   2       4.300   2.700   0.000  1.00 20.00           C
ATOM     12  C  CGLY A   2       5.800   2.500   0.000  1.00 20.00           C
ATOM     13  O  CGLY A   2       6.300   1.400   0.000  1.00 20.00           O
HETATM   14  N   MSE A   3       6.200   3.600   0.000  1.00 20.00           N
HETATM   15  CA  MSE A   3       7.600   3.600   0.000  1.00 20.00           C
HETATM   16  C   MSE A   3       8.100   5.000   0.000  1.00 20.00           C
HETATM   17  O   MSE A   3       7.400   6.000   0.000  1.00 20.00           O
HETATM   18  CB  MSE A   3       8.100   2.800   1.200  1.00 20.00           C
HETATM   19  CG  MSE A   3       9.600   2.800   1.300  1.00 20.00           C
HETATM   20 SE   MSE A   3      10.300   1.800   2.900  1.00 20.00          SE
HETATM   21  CE  MSE A   3      12.000   2.200   2.400  1.00 20.00           C
HETATM   22  O   HOH A 101      20.000  20.000  20.000  1.00 20.00           O
END
)");
  kfold::test::CapturedWarnings warnings;
  const Protein p = kfold::data::read_structure(dir / "alt.pdb");
  namespace rc = kfold::data::rc;
  REQUIRE(p.n_res() == 3);
  // Hydrogens are not read, as waters are, and said so (they vanished without a word).
  CHECK(std::any_of(warnings.lines.begin(), warnings.lines.end(), [](const std::string& line) {
    return line.find("alt.pdb: 1 hydrogen atoms are not read") != std::string::npos;
  }));
  CHECK(p.aatype == std::vector<int64_t>{rc::find_resname("ALA"), rc::find_resname("GLY"), rc::find_resname("MET")});
  const auto atom = [&](int64_t residue, const char* name) {
    return static_cast<size_t>(residue * rc::atom_type_num + rc::find_atom_type(name));
  };
  CHECK(p.atom_mask[atom(1, "CA")] == 1.0f);
  CHECK(p.atom_positions[3 * atom(1, "CA")] == doctest::Approx(4.0));  // altloc B, the first
  CHECK(p.atom_mask[atom(2, "SD")] == 1.0f);
  CHECK(p.atom_positions[3 * atom(2, "SD")] == doctest::Approx(10.3));
  float atoms = 0;
  for (const float m : p.atom_mask) atoms += m;
  CHECK(atoms == 17.0f);
  kfold::data::write_file_atomic(dir / "empty.cif", "");
  CHECK_THROWS_WITH_AS(kfold::data::read_structure(dir / "empty.cif"),
                       doctest::Contains("empty.cif: the file is empty"), kfold::InputError);
}

TEST_CASE("structure_io: the format a file name announces") {
  using kfold::data::StructureFormat;
  CHECK(kfold::data::structure_format_of("out/ranked_0.pdb") == StructureFormat::pdb);
  CHECK(kfold::data::structure_format_of("pdb1abc.ent.gz") == StructureFormat::pdb);
  CHECK(kfold::data::structure_format_of("4zhl.cif.gz") == StructureFormat::mmcif);
  CHECK(kfold::data::structure_format_of("model.mmcif") == StructureFormat::mmcif);
  CHECK_FALSE(kfold::data::structure_format_of("features.h5").has_value());
  CHECK_FALSE(kfold::data::structure_format_of("pdb").has_value());
  CHECK_FALSE(kfold::data::structure_format_of("structure.pdb.txt").has_value());
}

TEST_CASE("structure_io: an amino acid written as HETATM inside a chain is read, a free one is a ligand") {
  // 1hpv chain A with residue 4 (THR) as HETATM, and a copy of residue 1 (PRO) 60 A away as residue 500.
  const std::string original =
      kfold::data::read_text_file(std::filesystem::path(KFOLD_SOURCE_DIR) / "data/examples/1hpv_chain_a.pdb");
  std::istringstream lines(original);
  std::string text, free_proline;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("ATOM")) continue;
    const int number = std::stoi(line.substr(22, 4));
    if (number == 4) line.replace(0, 6, "HETATM");
    if (number == 1) {
      std::string copy = "HETATM" + line.substr(6);
      copy.replace(22, 4, " 500");
      copy.replace(30, 8, fmt::format("{:8.3f}", std::stod(line.substr(30, 8)) + 60.0));
      free_proline += copy + "\n";
    }
    text += line + "\n";
  }
  const Protein before = kfold::data::parse_structure(original, "1hpv_chain_a.pdb");
  const Protein het = kfold::data::parse_structure(text + free_proline + "END\n", "het.pdb");
  CHECK(het.aatype == before.aatype);  // THR 4 kept, the free proline not read
  CHECK(het.residue_index == before.residue_index);
}

TEST_CASE("structure_io: short LINK, SSBOND and CISPEP records are read whole, and a NUL byte is an InputError") {
  // gemmi 0.5.7 read a LINK/SSBOND record of 74-78 characters past its end (found by fuzzing; ASan builds
  // of this test see it: scripts/sanitize). kfold pads those records to 80 columns; the structure is the same.
  const std::string original =
      kfold::data::read_text_file(std::filesystem::path(KFOLD_SOURCE_DIR) / "data/examples/1hpv_chain_a.pdb");
  std::string link = "LINK         N   PRO A   1                 C   GLY A   6     1555   1555";
  link.resize(73, ' ');
  std::string ssbond = "SSBOND   1 CYS A   67    CYS A   95                          1555   1555";
  ssbond.resize(74, ' ');
  const std::string records = link + "\n" + ssbond + "\r\ncispep   1 PRO A   1    GLN A   2          0        -5.00\n";
  const Protein before = kfold::data::parse_structure(original, "1hpv_chain_a.pdb");
  // gemmi cuts a line after 120 bytes and skips the rest up to a newline or a byte >= 0x80, after which its next
  // record starts: a LINK there is padded too.
  const std::string long_line = "REMARK 999 " + std::string(109, 'x') + "\xC3" + link + "\n";
  std::string last_line = link;
  last_line.resize(75, ' ');  // the file's last line, no newline
  for (const std::string& text : {records + original, original.substr(0, original.rfind("END")) + link,
                                  long_line + original, original.substr(0, original.rfind("END")) + last_line}) {
    const Protein with = kfold::data::parse_structure(text, "link.pdb");
    CHECK(with.aatype == before.aatype);
    CHECK(with.atom_positions == before.atom_positions);
  }
  std::string nul = original;
  nul[nul.find("\nATOM") + 31] = '\0';  // in the first ATOM record, line 43
  CHECK_THROWS_WITH_AS(kfold::data::parse_structure(nul, "nul.pdb"),
                       doctest::Contains("nul.pdb: line 43 has a NUL byte: not a text PDB file"), kfold::InputError);
}

TEST_CASE("structure_io: B-factors keep two decimals (pLDDT 87.46 stays 87.46, in PDB and mmCIF)") {
  Protein p = kfold::test::example_protein();
  for (size_t k = 0; k < p.b_factors.size(); ++k)
    if (p.atom_mask[k] >= 0.5f) p.b_factors[k] = 87.46f;
  kfold::test::ScratchDir dir("structure_io_bfactor");
  kfold::data::write_pdb(dir / "x.pdb", p, {});
  kfold::data::write_mmcif(dir / "x.cif", p, {});
  // PDB columns 61-66 (%6.2f) of every ATOM record.
  std::istringstream lines(kfold::data::read_text_file(dir / "x.pdb"));
  int64_t atoms = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("ATOM", 0) == 0) {
      ++atoms;
      CHECK(line.substr(60, 6) == " 87.46");
    }
  CHECK(atoms > 0);
  for (const char* name : {"x.pdb", "x.cif"}) {
    CAPTURE(name);
    const Protein q = kfold::data::read_structure(dir / name);
    for (size_t k = 0; k < q.b_factors.size(); ++k)
      if (q.atom_mask[k] >= 0.5f) CHECK(q.b_factors[k] == doctest::Approx(87.46).epsilon(1e-6));
  }
}

TEST_CASE(
    "structure_io: a TER inside a chain ends a molecule, written back with a TER and a label_asym_id of its own") {
  // Amber's and OpenMM's complexes: one chain name, numbers running on, TER between the molecules. 1hpv chain A
  // (its OXT left out) and a copy of residues 1-3 numbered 100-102, 40 A away.
  const std::string original =
      kfold::data::read_text_file(std::filesystem::path(KFOLD_SOURCE_DIR) / "data/examples/1hpv_chain_a.pdb");
  std::istringstream lines(original);
  std::string first, second;
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("ATOM") || line.substr(12, 4) == " OXT") continue;
    first += line + "\n";
    if (const int number = std::stoi(line.substr(22, 4)); number <= 3) {
      std::string copy = line;
      copy.replace(22, 4, fmt::format("{:4d}", number + 99));
      copy.replace(30, 8, fmt::format("{:8.3f}", std::stod(line.substr(30, 8)) + 40.0));
      second += copy + "\n";
    }
  }
  const Protein p = kfold::data::parse_structure(first + "TER\n" + second + "END\n", "amber.pdb");
  REQUIRE(p.n_res() == 102);
  std::vector<uint8_t> expected(102, 0);
  expected[98] = 1;  // PHE 99, before the TER
  CHECK(p.ends_molecule == expected);
  CHECK(p.chain_names == std::vector<std::string>{"A", "A"});  // two molecules of one chain name
  const std::string pdb = kfold::data::to_pdb(p);
  CHECK(pdb.find("TER") < pdb.find(" PRO A 100"));
  CHECK(kfold::data::parse_structure(pdb, "again.pdb").ends_molecule == expected);
  const std::string cif = kfold::data::to_mmcif(p);
  CHECK(cif.find(" A2 ") != std::string::npos);  // label_asym_id of the second molecule, auth_asym_id A
  CHECK(kfold::data::parse_structure(cif, "again.cif").ends_molecule == expected);
  // Without the TER: one molecule (the numbers run on; kfold relax then goes by the atoms' distance).
  const Protein joined = kfold::data::parse_structure(first + second + "END\n", "joined.pdb");
  CHECK(std::count(joined.ends_molecule.begin(), joined.ends_molecule.end(), 1) == 0);
  // Three molecules (gemmi's default reader saw the first TER of a chain only), and molecules numbered from 1
  // each, as GROMACS writes a homodimer (they were joined: "atom N of residue PRO A1 is given twice").
  std::string third, restarted;
  std::istringstream copy(second);
  for (std::string line; std::getline(copy, line);) {
    third += line.substr(0, 22) + fmt::format("{:4d}", std::stoi(line.substr(22, 4)) + 3) + line.substr(26) + "\n";
    restarted += line.substr(0, 22) + fmt::format("{:4d}", std::stoi(line.substr(22, 4)) - 99) + line.substr(26) + "\n";
  }
  const Protein three = kfold::data::parse_structure(first + "TER\n" + second + "TER\n" + third + "END\n", "3.pdb");
  REQUIRE(three.n_res() == 105);
  expected.assign(105, 0);
  expected[98] = expected[101] = 1;
  CHECK(three.ends_molecule == expected);
  CHECK(kfold::data::parse_structure(kfold::data::to_pdb(three), "3.pdb").ends_molecule == expected);
  CHECK(kfold::data::parse_structure(kfold::data::to_mmcif(three), "3.cif").ends_molecule == expected);
  const Protein dimer = kfold::data::parse_structure(first + "TER\n" + restarted + "END\n", "dimer.pdb");
  REQUIRE(dimer.n_res() == 102);
  CHECK(dimer.residue_index[99] == 1);
  CHECK(dimer.ends_molecule[98] == 1);
  // Its numbers repeat: the second molecule is chain B (an mmCIF reader joined A1 and A1 again).
  CHECK(dimer.chain_names == std::vector<std::string>{"A", "B"});
  CHECK(kfold::data::parse_structure(kfold::data::to_mmcif(dimer), "dimer.cif").chain_names ==
        std::vector<std::string>{"A", "B"});
  // Molecules without a chain name: A-Z, then a-z and 0-9 (the 27th was written without a name).
  std::string blank;
  for (int m = 0; m < 30; ++m) {
    std::istringstream molecule(second);
    for (std::string line; std::getline(molecule, line);) blank += line.substr(0, 21) + " " + line.substr(22) + "\n";
    blank += "TER\n";
  }
  const Protein many = kfold::data::parse_structure(blank + "END\n", "many.pdb");
  REQUIRE(many.chain_names.size() == 30);
  CHECK(many.chain_names[25] == "Z");
  CHECK(many.chain_names[29] == "d");
  CHECK(kfold::data::parse_structure(kfold::data::to_mmcif(many), "many.cif").n_res() == 90);
}

TEST_CASE("structure_io: an mmCIF's label_asym_id is read and written back") {
  // Many PDB entries name the protein's entity instances C, D under auth_asym_ids A, B (ligands and waters
  // first): kfold relax of such a file wrote A, B.
  Protein p = kfold::test::example_protein();  // chains A (residues 1-8) and B
  p.label_asym_ids.clear();
  for (const int64_t c : p.chain_index) p.label_asym_ids.push_back(c == 0 ? "C" : "D");
  const std::string cif = kfold::data::to_mmcif(p);
  const Protein again = kfold::data::parse_structure(cif, "cd.cif");
  CHECK(again.label_asym_ids == p.label_asym_ids);
  CHECK(again.chain_names == std::vector<std::string>{"A", "B"});  // auth_asym_id unchanged
  CHECK(kfold::data::to_mmcif(again) == cif);
  // Two molecules in chain A, label_asym_ids C and E (another entity instance ends a molecule).
  for (size_t i = 4; i < 8; ++i) p.label_asym_ids[i] = "E";
  const Protein split = kfold::data::parse_structure(kfold::data::to_mmcif(p), "ced.cif");
  CHECK(split.label_asym_ids == p.label_asym_ids);
  CHECK(split.ends_molecule[3] == 1);
  // One name given to two chains: made unique (D, D2), as label_asym_ids must be.
  for (std::string& id : p.label_asym_ids) id = "D";
  const Protein same = kfold::data::parse_structure(kfold::data::to_mmcif(p), "dd.cif");
  CHECK(same.label_asym_ids.front() == "D");
  CHECK(same.label_asym_ids.back() == "D2");
  // A PDB file has none: named after the chains, as before.
  CHECK(kfold::data::parse_structure(kfold::data::to_pdb(p), "c.pdb").label_asym_ids.empty());
  // Nor an mmCIF whose label_asym_id is '.' (or '?') anywhere: gemmi names such chains "Apoly", which were
  // written back.
  std::istringstream written(kfold::data::to_mmcif(kfold::test::example_protein()));
  std::string dotted;
  for (std::string line; std::getline(written, line);) {
    if (line.starts_with("ATOM ")) {  // label_asym_id is the 7th field
      std::istringstream fields(line);
      std::vector<std::string> words{std::istream_iterator<std::string>(fields), std::istream_iterator<std::string>()};
      REQUIRE(words.size() == 21);
      words[6] = ".";
      line = fmt::format("{}", fmt::join(words, " "));
    }
    dotted += line + "\n";
  }
  const Protein unlabelled = kfold::data::parse_structure(dotted, "dotted.cif");
  CHECK(unlabelled.n_res() == kfold::test::example_protein().n_res());
  CHECK(unlabelled.label_asym_ids.empty());
  const std::string rewritten = kfold::data::to_mmcif(unlabelled);
  CHECK(rewritten.find("Apoly") == std::string::npos);
  CHECK(rewritten == kfold::data::to_mmcif(kfold::test::example_protein()));
}

TEST_CASE("structure_io: a modified residue in a chain is left out with a warning, leaving a numbering gap") {
  // SEP 2 (phosphoserine, HETATM, peptide-bonded to both neighbours) is not one of the 20: not read, said so.
  kfold::test::ScratchDir dir("structure_io_modified");
  kfold::data::write_file_atomic(dir / "sep.pdb",
                                 R"(ATOM      1  N   ALA A   1       0.000   0.000   0.000  1.00 20.00           N
ATOM      2  CA  ALA A   1       1.460   0.000   0.000  1.00 20.00           C
ATOM      3  C   ALA A   1       2.000   1.400   0.000  1.00 20.00           C
ATOM      4  O   ALA A   1       1.300   2.400   0.000  1.00 20.00           O
ATOM      5  CB  ALA A   1       2.000  -0.800   1.200  1.00 20.00           C
HETATM    6  N   SEP A   2       3.300   1.500   0.000  1.00 20.00           N
HETATM    7  CA  SEP A   2       4.000   2.700   0.000  1.00 20.00           C
HETATM    8  C   SEP A   2       5.500   2.500   0.000  1.00 20.00           C
HETATM    9  O   SEP A   2       6.000   1.400   0.000  1.00 20.00           O
HETATM   10  CB  SEP A   2       3.500   3.900   0.500  1.00 20.00           C
HETATM   11  OG  SEP A   2       4.000   5.000   0.900  1.00 20.00           O
HETATM   12  P   SEP A   2       3.500   6.300   1.500  1.00 20.00           P
ATOM     13  N   ALA A   3       6.200   3.600   0.000  1.00 20.00           N
ATOM     14  CA  ALA A   3       7.600   3.600   0.000  1.00 20.00           C
ATOM     15  C   ALA A   3       8.100   5.000   0.000  1.00 20.00           C
ATOM     16  O   ALA A   3       7.400   6.000   0.000  1.00 20.00           O
ATOM     17  CB  ALA A   3       8.100   2.800   1.200  1.00 20.00           C
END
)");
  kfold::test::CapturedWarnings warnings;
  const Protein p = kfold::data::read_structure(dir / "sep.pdb");
  REQUIRE(p.n_res() == 2);
  CHECK(p.residue_index == std::vector<int64_t>{1, 3});
  CHECK(std::any_of(warnings.lines.begin(), warnings.lines.end(), [](const std::string& line) {
    return line.find("sep.pdb: residues in the chains that are not one of the 20 amino acids are not read") !=
               std::string::npos &&
           line.find("SEP") != std::string::npos;
  }));
}

TEST_CASE("structure_io: PDB output names at most 62 chains, mmCIF any number") {
  using kfold::data::chain_name;
  CHECK(chain_name(0) == "A");
  CHECK(chain_name(26) == "a");
  CHECK(chain_name(61) == "9");
  CHECK(chain_name(62) == "AA");  // then two characters, the first fastest: no name twice
  CHECK(chain_name(63) == "BA");
  CHECK(chain_name(62 + 62) == "AB");
  CHECK(chain_name(62 + 62 * 62) == "AAA");
  Protein p = kfold::test::example_protein();
  // Each residue a chain of its own, the last the 63rd (a complex of 63 chains predicted as one input ran every
  // model, then failed writing the .cif, exit 2).
  const auto n = static_cast<int64_t>(p.chain_index.size());
  for (int64_t i = 0; i < n; ++i) p.chain_index[static_cast<size_t>(i)] = 62 - (n - 1 - i);
  CHECK_THROWS_WITH_AS(
      kfold::data::to_pdb(p, {}),
      doctest::Contains("63 chains: the PDB format's chain column (22) has one-character names for 62"),
      kfold::InputError);
  const Protein again = kfold::data::parse_structure(kfold::data::to_mmcif(p, {}), "many.cif");
  CHECK(again.chain_names.back() == "AA");
  CHECK(again.chain_names.size() == static_cast<size_t>(n));
}
