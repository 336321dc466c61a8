// AlphaFold2 residue constants (alphafold/common/residue_constants.py): residue and atom vocabularies,
// the atom14/atom37 layouts, rigid groups with their default frames, chi angles, MSA alphabets.
// Names follow AlphaFold's; tables indexed by residue type have 21 rows, the last one for UNK ('X').
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

// clang-format off: the tables below are aligned by hand to mirror AlphaFold's.
namespace kfold::data::rc {

// ---- Sizes ----------------------------------------------------------------------------------------

inline constexpr int64_t restype_num = 20;                      // the 20 standard amino acids
inline constexpr int64_t unk_restype_index = restype_num;       // 'X' / "UNK": catch-all index
inline constexpr int64_t restype_num_with_x = restype_num + 1;  // rows of every per-restype table
inline constexpr int64_t atom_type_num = 37;                    // atom37 layout
inline constexpr int64_t atom14_num = 14;                       // atom14 (dense) layout
inline constexpr int64_t rigid_group_num = 8;                   // backbone, pre-omega, phi, psi, chi1..chi4
inline constexpr int64_t chi_num = 4;

// Table<T, d0, d1, ...> is a nested std::array of shape [d0, d1, ...], contiguous in row-major order.
template <typename T, int64_t first, int64_t... rest>
struct NestedArray {
  using type = std::array<typename NestedArray<T, rest...>::type, first>;
};
template <typename T, int64_t last>
struct NestedArray<T, last> {
  using type = std::array<T, last>;
};
template <typename T, int64_t... dims>
using Table = typename NestedArray<T, dims...>::type;

// ---- Residue types --------------------------------------------------------------------------------

// Standard order: alphabetical by three-letter code.
inline constexpr std::array<char, restype_num> restypes = {'A', 'R', 'N', 'D', 'C', 'Q', 'E', 'G', 'H', 'I',
                                                           'L', 'K', 'M', 'F', 'P', 'S', 'T', 'W', 'Y', 'V'};
inline constexpr std::array<char, restype_num_with_x> restypes_with_x = {
    'A', 'R', 'N', 'D', 'C', 'Q', 'E', 'G', 'H', 'I', 'L', 'K', 'M', 'F', 'P', 'S', 'T', 'W', 'Y', 'V', 'X'};
inline constexpr std::string_view unk_restype = "UNK";
// Three-letter names in restype order, then "UNK" (AlphaFold's `resnames`).
inline constexpr std::array<std::string_view, restype_num_with_x> resnames = {
    "ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE", "LEU",
    "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR", "VAL", "UNK"};

// Index of `letter` in restypes_with_x, or -1.
constexpr int64_t find_restype_with_x(char letter) noexcept {
  for (int64_t i = 0; i < restype_num_with_x; ++i) {
    if (restypes_with_x[i] == letter) return i;
  }
  return -1;
}
// Index of a three-letter name in resnames (UNK included), or -1.
constexpr int64_t find_resname(std::string_view resname) noexcept {
  for (int64_t i = 0; i < restype_num_with_x; ++i) {
    if (resnames[i] == resname) return i;
  }
  return -1;
}

// Throws InputError unless 0 <= restype < restype_num_with_x (the rows of the per-restype tables).
void check_restype(int64_t restype);

// AlphaFold's restype_order / restype_order_with_x / resname_to_idx; throw InputError when absent.
int64_t restype_order(char letter);
int64_t restype_order_with_x(char letter);
int64_t resname_to_idx(std::string_view resname);
// One-letter <-> three-letter codes. AlphaFold's dicts hold the 20 standard residues; these also map
// 'X' <-> "UNK". Throw InputError for anything else.
std::string_view restype_1to3(char letter);
char restype_3to1(std::string_view resname);

// Residue type of one sequence letter, as AlphaFold's sequence_to_onehot(seq, restype_order_with_x,
// map_unknown_to_x=True): an upper-case ASCII letter maps to its index, or to 20 ('X') when it is
// not one of the 20; anything else (lower case, digits, '-', '*') throws InputError.
int64_t aatype_from_letter(char letter);

// ---- MSA alphabet (HHblits) -----------------------------------------------------------------------

// HHblits convention: B->D, J->X, O->X, U->C, Z->E; 'X' is 20, the gap '-' is 21.
inline constexpr std::array<std::pair<char, int64_t>, 27> HHBLITS_AA_TO_ID = {{
    {'A', 0},  {'B', 2},  {'C', 1}, {'D', 2},  {'E', 3},  {'F', 4},  {'G', 5},  {'H', 6},  {'I', 7},
    {'J', 20}, {'K', 8},  {'L', 9}, {'M', 10}, {'N', 11}, {'O', 20}, {'P', 12}, {'Q', 13}, {'R', 14},
    {'S', 15}, {'T', 16}, {'U', 1}, {'V', 17}, {'W', 18}, {'X', 20}, {'Y', 19}, {'Z', 3},  {'-', 21},
}};
// Partial inverse of HHBLITS_AA_TO_ID: the canonical letter of each HHblits id.
inline constexpr std::array<char, 22> ID_TO_HHBLITS_AA = {'A', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'K', 'L', 'M',
                                                          'N', 'P', 'Q', 'R', 'S', 'T', 'V', 'W', 'Y', 'X', '-'};
// restypes + 'X' + '-': the alphabet of msa features after remapping.
inline constexpr std::array<char, 22> restypes_with_x_and_gap = {'A', 'R', 'N', 'D', 'C', 'Q', 'E', 'G', 'H', 'I', 'L',
                                                                 'K', 'M', 'F', 'P', 'S', 'T', 'W', 'Y', 'V', 'X', '-'};

// HHblits id of an MSA letter (upper case or '-'), or -1 for a letter outside HHBLITS_AA_TO_ID.
constexpr int64_t hhblits_aa_to_id(char letter) noexcept {
  for (const auto& [aa, id] : HHBLITS_AA_TO_ID) {
    if (aa == letter) return id;
  }
  return -1;
}

// HHblits id -> our aatype (position of ID_TO_HHBLITS_AA[id] in restypes_with_x_and_gap).
inline constexpr std::array<int64_t, 22> MAP_HHBLITS_AATYPE_TO_OUR_AATYPE = [] {
  std::array<int64_t, 22> map{};
  for (size_t id = 0; id < ID_TO_HHBLITS_AA.size(); ++id) {
    for (size_t ours = 0; ours < restypes_with_x_and_gap.size(); ++ours) {
      if (restypes_with_x_and_gap[ours] == ID_TO_HHBLITS_AA[id]) map[id] = static_cast<int64_t>(ours);
    }
  }
  return map;
}();

// ---- Atoms ----------------------------------------------------------------------------------------

// The atom37 layout: every heavy atom name of the 20 residues (plus OXT) in AlphaFold's fixed order.
inline constexpr std::array<std::string_view, atom_type_num> atom_types = {
    "N",   "CA",  "C",   "CB",  "O",   "CG", "CG1", "CG2", "OG",  "OG1", "SG", "CD",  "CD1",
    "CD2", "ND1", "ND2", "OD1", "OD2", "SD", "CE",  "CE1", "CE2", "CE3", "NE", "NE1", "NE2",
    "OE1", "OE2", "CH2", "NH1", "NH2", "OH", "CZ",  "CZ2", "CZ3", "NZ",  "OXT"};

// Index of an atom name in atom_types, or -1.
constexpr int64_t find_atom_type(std::string_view atom_name) noexcept {
  for (int64_t i = 0; i < atom_type_num; ++i) {
    if (atom_types[i] == atom_name) return i;
  }
  return -1;
}
// AlphaFold's atom_order; throws InputError for a name that is not one of atom_types.
int64_t atom_order(std::string_view atom_name);

// The atom14 layout per residue type (rows in resnames order, UNK all empty); "" marks an unused slot.
inline constexpr Table<std::string_view, restype_num_with_x, atom14_num> restype_name_to_atom14_names = {{
    {"N", "CA", "C", "O", "CB", "", "", "", "", "", "", "", "", ""},                            // ALA
    {"N", "CA", "C", "O", "CB", "CG", "CD", "NE", "CZ", "NH1", "NH2", "", "", ""},              // ARG
    {"N", "CA", "C", "O", "CB", "CG", "OD1", "ND2", "", "", "", "", "", ""},                    // ASN
    {"N", "CA", "C", "O", "CB", "CG", "OD1", "OD2", "", "", "", "", "", ""},                    // ASP
    {"N", "CA", "C", "O", "CB", "SG", "", "", "", "", "", "", "", ""},                          // CYS
    {"N", "CA", "C", "O", "CB", "CG", "CD", "OE1", "NE2", "", "", "", "", ""},                  // GLN
    {"N", "CA", "C", "O", "CB", "CG", "CD", "OE1", "OE2", "", "", "", "", ""},                  // GLU
    {"N", "CA", "C", "O", "", "", "", "", "", "", "", "", "", ""},                              // GLY
    {"N", "CA", "C", "O", "CB", "CG", "ND1", "CD2", "CE1", "NE2", "", "", "", ""},              // HIS
    {"N", "CA", "C", "O", "CB", "CG1", "CG2", "CD1", "", "", "", "", "", ""},                   // ILE
    {"N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "", "", "", "", "", ""},                    // LEU
    {"N", "CA", "C", "O", "CB", "CG", "CD", "CE", "NZ", "", "", "", "", ""},                    // LYS
    {"N", "CA", "C", "O", "CB", "CG", "SD", "CE", "", "", "", "", "", ""},                      // MET
    {"N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ", "", "", ""},            // PHE
    {"N", "CA", "C", "O", "CB", "CG", "CD", "", "", "", "", "", "", ""},                        // PRO
    {"N", "CA", "C", "O", "CB", "OG", "", "", "", "", "", "", "", ""},                          // SER
    {"N", "CA", "C", "O", "CB", "OG1", "CG2", "", "", "", "", "", "", ""},                      // THR
    {"N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "NE1", "CE2", "CE3", "CZ2", "CZ3", "CH2"},  // TRP
    {"N", "CA", "C", "O", "CB", "CG", "CD1", "CD2", "CE1", "CE2", "CZ", "OH", "", ""},          // TYR
    {"N", "CA", "C", "O", "CB", "CG1", "CG2", "", "", "", "", "", "", ""},                      // VAL
    {"", "", "", "", "", "", "", "", "", "", "", "", "", ""},                                   // UNK
}};

// Atom14 slot of `atom_name` in residue type `restype`, or -1.
constexpr int64_t find_atom14_index(int64_t restype, std::string_view atom_name) noexcept {
  if (restype < 0 || restype >= restype_num_with_x || atom_name.empty()) return -1;
  for (int64_t i = 0; i < atom14_num; ++i) {
    if (restype_name_to_atom14_names[restype][i] == atom_name) return i;
  }
  return -1;
}

// Atom-layout maps (AlphaFold's model/all_atom_multimer.py, model/tf/data_transforms.py make_atom14_masks);
// unused slots and the UNK row map to 0.
const Table<int64_t, restype_num_with_x, atom14_num>& restype_atom14_to_atom37();     // [21, 14]
const Table<int64_t, restype_num_with_x, atom_type_num>& restype_atom37_to_atom14();  // [21, 37]
// 1 where the residue type has the atom (from rigid_group_atom_positions, as residue_constants.py).
const Table<float, restype_num_with_x, atom14_num>& restype_atom14_mask();     // [21, 14]
const Table<float, restype_num_with_x, atom_type_num>& restype_atom37_mask();  // [21, 37]

// ---- Rigid groups ---------------------------------------------------------------------------------

// One heavy atom placed in one of the 8 rigid groups: its position [Angstrom] relative to the group's
// frame (x along the rotation axis, the dihedral-defining atom in the xy-plane with y > 0).
struct RigidGroupAtom {
  std::string_view atom_name;
  int64_t rigid_group;  // 0 backbone, 3 psi, 4..7 chi1..chi4 (1 and 2 hold no heavy atoms)
  std::array<double, 3> position;
};

// AlphaFold's rigid_group_atom_positions for residue type `restype` in its order (empty for UNK).
std::span<const RigidGroupAtom> rigid_group_atom_positions(int64_t restype);

// Derived as _make_rigid_group_constants() does; the UNK row is all zeros.
const Table<int64_t, restype_num_with_x, atom_type_num>& restype_atom37_to_rigid_group();          // [21, 37]
const Table<float, restype_num_with_x, atom_type_num, 3>& restype_atom37_rigid_group_positions();  // [21, 37, 3]
const Table<int64_t, restype_num_with_x, atom14_num>& restype_atom14_to_rigid_group();             // [21, 14]
const Table<float, restype_num_with_x, atom14_num, 3>& restype_atom14_rigid_group_positions();     // [21, 14, 3]
// 4x4 transform of each rigid group into its parent: chi2..chi4 into the previous chi group, the
// others into the backbone frame; [21, 8, 4, 4], row-major matrices.
const Table<float, restype_num_with_x, rigid_group_num, 4, 4>& restype_rigid_group_default_frame();
// atom37 indices of the three atoms that define each rigid group's frame (all_atom.py atom37_to_frames);
// 0 where the group is undefined.                                                    // [21, 8, 3]
const Table<int64_t, restype_num_with_x, rigid_group_num, 3>& restype_rigidgroup_base_atom37_idx();

// ---- Chi angles -----------------------------------------------------------------------------------

// The four atoms of each chi angle defined on residue type `restype` (chi1 first; empty for ALA, GLY, UNK).
std::span<const std::array<std::string_view, 4>> chi_angles_atoms(int64_t restype);

// 1 where the chi angle exists. AlphaFold's list has 20 rows; the model appends a zero row for UNK.
inline constexpr Table<float, restype_num_with_x, chi_num> chi_angles_mask = {{
    {0, 0, 0, 0}, {1, 1, 1, 1}, {1, 1, 0, 0}, {1, 1, 0, 0}, {1, 0, 0, 0}, {1, 1, 1, 0}, {1, 1, 1, 0},
    {0, 0, 0, 0}, {1, 1, 0, 0}, {1, 1, 0, 0}, {1, 1, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, 0}, {1, 1, 0, 0},
    {1, 1, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0}, {1, 1, 0, 0}, {1, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, 0, 0},
}};
// 1 where the chi angle may be rotated by pi without changing the structure (ASP chi2, GLU chi3,
// PHE chi2, TYR chi2).
inline constexpr Table<float, restype_num_with_x, chi_num> chi_pi_periodic = [] {
  Table<float, restype_num_with_x, chi_num> periodic{};
  periodic[3][1] = 1;   // ASP
  periodic[6][2] = 1;   // GLU
  periodic[13][1] = 1;  // PHE
  periodic[18][1] = 1;  // TYR
  return periodic;
}();
// atom37 indices of the chi atoms (all_atom.py get_chi_atom_indices): undefined chis and UNK are 0.
const Table<int64_t, restype_num_with_x, chi_num, 4>& chi_angles_atom_indices();  // [21, 4, 4]

// ---- Ambiguous atom names -------------------------------------------------------------------------

// Atom pairs whose names swap under the residue's symmetry (residue_atom_renaming_swaps).
struct AtomRenamingSwap {
  std::string_view resname;
  std::string_view atom_name;
  std::string_view swapped_name;
};
inline constexpr std::array<AtomRenamingSwap, 6> residue_atom_renaming_swaps = {{
    {"ASP", "OD1", "OD2"},
    {"GLU", "OE1", "OE2"},
    {"PHE", "CD1", "CD2"},
    {"PHE", "CE1", "CE2"},
    {"TYR", "CD1", "CD2"},
    {"TYR", "CE1", "CE2"},
}};
// 1 for atom14 slots that take part in a swap (all_atom_multimer.py).                    // [21, 14]
const Table<float, restype_num_with_x, atom14_num>& restype_atom14_is_ambiguous();
// Per residue type, the atom14 permutation matrix that applies the swaps (identity elsewhere). [21, 14, 14]
const Table<float, restype_num_with_x, atom14_num, atom14_num>& renaming_matrices();

}  // namespace kfold::data::rc
// clang-format on
