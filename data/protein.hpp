// A protein structure in AlphaFold's atom37 layout (AlphaFold's protein.Protein), the unit
// that predictions produce and that PDB/mmCIF output writes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kfold::data {

struct Protein {
  std::vector<int64_t> aatype;         // [n_res] residue type index (rc::restypes order, 20 = UNK)
  std::vector<float> atom_positions;   // [n_res, 37, 3] Å, atom37 order (rc::atom_types)
  std::vector<float> atom_mask;        // [n_res, 37] 1 where the atom exists
  std::vector<int64_t> residue_index;  // [n_res] residue numbers as written to the file (1-based)
  std::vector<int64_t> chain_index;    // [n_res] 0 → chain A, 1 → B, ...
  std::vector<float> b_factors;        // [n_res, 37] written as B-factors (kfold: per-residue pLDDT)
  // What a structure read from a file carries back into the files written from it (kfold relax); empty for
  // predictions: no insertion codes, chains named A, B, ...
  std::vector<char> insertion_code;      // [n_res] ' ' for none, else the PDB insertion code (100A, 100B, ...)
  std::vector<std::string> chain_names;  // [number of chains] the name of chain_index k
  // [n_res] 1 where the file ends a molecule after this residue inside one chain (a TER record, a new
  // label_asym_id: Amber, OpenMM and GROMACS write complexes so): never peptide-bonded to the next residue,
  // written back with a TER / a new label_asym_id. Empty: none (predictions).
  std::vector<uint8_t> ends_molecule;
  // [n_res] an mmCIF's label_asym_id of each residue (the entity instance: C and D under auth_asym_id A in many
  // PDB entries), written back; empty (a PDB file, a prediction): named after the chains (A, A2, ...).
  std::vector<std::string> label_asym_ids;

  int64_t n_res() const { return static_cast<int64_t>(aatype.size()); }
  // Throws InputError when the array sizes disagree with n_res().
  void check_shapes() const;
};

// Text lines carried into the file header: PDB REMARK 250-style lines and mmCIF comments.
struct StructureHeader {
  std::string title;                 // e.g. "kfold prediction: model_1_ptm"
  std::vector<std::string> remarks;  // e.g. "WARNING: random weights, not a prediction"
  // Predictions: the B-factors are per-residue pLDDTs. mmCIF output then carries them as ModelCIF
  // quality metrics too (_ma_qa_metric_local/_global: what Mol* and the AlphaFold DB viewer colour by),
  // with `software` (e.g. "kfold 0.9.0") as the method that computed them.
  bool b_factors_are_plddt = false;
  std::string software{};
  // The mmCIF data block's name and _entry.id (AlphaFold's file_id, which is the model name there); empty: "kfold".
  std::string entry_id{};
};

}  // namespace kfold::data
