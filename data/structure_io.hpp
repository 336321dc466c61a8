// PDB and mmCIF writing (and reading, for tests and the agent) of Protein through gemmi,
// with pLDDT in the B-factor column as AlphaFold does.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "data/protein.hpp"

namespace kfold::data {

enum class StructureFormat { pdb, mmcif };
// The format a file name announces: .pdb/.ent or .cif/.mmcif, each optionally followed by .gz; nullopt otherwise.
std::optional<StructureFormat> structure_format_of(const std::filesystem::path& path);

std::string to_pdb(const Protein& protein, const StructureHeader& header = {});
std::string to_mmcif(const Protein& protein, const StructureHeader& header = {});

// Atomic writes (temp + rename).
void write_pdb(const std::filesystem::path& path, const Protein& protein, const StructureHeader& header = {});
void write_mmcif(const std::filesystem::path& path, const Protein& protein, const StructureHeader& header = {});

// Reads the first model of a PDB or mmCIF file (by content, gzip allowed) into atom37 layout.
// Atoms outside atom37 (hydrogens, ligands, waters) are skipped; unknown residues become UNK.
Protein read_structure(const std::filesystem::path& path);

}  // namespace kfold::data
