// Checks and repairs of PDB and mmCIF text before gemmi 0.5 reads it: what gemmi would read wrongly
// (integers that overflow, blank coordinates as 0, residues without author numbers as one), over-read
// (short LINK records) or expand without a bound (assembly operators) is refused or repaired here, with a
// message naming the file, line and field.
#pragma once

#include <string>

namespace gemmi::cif {
struct Block;
}

namespace kfold::data {

// The text of a PDB file as gemmi may read it: connection records padded to 80 columns; InputError for a
// NUL byte and for an ATOM/HETATM coordinate that is blank or not a number. `source` names the file.
std::string prepare_pdb_text(std::string text, const std::string& source);

// The mmCIF data block gemmi will read, checked and repaired in place: InputError for an integer gemmi
// would overflow and for a missing _atom_site column it needs; residues without author numbers take their
// label_seq_id; assembly generators are dropped (only the first model is read).
void prepare_mmcif_block(gemmi::cif::Block& block, const std::string& source);

}  // namespace kfold::data
