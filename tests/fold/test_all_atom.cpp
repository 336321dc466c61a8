// Tests of fold/all_atom.hpp: parity with AlphaFold's all_atom.py on tests/fixtures/fold/all_atom.npz
// (scripts/make_fixture_all_atom.py), and the weight-free geometry check on a real experimental structure
// (data/examples/1hpv_chain_a.pdb, see data/examples/README.md): frames + torsions measured from the crystal
// structure rebuild its heavy atoms through the literature (ideal) geometry.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "data/residue_constants.hpp"
#include "data/structure_io.hpp"
#include "fold/all_atom.hpp"
#include "fold_fixture.hpp"

namespace kfold::fold {
namespace {

at::Tensor int_array(const test::ModuleFixture& fx, const std::string& key) {
  const auto values = fx.npz->read<int64_t>(key);
  return at::tensor(at::ArrayRef<int64_t>(values)).reshape(fx.npz->get(key).shape);
}

Rigid fixture_rigid(const test::ModuleFixture& fx, const std::string& prefix) {
  return {fx.array(prefix + "/rot"), fx.array(prefix + "/trans")};
}

Rigid group(const Rigid& frames, int64_t g) { return {frames.rot.select(-3, g), frames.trans.select(-2, g)}; }

struct Structure {
  at::Tensor aatype;     // [n_res] int64
  at::Tensor positions;  // [n_res, 37, 3]
  at::Tensor mask;       // [n_res, 37]
};

Structure read_example() {
  const auto protein = data::read_structure(test::source_dir() / "data/examples/1hpv_chain_a.pdb");
  const int64_t n = protein.n_res();
  return {at::tensor(at::ArrayRef<int64_t>(protein.aatype)),
          at::tensor(at::ArrayRef<float>(protein.atom_positions)).reshape({n, 37, 3}),
          at::tensor(at::ArrayRef<float>(protein.atom_mask)).reshape({n, 37})};
}

// Heavy atoms rebuilt from the structure's own backbone frames and torsion angles (Alg. 24), atom37 layout.
at::Tensor rebuild(const at::Tensor& aatype, const at::Tensor& positions, const at::Tensor& mask) {
  const RigidGroups groups = atom37_to_frames(aatype, positions, mask);
  const TorsionAngles torsions = atom37_to_torsion_angles(aatype, positions, mask);
  const Rigid frames = torsion_angles_to_frames(aatype, group(groups.frames, 0), torsions.sin_cos);  // [n_res, 8]
  return atom14_to_atom37(frames_and_literature_positions_to_atom14_pos(aatype, frames), aatype);    // [n_res, 37, 3]
}

double rmsd(const at::Tensor& a, const at::Tensor& b, const at::Tensor& mask) {  // [..., 3], [..., 3], [...]
  const auto sq = (a - b).square().sum(-1) * mask;
  return std::sqrt(sq.sum().item<double>() / mask.sum().item<double>());
}

}  // namespace

TEST_CASE("all_atom: torsion_angles_to_frames and atom14 positions match AlphaFold") {
  const test::ModuleFixture fx("all_atom");
  const auto aatype = int_array(fx, "random/aatype");  // [24]
  CHECK(std::get<0>(at::_unique(aatype)).numel() == 21);
  const Rigid reference_backbone = fixture_rigid(fx, "random/backbone");
  const Rigid backbone = Rigid::from_quaternion(fx.array("random/quaternion"), fx.array("random/translation"));
  test::check_close(backbone.rot, reference_backbone.rot, 1e-6, 0, "QuatAffine rotation");

  // Positions are in Angstrom with |x| up to ~40: fp32 rounding is ~1e-5, the tolerance 1e-4 Angstrom.
  const Rigid frames = torsion_angles_to_frames(aatype, reference_backbone, fx.array("random/torsion_angles_sin_cos"));
  const Rigid expected = fixture_rigid(fx, "random/frames");
  test::check_close(frames.rot, expected.rot, 1e-5, 0, "frames rot");
  test::check_close(frames.trans, expected.trans, 1e-4, 0, "frames trans");

  const auto atom14 = frames_and_literature_positions_to_atom14_pos(aatype, frames);  // [24, 14, 3]
  test::check_close(atom14, fx.array("random/atom14_positions"), 1e-4, 0, "atom14 positions");
  const auto missing = atom14_mask(aatype) == 0;  // [24, 14]
  CHECK((atom14.index({missing}) == 0).all().item<bool>());

  // Layout conversions are gathers: exact.
  test::check_close(atom14_mask(aatype), fx.array("random/atom14_mask"), 0, 0, "atom14 mask");
  test::check_close(atom37_mask(aatype), fx.array("random/atom37_mask"), 0, 0, "atom37 mask");
  const auto reference_atom14 = fx.array("random/atom14_positions");
  const auto atom37 = atom14_to_atom37(reference_atom14, aatype);  // [24, 37, 3]
  test::check_close(atom37, fx.array("random/atom37_positions"), 0, 0, "atom14_to_atom37");
  test::check_close(atom37_to_atom14(atom37, aatype), fx.array("random/atom37_to_atom14"), 0, 0, "atom37_to_atom14");
  test::check_close(atom14_to_atom37(atom14_mask(aatype), aatype), atom37_mask(aatype), 0, 0, "mask [n_res, 14]");

  // Leading batch axes: two copies (the second with different torsions) equal the unbatched calls.
  const auto sin_cos = fx.array("random/torsion_angles_sin_cos");
  const auto batch_sin_cos = at::stack({sin_cos, sin_cos.flip(0)});  // [2, 24, 7, 2]
  const Rigid batch_backbone{reference_backbone.rot.expand({2, 24, 3, 3}), reference_backbone.trans.expand({2, 24, 3})};
  const auto batch_aatype = aatype.expand({2, 24});
  const auto batch_atom14 = frames_and_literature_positions_to_atom14_pos(
      batch_aatype, torsion_angles_to_frames(batch_aatype, batch_backbone, batch_sin_cos));  // [2, 24, 14, 3]
  const auto second = frames_and_literature_positions_to_atom14_pos(
      aatype, torsion_angles_to_frames(aatype, reference_backbone, sin_cos.flip(0)));
  test::check_close(batch_atom14.select(0, 0), atom14, 1e-6, 0, "batch 0");
  test::check_close(batch_atom14.select(0, 1), second, 1e-6, 0, "batch 1");
}

TEST_CASE("all_atom: atom37_to_frames and atom37_to_torsion_angles match AlphaFold on a real structure") {
  const test::ModuleFixture fx("all_atom");
  const auto aatype = int_array(fx, "real/aatype");  // [99]
  const auto positions = fx.array("real/all_atom_positions"), mask = fx.array("real/all_atom_mask");

  // Our PDB reader and AlphaFold's (protein.from_pdb_string) agree on the example file.
  const Structure ours = read_example();
  CHECK(at::equal(ours.aatype, aatype));
  test::check_close(ours.positions, positions, 0, 0, "read_structure positions");
  test::check_close(ours.mask, mask, 0, 0, "read_structure mask");

  const RigidGroups groups = atom37_to_frames(aatype, positions, mask);
  test::check_close(groups.frames.rot, fx.array("real/frames/rot"), 1e-5, 0, "gt frames rot");
  test::check_close(groups.frames.trans, fx.array("real/frames/trans"), 0, 0, "gt frames trans");
  test::check_close(groups.alt_frames.rot, fx.array("real/alt_frames/rot"), 1e-5, 0, "alt frames rot");
  test::check_close(groups.alt_frames.trans, fx.array("real/alt_frames/trans"), 0, 0, "alt frames trans");
  test::check_close(groups.gt_exists, fx.array("real/gt_exists"), 0, 0, "gt_exists");
  test::check_close(groups.group_exists, fx.array("real/group_exists"), 0, 0, "group_exists");
  test::check_close(groups.group_is_ambiguous, fx.array("real/group_is_ambiguous"), 0, 0, "group_is_ambiguous");

  // Angles where defined (mask 1); the masked first-residue omega/phi come from zero "previous" atoms and
  // are unspecified (degenerate frames whose values depend on rounding in both implementations).
  const TorsionAngles torsions = atom37_to_torsion_angles(aatype, positions, mask);
  const auto torsion_mask = fx.array("real/torsion_angles_mask");  // [99, 7]
  test::check_close(torsions.mask, torsion_mask, 0, 0, "torsion mask");
  CHECK(torsion_mask.sum().item<double>() > 99 * 3 - 3);
  const auto defined = torsion_mask.unsqueeze(-1);
  test::check_close(torsions.sin_cos * defined, fx.array("real/torsion_angles_sin_cos") * defined, 1e-5, 0, "sin_cos");
  test::check_close(torsions.alt_sin_cos * defined, fx.array("real/alt_torsion_angles_sin_cos") * defined, 1e-5, 0,
                    "alt_sin_cos");
  CHECK(at::isfinite(torsions.sin_cos).all().item<bool>());
}

TEST_CASE("all_atom: rebuilding a real structure from its frames and torsions (ideal geometry)") {
  const Structure s = read_example();                 // PDB 1HPV chain A, X-ray 1.9 Angstrom, 99 residues, all 20 types
  const auto heavy = s.mask * atom37_mask(s.aatype);  // [99, 37] experimental heavy atoms (OXT excluded)
  CHECK(heavy.sum().item<double>() == 757);           // every heavy atom present but OXT
  const auto rebuilt = rebuild(s.aatype, s.positions, s.mask);  // [99, 37, 3]

  // AlphaFold's own rebuild (fixture real/rebuilt_atom37_positions) within fp32 rounding: 1e-4 Angstrom.
  const test::ModuleFixture fx("all_atom");
  test::check_close(rebuilt, fx.array("real/rebuilt_atom37_positions"), 1e-4, 0, "rebuild vs AlphaFold");

  // Against the crystal structure. CA is the backbone frame's origin (exact); C lies on the frame's x axis and
  // N in its xy plane, at ideal bond lengths and N-CA-C angle; every other atom sits at literature bond lengths
  // and angles, so the real structure's deviations from ideal geometry remain and grow along the side chain.
  // Measured (identical for AlphaFold's reference): heavy-atom RMSD 0.178 A; N 0.092, C 0.009, O 0.019,
  // CB 0.077, gamma atoms 0.05-0.2, distal atoms up to 0.64 (TYR OH), largest single atom 0.67 A (LEU CD2).
  // A bound of 0.1 A holds for backbone + CB (0.054; N, CA, C, O alone 0.047), not for whole side chains.
  std::ostringstream table;
  double worst = 0;
  for (int64_t a = 0; a < data::rc::atom_type_num; ++a) {
    const auto m = heavy.select(1, a);
    if (m.sum().item<double>() == 0) continue;
    const double r = rmsd(rebuilt.select(1, a), s.positions.select(1, a), m);
    worst = std::max(worst, r);
    table << data::rc::atom_types[a] << " " << r << "  ";
  }
  const double total = rmsd(rebuilt, s.positions, heavy);
  const auto backbone_cb = heavy.narrow(1, 0, 5);  // N, CA, C, CB, O
  const double backbone = rmsd(rebuilt.narrow(1, 0, 5), s.positions.narrow(1, 0, 5), backbone_cb);
  const double max_dev = ((rebuilt - s.positions).square().sum(-1) * heavy).max().sqrt().item<double>();
  MESSAGE("1HPV chain A: heavy-atom RMSD " << total << " A, backbone + CB " << backbone << " A, max " << max_dev
                                           << " A; per atom type: " << table.str());
  test::check_close(rebuilt.select(1, 1) * heavy.select(1, 1).unsqueeze(-1), s.positions.select(1, 1), 1e-5, 0,
                    "CA exact");
  CHECK(backbone < 0.1);
  CHECK(total < 0.2);
  CHECK(worst < 0.7);
  CHECK(max_dev < 0.75);

  // On ideal geometry the round trip is exact: the rebuilt structure, measured and rebuilt again, is
  // unchanged (to fp32 rounding, 1e-4 Angstrom), and its torsion angles are the measured ones.
  const auto rebuilt_again = rebuild(s.aatype, rebuilt, heavy);
  test::check_close(rebuilt_again * heavy.unsqueeze(-1), rebuilt * heavy.unsqueeze(-1), 1e-4, 0, "ideal round trip");
  const TorsionAngles measured = atom37_to_torsion_angles(s.aatype, s.positions, s.mask);
  const TorsionAngles remeasured = atom37_to_torsion_angles(s.aatype, rebuilt, heavy);
  const auto both = (measured.mask * remeasured.mask).narrow(1, 2, 5).unsqueeze(-1);  // psi, chi1..4
  test::check_close(remeasured.sin_cos.narrow(1, 2, 5) * both, measured.sin_cos.narrow(1, 2, 5) * both, 1e-4, 0,
                    "psi and chi angles kept");
}

}  // namespace kfold::fold
