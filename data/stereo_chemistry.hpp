// AlphaFold2 stereo-chemical reference values (residue_constants.py, stereo_chemical_props.txt): van der
// Waals radii, peptide-bond geometry, per-residue bond lengths and angles, and the atom14 distance bounds
// that the structural violation loss checks (make_atom14_dists_bounds).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "data/residue_constants.hpp"

namespace kfold::data::rc {

// ---- Between-residue geometry ---------------------------------------------------------------------

// Distance from one CA to the next [Angstrom] for a trans peptide (omega = 180 degrees).
inline constexpr double ca_ca = 3.80209737096;
// Peptide bond C(i)-N(i+1) [Angstrom]: {general, before a proline}.
inline constexpr std::array<double, 2> between_res_bond_length_c_n = {1.329, 1.341};
inline constexpr std::array<double, 2> between_res_bond_length_stddev_c_n = {0.014, 0.016};
// Cosines of the angles across the peptide bond: {mean, stddev}.
inline constexpr std::array<double, 2> between_res_cos_angles_c_n_ca = {-0.5203, 0.0353};  // 121.352 +- 2.315 deg
inline constexpr std::array<double, 2> between_res_cos_angles_ca_c_n = {-0.4473, 0.0311};  // 116.568 +- 1.995 deg

// Van der Waals radius [Angstrom] of an element given by its letter: C 1.7, N 1.55, O 1.52, S 1.8.
// Throws InputError for any other element.
double van_der_waals_radius(char element);

// ---- Intra-residue bonds and angles ---------------------------------------------------------------

struct Bond {
  std::string_view atom1_name;
  std::string_view atom2_name;
  double length;  // [Angstrom]
  double stddev;  // [Angstrom]
};

struct BondAngle {
  std::string_view atom1_name;
  std::string_view atom2_name;  // the vertex
  std::string_view atom3_name;
  double angle_rad;
  double stddev;  // [rad]
};

// load_stereo_chemical_props(): per residue type (rows in resnames order; UNK empty) the literature bond
// lengths and angles, and each angle turned into a "virtual bond" between its outer atoms (law of
// cosines, with the uncertainty propagated from the two bonds and the angle). Built once.
struct StereoChemicalProps {
  std::array<std::vector<Bond>, restype_num_with_x> residue_bonds;
  std::array<std::vector<Bond>, restype_num_with_x> residue_virtual_bonds;
  std::array<std::vector<BondAngle>, restype_num_with_x> residue_bond_angles;
};
const StereoChemicalProps& load_stereo_chemical_props();

// The literature bond between two atoms of residue type `restype` (either order), if there is one.
std::optional<Bond> find_residue_bond(int64_t restype, std::string_view atom1_name, std::string_view atom2_name);
// The literature angle atom1-atom2-atom3 (atom2 the vertex; the outer atoms in either order), if any.
std::optional<BondAngle> find_residue_bond_angle(int64_t restype, std::string_view atom1_name,
                                                 std::string_view atom2_name, std::string_view atom3_name);

// ---- Distance bounds for the violation loss -------------------------------------------------------

// Per residue type and atom14 pair: non-bonded pairs may not come closer than the sum of their van der
// Waals radii less overlap_tolerance (upper bound 1e10); bonded pairs and the outer atoms of an angle
// must stay within length +- bond_length_tolerance_factor * stddev. Unused pairs and UNK are 0.
struct Atom14DistsBounds {
  Table<float, restype_num_with_x, atom14_num, atom14_num> lower_bound{};  // [21, 14, 14]
  Table<float, restype_num_with_x, atom14_num, atom14_num> upper_bound{};  // [21, 14, 14]
  Table<float, restype_num_with_x, atom14_num, atom14_num> stddev{};       // [21, 14, 14]
};
Atom14DistsBounds make_atom14_dists_bounds(double overlap_tolerance = 1.5, double bond_length_tolerance_factor = 15);

}  // namespace kfold::data::rc
