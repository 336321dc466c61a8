// A small deterministic two-chain protein for structure-output tests: backbone and side-chain
// atoms from AlphaFold's rigid-group literature positions, residues stepped 3.8 Å apart.
#pragma once

#include "data/protein.hpp"
#include "data/residue_constants.hpp"

namespace kfold::test {

inline data::Protein example_protein() {
  namespace rc = data::rc;
  const std::string sequence = "MKTAYIAKQRWG";  // chain A: first 8, chain B: last 4
  data::Protein p;
  const auto& positions = rc::restype_atom37_rigid_group_positions();  // [21, 37, 3], local frames
  const auto& mask = rc::restype_atom37_mask();                        // [21, 37]
  for (int64_t i = 0; i < static_cast<int64_t>(sequence.size()); ++i) {
    const int64_t aa = rc::find_restype_with_x(sequence[static_cast<size_t>(i)]);
    p.aatype.push_back(aa);
    p.chain_index.push_back(i < 8 ? 0 : 1);
    p.residue_index.push_back(i < 8 ? i + 1 : i - 7 + 100);
    for (int64_t a = 0; a < rc::atom_type_num; ++a) {
      const float m = mask[aa][a];
      p.atom_mask.push_back(m);
      p.b_factors.push_back(m > 0 ? 40.0f + 4.5f * static_cast<float>(i) : 0.0f);
      for (int64_t x = 0; x < 3; ++x)
        p.atom_positions.push_back(m > 0 ? positions[aa][a][x] + (x == 0 ? 3.8f * static_cast<float>(i) : 0.0f) +
                                               (x == 1 ? 0.25f * static_cast<float>(a) : 0.0f)
                                         : 0.0f);
    }
  }
  return p;
}

}  // namespace kfold::test
