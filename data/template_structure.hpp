// A template structure's protein chains as AlphaFold's template pipeline reads them from an mmCIF file
// (alphafold/data/mmcif_parsing.py and templates._get_atom_positions): per author chain the SEQRES
// sequence and, for each SEQRES position, the atom37 coordinates of the first model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kfold::data {

struct TemplateChain {
  std::string id;                     // author chain id (_atom_site.auth_asym_id), as in pdb_seqres.txt
  std::string sequence;               // one letter per _entity_poly_seq monomer (modified → parent, else X)
  std::vector<float> atom_positions;  // [n, 37, 3] Å; zeros where not observed
  std::vector<float> atom_mask;       // [n, 37] 1 where observed
  int64_t n_res() const { return static_cast<int64_t>(sequence.size()); }
};

struct TemplateStructure {
  std::string source;                 // the file, for messages
  std::string release_date;           // "YYYY-MM-DD": the oldest revision's date (the release); "" if absent
  std::vector<TemplateChain> chains;  // protein chains in _struct_asym order of their first atom

  // The chain with author id `id`, or nullptr.
  const TemplateChain* chain(std::string_view id) const;
};

// Reads an mmCIF file (plain or gzip) with AlphaFold's rules: protein chains are the entities of
// _entity_poly_seq with at least one monomer whose _chem_comp.type contains "peptide"; SEQRES
// positions are _entity_poly_seq.num - its minimum, matched to atoms through _atom_site.label_seq_id;
// only the first model (_atom_site.pdbx_PDB_model_num of the first atom) is read; of alternative
// locations the one with the highest occupancy is kept (the first on ties, as Biopython does); atoms
// outside atom37 (hydrogens) are skipped, selenomethionine's SE is stored as SD and an arginine whose
// NH1 is farther from CD than its NH2 gets the two swapped (AlphaFold's fix). Throws InputError
// naming the file for unreadable files and files without protein chains or atom records.
//
// Each chain with atoms gets dense arrays over its entity's whole sequence (592 bytes a monomer), so a
// file whose many chains of one long entity have an atom each could ask for far more memory than its
// size: past `max_chain_residues` in all (2.3 GiB of arrays; the PDB's largest entries have < 1 M
// residues) the file is an InputError.
inline constexpr int64_t kMaxTemplateChainResidues = int64_t{1} << 22;
TemplateStructure read_template_structure(const std::filesystem::path& path,
                                          int64_t max_chain_residues = kMaxTemplateChainResidues);

}  // namespace kfold::data
