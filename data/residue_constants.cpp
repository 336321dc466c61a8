// AlphaFold2 residue constants: the base tables (rigid-group atom positions, chi atoms) and the tables
// derived from them the way alphafold/common/residue_constants.py and alphafold/model/all_atom*.py do.
#include "data/residue_constants.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "data/error.hpp"

// clang-format off: the tables below are aligned by hand to mirror AlphaFold's.
namespace kfold::data::rc {
namespace {

// ---- Base tables ----------------------------------------------------------------------------------

struct ResidueRigidGroupAtom {
  std::string_view resname;
  RigidGroupAtom atom;
};

// rigid_group_atom_positions: {residue, {atom, rigid group, position [Angstrom]}}, in AlphaFold's order.
// PRO CD is AlphaFold's hand-adjusted position (CG-CD angle made 2 degrees larger).
constexpr ResidueRigidGroupAtom rigid_group_atom_rows[] = {
    {"ALA", {"N", 0, {-0.525, 1.363, 0.000}}},    {"ALA", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"ALA", {"C", 0, {1.526, -0.000, -0.000}}},   {"ALA", {"CB", 0, {-0.529, -0.774, -1.205}}},
    {"ALA", {"O", 3, {0.627, 1.062, 0.000}}},     {"ARG", {"N", 0, {-0.524, 1.362, -0.000}}},
    {"ARG", {"CA", 0, {0.000, 0.000, 0.000}}},    {"ARG", {"C", 0, {1.525, -0.000, -0.000}}},
    {"ARG", {"CB", 0, {-0.524, -0.778, -1.209}}}, {"ARG", {"O", 3, {0.626, 1.062, 0.000}}},
    {"ARG", {"CG", 4, {0.616, 1.390, -0.000}}},   {"ARG", {"CD", 5, {0.564, 1.414, 0.000}}},
    {"ARG", {"NE", 6, {0.539, 1.357, -0.000}}},   {"ARG", {"NH1", 7, {0.206, 2.301, 0.000}}},
    {"ARG", {"NH2", 7, {2.078, 0.978, -0.000}}},  {"ARG", {"CZ", 7, {0.758, 1.093, -0.000}}},
    {"ASN", {"N", 0, {-0.536, 1.357, 0.000}}},    {"ASN", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"ASN", {"C", 0, {1.526, -0.000, -0.000}}},   {"ASN", {"CB", 0, {-0.531, -0.787, -1.200}}},
    {"ASN", {"O", 3, {0.625, 1.062, 0.000}}},     {"ASN", {"CG", 4, {0.584, 1.399, 0.000}}},
    {"ASN", {"ND2", 5, {0.593, -1.188, 0.001}}},  {"ASN", {"OD1", 5, {0.633, 1.059, 0.000}}},
    {"ASP", {"N", 0, {-0.525, 1.362, -0.000}}},   {"ASP", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"ASP", {"C", 0, {1.527, 0.000, -0.000}}},    {"ASP", {"CB", 0, {-0.526, -0.778, -1.208}}},
    {"ASP", {"O", 3, {0.626, 1.062, -0.000}}},    {"ASP", {"CG", 4, {0.593, 1.398, -0.000}}},
    {"ASP", {"OD1", 5, {0.610, 1.091, 0.000}}},   {"ASP", {"OD2", 5, {0.592, -1.101, -0.003}}},
    {"CYS", {"N", 0, {-0.522, 1.362, -0.000}}},   {"CYS", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"CYS", {"C", 0, {1.524, 0.000, 0.000}}},     {"CYS", {"CB", 0, {-0.519, -0.773, -1.212}}},
    {"CYS", {"O", 3, {0.625, 1.062, -0.000}}},    {"CYS", {"SG", 4, {0.728, 1.653, 0.000}}},
    {"GLN", {"N", 0, {-0.526, 1.361, -0.000}}},   {"GLN", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"GLN", {"C", 0, {1.526, 0.000, 0.000}}},     {"GLN", {"CB", 0, {-0.525, -0.779, -1.207}}},
    {"GLN", {"O", 3, {0.626, 1.062, -0.000}}},    {"GLN", {"CG", 4, {0.615, 1.393, 0.000}}},
    {"GLN", {"CD", 5, {0.587, 1.399, -0.000}}},   {"GLN", {"NE2", 6, {0.593, -1.189, -0.001}}},
    {"GLN", {"OE1", 6, {0.634, 1.060, 0.000}}},   {"GLU", {"N", 0, {-0.528, 1.361, 0.000}}},
    {"GLU", {"CA", 0, {0.000, 0.000, 0.000}}},    {"GLU", {"C", 0, {1.526, -0.000, -0.000}}},
    {"GLU", {"CB", 0, {-0.526, -0.781, -1.207}}}, {"GLU", {"O", 3, {0.626, 1.062, 0.000}}},
    {"GLU", {"CG", 4, {0.615, 1.392, 0.000}}},    {"GLU", {"CD", 5, {0.600, 1.397, 0.000}}},
    {"GLU", {"OE1", 6, {0.607, 1.095, -0.000}}},  {"GLU", {"OE2", 6, {0.589, -1.104, -0.001}}},
    {"GLY", {"N", 0, {-0.572, 1.337, 0.000}}},    {"GLY", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"GLY", {"C", 0, {1.517, -0.000, -0.000}}},   {"GLY", {"O", 3, {0.626, 1.062, -0.000}}},
    {"HIS", {"N", 0, {-0.527, 1.360, 0.000}}},    {"HIS", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"HIS", {"C", 0, {1.525, 0.000, 0.000}}},     {"HIS", {"CB", 0, {-0.525, -0.778, -1.208}}},
    {"HIS", {"O", 3, {0.625, 1.063, 0.000}}},     {"HIS", {"CG", 4, {0.600, 1.370, -0.000}}},
    {"HIS", {"CD2", 5, {0.889, -1.021, 0.003}}},  {"HIS", {"ND1", 5, {0.744, 1.160, -0.000}}},
    {"HIS", {"CE1", 5, {2.030, 0.851, 0.002}}},   {"HIS", {"NE2", 5, {2.145, -0.466, 0.004}}},
    {"ILE", {"N", 0, {-0.493, 1.373, -0.000}}},   {"ILE", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"ILE", {"C", 0, {1.527, -0.000, -0.000}}},   {"ILE", {"CB", 0, {-0.536, -0.793, -1.213}}},
    {"ILE", {"O", 3, {0.627, 1.062, -0.000}}},    {"ILE", {"CG1", 4, {0.534, 1.437, -0.000}}},
    {"ILE", {"CG2", 4, {0.540, -0.785, -1.199}}}, {"ILE", {"CD1", 5, {0.619, 1.391, 0.000}}},
    {"LEU", {"N", 0, {-0.520, 1.363, 0.000}}},    {"LEU", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"LEU", {"C", 0, {1.525, -0.000, -0.000}}},   {"LEU", {"CB", 0, {-0.522, -0.773, -1.214}}},
    {"LEU", {"O", 3, {0.625, 1.063, -0.000}}},    {"LEU", {"CG", 4, {0.678, 1.371, 0.000}}},
    {"LEU", {"CD1", 5, {0.530, 1.430, -0.000}}},  {"LEU", {"CD2", 5, {0.535, -0.774, 1.200}}},
    {"LYS", {"N", 0, {-0.526, 1.362, -0.000}}},   {"LYS", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"LYS", {"C", 0, {1.526, 0.000, 0.000}}},     {"LYS", {"CB", 0, {-0.524, -0.778, -1.208}}},
    {"LYS", {"O", 3, {0.626, 1.062, -0.000}}},    {"LYS", {"CG", 4, {0.619, 1.390, 0.000}}},
    {"LYS", {"CD", 5, {0.559, 1.417, 0.000}}},    {"LYS", {"CE", 6, {0.560, 1.416, 0.000}}},
    {"LYS", {"NZ", 7, {0.554, 1.387, 0.000}}},    {"MET", {"N", 0, {-0.521, 1.364, -0.000}}},
    {"MET", {"CA", 0, {0.000, 0.000, 0.000}}},    {"MET", {"C", 0, {1.525, 0.000, 0.000}}},
    {"MET", {"CB", 0, {-0.523, -0.776, -1.210}}}, {"MET", {"O", 3, {0.625, 1.062, -0.000}}},
    {"MET", {"CG", 4, {0.613, 1.391, -0.000}}},   {"MET", {"SD", 5, {0.703, 1.695, 0.000}}},
    {"MET", {"CE", 6, {0.320, 1.786, -0.000}}},   {"PHE", {"N", 0, {-0.518, 1.363, 0.000}}},
    {"PHE", {"CA", 0, {0.000, 0.000, 0.000}}},    {"PHE", {"C", 0, {1.524, 0.000, -0.000}}},
    {"PHE", {"CB", 0, {-0.525, -0.776, -1.212}}}, {"PHE", {"O", 3, {0.626, 1.062, -0.000}}},
    {"PHE", {"CG", 4, {0.607, 1.377, 0.000}}},    {"PHE", {"CD1", 5, {0.709, 1.195, -0.000}}},
    {"PHE", {"CD2", 5, {0.706, -1.196, 0.000}}},  {"PHE", {"CE1", 5, {2.102, 1.198, -0.000}}},
    {"PHE", {"CE2", 5, {2.098, -1.201, -0.000}}}, {"PHE", {"CZ", 5, {2.794, -0.003, -0.001}}},
    {"PRO", {"N", 0, {-0.566, 1.351, -0.000}}},   {"PRO", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"PRO", {"C", 0, {1.527, -0.000, 0.000}}},    {"PRO", {"CB", 0, {-0.546, -0.611, -1.293}}},
    {"PRO", {"O", 3, {0.621, 1.066, 0.000}}},     {"PRO", {"CG", 4, {0.382, 1.445, 0.000}}},
    {"PRO", {"CD", 5, {0.477, 1.424, 0.000}}},    {"SER", {"N", 0, {-0.529, 1.360, -0.000}}},
    {"SER", {"CA", 0, {0.000, 0.000, 0.000}}},    {"SER", {"C", 0, {1.525, -0.000, -0.000}}},
    {"SER", {"CB", 0, {-0.518, -0.777, -1.211}}}, {"SER", {"O", 3, {0.626, 1.062, -0.000}}},
    {"SER", {"OG", 4, {0.503, 1.325, 0.000}}},    {"THR", {"N", 0, {-0.517, 1.364, 0.000}}},
    {"THR", {"CA", 0, {0.000, 0.000, 0.000}}},    {"THR", {"C", 0, {1.526, 0.000, -0.000}}},
    {"THR", {"CB", 0, {-0.516, -0.793, -1.215}}}, {"THR", {"O", 3, {0.626, 1.062, 0.000}}},
    {"THR", {"CG2", 4, {0.550, -0.718, -1.228}}}, {"THR", {"OG1", 4, {0.472, 1.353, 0.000}}},
    {"TRP", {"N", 0, {-0.521, 1.363, 0.000}}},    {"TRP", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"TRP", {"C", 0, {1.525, -0.000, 0.000}}},    {"TRP", {"CB", 0, {-0.523, -0.776, -1.212}}},
    {"TRP", {"O", 3, {0.627, 1.062, 0.000}}},     {"TRP", {"CG", 4, {0.609, 1.370, -0.000}}},
    {"TRP", {"CD1", 5, {0.824, 1.091, 0.000}}},   {"TRP", {"CD2", 5, {0.854, -1.148, -0.005}}},
    {"TRP", {"CE2", 5, {2.186, -0.678, -0.007}}}, {"TRP", {"CE3", 5, {0.622, -2.530, -0.007}}},
    {"TRP", {"NE1", 5, {2.140, 0.690, -0.004}}},  {"TRP", {"CH2", 5, {3.028, -2.890, -0.013}}},
    {"TRP", {"CZ2", 5, {3.283, -1.543, -0.011}}}, {"TRP", {"CZ3", 5, {1.715, -3.389, -0.011}}},
    {"TYR", {"N", 0, {-0.522, 1.362, 0.000}}},    {"TYR", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"TYR", {"C", 0, {1.524, -0.000, -0.000}}},   {"TYR", {"CB", 0, {-0.522, -0.776, -1.213}}},
    {"TYR", {"O", 3, {0.627, 1.062, -0.000}}},    {"TYR", {"CG", 4, {0.607, 1.382, -0.000}}},
    {"TYR", {"CD1", 5, {0.716, 1.195, -0.000}}},  {"TYR", {"CD2", 5, {0.713, -1.194, -0.001}}},
    {"TYR", {"CE1", 5, {2.107, 1.200, -0.002}}},  {"TYR", {"CE2", 5, {2.104, -1.201, -0.003}}},
    {"TYR", {"OH", 5, {4.168, -0.002, -0.005}}},  {"TYR", {"CZ", 5, {2.791, -0.001, -0.003}}},
    {"VAL", {"N", 0, {-0.494, 1.373, -0.000}}},   {"VAL", {"CA", 0, {0.000, 0.000, 0.000}}},
    {"VAL", {"C", 0, {1.527, -0.000, -0.000}}},   {"VAL", {"CB", 0, {-0.533, -0.795, -1.213}}},
    {"VAL", {"O", 3, {0.627, 1.062, -0.000}}},    {"VAL", {"CG1", 4, {0.540, 1.429, -0.000}}},
    {"VAL", {"CG2", 4, {0.533, -0.776, 1.203}}},
};

struct ResidueChiAtoms {
  std::string_view resname;
  std::array<std::string_view, 4> atoms;
};

// chi_angles_atoms: one row per chi angle, chi1 first (ARG's chi5 is always ~0 and left out).
constexpr ResidueChiAtoms chi_angles_atom_rows[] = {
    {"ARG", {"N", "CA", "CB", "CG"}},    {"ARG", {"CA", "CB", "CG", "CD"}},  {"ARG", {"CB", "CG", "CD", "NE"}},
    {"ARG", {"CG", "CD", "NE", "CZ"}},   {"ASN", {"N", "CA", "CB", "CG"}},   {"ASN", {"CA", "CB", "CG", "OD1"}},
    {"ASP", {"N", "CA", "CB", "CG"}},    {"ASP", {"CA", "CB", "CG", "OD1"}}, {"CYS", {"N", "CA", "CB", "SG"}},
    {"GLN", {"N", "CA", "CB", "CG"}},    {"GLN", {"CA", "CB", "CG", "CD"}},  {"GLN", {"CB", "CG", "CD", "OE1"}},
    {"GLU", {"N", "CA", "CB", "CG"}},    {"GLU", {"CA", "CB", "CG", "CD"}},  {"GLU", {"CB", "CG", "CD", "OE1"}},
    {"HIS", {"N", "CA", "CB", "CG"}},    {"HIS", {"CA", "CB", "CG", "ND1"}}, {"ILE", {"N", "CA", "CB", "CG1"}},
    {"ILE", {"CA", "CB", "CG1", "CD1"}}, {"LEU", {"N", "CA", "CB", "CG"}},   {"LEU", {"CA", "CB", "CG", "CD1"}},
    {"LYS", {"N", "CA", "CB", "CG"}},    {"LYS", {"CA", "CB", "CG", "CD"}},  {"LYS", {"CB", "CG", "CD", "CE"}},
    {"LYS", {"CG", "CD", "CE", "NZ"}},   {"MET", {"N", "CA", "CB", "CG"}},   {"MET", {"CA", "CB", "CG", "SD"}},
    {"MET", {"CB", "CG", "SD", "CE"}},   {"PHE", {"N", "CA", "CB", "CG"}},   {"PHE", {"CA", "CB", "CG", "CD1"}},
    {"PRO", {"N", "CA", "CB", "CG"}},    {"PRO", {"CA", "CB", "CG", "CD"}},  {"SER", {"N", "CA", "CB", "OG"}},
    {"THR", {"N", "CA", "CB", "OG1"}},   {"TRP", {"N", "CA", "CB", "CG"}},   {"TRP", {"CA", "CB", "CG", "CD1"}},
    {"TYR", {"N", "CA", "CB", "CG"}},    {"TYR", {"CA", "CB", "CG", "CD1"}}, {"VAL", {"N", "CA", "CB", "CG1"}},
};

// Groups rows of a base table by residue type (rows name the residue by its three-letter code).
template <typename Row, typename Value, typename Get>
std::array<std::vector<Value>, restype_num_with_x> group_by_restype(std::span<const Row> rows, Get get) {
  std::array<std::vector<Value>, restype_num_with_x> grouped;
  for (const Row& row : rows) {
    const int64_t restype = find_resname(row.resname);
    if (restype < 0) fail_runtime("residue_constants: unknown residue {} in a base table", row.resname);
    grouped[restype].push_back(get(row));
  }
  return grouped;
}

const std::array<std::vector<RigidGroupAtom>, restype_num_with_x>& rigid_group_atoms_by_restype() {
  static const auto grouped = group_by_restype<ResidueRigidGroupAtom, RigidGroupAtom>(
      rigid_group_atom_rows, [](const ResidueRigidGroupAtom& row) { return row.atom; });
  return grouped;
}

const std::array<std::vector<std::array<std::string_view, 4>>, restype_num_with_x>& chi_atoms_by_restype() {
  static const auto grouped = group_by_restype<ResidueChiAtoms, std::array<std::string_view, 4>>(
      chi_angles_atom_rows, [](const ResidueChiAtoms& row) { return row.atoms; });
  return grouped;
}

// ---- Small vector algebra for the default frames (double precision, as numpy) ----------------------

using Vec3 = std::array<double, 3>;

Vec3 operator-(const Vec3& a, const Vec3& b) { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
Vec3 operator*(double s, const Vec3& a) { return {s * a[0], s * a[1], s * a[2]}; }
Vec3 operator/(const Vec3& a, double s) { return {a[0] / s, a[1] / s, a[2] / s}; }
double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
double norm(const Vec3& a) { return std::sqrt(dot(a, a)); }
Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

// _make_rigid_transformation_4x4: columns are ex (normalised), ey made orthonormal to it, their cross
// product, and the translation; the last row is (0, 0, 0, 1).
Table<double, 4, 4> make_rigid_transformation_4x4(const Vec3& ex, const Vec3& ey, const Vec3& translation) {
  const Vec3 ex_normalized = ex / norm(ex);
  Vec3 ey_normalized = ey - dot(ey, ex_normalized) * ex_normalized;
  ey_normalized = ey_normalized / norm(ey_normalized);
  const Vec3 ez_normalized = cross(ex_normalized, ey_normalized);
  Table<double, 4, 4> m{};
  for (int64_t row = 0; row < 3; ++row) {
    m[row] = {ex_normalized[row], ey_normalized[row], ez_normalized[row], translation[row]};
  }
  m[3] = {0.0, 0.0, 0.0, 1.0};
  return m;
}

// ---- Derived tables -------------------------------------------------------------------------------

struct RigidGroupTables {
  Table<int64_t, restype_num_with_x, atom_type_num> atom37_to_rigid_group{};
  Table<float, restype_num_with_x, atom_type_num> atom37_mask{};
  Table<float, restype_num_with_x, atom_type_num, 3> atom37_rigid_group_positions{};
  Table<int64_t, restype_num_with_x, atom14_num> atom14_to_rigid_group{};
  Table<float, restype_num_with_x, atom14_num> atom14_mask{};
  Table<float, restype_num_with_x, atom14_num, 3> atom14_rigid_group_positions{};
  Table<float, restype_num_with_x, rigid_group_num, 4, 4> default_frame{};
};

void set_frame(Table<float, 4, 4>& frame, const Table<double, 4, 4>& m) {
  for (int64_t i = 0; i < 4; ++i) {
    for (int64_t j = 0; j < 4; ++j) frame[i][j] = static_cast<float>(m[i][j]);
  }
}

// _make_rigid_group_constants(): per-atom group tables, then each group's frame in its parent.
RigidGroupTables make_rigid_group_constants() {
  RigidGroupTables t;
  for (int64_t restype = 0; restype < restype_num; ++restype) {
    for (const RigidGroupAtom& atom : rigid_group_atom_positions(restype)) {
      const int64_t atom37 = atom_order(atom.atom_name);
      const int64_t atom14 = find_atom14_index(restype, atom.atom_name);
      if (atom14 < 0) fail_runtime("residue_constants: {} {} has no atom14 slot", resnames[restype], atom.atom_name);
      t.atom37_to_rigid_group[restype][atom37] = atom.rigid_group;
      t.atom37_mask[restype][atom37] = 1.0f;
      t.atom14_to_rigid_group[restype][atom14] = atom.rigid_group;
      t.atom14_mask[restype][atom14] = 1.0f;
      for (int64_t k = 0; k < 3; ++k) {
        t.atom37_rigid_group_positions[restype][atom37][k] = static_cast<float>(atom.position[k]);
        t.atom14_rigid_group_positions[restype][atom14][k] = static_cast<float>(atom.position[k]);
      }
    }
  }

  Table<double, 4, 4> identity{};
  for (int64_t i = 0; i < 4; ++i) identity[i][i] = 1.0;
  for (int64_t restype = 0; restype < restype_num; ++restype) {
    auto position = [restype](std::string_view atom_name) -> Vec3 {
      for (const RigidGroupAtom& atom : rigid_group_atom_positions(restype)) {
        if (atom.atom_name == atom_name) return atom.position;
      }
      fail_runtime("residue_constants: {} has no atom {}", resnames[restype], atom_name);
    };
    auto& frames = t.default_frame[restype];
    set_frame(frames[0], identity);  // backbone -> backbone
    set_frame(frames[1], identity);  // pre-omega -> backbone (placeholder)
    // phi -> backbone
    set_frame(frames[2], make_rigid_transformation_4x4(position("N") - position("CA"), {1.0, 0.0, 0.0}, position("N")));
    // psi -> backbone
    set_frame(frames[3], make_rigid_transformation_4x4(position("C") - position("CA"), position("CA") - position("N"),
                                                       position("C")));
    const auto chis = chi_angles_atoms(restype);
    // chi1 -> backbone
    if (chi_angles_mask[restype][0] != 0.0f) {
      const auto& base = chis[0];
      set_frame(frames[4], make_rigid_transformation_4x4(position(base[2]) - position(base[1]),
                                                         position(base[0]) - position(base[1]), position(base[2])));
    }
    // chi2 -> chi1, chi3 -> chi2, chi4 -> chi3: each axis starts at the previous frame's origin.
    for (int64_t chi = 1; chi < chi_num; ++chi) {
      if (chi_angles_mask[restype][chi] == 0.0f) continue;
      const Vec3 axis_end = position(chis[chi][2]);
      set_frame(frames[4 + chi], make_rigid_transformation_4x4(axis_end, {-1.0, 0.0, 0.0}, axis_end));
    }
  }
  return t;
}

const RigidGroupTables& rigid_group_tables() {
  static const RigidGroupTables tables = make_rigid_group_constants();
  return tables;
}

struct AtomLayoutTables {
  Table<int64_t, restype_num_with_x, atom14_num> atom14_to_atom37{};
  Table<int64_t, restype_num_with_x, atom_type_num> atom37_to_atom14{};
  Table<int64_t, restype_num_with_x, rigid_group_num, 3> rigidgroup_base_atom37_idx{};
  Table<int64_t, restype_num_with_x, chi_num, 4> chi_atom_indices{};
  Table<float, restype_num_with_x, atom14_num> atom14_is_ambiguous{};
  Table<float, restype_num_with_x, atom14_num, atom14_num> renaming_matrices{};
};

AtomLayoutTables make_atom_layout_tables() {
  AtomLayoutTables t;
  for (int64_t restype = 0; restype < restype_num; ++restype) {
    const auto& names = restype_name_to_atom14_names[restype];
    for (int64_t atom14 = 0; atom14 < atom14_num; ++atom14) {
      if (!names[atom14].empty()) t.atom14_to_atom37[restype][atom14] = atom_order(names[atom14]);
    }
    for (int64_t atom37 = 0; atom37 < atom_type_num; ++atom37) {
      t.atom37_to_atom14[restype][atom37] = std::max<int64_t>(find_atom14_index(restype, atom_types[atom37]), 0);
    }
  }

  // Frame-defining atoms: backbone (C, CA, N) and psi (CA, C, O) for every row, UNK included;
  // chi groups from the last three chi atoms.
  for (int64_t restype = 0; restype < restype_num_with_x; ++restype) {
    auto& base = t.rigidgroup_base_atom37_idx[restype];
    base[0] = {atom_order("C"), atom_order("CA"), atom_order("N")};
    base[3] = {atom_order("CA"), atom_order("C"), atom_order("O")};
    const auto chis = chi_angles_atoms(restype);
    for (int64_t chi = 0; chi < static_cast<int64_t>(chis.size()); ++chi) {
      for (int64_t k = 0; k < 4; ++k) t.chi_atom_indices[restype][chi][k] = atom_order(chis[chi][k]);
      if (chi_angles_mask[restype][chi] == 0.0f) continue;
      for (int64_t k = 0; k < 3; ++k) base[4 + chi][k] = atom_order(chis[chi][k + 1]);
    }
  }

  // Swaps of ambiguous atoms: identity permutations, then each residue's pairs exchanged.
  for (auto& matrix : t.renaming_matrices) {
    for (int64_t i = 0; i < atom14_num; ++i) matrix[i][i] = 1.0f;
  }
  for (const AtomRenamingSwap& swap : residue_atom_renaming_swaps) {
    const int64_t restype = find_resname(swap.resname);
    const int64_t a = find_atom14_index(restype, swap.atom_name);
    const int64_t b = find_atom14_index(restype, swap.swapped_name);
    if (a < 0 || b < 0) fail_runtime("residue_constants: bad renaming swap {} {}", swap.resname, swap.atom_name);
    t.atom14_is_ambiguous[restype][a] = 1.0f;
    t.atom14_is_ambiguous[restype][b] = 1.0f;
    auto& matrix = t.renaming_matrices[restype];
    matrix[a][a] = matrix[b][b] = 0.0f;
    matrix[a][b] = matrix[b][a] = 1.0f;
  }
  return t;
}

const AtomLayoutTables& atom_layout_tables() {
  static const AtomLayoutTables tables = make_atom_layout_tables();
  return tables;
}

// The nested tables are handed to torch::from_blob as flat buffers: they must have no padding.
static_assert(sizeof(Table<float, restype_num_with_x, rigid_group_num, 4, 4>) ==
              sizeof(float) * restype_num_with_x * rigid_group_num * 16);
static_assert(sizeof(Table<int64_t, restype_num_with_x, atom14_num>) == sizeof(int64_t) * restype_num_with_x * 14);

}  // namespace

// ---- Lookups --------------------------------------------------------------------------------------

int64_t restype_order(char letter) {
  const int64_t index = find_restype_with_x(letter);
  if (index < 0 || index >= restype_num) fail_input("'{}' is not one of the 20 standard residue letters", letter);
  return index;
}

int64_t restype_order_with_x(char letter) {
  const int64_t index = find_restype_with_x(letter);
  if (index < 0) fail_input("'{}' is not a residue letter (20 standard residues or X)", letter);
  return index;
}

int64_t resname_to_idx(std::string_view resname) {
  const int64_t index = find_resname(resname);
  if (index < 0) fail_input("'{}' is not a residue name (20 standard residues or UNK)", resname);
  return index;
}

std::string_view restype_1to3(char letter) { return resnames[restype_order_with_x(letter)]; }

char restype_3to1(std::string_view resname) { return restypes_with_x[resname_to_idx(resname)]; }

int64_t aatype_from_letter(char letter) {
  if (letter < 'A' || letter > 'Z') {
    fail_input("invalid character '{}' (byte {}) in a sequence: expected an upper-case letter", letter,
               static_cast<int>(static_cast<unsigned char>(letter)));
  }
  const int64_t index = find_restype_with_x(letter);
  return index < 0 ? unk_restype_index : index;
}

int64_t atom_order(std::string_view atom_name) {
  const int64_t index = find_atom_type(atom_name);
  if (index < 0) fail_input("'{}' is not one of the 37 atom types", atom_name);
  return index;
}

// ---- Table accessors ------------------------------------------------------------------------------

const Table<int64_t, restype_num_with_x, atom14_num>& restype_atom14_to_atom37() {
  return atom_layout_tables().atom14_to_atom37;
}
const Table<int64_t, restype_num_with_x, atom_type_num>& restype_atom37_to_atom14() {
  return atom_layout_tables().atom37_to_atom14;
}
const Table<float, restype_num_with_x, atom14_num>& restype_atom14_mask() { return rigid_group_tables().atom14_mask; }
const Table<float, restype_num_with_x, atom_type_num>& restype_atom37_mask() {
  return rigid_group_tables().atom37_mask;
}

std::span<const RigidGroupAtom> rigid_group_atom_positions(int64_t restype) {
  check_restype(restype);
  return rigid_group_atoms_by_restype()[restype];
}

const Table<int64_t, restype_num_with_x, atom_type_num>& restype_atom37_to_rigid_group() {
  return rigid_group_tables().atom37_to_rigid_group;
}
const Table<float, restype_num_with_x, atom_type_num, 3>& restype_atom37_rigid_group_positions() {
  return rigid_group_tables().atom37_rigid_group_positions;
}
const Table<int64_t, restype_num_with_x, atom14_num>& restype_atom14_to_rigid_group() {
  return rigid_group_tables().atom14_to_rigid_group;
}
const Table<float, restype_num_with_x, atom14_num, 3>& restype_atom14_rigid_group_positions() {
  return rigid_group_tables().atom14_rigid_group_positions;
}
const Table<float, restype_num_with_x, rigid_group_num, 4, 4>& restype_rigid_group_default_frame() {
  return rigid_group_tables().default_frame;
}
const Table<int64_t, restype_num_with_x, rigid_group_num, 3>& restype_rigidgroup_base_atom37_idx() {
  return atom_layout_tables().rigidgroup_base_atom37_idx;
}

std::span<const std::array<std::string_view, 4>> chi_angles_atoms(int64_t restype) {
  check_restype(restype);
  return chi_atoms_by_restype()[restype];
}
const Table<int64_t, restype_num_with_x, chi_num, 4>& chi_angles_atom_indices() {
  return atom_layout_tables().chi_atom_indices;
}

const Table<float, restype_num_with_x, atom14_num>& restype_atom14_is_ambiguous() {
  return atom_layout_tables().atom14_is_ambiguous;
}
const Table<float, restype_num_with_x, atom14_num, atom14_num>& renaming_matrices() {
  return atom_layout_tables().renaming_matrices;
}

void check_restype(int64_t restype) {
  if (restype < 0 || restype >= restype_num_with_x) {
    fail_input("residue type index {} is out of range [0, {})", restype, restype_num_with_x);
  }
}

}  // namespace kfold::data::rc
// clang-format on
