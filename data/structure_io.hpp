// PDB and mmCIF writing and reading (kfold relax and inspect read them) of Protein through gemmi,
// with pLDDT in the B-factor column as AlphaFold does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "data/protein.hpp"

namespace kfold::data {

// Residue numbers gemmi (the structure reader and writer) handles: it orders residues by number * 256 +
// insertion code in an int, so |number| <= 2^23 - 1.
inline constexpr int64_t kMaxResidueNumber = (int64_t{1} << 23) - 1;

enum class StructureFormat { pdb, mmcif };
// The format a file name announces: .pdb/.ent or .cif/.mmcif (any case), each optionally followed by .gz;
// nullopt otherwise.
std::optional<StructureFormat> structure_format_of(const std::filesystem::path& path);

// Throws InputError when `protein` does not fit the PDB format (chain names of more than 1 character, more than
// 62 unnamed chains, residue numbers outside -999..9999, more than 99,999 atoms and TER records, coordinates
// outside -999.999..9999.999 Å, B-factors beyond its columns); to_pdb checks it, callers may check before long work.
void check_fits_pdb(const Protein& protein);
std::string to_pdb(const Protein& protein, const StructureHeader& header = {});

// The name the writers give chain_index `index` of a Protein without chain_names: A..Z, a..z, 0..9, then two
// characters and more (AA, BA, ..., mmCIF only: the PDB format's chain column has one).
std::string chain_name(int64_t index);
std::string to_mmcif(const Protein& protein, const StructureHeader& header = {});

// Atomic writes (temp + rename).
void write_pdb(const std::filesystem::path& path, const Protein& protein, const StructureHeader& header = {});
void write_mmcif(const std::filesystem::path& path, const Protein& protein, const StructureHeader& header = {});

// Reads the first model of a PDB or mmCIF file (format and gzip told by content) into atom37 layout.
// Residues are told by name (ATOM or HETATM): the 20 amino acids, UNK, selenomethionine (as MET) and force
// fields' protonation-state names (HIE, CYX, ... as their amino acid, with a warning); modified residues,
// caps, ligands, waters, nucleotides and atoms outside atom37 (hydrogens) are skipped, with a warning for
// what was in a chain. Alternative locations: each residue's most occupied one (of two residue types at one
// position, the more occupied); of several mmCIF data blocks with coordinates, the first. InputError for a
// non-finite coordinate and for two residues of one number without altloc labels; a blank chain name
// becomes the first free letter.
Protein read_structure(const std::filesystem::path& path);
// The same from a file's whole text (read once: a pipe cannot be read twice); `source` names it in messages.
Protein parse_structure(std::string text, const std::string& source);

}  // namespace kfold::data
