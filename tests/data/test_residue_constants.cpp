// Tests for data/residue_constants and data/stereo_chemistry: every table against the AlphaFold reference
// (tests/fixtures/residue_constants.json, written by scripts/make_fixture_residue_constants.py from
// AlphaFold's own code), plus hand-checked values.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>
#include <type_traits>
#include <vector>

#include "data/error.hpp"
#include "data/residue_constants.hpp"
#include "data/stereo_chemistry.hpp"
#include "test_support.hpp"

namespace rc = kfold::data::rc;
using json = nlohmann::json;
using kfold::InputError;

namespace {

// Floats are compared with this absolute tolerance. AlphaFold's derived tables are float32 (the fixture
// holds the shortest decimals that round-trip in float32); ours are float32 or float64. Names and
// integers are compared exactly.
constexpr double tolerance = 1e-6;

const json& fixture() {
  static const json parsed = [] {
    const auto path = kfold::test::source_dir() / "tests/fixtures/residue_constants.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path.string());
    return json::parse(in);
  }();
  return parsed;
}

// Compares one table entry by entry, keeping the first mismatches (with their index) for the report.
class Comparison {
 public:
  explicit Comparison(std::string table) : table_(std::move(table)) {}

  template <typename T>
  void compare(const json& expected, const T& actual, const std::string& where) {
    if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>) {
      leaf(expected.is_string() && expected.get<std::string>() == actual, where, expected, std::string(actual));
    } else if constexpr (std::is_same_v<T, char>) {
      leaf(expected.is_string() && expected.get<std::string>() == std::string(1, actual), where, expected,
           std::string(1, actual));
    } else if constexpr (std::is_floating_point_v<T>) {
      const bool close =
          expected.is_number() && std::abs(expected.get<double>() - static_cast<double>(actual)) <= tolerance;
      leaf(close, where, expected, fmt::format("{}", actual));
    } else if constexpr (std::is_integral_v<T>) {
      leaf(expected.is_number_integer() && expected.get<int64_t>() == static_cast<int64_t>(actual), where, expected,
           fmt::format("{}", actual));
    } else {  // std::array or std::vector
      if (!expected.is_array() || expected.size() != actual.size()) {
        leaf(false, where, expected.is_array() ? json(expected.size()) : expected,
             "a sequence of " + std::to_string(actual.size()));
        return;
      }
      for (size_t i = 0; i < actual.size(); ++i) {
        compare(expected[i], actual[i], where + "[" + std::to_string(i) + "]");
      }
    }
  }

  int64_t entries() const { return entries_; }
  int64_t mismatches() const { return mismatches_; }
  std::string report() const {
    return fmt::format("{}: {} of {} entries differ{}", table_, mismatches_, entries_, first_);
  }

 private:
  void leaf(bool equal, const std::string& where, const json& expected, const std::string& actual) {
    ++entries_;
    if (equal) return;
    if (mismatches_ < 8) first_ += "\n  " + where + ": AlphaFold " + expected.dump() + ", kfold " + actual;
    ++mismatches_;
  }

  std::string table_;
  std::string first_;
  int64_t entries_ = 0;
  int64_t mismatches_ = 0;
};

// Compares the fixture's entry `key` with `actual` and fails once per table, naming the differences.
template <typename T>
void check_table(const std::string& key, const T& actual) {
  Comparison comparison(key);
  comparison.compare(fixture().at(key), actual, key);
  CHECK_MESSAGE(comparison.mismatches() == 0, comparison.report());
  CHECK(comparison.entries() > 0);
}

// A fixture dict keyed by three-letter residue name, with rows of `value(restype)` for each listed residue;
// residues missing from the dict must give `absent`.
template <typename F, typename T>
void check_by_resname(const std::string& key, F value, const T& absent) {
  Comparison comparison(key);
  const json& expected = fixture().at(key);
  for (int64_t restype = 0; restype < rc::restype_num_with_x; ++restype) {
    const std::string resname(rc::resnames[restype]);
    if (expected.contains(resname)) {
      comparison.compare(expected.at(resname), value(restype), key + "[" + resname + "]");
    } else {
      CHECK_MESSAGE(value(restype) == absent, key, " has no ", resname, " in AlphaFold");
    }
  }
  for (const auto& item : expected.items()) CHECK_MESSAGE(rc::find_resname(item.key()) >= 0, item.key());
  CHECK_MESSAGE(comparison.mismatches() == 0, comparison.report());
  CHECK(comparison.entries() > 0);
}

}  // namespace

TEST_CASE("residue_constants: residue vocabularies match AlphaFold") {
  const json& f = fixture();
  CHECK(f.at("restype_num").get<int64_t>() == rc::restype_num);
  CHECK(f.at("unk_restype_index").get<int64_t>() == rc::unk_restype_index);
  CHECK(f.at("unk_restype").get<std::string>() == rc::unk_restype);
  check_table("restypes", rc::restypes);
  check_table("restypes_with_x", rc::restypes_with_x);
  check_table("resnames", rc::resnames);

  CHECK(f.at("restype_order").size() == static_cast<size_t>(rc::restype_num));
  for (const auto& [letter, index] : f.at("restype_order").items()) {
    CHECK_MESSAGE(rc::restype_order(letter.at(0)) == index.get<int64_t>(), letter);
  }
  CHECK(f.at("restype_order_with_x").size() == static_cast<size_t>(rc::restype_num_with_x));
  for (const auto& [letter, index] : f.at("restype_order_with_x").items()) {
    CHECK_MESSAGE(rc::restype_order_with_x(letter.at(0)) == index.get<int64_t>(), letter);
  }
  CHECK(f.at("resname_to_idx").size() == static_cast<size_t>(rc::restype_num_with_x));
  for (const auto& [resname, index] : f.at("resname_to_idx").items()) {
    CHECK_MESSAGE(rc::resname_to_idx(resname) == index.get<int64_t>(), resname);
  }
  CHECK(f.at("restype_1to3").size() == static_cast<size_t>(rc::restype_num));
  for (const auto& [letter, resname] : f.at("restype_1to3").items()) {
    CHECK_MESSAGE(rc::restype_1to3(letter.at(0)) == resname.get<std::string>(), letter);
  }
  for (const auto& [resname, letter] : f.at("restype_3to1").items()) {
    CHECK_MESSAGE(std::string(1, rc::restype_3to1(resname)) == letter.get<std::string>(), resname);
  }

  // kfold's additions to AlphaFold's dicts: 'X' <-> "UNK". Everything else throws, as a dict lookup would.
  CHECK(rc::restype_1to3('X') == "UNK");
  CHECK(rc::restype_3to1("UNK") == 'X');
  CHECK_THROWS_AS(rc::restype_order('X'), InputError);
  CHECK_THROWS_AS(rc::restype_order_with_x('B'), InputError);
  CHECK_THROWS_AS(rc::resname_to_idx("MSE"), InputError);
  CHECK_THROWS_AS(rc::restype_1to3('a'), InputError);
  CHECK_THROWS_AS(rc::restype_3to1("ala"), InputError);
}

TEST_CASE("residue_constants: aatype_from_letter follows sequence_to_onehot(map_unknown_to_x=True)") {
  // The fixture holds AlphaFold's answer for every printable ASCII character (null: ValueError).
  const json& expected = fixture().at("aatype_of_printable_ascii");
  CHECK(expected.size() == 95);
  for (const auto& [letter, aatype] : expected.items()) {
    INFO("letter '", letter, "'");
    if (aatype.is_null()) {
      CHECK_THROWS_AS(rc::aatype_from_letter(letter.at(0)), InputError);
    } else {
      CHECK(rc::aatype_from_letter(letter.at(0)) == aatype.get<int64_t>());
    }
  }
  // Control and non-ASCII bytes are not sequence letters either.
  CHECK_THROWS_AS(rc::aatype_from_letter('\0'), InputError);
  CHECK_THROWS_AS(rc::aatype_from_letter('\n'), InputError);
  CHECK_THROWS_AS(rc::aatype_from_letter(static_cast<char>(0xC9)), InputError);
}

TEST_CASE("residue_constants: HHblits alphabet matches AlphaFold") {
  const json& f = fixture();
  const json& to_id = f.at("HHBLITS_AA_TO_ID");
  CHECK(to_id.size() == rc::HHBLITS_AA_TO_ID.size());
  for (const auto& [letter, id] : to_id.items()) {
    CHECK_MESSAGE(rc::hhblits_aa_to_id(letter.at(0)) == id.get<int64_t>(), letter);
  }
  for (const auto& [letter, id] : rc::HHBLITS_AA_TO_ID) {
    const std::string key(1, letter);
    REQUIRE_MESSAGE(to_id.contains(key), key);
    CHECK_MESSAGE(to_id.at(key).get<int64_t>() == id, key);
  }
  CHECK(rc::hhblits_aa_to_id('a') == -1);
  CHECK(rc::hhblits_aa_to_id('.') == -1);

  const json& to_aa = f.at("ID_TO_HHBLITS_AA");
  CHECK(to_aa.size() == rc::ID_TO_HHBLITS_AA.size());
  for (size_t id = 0; id < rc::ID_TO_HHBLITS_AA.size(); ++id) {
    CHECK(to_aa.at(std::to_string(id)).get<std::string>() == std::string(1, rc::ID_TO_HHBLITS_AA[id]));
  }
  check_table("restypes_with_x_and_gap", rc::restypes_with_x_and_gap);
  check_table("MAP_HHBLITS_AATYPE_TO_OUR_AATYPE", rc::MAP_HHBLITS_AATYPE_TO_OUR_AATYPE);
}

TEST_CASE("residue_constants: atom types match AlphaFold") {
  const json& f = fixture();
  CHECK(f.at("atom_type_num").get<int64_t>() == rc::atom_type_num);
  check_table("atom_types", rc::atom_types);
  CHECK(f.at("atom_order").size() == static_cast<size_t>(rc::atom_type_num));
  for (const auto& [name, index] : f.at("atom_order").items()) {
    CHECK_MESSAGE(rc::atom_order(name) == index.get<int64_t>(), name);
  }
  CHECK_THROWS_AS(rc::atom_order("HA"), InputError);
  CHECK(rc::find_atom_type("") == -1);
}

TEST_CASE("residue_constants: atom14 to atom37 map matches AlphaFold") {
  check_by_resname(
      "restype_name_to_atom14_names", [](int64_t r) { return rc::restype_name_to_atom14_names[r]; },
      rc::restype_name_to_atom14_names[rc::unk_restype_index]);
  check_table("restype_atom14_to_atom37", rc::restype_atom14_to_atom37());
  check_table("restype_atom37_to_atom14", rc::restype_atom37_to_atom14());
  check_table("restype_atom14_mask", rc::restype_atom14_mask());
  check_table("restype_atom37_mask", rc::restype_atom37_mask());
}

TEST_CASE("residue_constants: rigid group atom positions match AlphaFold") {
  // The fixture rows are [name, group, [x, y, z]]; compare each field with its own rule.
  const json& expected = fixture().at("rigid_group_atom_positions");
  Comparison comparison("rigid_group_atom_positions");
  for (int64_t restype = 0; restype < rc::restype_num; ++restype) {
    const std::string resname(rc::resnames[restype]);
    const auto atoms = rc::rigid_group_atom_positions(restype);
    const json& rows = expected.at(resname);
    REQUIRE_MESSAGE(rows.size() == atoms.size(), resname);
    for (size_t i = 0; i < atoms.size(); ++i) {
      const std::string where = resname + "[" + std::to_string(i) + "]";
      comparison.compare(rows[i][0], atoms[i].atom_name, where + ".name");
      comparison.compare(rows[i][1], atoms[i].rigid_group, where + ".group");
      comparison.compare(rows[i][2], atoms[i].position, where + ".position");
    }
  }
  CHECK_MESSAGE(comparison.mismatches() == 0, comparison.report());
  CHECK(expected.size() == static_cast<size_t>(rc::restype_num));
  CHECK(rc::rigid_group_atom_positions(rc::unk_restype_index).empty());
  CHECK_THROWS_AS(rc::rigid_group_atom_positions(rc::restype_num_with_x), InputError);
}

TEST_CASE("residue_constants: rigid group tables match AlphaFold") {
  check_table("restype_atom37_to_rigid_group", rc::restype_atom37_to_rigid_group());
  check_table("restype_atom37_rigid_group_positions", rc::restype_atom37_rigid_group_positions());
  check_table("restype_atom14_to_rigid_group", rc::restype_atom14_to_rigid_group());
  check_table("restype_atom14_rigid_group_positions", rc::restype_atom14_rigid_group_positions());
  check_table("restype_rigid_group_default_frame", rc::restype_rigid_group_default_frame());
  check_table("restype_rigidgroup_base_atom37_idx", rc::restype_rigidgroup_base_atom37_idx());
}

TEST_CASE("residue_constants: chi angle tables match AlphaFold") {
  auto chis = [](int64_t restype) {
    const auto span = rc::chi_angles_atoms(restype);
    return std::vector<std::array<std::string_view, 4>>(span.begin(), span.end());
  };
  check_by_resname("chi_angles_atoms", chis, std::vector<std::array<std::string_view, 4>>{});

  // AlphaFold's chi_angles_mask has 20 rows; model/all_atom.py appends [0, 0, 0, 0] for UNK.
  json mask = fixture().at("chi_angles_mask");
  CHECK(mask.size() == static_cast<size_t>(rc::restype_num));
  mask.push_back({0.0, 0.0, 0.0, 0.0});
  Comparison comparison("chi_angles_mask");
  comparison.compare(mask, rc::chi_angles_mask, "chi_angles_mask");
  CHECK_MESSAGE(comparison.mismatches() == 0, comparison.report());

  check_table("chi_pi_periodic", rc::chi_pi_periodic);
  check_table("chi_angles_atom_indices", rc::chi_angles_atom_indices());
}

TEST_CASE("residue_constants: ambiguous atom tables match AlphaFold") {
  const json& swaps = fixture().at("residue_atom_renaming_swaps");
  size_t expected_pairs = 0;
  for (const auto& [resname, pairs] : swaps.items()) {
    for (const auto& [atom, swapped] : pairs.items()) {
      ++expected_pairs;
      bool found = false;
      for (const auto& swap : rc::residue_atom_renaming_swaps) {
        found |= swap.resname == resname && swap.atom_name == atom && swap.swapped_name == swapped.get<std::string>();
      }
      CHECK_MESSAGE(found, resname, " ", atom);
    }
  }
  CHECK(expected_pairs == rc::residue_atom_renaming_swaps.size());
  check_table("restype_atom14_is_ambiguous", rc::restype_atom14_is_ambiguous());
  check_table("renaming_matrices", rc::renaming_matrices());
}

TEST_CASE("stereo_chemistry: constants match AlphaFold") {
  const json& f = fixture();
  CHECK(f.at("ca_ca").get<double>() == rc::ca_ca);
  const json& radii = f.at("van_der_waals_radius");
  CHECK(radii.size() == 4);
  for (const auto& [element, radius] : radii.items()) {
    CHECK_MESSAGE(rc::van_der_waals_radius(element.at(0)) == radius.get<double>(), element);
  }
  CHECK_THROWS_AS(rc::van_der_waals_radius('H'), InputError);
  check_table("between_res_bond_length_c_n", rc::between_res_bond_length_c_n);
  check_table("between_res_bond_length_stddev_c_n", rc::between_res_bond_length_stddev_c_n);
  check_table("between_res_cos_angles_c_n_ca", rc::between_res_cos_angles_c_n_ca);
  check_table("between_res_cos_angles_ca_c_n", rc::between_res_cos_angles_ca_c_n);
}

TEST_CASE("stereo_chemistry: bonds, angles and virtual bonds match AlphaFold") {
  const rc::StereoChemicalProps& props = rc::load_stereo_chemical_props();
  // Each row is [atom1, atom2, length, stddev] or [atom1, atom2, atom3, angle_rad, stddev].
  auto compare_rows = [](const std::string& key, auto rows_of) {
    const json& expected = fixture().at(key);
    Comparison comparison(key);
    CHECK(expected.size() == static_cast<size_t>(rc::restype_num_with_x));  // UNK: empty lists
    for (int64_t restype = 0; restype < rc::restype_num_with_x; ++restype) {
      const std::string resname(rc::resnames[restype]);
      REQUIRE_MESSAGE(expected.contains(resname), resname);
      const auto rows = rows_of(restype);
      const json& want = expected.at(resname);
      REQUIRE_MESSAGE(want.size() == rows.size(), key, " ", resname);
      for (size_t i = 0; i < rows.size(); ++i) {
        const std::string where = resname + "[" + std::to_string(i) + "]";
        REQUIRE(want[i].size() == rows[i].names.size() + 2);
        for (size_t k = 0; k < rows[i].names.size(); ++k) comparison.compare(want[i][k], rows[i].names[k], where);
        comparison.compare(want[i][rows[i].names.size()], rows[i].value, where + ".value");
        comparison.compare(want[i][rows[i].names.size() + 1], rows[i].stddev, where + ".stddev");
      }
    }
    CHECK_MESSAGE(comparison.mismatches() == 0, comparison.report());
    CHECK(comparison.entries() > 0);
  };
  struct Row {
    std::vector<std::string_view> names;
    double value;
    double stddev;
  };
  auto bonds = [](const std::vector<rc::Bond>& list) {
    std::vector<Row> rows;
    for (const auto& b : list) rows.push_back({{b.atom1_name, b.atom2_name}, b.length, b.stddev});
    return rows;
  };
  compare_rows("residue_bonds", [&](int64_t r) { return bonds(props.residue_bonds[r]); });
  compare_rows("residue_virtual_bonds", [&](int64_t r) { return bonds(props.residue_virtual_bonds[r]); });
  compare_rows("residue_bond_angles", [&](int64_t r) {
    std::vector<Row> rows;
    for (const auto& a : props.residue_bond_angles[r]) {
      rows.push_back({{a.atom1_name, a.atom2_name, a.atom3_name}, a.angle_rad, a.stddev});
    }
    return rows;
  });
}

TEST_CASE("stereo_chemistry: atom14 distance bounds match AlphaFold") {
  const json& expected = fixture().at("atom14_dists_bounds");
  const rc::Atom14DistsBounds bounds = rc::make_atom14_dists_bounds(
      expected.at("overlap_tolerance").get<double>(), expected.at("bond_length_tolerance_factor").get<double>());
  for (const auto& [key, table] :
       {std::pair{"lower_bound", &bounds.lower_bound}, std::pair{"upper_bound", &bounds.upper_bound},
        std::pair{"stddev", &bounds.stddev}}) {
    Comparison comparison(key);
    comparison.compare(expected.at(key), *table, key);
    CHECK_MESSAGE(comparison.mismatches() == 0, comparison.report());
    CHECK(comparison.entries() == 21 * 14 * 14);
  }
}

TEST_CASE("residue_constants: hand-checked values") {
  // alphafold/common/residue_constants.py, atom_types: N, CA, C, CB, O, ...; OXT last.
  CHECK(rc::atom_types[1] == "CA");
  CHECK(rc::atom_order("OXT") == 36);
  // restype_name_to_atom14_names['TRP'][13] is CH2, atom37 index 28.
  CHECK(rc::restype_atom14_to_atom37()[rc::resname_to_idx("TRP")][13] == 28);
  CHECK(rc::restype_atom37_to_atom14()[rc::resname_to_idx("TRP")][28] == 13);

  // rigid_group_atom_positions['ALA']: CB (-0.529, -0.774, -1.205) in the backbone group 0.
  const int64_t ala = rc::restype_order('A');
  const int64_t cb = rc::atom_order("CB");
  CHECK(rc::restype_atom37_to_rigid_group()[ala][cb] == 0);
  CHECK(rc::restype_atom37_rigid_group_positions()[ala][cb][0] == doctest::Approx(-0.529));
  CHECK(rc::restype_atom37_rigid_group_positions()[ala][cb][1] == doctest::Approx(-0.774));
  CHECK(rc::restype_atom37_rigid_group_positions()[ala][cb][2] == doctest::Approx(-1.205));
  // PRO CD is AlphaFold's hand-adjusted (0.477, 1.424, 0.0) in the chi2 group 5.
  const auto& pro_cd = rc::rigid_group_atom_positions(rc::restype_order('P')).back();
  CHECK(pro_cd.atom_name == "CD");
  CHECK(pro_cd.rigid_group == 5);
  CHECK(pro_cd.position[0] == 0.477);

  // ALA phi frame: x axis along N - CA = (-0.525, 1.363, 0) / 1.460614, origin at N; y axis is (1, 0, 0)
  // made orthogonal to x; z = x cross y = (0, 0, -1).
  const auto& phi = rc::restype_rigid_group_default_frame()[ala][2];
  CHECK(phi[0][0] == doctest::Approx(-0.525 / 1.460614).epsilon(1e-6));
  CHECK(phi[1][0] == doctest::Approx(1.363 / 1.460614).epsilon(1e-6));
  CHECK(phi[2][2] == doctest::Approx(-1.0));
  CHECK(phi[0][3] == doctest::Approx(-0.525));
  CHECK(phi[3][3] == 1.0f);
  // The UNK row of the default frames is all zeros (AlphaFold fills only the 20 residues).
  CHECK(rc::restype_rigid_group_default_frame()[rc::unk_restype_index][0][0][0] == 0.0f);

  // chi_angles_atoms['ARG'][0] = N, CA, CB, CG; HIS chi2 ends at ND1.
  CHECK(rc::chi_angles_atoms(rc::restype_order('R'))[0][3] == "CG");
  CHECK(rc::chi_angles_atoms(rc::restype_order('H'))[1][3] == "ND1");

  // HHblits: U is selenocysteine, id 1 (C), which is our aatype 4.
  CHECK(rc::hhblits_aa_to_id('U') == 1);
  CHECK(rc::MAP_HHBLITS_AATYPE_TO_OUR_AATYPE[1] == 4);
  CHECK(rc::MAP_HHBLITS_AATYPE_TO_OUR_AATYPE[21] == 21);

  // stereo_chemical_props.txt: "CA-CB ALA 1.520 0.021" and "N-CA-CB ALA 110.1 1.4".
  const auto ca_cb = rc::find_residue_bond(ala, "CB", "CA");
  REQUIRE(ca_cb.has_value());
  CHECK(ca_cb->length == 1.520);
  CHECK(ca_cb->stddev == 0.021);
  const auto n_ca_cb = rc::find_residue_bond_angle(ala, "CB", "CA", "N");
  REQUIRE(n_ca_cb.has_value());
  CHECK(n_ca_cb->angle_rad == doctest::Approx(110.1 * std::numbers::pi / 180));
  CHECK_FALSE(rc::find_residue_bond(ala, "N", "CB").has_value());
  // Virtual bond N-CB: sqrt(1.459^2 + 1.520^2 - 2 * 1.459 * 1.520 * cos(110.1 deg)) = 2.44199.
  const auto& ala_virtual = rc::load_stereo_chemical_props().residue_virtual_bonds[ala];
  CHECK(ala_virtual[0].atom1_name == "N");
  CHECK(ala_virtual[0].atom2_name == "CB");
  CHECK(ala_virtual[0].length == doctest::Approx(2.44199).epsilon(1e-5));

  // Bounds for ALA: CA-CB bond 1.520 -+ 15 * 0.021 = [1.205, 1.835]; O-CB is no bond and no angle:
  // radii 1.52 + 1.7 - 1.5 = 1.72, no upper limit (1e10).
  const auto bounds = rc::make_atom14_dists_bounds();
  CHECK(bounds.lower_bound[ala][1][4] == doctest::Approx(1.205));
  CHECK(bounds.upper_bound[ala][4][1] == doctest::Approx(1.835));
  CHECK(bounds.lower_bound[ala][3][4] == doctest::Approx(1.72));
  CHECK(bounds.upper_bound[ala][3][4] == 1e10f);
  CHECK(bounds.stddev[ala][3][4] == 0.0f);
}
