// Tests for PDB/mmCIF output: gemmi reads back what kfold writes (coordinates, residue
// numbers, chains, pLDDT in B-factors); header remarks; shape errors. An independent reader
// (biotite) checks the same files in tests/python/test_structure_output.py.
#include <doctest/doctest.h>

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

TEST_CASE("structure_io: inconsistent arrays are an InputError naming the field") {
  Protein p = kfold::test::example_protein();
  p.b_factors.pop_back();
  CHECK_THROWS_WITH_AS(kfold::data::to_pdb(p), doctest::Contains("Protein.b_factors"), kfold::InputError);
}

TEST_CASE("structure_io: reading garbage is an InputError") {
  kfold::test::ScratchDir dir("structure_io_bad");
  kfold::data::write_file_atomic(dir / "junk.pdb", "this is not a structure\n");
  CHECK_THROWS_AS(kfold::data::read_structure(dir / "junk.pdb"), kfold::InputError);
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
