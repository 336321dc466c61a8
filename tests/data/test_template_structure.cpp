// The mmCIF reader of templates (data/template_structure.hpp) on real PDB entries
// (tests/fixtures/templates/mmcif/, see its README) and on damaged files. Its output against AlphaFold's
// featurizer: tests/fold/test_template_features.cpp.
#include <doctest/doctest.h>

#include <clocale>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "data/error.hpp"
#include "data/residue_constants.hpp"
#include "data/template_structure.hpp"
#include "data/text_input.hpp"
#include "test_support.hpp"

namespace rc = kfold::data::rc;

namespace {
const std::filesystem::path kMmcif = kfold::test::source_dir() / "tests/fixtures/templates/mmcif";
}  // namespace

TEST_CASE("Template structure: SEQRES, missing residues, selenomethionine and release dates from mmCIF") {
  const auto s2ofg = kfold::data::read_template_structure(kMmcif / "2ofg.cif.gz");
  REQUIRE(s2ofg.chains.size() == 1);
  const auto& x = s2ofg.chains.front();
  CHECK(x.id == "X");
  CHECK(x.n_res() == 111);
  CHECK(x.sequence.substr(0, 10) == "MTQSSPLKTQ");
  int missing = 0;
  for (int64_t r = 0; r < x.n_res(); ++r) missing += x.atom_mask[r * rc::atom_type_num + 1] == 0.0f;  // CA
  CHECK(missing == 5);
  // No _pdbx_audit_revision_history (a file of the older dictionary): its release is revision 1 of
  // _database_PDB_rev (it was read as undated, and kept under any --max-template-date).
  CHECK(s2ofg.release_date == "2007-12-18");

  const auto s1a8o = kfold::data::read_template_structure(kMmcif / "1a8o.cif.gz");
  const auto& a = *s1a8o.chain("A");
  CHECK(a.sequence.substr(0, 3) == "MDI");  // MSE → M
  const int64_t sd = rc::find_atom_type("SD");
  CHECK(a.atom_mask[sd] == 1.0f);  // selenium of MSE 1 stored as SD

  const auto s4zhl = kfold::data::read_template_structure(kMmcif / "4zhl.cif.gz");
  REQUIRE(s4zhl.chains.size() == 2);
  CHECK(s4zhl.chain("P")->sequence == "CPAYSRYIGC");
  CHECK(s4zhl.chain("Z") == nullptr);

  CHECK(kfold::data::read_template_structure(kMmcif / "1a7g.cif.gz").release_date == "1999-04-27");
}

TEST_CASE("Template structure: unreadable files are InputErrors naming the file") {
  kfold::test::ScratchDir dir("template_structure_errors");
  std::ofstream(dir / "bad.cif") << "data_x\nloop_\n_atom_site.id\n";
  CHECK_THROWS_WITH_AS(kfold::data::read_template_structure(dir / "bad.cif"), doctest::Contains("bad.cif"),
                       kfold::InputError);
  std::ofstream(dir / "nothing.cif") << "data_x\n_entry.id X\n";
  CHECK_THROWS_WITH_AS(kfold::data::read_template_structure(dir / "nothing.cif"),
                       doctest::Contains("no protein chains"), kfold::InputError);
  CHECK_THROWS_AS(kfold::data::read_template_structure(dir / "absent.cif"), kfold::InputError);
}

TEST_CASE("Template structure: arginine NH1 is the nitrogen nearer CD, as AlphaFold fixes it") {
  const auto structure = kfold::data::read_template_structure(kMmcif / "4zhl.cif.gz");
  const auto cd = rc::find_atom_type("CD"), nh1 = rc::find_atom_type("NH1"), nh2 = rc::find_atom_type("NH2");
  int arginines = 0;
  for (const auto& chain : structure.chains)
    for (int64_t r = 0; r < chain.n_res(); ++r) {
      const auto at = [&](int64_t atom) { return r * rc::atom_type_num + atom; };
      if (chain.sequence[r] != 'R' || chain.atom_mask[at(nh2)] == 0.0f) continue;
      const auto distance = [&](int64_t a) {
        double sum = 0;
        for (int d = 0; d < 3; ++d) {
          const double delta = chain.atom_positions[3 * at(a) + d] - chain.atom_positions[3 * at(cd) + d];
          sum += delta * delta;
        }
        return std::sqrt(sum);
      };
      CHECK(distance(nh1) <= distance(nh2));
      ++arginines;
    }
  CHECK(arginines > 5);
}

namespace {

// A hand-made entry: a 3-residue chain (MSE; a GLY with two alternative locations of CA and of N and a
// hydrogen; an unobserved ALA), a water, and a second model that must be ignored.
constexpr const char* kSmallEntry = R"(data_TEST
_pdbx_audit_revision_history.revision_date 2001-02-03
loop_
_entity_poly_seq.entity_id
_entity_poly_seq.num
_entity_poly_seq.mon_id
1 1 MSE
1 2 GLY
1 3 ALA
loop_
_chem_comp.id
_chem_comp.type
MSE 'L-peptide linking'
GLY 'peptide linking'
ALA 'L-peptide linking'
HOH non-polymer
loop_
_struct_asym.id
_struct_asym.entity_id
A 1
B 2
loop_
_atom_site.group_PDB
_atom_site.id
_atom_site.label_atom_id
_atom_site.label_alt_id
_atom_site.label_comp_id
_atom_site.label_asym_id
_atom_site.label_seq_id
_atom_site.auth_asym_id
_atom_site.Cartn_x
_atom_site.Cartn_y
_atom_site.Cartn_z
_atom_site.occupancy
_atom_site.pdbx_PDB_model_num
HETATM 1 CA . MSE A 1 Q 1.0 2.0 3.0 1.0 1
HETATM 2 SE . MSE A 1 Q 4.0 5.0 6.0 1.0 1
ATOM 3 CA A GLY A 2 Q 7.0 8.0 9.0 0.4 1
ATOM 4 CA B GLY A 2 Q 7.5 8.5 9.5 0.6 1
ATOM 5 N A GLY A 2 Q 1.5 1.5 1.5 0.5 1
ATOM 6 N B GLY A 2 Q 2.5 2.5 2.5 0.5 1
ATOM 7 H . GLY A 2 Q 0.0 0.0 0.0 1.0 1
HETATM 8 O . HOH B . Q 9.0 9.0 9.0 1.0 1
HETATM 9 CA . MSE A 1 Q 99.0 99.0 99.0 1.0 2
)";

}  // namespace

TEST_CASE("Template structure: alternative locations, selenium, hydrogens, waters and later models") {
  kfold::test::ScratchDir dir("template_structure_small");
  std::ofstream(dir / "test.cif") << kSmallEntry;
  const auto s = kfold::data::read_template_structure(dir / "test.cif");
  CHECK(s.release_date == "2001-02-03");
  REQUIRE(s.chains.size() == 1);
  const auto& q = s.chains.front();
  CHECK(q.id == "Q");
  CHECK(q.sequence == "MGA");
  const auto pos = [&](int64_t r, const char* atom, int d) {
    return q.atom_positions[3 * (r * rc::atom_type_num + rc::find_atom_type(atom)) + d];
  };
  const auto mask = [&](int64_t r, const char* atom) {
    return q.atom_mask[r * rc::atom_type_num + rc::find_atom_type(atom)];
  };
  CHECK(pos(0, "CA", 0) == 1.0f);  // model 1, not model 2's 99
  CHECK(mask(0, "SD") == 1.0f);
  CHECK(pos(0, "SD", 2) == 6.0f);  // selenium stored as SD
  CHECK(pos(1, "CA", 0) == 7.5f);  // the higher occupancy (B, 0.6)
  CHECK(pos(1, "N", 0) == 1.5f);   // equal occupancies: the first (A)
  float observed = 0;
  for (int64_t a = 0; a < rc::atom_type_num; ++a) observed += q.atom_mask[2 * rc::atom_type_num + a];
  CHECK(observed == 0.0f);  // ALA 3: in SEQRES, no atoms

  // An occupancy that is not a number is named (it was read as NaN, and its alternative locations chosen
  // by it silently); '?' and '.' (unknown) count as 1, as a missing column does.
  std::string text = kSmallEntry;
  text.replace(text.find("Q 7.0 8.0 9.0 0.4"), 17, "Q 7.0 8.0 9.0 0,4");
  std::ofstream(dir / "comma.cif") << text;
  CHECK_THROWS_WITH_AS(kfold::data::read_template_structure(dir / "comma.cif"),
                       doctest::Contains("comma.cif: _atom_site.occupancy '0,4' is not a number"), kfold::InputError);
  // A coordinate past float's range was read as inf (in features.h5's template_all_atom_positions).
  std::string far = kSmallEntry;
  far.replace(far.find("Q 7.0 8.0 9.0 0.4"), 17, "Q 7.0 1e300 9.0 0.4");
  std::ofstream(dir / "far.cif") << far;
  CHECK_THROWS_WITH_AS(kfold::data::read_template_structure(dir / "far.cif"),
                       doctest::Contains("far.cif: _atom_site.Cartn '1e300' is not a number within ±1e6"),
                       kfold::InputError);
  text.replace(text.find("Q 7.0 8.0 9.0 0,4"), 17, "Q 7.0 8.0 9.0 ?");
  std::ofstream(dir / "unknown.cif") << text;
  CHECK(kfold::data::read_template_structure(dir / "unknown.cif").chains.front().atom_positions.size() ==
        q.atom_positions.size());
}

TEST_CASE("Template structure: two residue types at one position give the atoms of one, as AlphaFold reads them") {
  // Microheterogeneity at ALA 3: SER (altloc A, more occupied) given first, then ALA (B). Biopython's
  // DisorderedResidue selects the type added last, and AlphaFold reads its atoms only: ALA's CA and CB,
  // never SER's OG beside them (a chimera), whatever the occupancies.
  std::string entry = kSmallEntry;
  entry.insert(entry.find("HETATM 8 O . HOH"),
               "ATOM 10 CA A SER A 3 Q 3.0 3.0 3.0 0.7 1\n"
               "ATOM 11 OG A SER A 3 Q 4.0 4.0 4.0 0.7 1\n"
               "ATOM 12 CA B ALA A 3 Q 5.0 5.0 5.0 0.3 1\n"
               "ATOM 13 CB B ALA A 3 Q 6.0 6.0 6.0 0.3 1\n"
               "ATOM 14 CA A SER A 3 Q 7.0 7.0 7.0 0.9 1\n");  // a late row of the replaced type: not read
  kfold::test::ScratchDir dir("template_structure_microheterogeneity");
  std::ofstream(dir / "test.cif") << entry;
  const auto s = kfold::data::read_template_structure(dir / "test.cif");
  REQUIRE(s.chains.size() == 1);
  const auto& q = s.chains.front();
  const auto at = [&](const char* atom) {
    return static_cast<size_t>(2 * rc::atom_type_num + rc::find_atom_type(atom));
  };
  CHECK(q.atom_mask[at("CA")] == 1.0f);
  CHECK(q.atom_positions[3 * at("CA")] == 5.0f);
  CHECK(q.atom_mask[at("CB")] == 1.0f);
  CHECK(q.atom_mask[at("OG")] == 0.0f);
  CHECK(q.atom_positions[3 * at("OG")] == 0.0f);
}

TEST_CASE(
    "Template structure: a chain listed twice in _struct_asym and label_seq_id far outside SEQRES are InputErrors") {
  kfold::test::ScratchDir dir("template_structure_fuzz_findings");
  // Inputs under tests/fuzz/regressions/template_mmcif/. A chain listed twice was read twice, the second
  // time with its arrays already moved out (empty arrays beside a 3-residue sequence).
  std::string twice = kSmallEntry;
  twice.replace(twice.find("\nB 2\n"), 5, "\nA 1\n");
  std::ofstream(dir / "twice.cif") << twice;
  CHECK_THROWS_WITH_AS(kfold::data::read_template_structure(dir / "twice.cif"),
                       doctest::Contains("twice.cif: _struct_asym.id A is given twice"), kfold::InputError);
  // label_seq_id - min(_entity_poly_seq.num) overflowed int64 (undefined behaviour) before the range check.
  std::string far = kSmallEntry;
  far.replace(far.find("ATOM 3 CA A GLY A 2 Q"), 21, "ATOM 3 CA A GLY A -9223372036854775808 Q");
  std::ofstream(dir / "far.cif") << far;
  CHECK_THROWS_WITH_AS(kfold::data::read_template_structure(dir / "far.cif"),
                       doctest::Contains("_atom_site.label_seq_id -9223372036854775808 is outside chain A"),
                       kfold::InputError);
}

TEST_CASE("Template structure: a revision date that is no YYYY-MM-DD is an InputError, '?' is none") {
  // Compared as text with --max-template-date it excluded the entry as "released notadate, after the max template
  // date" (at debug level); the template featurizer now skips it with the one warning of a damaged file.
  kfold::test::ScratchDir dir("template_structure_dates");
  std::string entry = kSmallEntry;
  entry.replace(entry.find("2001-02-03"), 10, "notadate");
  std::ofstream(dir / "bad.cif") << entry;
  CHECK_THROWS_WITH_AS(
      kfold::data::read_template_structure(dir / "bad.cif"),
      doctest::Contains("bad.cif: _pdbx_audit_revision_history.revision_date 'notadate' is no date (YYYY-MM-DD)"),
      kfold::InputError);
  entry = kSmallEntry;
  entry.replace(entry.find("2001-02-03"), 10, "?");
  std::ofstream(dir / "none.cif") << entry;
  CHECK(kfold::data::read_template_structure(dir / "none.cif").release_date.empty());
}

TEST_CASE("Template structure: arrays only for chains with atoms, and at most max_chain_residues of them") {
  // Dense arrays of 592 bytes a monomer per chain with atoms: a file whose many chains of one long entity
  // have an atom each could ask for far more memory than its size. Chains without atoms take none.
  kfold::test::ScratchDir dir("template_structure_chain_residues");
  std::string entry = kSmallEntry;
  entry.replace(entry.find("\nB 2\n"), 5, "\nB 2\nC 1\nD 1\nE 1\nF 1\n");  // entity 1: 3 monomers
  entry.replace(entry.find("HETATM 9 "), 0, "ATOM 10 CA . GLY C 2 R 1.0 1.0 1.0 1.0 1\n");
  std::ofstream(dir / "two.cif") << entry;
  const kfold::data::TemplateStructure two = kfold::data::read_template_structure(dir / "two.cif", 6);
  REQUIRE(two.chains.size() == 2);  // A and C; D, E, F have no atoms
  CHECK(two.chains[1].id == "R");
  CHECK(two.chains[1].atom_mask.size() == 3 * 37);
  entry.replace(entry.find("HETATM 9 "), 0, "ATOM 11 CA . GLY D 2 S 1.0 1.0 1.0 1.0 1\n");
  std::ofstream(dir / "three.cif") << entry;
  CHECK(kfold::data::read_template_structure(dir / "three.cif").chains.size() == 3);
  CHECK_THROWS_WITH_AS(kfold::data::read_template_structure(dir / "three.cif", 6),
                       doctest::Contains("three.cif: its protein chains with atoms span more than 6 "
                                         "_entity_poly_seq residues in all (chain D, of 3 residues, passes it)"),
                       kfold::InputError);
}

TEST_CASE("Template structure: read the same in a locale whose decimal point is ',' (Python after setlocale)") {
  // A notebook's locale.setlocale(LC_ALL, "") in a German locale made strtod read "1.00" as 1 and stop at the
  // '.': every template was "not a number". The locale is built with localedef into a scratch LOCPATH.
  kfold::test::ScratchDir dir("template_locale");
  const std::string command = "localedef -i de_DE -f UTF-8 '" + (dir / "de_DE.UTF-8").string() + "' > /dev/null 2>&1";
  const std::string before = std::setlocale(LC_NUMERIC, nullptr);
  if (std::system(command.c_str()) != 0 || ::setenv("LOCPATH", dir.path().c_str(), 1) != 0 ||
      std::setlocale(LC_NUMERIC, "de_DE.UTF-8") == nullptr) {
    MESSAGE("skipped: no de_DE locale (localedef and its locale sources are needed)");
    std::setlocale(LC_NUMERIC, before.c_str());
    return;
  }
  CHECK(std::strtod("2.5", nullptr) == 2.0);  // the locale is in effect
  CHECK(kfold::data::parse_decimal("2.5") == 2.5);
  CHECK(kfold::data::parse_decimal("+1.00") == 1.0);
  CHECK(kfold::data::parse_decimal("-3e-2") == -0.03);
  CHECK_FALSE(kfold::data::parse_decimal("2,5").has_value());
  CHECK_FALSE(kfold::data::parse_decimal("").has_value());
  CHECK_FALSE(kfold::data::parse_decimal(" 1").has_value());
  CHECK_FALSE(kfold::data::parse_decimal("+-1").has_value());  // one sign
  CHECK_FALSE(kfold::data::parse_decimal("++1").has_value());
  CHECK_FALSE(kfold::data::parse_decimal("+").has_value());
  CHECK(kfold::data::one_line("a\n  b\r\n\nc \n") == "a; b; c");  // gemmi's two-line messages in one error line
  const auto in_locale = kfold::data::read_template_structure(kMmcif / "1a8o.cif.gz");
  std::setlocale(LC_NUMERIC, before.c_str());
  ::unsetenv("LOCPATH");
  const auto in_c = kfold::data::read_template_structure(kMmcif / "1a8o.cif.gz");
  REQUIRE(in_locale.chains.size() == in_c.chains.size());
  CHECK(in_locale.chains.front().atom_positions == in_c.chains.front().atom_positions);
}
