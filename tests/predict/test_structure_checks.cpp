// violation_check_residue_index: the residue numbering kfold relax and kfold inspect give AlphaFold's
// structural checks, for files that number residues out of order, with insertion codes or several chains,
// that skip numbers, run insertion codes backwards, or renumber across a gap (bonds from the atoms).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "data/residue_constants.hpp"

#include "data/protein.hpp"
#include "pipelines/predict/structure_checks.hpp"

namespace {

// Residue numbers, insertion codes and chains only: the numbering looks at nothing else.
kfold::data::Protein numbered(std::vector<int64_t> numbers, std::string codes, std::vector<int64_t> chains) {
  kfold::data::Protein p;
  p.residue_index = std::move(numbers);
  p.insertion_code.assign(codes.begin(), codes.end());
  p.chain_index = std::move(chains);
  return p;
}

// Residues with N and C on the x axis, residue k's N at slot[k] * 2.83 Å and its C 1.5 Å further: residues in
// successive slots are 1.33 Å apart C to N (a peptide bond), residues in slots further apart are not.
kfold::data::Protein backbone(std::vector<int64_t> numbers, std::string codes, std::vector<int64_t> chains,
                              std::vector<std::string> names, const std::vector<int64_t>& slots) {
  namespace rc = kfold::data::rc;
  auto p = numbered(std::move(numbers), std::move(codes), std::move(chains));
  p.chain_names = std::move(names);
  const size_t n = p.residue_index.size();
  p.atom_mask.assign(n * rc::atom_type_num, 0.0f);
  p.atom_positions.assign(3 * n * rc::atom_type_num, 0.0f);
  for (size_t k = 0; k < n; ++k)
    for (const auto& [atom, offset] : {std::pair("N", 0.0), std::pair("C", 1.5)}) {
      const size_t a = k * rc::atom_type_num + static_cast<size_t>(rc::atom_order(atom));
      p.atom_mask[a] = 1.0f;
      p.atom_positions[3 * a] = static_cast<float>(static_cast<double>(slots[k]) * 2.83 + offset);
    }
  return p;
}

constexpr auto kNumbering = kfold::pipelines::ChainBonds::by_numbering;
constexpr auto kGeometry = kfold::pipelines::ChainBonds::by_numbering_and_geometry;

}  // namespace

TEST_CASE("relax numbering: residues written out of order keep their numbers, as AlphaFold's checks") {
  // 50..52 written before 1..3: 52 -> 1 in the file is no bond, and 3 and 50 are not neighbours.
  const auto p = numbered({50, 51, 52, 1, 2, 3}, "      ", {0, 0, 0, 0, 0, 0});
  CHECK(kfold::pipelines::violation_check_residue_index(p, kNumbering) ==
        std::vector<int64_t>{50, 51, 52, 152, 153, 154});
  // With atoms: 3's C bonded to 50's N (1.33 A) joins the fragments, 1 to 52 in a row.
  const auto atoms = backbone({50, 51, 52, 1, 2, 3}, "      ", {0, 0, 0, 0, 0, 0}, {"A"}, {3, 4, 5, 0, 1, 2});
  CHECK(kfold::pipelines::violation_check_residue_index(atoms, kGeometry) == std::vector<int64_t>{4, 5, 6, 1, 2, 3});
}

TEST_CASE("relax numbering: insertion codes are successive residues") {
  const auto p = numbered({36, 37, 37, 37, 38}, "  AB ", {0, 0, 0, 0, 0});
  CHECK(kfold::pipelines::violation_check_residue_index(p, kNumbering) == std::vector<int64_t>{36, 37, 38, 39, 40});
}

TEST_CASE("relax numbering: chains are 100 apart and a residue given twice is no neighbour of itself") {
  const auto chains = numbered({1, 2, 3, 1, 2}, "     ", {0, 0, 0, 1, 1});
  CHECK(kfold::pipelines::violation_check_residue_index(chains, kNumbering) == std::vector<int64_t>{1, 2, 3, 103, 104});
  const auto twice = numbered({5, 5, 6}, "   ", {0, 0, 0});
  CHECK(kfold::pipelines::violation_check_residue_index(twice, kNumbering) == std::vector<int64_t>{5, 105, 106});
  // Predictions carry no insertion codes.
  auto prediction = numbered({1, 2, 3}, "", {0, 0, 0});
  CHECK(kfold::pipelines::violation_check_residue_index(prediction, kNumbering) == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("relax numbering: a numbering that skips or runs back is bonded where the atoms are") {
  // Chymotrypsin numbering skips 218: 217-219 is a peptide bond (C-N 1.33 A); by numbers alone it is not.
  const auto skip = backbone({216, 217, 219}, "   ", {0, 0, 0}, {"U"}, {0, 1, 2});
  CHECK(kfold::pipelines::violation_check_residue_index(skip, kGeometry) == std::vector<int64_t>{216, 217, 218});
  CHECK(kfold::pipelines::violation_check_residue_index(skip, kNumbering) == std::vector<int64_t>{216, 217, 317});
  // IMGT: insertion codes run backwards in the second half of a CDR (111, 111A, 112A, 112).
  const auto imgt = backbone({111, 111, 112, 112, 113}, " AA  ", {0, 0, 0, 0, 0}, {"H"}, {0, 1, 2, 3, 4});
  CHECK(kfold::pipelines::violation_check_residue_index(imgt, kGeometry) ==
        std::vector<int64_t>{111, 112, 113, 114, 115});
}

TEST_CASE("relax numbering: successive numbers far apart are a chain break, logged") {
  // Residues left out and the rest renumbered: 39's C is 26.8 A from 40's N.
  const auto gap = backbone({38, 39, 40, 41}, "    ", {0, 0, 0, 0}, {"A"}, {0, 1, 11, 12});
  std::vector<std::string> breaks;
  const auto index = kfold::pipelines::violation_check_residue_index(gap, kGeometry, &breaks);
  CHECK(index == std::vector<int64_t>{38, 39, 139, 140});
  REQUIRE(breaks.size() == 1);
  CHECK(breaks[0] == "chain A: 39 to 40 (C-N 26.8 A)");
  // Predictions go by their numbers: a stretched bond there is a violation to report, not a break.
  CHECK(kfold::pipelines::violation_check_residue_index(gap, kNumbering) == std::vector<int64_t>{38, 39, 40, 41});
}

TEST_CASE("relax numbering: many chain breaks are shown as the first few and a count") {
  // A random-weight prediction read from its file has a break between most residues: 75 were listed.
  std::vector<std::string> breaks;
  for (int k = 1; k <= 20; ++k) breaks.push_back("chain A: " + std::to_string(k) + " to " + std::to_string(k + 1));
  CHECK(kfold::pipelines::breaks_text({breaks.begin(), breaks.begin() + 2}) == "chain A: 1 to 2, chain A: 2 to 3");
  const std::string text = kfold::pipelines::breaks_text(breaks, 3);
  CHECK(text == "chain A: 1 to 2, chain A: 2 to 3, chain A: 3 to 4, ... (20 in all)");
  CHECK(kfold::pipelines::breaks_text(breaks).ends_with("chain A: 8 to 9, ... (20 in all)"));
}

TEST_CASE("relax numbering: the parts of a chain split by another chain are one chain") {
  // A1 A2 | B1 | A3 A4, A2's C bonded to A3's N: A's residues in a row, B 100 after.
  const auto split = backbone({1, 2, 1, 3, 4}, "     ", {0, 0, 1, 2, 2}, {"A", "B", "A"}, {0, 1, 20, 2, 3});
  CHECK(kfold::pipelines::violation_check_residue_index(split, kGeometry) == std::vector<int64_t>{1, 2, 104, 3, 4});
}

TEST_CASE("relax numbering: a C terminus (OXT, or a molecule the file ended) bonds to nothing after it") {
  // Amber's complexes number on across molecules: 2 and 3 are successive numbers 1.33 A apart, C to N, yet
  // residue 2 carries an OXT (or the file put a TER after it): a chain break, never a bond to close.
  namespace rc = kfold::data::rc;
  auto p = backbone({1, 2, 3, 4}, "    ", {0, 0, 0, 0}, {"A"}, {0, 1, 2, 3});
  CHECK(kfold::pipelines::violation_check_residue_index(p, kGeometry) == std::vector<int64_t>{1, 2, 3, 4});
  p.atom_mask[1 * rc::atom_type_num + static_cast<size_t>(rc::atom_order("OXT"))] = 1.0f;
  CHECK(kfold::pipelines::violation_check_residue_index(p, kGeometry) == std::vector<int64_t>{1, 2, 102, 103});
  CHECK(kfold::pipelines::violation_check_residue_index(p, kNumbering) == std::vector<int64_t>{1, 2, 102, 103});
  p.atom_mask[1 * rc::atom_type_num + static_cast<size_t>(rc::atom_order("OXT"))] = 0.0f;
  p.ends_molecule = {0, 1, 0, 0};
  CHECK(kfold::pipelines::violation_check_residue_index(p, kGeometry) == std::vector<int64_t>{1, 2, 102, 103});
}
