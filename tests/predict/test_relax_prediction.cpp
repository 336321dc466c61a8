// violation_check_residue_index: the residue numbering kfold relax and kfold inspect give AlphaFold's
// structural checks, for files that number residues out of order, with insertion codes or several chains.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "data/protein.hpp"
#include "pipelines/predict/relax_prediction.hpp"

namespace {

// Residue numbers, insertion codes and chains only: the numbering looks at nothing else.
kfold::data::Protein numbered(std::vector<int64_t> numbers, std::string codes, std::vector<int64_t> chains) {
  kfold::data::Protein p;
  p.residue_index = std::move(numbers);
  p.insertion_code.assign(codes.begin(), codes.end());
  p.chain_index = std::move(chains);
  return p;
}

}  // namespace

TEST_CASE("relax numbering: residues written out of order keep their numbers, as AlphaFold's checks") {
  // 50..52 written before 1..3: 52 -> 1 in the file is no bond, and 3 and 50 are not neighbours.
  const auto p = numbered({50, 51, 52, 1, 2, 3}, "      ", {0, 0, 0, 0, 0, 0});
  CHECK(kfold::pipelines::violation_check_residue_index(p) == std::vector<int64_t>{50, 51, 52, 1, 2, 3});
}

TEST_CASE("relax numbering: insertion codes are successive residues") {
  const auto p = numbered({36, 37, 37, 37, 38}, "  AB ", {0, 0, 0, 0, 0});
  CHECK(kfold::pipelines::violation_check_residue_index(p) == std::vector<int64_t>{36, 37, 38, 39, 40});
}

TEST_CASE("relax numbering: chains are 100 apart and a residue given twice is no neighbour of itself") {
  const auto chains = numbered({1, 2, 3, 1, 2}, "     ", {0, 0, 0, 1, 1});
  CHECK(kfold::pipelines::violation_check_residue_index(chains) == std::vector<int64_t>{1, 2, 3, 103, 104});
  const auto twice = numbered({5, 5, 6}, "   ", {0, 0, 0});
  CHECK(kfold::pipelines::violation_check_residue_index(twice) == std::vector<int64_t>{5, 105, 106});
  // Predictions carry no insertion codes.
  auto prediction = numbered({1, 2, 3}, "", {0, 0, 0});
  CHECK(kfold::pipelines::violation_check_residue_index(prediction) == std::vector<int64_t>{1, 2, 3});
}
