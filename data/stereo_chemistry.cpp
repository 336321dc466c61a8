// AlphaFold2 stereo-chemical reference values: the tables of stereo_chemical_props.txt (Engh & Huber
// bond lengths and angles) and what residue_constants.py derives from them.
#include "data/stereo_chemistry.hpp"

#include <cmath>
#include <numbers>

#include "data/error.hpp"

// clang-format off: the tables below are aligned by hand to mirror AlphaFold's.
namespace kfold::data::rc {
namespace {

struct BondRow {
  std::string_view resname;
  std::string_view atom1_name;
  std::string_view atom2_name;
  double length;  // [Angstrom]
  double stddev;  // [Angstrom]
};

struct AngleRow {
  std::string_view resname;
  std::string_view atom1_name;
  std::string_view atom2_name;
  std::string_view atom3_name;
  double angle_degree;
  double stddev_degree;
};

// Bond lengths, in the file's order.
constexpr BondRow bond_rows[] = {
    {"ALA", "CA", "CB", 1.520, 0.021},   {"ALA", "N", "CA", 1.459, 0.020},    {"ALA", "CA", "C", 1.525, 0.026},
    {"ALA", "C", "O", 1.229, 0.019},     {"ARG", "CA", "CB", 1.535, 0.022},   {"ARG", "CB", "CG", 1.521, 0.027},
    {"ARG", "CG", "CD", 1.515, 0.025},   {"ARG", "CD", "NE", 1.460, 0.017},   {"ARG", "NE", "CZ", 1.326, 0.013},
    {"ARG", "CZ", "NH1", 1.326, 0.013},  {"ARG", "CZ", "NH2", 1.326, 0.013},  {"ARG", "N", "CA", 1.459, 0.020},
    {"ARG", "CA", "C", 1.525, 0.026},    {"ARG", "C", "O", 1.229, 0.019},     {"ASN", "CA", "CB", 1.527, 0.026},
    {"ASN", "CB", "CG", 1.506, 0.023},   {"ASN", "CG", "OD1", 1.235, 0.022},  {"ASN", "CG", "ND2", 1.324, 0.025},
    {"ASN", "N", "CA", 1.459, 0.020},    {"ASN", "CA", "C", 1.525, 0.026},    {"ASN", "C", "O", 1.229, 0.019},
    {"ASP", "CA", "CB", 1.535, 0.022},   {"ASP", "CB", "CG", 1.513, 0.021},   {"ASP", "CG", "OD1", 1.249, 0.023},
    {"ASP", "CG", "OD2", 1.249, 0.023},  {"ASP", "N", "CA", 1.459, 0.020},    {"ASP", "CA", "C", 1.525, 0.026},
    {"ASP", "C", "O", 1.229, 0.019},     {"CYS", "CA", "CB", 1.526, 0.013},   {"CYS", "CB", "SG", 1.812, 0.016},
    {"CYS", "N", "CA", 1.459, 0.020},    {"CYS", "CA", "C", 1.525, 0.026},    {"CYS", "C", "O", 1.229, 0.019},
    {"GLU", "CA", "CB", 1.535, 0.022},   {"GLU", "CB", "CG", 1.517, 0.019},   {"GLU", "CG", "CD", 1.515, 0.015},
    {"GLU", "CD", "OE1", 1.252, 0.011},  {"GLU", "CD", "OE2", 1.252, 0.011},  {"GLU", "N", "CA", 1.459, 0.020},
    {"GLU", "CA", "C", 1.525, 0.026},    {"GLU", "C", "O", 1.229, 0.019},     {"GLN", "CA", "CB", 1.535, 0.022},
    {"GLN", "CB", "CG", 1.521, 0.027},   {"GLN", "CG", "CD", 1.506, 0.023},   {"GLN", "CD", "OE1", 1.235, 0.022},
    {"GLN", "CD", "NE2", 1.324, 0.025},  {"GLN", "N", "CA", 1.459, 0.020},    {"GLN", "CA", "C", 1.525, 0.026},
    {"GLN", "C", "O", 1.229, 0.019},     {"GLY", "N", "CA", 1.456, 0.015},    {"GLY", "CA", "C", 1.514, 0.016},
    {"GLY", "C", "O", 1.232, 0.016},     {"HIS", "CA", "CB", 1.535, 0.022},   {"HIS", "CB", "CG", 1.492, 0.016},
    {"HIS", "CG", "ND1", 1.369, 0.015},  {"HIS", "CG", "CD2", 1.353, 0.017},  {"HIS", "ND1", "CE1", 1.343, 0.025},
    {"HIS", "CD2", "NE2", 1.415, 0.021}, {"HIS", "CE1", "NE2", 1.322, 0.023}, {"HIS", "N", "CA", 1.459, 0.020},
    {"HIS", "CA", "C", 1.525, 0.026},    {"HIS", "C", "O", 1.229, 0.019},     {"ILE", "CA", "CB", 1.544, 0.023},
    {"ILE", "CB", "CG1", 1.536, 0.028},  {"ILE", "CB", "CG2", 1.524, 0.031},  {"ILE", "CG1", "CD1", 1.500, 0.069},
    {"ILE", "N", "CA", 1.459, 0.020},    {"ILE", "CA", "C", 1.525, 0.026},    {"ILE", "C", "O", 1.229, 0.019},
    {"LEU", "CA", "CB", 1.533, 0.023},   {"LEU", "CB", "CG", 1.521, 0.029},   {"LEU", "CG", "CD1", 1.514, 0.037},
    {"LEU", "CG", "CD2", 1.514, 0.037},  {"LEU", "N", "CA", 1.459, 0.020},    {"LEU", "CA", "C", 1.525, 0.026},
    {"LEU", "C", "O", 1.229, 0.019},     {"LYS", "CA", "CB", 1.535, 0.022},   {"LYS", "CB", "CG", 1.521, 0.027},
    {"LYS", "CG", "CD", 1.520, 0.034},   {"LYS", "CD", "CE", 1.508, 0.025},   {"LYS", "CE", "NZ", 1.486, 0.025},
    {"LYS", "N", "CA", 1.459, 0.020},    {"LYS", "CA", "C", 1.525, 0.026},    {"LYS", "C", "O", 1.229, 0.019},
    {"MET", "CA", "CB", 1.535, 0.022},   {"MET", "CB", "CG", 1.509, 0.032},   {"MET", "CG", "SD", 1.807, 0.026},
    {"MET", "SD", "CE", 1.774, 0.056},   {"MET", "N", "CA", 1.459, 0.020},    {"MET", "CA", "C", 1.525, 0.026},
    {"MET", "C", "O", 1.229, 0.019},     {"PHE", "CA", "CB", 1.535, 0.022},   {"PHE", "CB", "CG", 1.509, 0.017},
    {"PHE", "CG", "CD1", 1.383, 0.015},  {"PHE", "CG", "CD2", 1.383, 0.015},  {"PHE", "CD1", "CE1", 1.388, 0.020},
    {"PHE", "CD2", "CE2", 1.388, 0.020}, {"PHE", "CE1", "CZ", 1.369, 0.019},  {"PHE", "CE2", "CZ", 1.369, 0.019},
    {"PHE", "N", "CA", 1.459, 0.020},    {"PHE", "CA", "C", 1.525, 0.026},    {"PHE", "C", "O", 1.229, 0.019},
    {"PRO", "CA", "CB", 1.531, 0.020},   {"PRO", "CB", "CG", 1.495, 0.050},   {"PRO", "CG", "CD", 1.502, 0.033},
    {"PRO", "CD", "N", 1.474, 0.014},    {"PRO", "N", "CA", 1.468, 0.017},    {"PRO", "CA", "C", 1.524, 0.020},
    {"PRO", "C", "O", 1.228, 0.020},     {"SER", "CA", "CB", 1.525, 0.015},   {"SER", "CB", "OG", 1.418, 0.013},
    {"SER", "N", "CA", 1.459, 0.020},    {"SER", "CA", "C", 1.525, 0.026},    {"SER", "C", "O", 1.229, 0.019},
    {"THR", "CA", "CB", 1.529, 0.026},   {"THR", "CB", "OG1", 1.428, 0.020},  {"THR", "CB", "CG2", 1.519, 0.033},
    {"THR", "N", "CA", 1.459, 0.020},    {"THR", "CA", "C", 1.525, 0.026},    {"THR", "C", "O", 1.229, 0.019},
    {"TRP", "CA", "CB", 1.535, 0.022},   {"TRP", "CB", "CG", 1.498, 0.018},   {"TRP", "CG", "CD1", 1.363, 0.014},
    {"TRP", "CG", "CD2", 1.432, 0.017},  {"TRP", "CD1", "NE1", 1.375, 0.017}, {"TRP", "NE1", "CE2", 1.371, 0.013},
    {"TRP", "CD2", "CE2", 1.409, 0.012}, {"TRP", "CD2", "CE3", 1.399, 0.015}, {"TRP", "CE2", "CZ2", 1.393, 0.017},
    {"TRP", "CE3", "CZ3", 1.380, 0.017}, {"TRP", "CZ2", "CH2", 1.369, 0.019}, {"TRP", "CZ3", "CH2", 1.396, 0.016},
    {"TRP", "N", "CA", 1.459, 0.020},    {"TRP", "CA", "C", 1.525, 0.026},    {"TRP", "C", "O", 1.229, 0.019},
    {"TYR", "CA", "CB", 1.535, 0.022},   {"TYR", "CB", "CG", 1.512, 0.015},   {"TYR", "CG", "CD1", 1.387, 0.013},
    {"TYR", "CG", "CD2", 1.387, 0.013},  {"TYR", "CD1", "CE1", 1.389, 0.015}, {"TYR", "CD2", "CE2", 1.389, 0.015},
    {"TYR", "CE1", "CZ", 1.381, 0.013},  {"TYR", "CE2", "CZ", 1.381, 0.013},  {"TYR", "CZ", "OH", 1.374, 0.017},
    {"TYR", "N", "CA", 1.459, 0.020},    {"TYR", "CA", "C", 1.525, 0.026},    {"TYR", "C", "O", 1.229, 0.019},
    {"VAL", "CA", "CB", 1.543, 0.021},   {"VAL", "CB", "CG1", 1.524, 0.021},  {"VAL", "CB", "CG2", 1.524, 0.021},
    {"VAL", "N", "CA", 1.459, 0.020},    {"VAL", "CA", "C", 1.525, 0.026},    {"VAL", "C", "O", 1.229, 0.019},
};

// Bond angles [degrees], in the file's order.
constexpr AngleRow angle_rows[] = {
    {"ALA", "N", "CA", "CB", 110.1, 1.4},     {"ALA", "CB", "CA", "C", 110.1, 1.5},
    {"ALA", "N", "CA", "C", 111.0, 2.7},      {"ALA", "CA", "C", "O", 120.1, 2.1},
    {"ARG", "N", "CA", "CB", 110.6, 1.8},     {"ARG", "CB", "CA", "C", 110.4, 2.0},
    {"ARG", "CA", "CB", "CG", 113.4, 2.2},    {"ARG", "CB", "CG", "CD", 111.6, 2.6},
    {"ARG", "CG", "CD", "NE", 111.8, 2.1},    {"ARG", "CD", "NE", "CZ", 123.6, 1.4},
    {"ARG", "NE", "CZ", "NH1", 120.3, 0.5},   {"ARG", "NE", "CZ", "NH2", 120.3, 0.5},
    {"ARG", "NH1", "CZ", "NH2", 119.4, 1.1},  {"ARG", "N", "CA", "C", 111.0, 2.7},
    {"ARG", "CA", "C", "O", 120.1, 2.1},      {"ASN", "N", "CA", "CB", 110.6, 1.8},
    {"ASN", "CB", "CA", "C", 110.4, 2.0},     {"ASN", "CA", "CB", "CG", 113.4, 2.2},
    {"ASN", "CB", "CG", "ND2", 116.7, 2.4},   {"ASN", "CB", "CG", "OD1", 121.6, 2.0},
    {"ASN", "ND2", "CG", "OD1", 121.9, 2.3},  {"ASN", "N", "CA", "C", 111.0, 2.7},
    {"ASN", "CA", "C", "O", 120.1, 2.1},      {"ASP", "N", "CA", "CB", 110.6, 1.8},
    {"ASP", "CB", "CA", "C", 110.4, 2.0},     {"ASP", "CA", "CB", "CG", 113.4, 2.2},
    {"ASP", "CB", "CG", "OD1", 118.3, 0.9},   {"ASP", "CB", "CG", "OD2", 118.3, 0.9},
    {"ASP", "OD1", "CG", "OD2", 123.3, 1.9},  {"ASP", "N", "CA", "C", 111.0, 2.7},
    {"ASP", "CA", "C", "O", 120.1, 2.1},      {"CYS", "N", "CA", "CB", 110.8, 1.5},
    {"CYS", "CB", "CA", "C", 111.5, 1.2},     {"CYS", "CA", "CB", "SG", 114.2, 1.1},
    {"CYS", "N", "CA", "C", 111.0, 2.7},      {"CYS", "CA", "C", "O", 120.1, 2.1},
    {"GLU", "N", "CA", "CB", 110.6, 1.8},     {"GLU", "CB", "CA", "C", 110.4, 2.0},
    {"GLU", "CA", "CB", "CG", 113.4, 2.2},    {"GLU", "CB", "CG", "CD", 114.2, 2.7},
    {"GLU", "CG", "CD", "OE1", 118.3, 2.0},   {"GLU", "CG", "CD", "OE2", 118.3, 2.0},
    {"GLU", "OE1", "CD", "OE2", 123.3, 1.2},  {"GLU", "N", "CA", "C", 111.0, 2.7},
    {"GLU", "CA", "C", "O", 120.1, 2.1},      {"GLN", "N", "CA", "CB", 110.6, 1.8},
    {"GLN", "CB", "CA", "C", 110.4, 2.0},     {"GLN", "CA", "CB", "CG", 113.4, 2.2},
    {"GLN", "CB", "CG", "CD", 111.6, 2.6},    {"GLN", "CG", "CD", "OE1", 121.6, 2.0},
    {"GLN", "CG", "CD", "NE2", 116.7, 2.4},   {"GLN", "OE1", "CD", "NE2", 121.9, 2.3},
    {"GLN", "N", "CA", "C", 111.0, 2.7},      {"GLN", "CA", "C", "O", 120.1, 2.1},
    {"GLY", "N", "CA", "C", 113.1, 2.5},      {"GLY", "CA", "C", "O", 120.6, 1.8},
    {"HIS", "N", "CA", "CB", 110.6, 1.8},     {"HIS", "CB", "CA", "C", 110.4, 2.0},
    {"HIS", "CA", "CB", "CG", 113.6, 1.7},    {"HIS", "CB", "CG", "ND1", 123.2, 2.5},
    {"HIS", "CB", "CG", "CD2", 130.8, 3.1},   {"HIS", "CG", "ND1", "CE1", 108.2, 1.4},
    {"HIS", "ND1", "CE1", "NE2", 109.9, 2.2}, {"HIS", "CE1", "NE2", "CD2", 106.6, 2.5},
    {"HIS", "NE2", "CD2", "CG", 109.2, 1.9},  {"HIS", "CD2", "CG", "ND1", 106.0, 1.4},
    {"HIS", "N", "CA", "C", 111.0, 2.7},      {"HIS", "CA", "C", "O", 120.1, 2.1},
    {"ILE", "N", "CA", "CB", 110.8, 2.3},     {"ILE", "CB", "CA", "C", 111.6, 2.0},
    {"ILE", "CA", "CB", "CG1", 111.0, 1.9},   {"ILE", "CB", "CG1", "CD1", 113.9, 2.8},
    {"ILE", "CA", "CB", "CG2", 110.9, 2.0},   {"ILE", "CG1", "CB", "CG2", 111.4, 2.2},
    {"ILE", "N", "CA", "C", 111.0, 2.7},      {"ILE", "CA", "C", "O", 120.1, 2.1},
    {"LEU", "N", "CA", "CB", 110.4, 2.0},     {"LEU", "CB", "CA", "C", 110.2, 1.9},
    {"LEU", "CA", "CB", "CG", 115.3, 2.3},    {"LEU", "CB", "CG", "CD1", 111.0, 1.7},
    {"LEU", "CB", "CG", "CD2", 111.0, 1.7},   {"LEU", "CD1", "CG", "CD2", 110.5, 3.0},
    {"LEU", "N", "CA", "C", 111.0, 2.7},      {"LEU", "CA", "C", "O", 120.1, 2.1},
    {"LYS", "N", "CA", "CB", 110.6, 1.8},     {"LYS", "CB", "CA", "C", 110.4, 2.0},
    {"LYS", "CA", "CB", "CG", 113.4, 2.2},    {"LYS", "CB", "CG", "CD", 111.6, 2.6},
    {"LYS", "CG", "CD", "CE", 111.9, 3.0},    {"LYS", "CD", "CE", "NZ", 111.7, 2.3},
    {"LYS", "N", "CA", "C", 111.0, 2.7},      {"LYS", "CA", "C", "O", 120.1, 2.1},
    {"MET", "N", "CA", "CB", 110.6, 1.8},     {"MET", "CB", "CA", "C", 110.4, 2.0},
    {"MET", "CA", "CB", "CG", 113.3, 1.7},    {"MET", "CB", "CG", "SD", 112.4, 3.0},
    {"MET", "CG", "SD", "CE", 100.2, 1.6},    {"MET", "N", "CA", "C", 111.0, 2.7},
    {"MET", "CA", "C", "O", 120.1, 2.1},      {"PHE", "N", "CA", "CB", 110.6, 1.8},
    {"PHE", "CB", "CA", "C", 110.4, 2.0},     {"PHE", "CA", "CB", "CG", 113.9, 2.4},
    {"PHE", "CB", "CG", "CD1", 120.8, 0.7},   {"PHE", "CB", "CG", "CD2", 120.8, 0.7},
    {"PHE", "CD1", "CG", "CD2", 118.3, 1.3},  {"PHE", "CG", "CD1", "CE1", 120.8, 1.1},
    {"PHE", "CG", "CD2", "CE2", 120.8, 1.1},  {"PHE", "CD1", "CE1", "CZ", 120.1, 1.2},
    {"PHE", "CD2", "CE2", "CZ", 120.1, 1.2},  {"PHE", "CE1", "CZ", "CE2", 120.0, 1.8},
    {"PHE", "N", "CA", "C", 111.0, 2.7},      {"PHE", "CA", "C", "O", 120.1, 2.1},
    {"PRO", "N", "CA", "CB", 103.3, 1.2},     {"PRO", "CB", "CA", "C", 111.7, 2.1},
    {"PRO", "CA", "CB", "CG", 104.8, 1.9},    {"PRO", "CB", "CG", "CD", 106.5, 3.9},
    {"PRO", "CG", "CD", "N", 103.2, 1.5},     {"PRO", "CA", "N", "CD", 111.7, 1.4},
    {"PRO", "N", "CA", "C", 112.1, 2.6},      {"PRO", "CA", "C", "O", 120.2, 2.4},
    {"SER", "N", "CA", "CB", 110.5, 1.5},     {"SER", "CB", "CA", "C", 110.1, 1.9},
    {"SER", "CA", "CB", "OG", 111.2, 2.7},    {"SER", "N", "CA", "C", 111.0, 2.7},
    {"SER", "CA", "C", "O", 120.1, 2.1},      {"THR", "N", "CA", "CB", 110.3, 1.9},
    {"THR", "CB", "CA", "C", 111.6, 2.7},     {"THR", "CA", "CB", "OG1", 109.0, 2.1},
    {"THR", "CA", "CB", "CG2", 112.4, 1.4},   {"THR", "OG1", "CB", "CG2", 110.0, 2.3},
    {"THR", "N", "CA", "C", 111.0, 2.7},      {"THR", "CA", "C", "O", 120.1, 2.1},
    {"TRP", "N", "CA", "CB", 110.6, 1.8},     {"TRP", "CB", "CA", "C", 110.4, 2.0},
    {"TRP", "CA", "CB", "CG", 113.7, 1.9},    {"TRP", "CB", "CG", "CD1", 127.0, 1.3},
    {"TRP", "CB", "CG", "CD2", 126.6, 1.3},   {"TRP", "CD1", "CG", "CD2", 106.3, 0.8},
    {"TRP", "CG", "CD1", "NE1", 110.1, 1.0},  {"TRP", "CD1", "NE1", "CE2", 109.0, 0.9},
    {"TRP", "NE1", "CE2", "CD2", 107.3, 1.0}, {"TRP", "CE2", "CD2", "CG", 107.3, 0.8},
    {"TRP", "CG", "CD2", "CE3", 133.9, 0.9},  {"TRP", "NE1", "CE2", "CZ2", 130.4, 1.1},
    {"TRP", "CE3", "CD2", "CE2", 118.7, 1.2}, {"TRP", "CD2", "CE2", "CZ2", 122.3, 1.2},
    {"TRP", "CE2", "CZ2", "CH2", 117.4, 1.0}, {"TRP", "CZ2", "CH2", "CZ3", 121.6, 1.2},
    {"TRP", "CH2", "CZ3", "CE3", 121.2, 1.1}, {"TRP", "CZ3", "CE3", "CD2", 118.8, 1.3},
    {"TRP", "N", "CA", "C", 111.0, 2.7},      {"TRP", "CA", "C", "O", 120.1, 2.1},
    {"TYR", "N", "CA", "CB", 110.6, 1.8},     {"TYR", "CB", "CA", "C", 110.4, 2.0},
    {"TYR", "CA", "CB", "CG", 113.4, 1.9},    {"TYR", "CB", "CG", "CD1", 121.0, 0.6},
    {"TYR", "CB", "CG", "CD2", 121.0, 0.6},   {"TYR", "CD1", "CG", "CD2", 117.9, 1.1},
    {"TYR", "CG", "CD1", "CE1", 121.3, 0.8},  {"TYR", "CG", "CD2", "CE2", 121.3, 0.8},
    {"TYR", "CD1", "CE1", "CZ", 119.8, 0.9},  {"TYR", "CD2", "CE2", "CZ", 119.8, 0.9},
    {"TYR", "CE1", "CZ", "CE2", 119.8, 1.6},  {"TYR", "CE1", "CZ", "OH", 120.1, 2.7},
    {"TYR", "CE2", "CZ", "OH", 120.1, 2.7},   {"TYR", "N", "CA", "C", 111.0, 2.7},
    {"TYR", "CA", "C", "O", 120.1, 2.1},      {"VAL", "N", "CA", "CB", 111.5, 2.2},
    {"VAL", "CB", "CA", "C", 111.4, 1.9},     {"VAL", "CA", "CB", "CG1", 110.9, 1.5},
    {"VAL", "CA", "CB", "CG2", 110.9, 1.5},   {"VAL", "CG1", "CB", "CG2", 110.9, 1.6},
    {"VAL", "N", "CA", "C", 111.0, 2.7},      {"VAL", "CA", "C", "O", 120.1, 2.1},
};

int64_t restype_of(std::string_view resname) {
  const int64_t restype = find_resname(resname);
  if (restype < 0) fail_runtime("stereo_chemistry: unknown residue {} in a table", resname);
  return restype;
}

bool same_bond(const Bond& bond, std::string_view atom1_name, std::string_view atom2_name) {
  return (bond.atom1_name == atom1_name && bond.atom2_name == atom2_name) ||
         (bond.atom1_name == atom2_name && bond.atom2_name == atom1_name);
}

const Bond& bond_between(const std::vector<Bond>& bonds, std::string_view resname, std::string_view atom1_name,
                         std::string_view atom2_name) {
  for (const Bond& bond : bonds) {
    if (same_bond(bond, atom1_name, atom2_name)) return bond;
  }
  fail_runtime("stereo_chemistry: {} has an angle over {}-{} but no such bond", resname, atom1_name, atom2_name);
}

// The distance between the outer atoms of an angle (law of cosines, c^2 = a^2 + b^2 - 2ab cos(gamma)),
// and its stddev by propagating the uncorrelated errors of both bonds and the angle.
Bond virtual_bond(const Bond& bond1, const Bond& bond2, const BondAngle& angle) {
  const double gamma = angle.angle_rad;
  const double b1 = bond1.length;
  const double b2 = bond2.length;
  const double length = std::sqrt(b1 * b1 + b2 * b2 - 2 * b1 * b2 * std::cos(gamma));
  const double dl_outer = 0.5 / length;
  const double dl_dgamma = (2 * b1 * b2 * std::sin(gamma)) * dl_outer;
  const double dl_db1 = (2 * b1 - 2 * b2 * std::cos(gamma)) * dl_outer;
  const double dl_db2 = (2 * b2 - 2 * b1 * std::cos(gamma)) * dl_outer;
  const double term_gamma = dl_dgamma * angle.stddev;
  const double term_b1 = dl_db1 * bond1.stddev;
  const double term_b2 = dl_db2 * bond2.stddev;
  const double stddev = std::sqrt(term_gamma * term_gamma + term_b1 * term_b1 + term_b2 * term_b2);
  return {angle.atom1_name, angle.atom3_name, length, stddev};
}

StereoChemicalProps make_stereo_chemical_props() {
  StereoChemicalProps props;
  for (const BondRow& row : bond_rows) {
    props.residue_bonds[restype_of(row.resname)].push_back({row.atom1_name, row.atom2_name, row.length, row.stddev});
  }
  for (const AngleRow& row : angle_rows) {
    props.residue_bond_angles[restype_of(row.resname)].push_back({row.atom1_name, row.atom2_name, row.atom3_name,
                                                                  row.angle_degree / 180.0 * std::numbers::pi,
                                                                  row.stddev_degree / 180.0 * std::numbers::pi});
  }
  for (int64_t restype = 0; restype < restype_num_with_x; ++restype) {
    for (const BondAngle& angle : props.residue_bond_angles[restype]) {
      const auto& bonds = props.residue_bonds[restype];
      const Bond& bond1 = bond_between(bonds, resnames[restype], angle.atom1_name, angle.atom2_name);
      const Bond& bond2 = bond_between(bonds, resnames[restype], angle.atom2_name, angle.atom3_name);
      props.residue_virtual_bonds[restype].push_back(virtual_bond(bond1, bond2, angle));
    }
  }
  return props;
}

int64_t atom14_index_of(int64_t restype, std::string_view atom_name) {
  const int64_t index = find_atom14_index(restype, atom_name);
  if (index < 0) fail_runtime("stereo_chemistry: {} has no atom14 slot for {}", resnames[restype], atom_name);
  return index;
}

}  // namespace

double van_der_waals_radius(char element) {
  switch (element) {
    case 'C':
      return 1.7;
    case 'N':
      return 1.55;
    case 'O':
      return 1.52;
    case 'S':
      return 1.8;
    default:
      fail_input("no van der Waals radius for element '{}' (known: C, N, O, S)", element);
  }
}

const StereoChemicalProps& load_stereo_chemical_props() {
  static const StereoChemicalProps props = make_stereo_chemical_props();
  return props;
}

std::optional<Bond> find_residue_bond(int64_t restype, std::string_view atom1_name, std::string_view atom2_name) {
  check_restype(restype);
  for (const Bond& bond : load_stereo_chemical_props().residue_bonds[restype]) {
    if (same_bond(bond, atom1_name, atom2_name)) return bond;
  }
  return std::nullopt;
}

std::optional<BondAngle> find_residue_bond_angle(int64_t restype, std::string_view atom1_name,
                                                 std::string_view atom2_name, std::string_view atom3_name) {
  check_restype(restype);
  for (const BondAngle& angle : load_stereo_chemical_props().residue_bond_angles[restype]) {
    if (angle.atom2_name != atom2_name) continue;
    if ((angle.atom1_name == atom1_name && angle.atom3_name == atom3_name) ||
        (angle.atom1_name == atom3_name && angle.atom3_name == atom1_name)) {
      return angle;
    }
  }
  return std::nullopt;
}

Atom14DistsBounds make_atom14_dists_bounds(double overlap_tolerance, double bond_length_tolerance_factor) {
  Atom14DistsBounds bounds;
  const StereoChemicalProps& props = load_stereo_chemical_props();
  for (int64_t restype = 0; restype < restype_num; ++restype) {
    const auto& atom_list = restype_name_to_atom14_names[restype];
    auto& lower_bound = bounds.lower_bound[restype];
    auto& upper_bound = bounds.upper_bound[restype];
    auto& stddev = bounds.stddev[restype];

    // Clashes: every pair of distinct atoms keeps the sum of their radii, less the tolerance.
    for (int64_t atom1 = 0; atom1 < atom14_num; ++atom1) {
      if (atom_list[atom1].empty()) continue;
      const double atom1_radius = van_der_waals_radius(atom_list[atom1][0]);
      for (int64_t atom2 = 0; atom2 < atom14_num; ++atom2) {
        if (atom_list[atom2].empty() || atom1 == atom2) continue;
        const double atom2_radius = van_der_waals_radius(atom_list[atom2][0]);
        const auto lower = static_cast<float>(atom1_radius + atom2_radius - overlap_tolerance);
        const auto upper = static_cast<float>(1e10);
        lower_bound[atom1][atom2] = lower_bound[atom2][atom1] = lower;
        upper_bound[atom1][atom2] = upper_bound[atom2][atom1] = upper;
      }
    }

    // Bonds and angles (as virtual bonds) replace those bounds by length +- factor * stddev.
    auto set_bond = [&](const Bond& bond) {
      const int64_t atom1 = atom14_index_of(restype, bond.atom1_name);
      const int64_t atom2 = atom14_index_of(restype, bond.atom2_name);
      const auto lower = static_cast<float>(bond.length - bond_length_tolerance_factor * bond.stddev);
      const auto upper = static_cast<float>(bond.length + bond_length_tolerance_factor * bond.stddev);
      lower_bound[atom1][atom2] = lower_bound[atom2][atom1] = lower;
      upper_bound[atom1][atom2] = upper_bound[atom2][atom1] = upper;
      stddev[atom1][atom2] = stddev[atom2][atom1] = static_cast<float>(bond.stddev);
    };
    for (const Bond& bond : props.residue_bonds[restype]) set_bond(bond);
    for (const Bond& bond : props.residue_virtual_bonds[restype]) set_bond(bond);
  }
  return bounds;
}

}  // namespace kfold::data::rc
// clang-format on
