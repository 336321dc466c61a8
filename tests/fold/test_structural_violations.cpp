// Tests of fold/structural_violations.hpp against AlphaFold's own violation analysis
// (tests/fixtures/fold/structural_violations.npz, scripts/make_fixture_structural_violations.py: the crystal
// structure 1HPV chain A, a damaged copy with planted faults, a noisy copy, and the damaged copy with missing
// atoms), and the clash search's neighbour pruning against the all-pairs evaluation.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "data/error.hpp"
#include "data/residue_constants.hpp"
#include "fold/all_atom.hpp"
#include "fold/structural_violations.hpp"
#include "fold_fixture.hpp"

namespace kfold::fold {
namespace {

at::Tensor int_array(const test::ModuleFixture& fx, const std::string& key) {
  const auto values = fx.npz->read<int64_t>(key);
  return at::tensor(at::ArrayRef<int64_t>(values)).reshape(fx.npz->get(key).shape);
}

struct Atom14Structure {
  at::Tensor aatype, residue_index, positions, exists;  // [L], [L], [L, 14, 3], [L, 14]
};

Atom14Structure fixture_structure(const test::ModuleFixture& fx, const std::string& name) {
  const auto aatype = int_array(fx, name + "/aatype");
  return {aatype, int_array(fx, name + "/residue_index"), atom37_to_atom14(fx.array(name + "/atom_positions"), aatype),
          atom14_mask(aatype) * atom37_to_atom14(fx.array(name + "/atom_mask"), aatype)};
}

StructuralViolations violations_of(const Atom14Structure& s, const ViolationOptions& options = {}) {
  return find_structural_violations(s.aatype, s.residue_index, s.positions, s.exists, options);
}

void check_same(const StructuralViolations& a, const StructuralViolations& b, double atol, const std::string& what) {
  test::check_close(a.bonds_c_n_loss_mean, b.bonds_c_n_loss_mean, atol, 1e-5, what + " c_n loss");
  test::check_close(a.clashes_mean_loss, b.clashes_mean_loss, atol, 1e-5, what + " clash loss");
  test::check_close(a.clashes_per_atom_loss_sum, b.clashes_per_atom_loss_sum, atol, 1e-5, what + " clash per atom");
  test::check_close(a.clashes_per_atom_clash_mask, b.clashes_per_atom_clash_mask, 0, 0, what + " clash mask");
  test::check_close(a.total_per_residue_violations_mask, b.total_per_residue_violations_mask, 0, 0, what + " total");
}

}  // namespace

TEST_CASE("structural violations: every output matches AlphaFold's find_structural_violations") {
  const test::ModuleFixture fx("structural_violations");
  for (const std::string name : {"crystal", "damaged", "noisy", "missing_atoms"}) {
    CAPTURE(name);
    const auto s = fixture_structure(fx, name);
    const auto v = violations_of(s);
    const auto out = [&](const std::string& key) { return fx.array(name + "/out/" + key); };
    // Losses are fp32 sums of up to ~1e5 terms of size <= a few Angstrom: 1e-5 absolute + 1e-5 relative.
    // Masks are comparisons of the same fp32 distances with the same bounds: exact.
    test::check_close(v.bonds_c_n_loss_mean, out("between_residues/bonds_c_n_loss_mean"), 1e-5, 1e-5, "c_n loss");
    test::check_close(v.angles_ca_c_n_loss_mean, out("between_residues/angles_ca_c_n_loss_mean"), 1e-5, 1e-5, "ca_c_n");
    test::check_close(v.angles_c_n_ca_loss_mean, out("between_residues/angles_c_n_ca_loss_mean"), 1e-5, 1e-5, "c_n_ca");
    test::check_close(v.connections_per_residue_loss_sum, out("between_residues/connections_per_residue_loss_sum"),
                      1e-5, 1e-5, "connection loss per residue");
    test::check_close(v.connections_per_residue_violation_mask,
                      out("between_residues/connections_per_residue_violation_mask"), 0, 0, "connection violations");
    test::check_close(v.clashes_mean_loss, out("between_residues/clashes_mean_loss"), 1e-7, 1e-5, "clash mean loss");
    test::check_close(v.clashes_per_atom_loss_sum, out("between_residues/clashes_per_atom_loss_sum"), 1e-5, 1e-5,
                      "clash loss per atom");
    test::check_close(v.clashes_per_atom_clash_mask, out("between_residues/clashes_per_atom_clash_mask"), 0, 0,
                      "clash mask");
    test::check_close(v.within_per_atom_loss_sum, out("within_residues/per_atom_loss_sum"), 1e-5, 1e-5,
                      "within-residue loss per atom");
    test::check_close(v.within_per_atom_violations, out("within_residues/per_atom_violations"), 0, 0,
                      "within-residue violations");
    test::check_close(v.total_per_residue_violations_mask, out("total_per_residue_violations_mask"), 0, 0,
                      "total per residue");

    const auto m = compute_violation_metrics(s.residue_index, s.positions, s.exists, v);
    CHECK(m.extreme_ca_ca_distance ==
          doctest::Approx(out("violations_extreme_ca_ca_distance").item<double>()).epsilon(1e-6));
    CHECK(m.between_residue_bond ==
          doctest::Approx(out("violations_between_residue_bond").item<double>()).epsilon(1e-6));
    CHECK(m.between_residue_clash ==
          doctest::Approx(out("violations_between_residue_clash").item<double>()).epsilon(1e-6));
    CHECK(m.within_residue == doctest::Approx(out("violations_within_residue").item<double>()).epsilon(1e-6));
    CHECK(m.per_residue == doctest::Approx(out("violations_per_residue").item<double>()).epsilon(1e-6));
    CHECK(m.residue_violations == fx.npz->read<int64_t>(name + "/out/residue_violations"));
  }
}

TEST_CASE("structural violations: the planted faults are found, the crystal structure is clean") {
  const test::ModuleFixture fx("structural_violations");
  const auto clean = check_structure(int_array(fx, "crystal/aatype"), int_array(fx, "crystal/residue_index"),
                                     fx.array("crystal/atom_positions"), fx.array("crystal/atom_mask"));
  CHECK(clean.residue_violations.empty());
  CHECK(clean.per_residue == 0);
  // The damaged copy (see the fixture script): residue 10's C pulled off (positions 9 and 10 flagged by the
  // peptide checks), residue 20's CB moved and residue 5's side chain squeezed (within-residue), a side chain
  // pushed into its neighbour (clashes of the two residues of planted_clash).
  const auto damaged = check_structure(int_array(fx, "damaged/aatype"), int_array(fx, "damaged/residue_index"),
                                       fx.array("damaged/atom_positions"), fx.array("damaged/atom_mask"));
  const auto& flagged = damaged.residue_violations;
  const auto clash = fx.npz->read<int64_t>("damaged/planted_clash");
  for (const int64_t position : {int64_t{4}, int64_t{9}, int64_t{10}, int64_t{19}, clash[0], clash[1]}) {
    CAPTURE(position);
    CHECK(std::find(flagged.begin(), flagged.end(), position) != flagged.end());
  }
  CHECK(damaged.between_residue_clash > 0);
  CHECK(damaged.within_residue > 0);
  CHECK(damaged.between_residue_bond > 0);
}

TEST_CASE("structural violations: neighbour pruning gives the all-pairs result") {
  const test::ModuleFixture fx("structural_violations");
  ViolationOptions all_pairs;
  all_pairs.all_residue_pairs = true;
  for (const std::string name : {"damaged", "noisy", "missing_atoms"}) {
    CAPTURE(name);
    const auto s = fixture_structure(fx, name);
    check_same(violations_of(s), violations_of(s, all_pairs), 1e-6, name);
  }
  // A crumpled chain: residues squeezed to a third of their size and packed densely, many clashes at every
  // distance; residue numbers with a gap and out of order.
  auto s = fixture_structure(fx, "crystal");
  const auto ca = s.positions.select(1, 1).unsqueeze(1);  // [L, 1, 3]
  at::manual_seed(3);
  s.positions = (ca * 0.25 + (s.positions - ca) * 0.6 + at::randn(s.positions.sizes()) * 0.3) * s.exists.unsqueeze(-1);
  s.residue_index = s.residue_index.flip(0).clone();
  s.residue_index.narrow(0, 0, 40).add_(7);
  const auto pruned = violations_of(s), full = violations_of(s, all_pairs);
  CHECK(pruned.clashes_per_atom_clash_mask.sum().item<double>() > 100);
  check_same(pruned, full, 1e-6, "crumpled");
}

TEST_CASE("structural violations: the losses are differentiable in the positions") {
  const test::ModuleFixture fx("structural_violations");
  auto s = fixture_structure(fx, "damaged");
  s.positions = s.positions.clone().requires_grad_(true);
  const auto v = violations_of(s);
  const auto loss = v.bonds_c_n_loss_mean + v.angles_ca_c_n_loss_mean + v.angles_c_n_ca_loss_mean +
                    v.clashes_mean_loss + v.within_per_atom_loss_sum.sum();
  loss.backward();
  const auto grad = s.positions.grad();
  REQUIRE(grad.defined());
  CHECK(at::isfinite(grad).all().item<bool>());
  // The pushed side chain and the moved CB (position 19) are pushed back; the atoms of the residues without a
  // violation are not.
  CHECK(grad[fx.npz->read<int64_t>("damaged/planted_clash")[0]].abs().sum().item<double>() > 0);
  CHECK(grad[19].abs().sum().item<double>() > 0);
  const auto clean = v.total_per_residue_violations_mask == 0;  // [L]
  CHECK(clean.sum().item<int64_t>() > 80);
  CHECK((grad.index({clean}) == 0).all().item<bool>());
}

TEST_CASE("structural violations: wrong shapes are input errors") {
  const auto aatype = at::zeros({5}, at::kLong);
  CHECK_THROWS_WITH_AS(find_structural_violations(aatype, at::arange(5), at::zeros({5, 37, 3}), at::ones({5, 14})),
                       doctest::Contains("atom14 positions [L, 14, 3]"), InputError);
}

}  // namespace kfold::fold

TEST_CASE("structural violations: a peptide bond before a proline is judged by the proline literature length") {
  // AlphaFold's residue_constants: C-N is 1.329 +- 0.014 A, 1.341 +- 0.016 A before a proline; with the tolerance
  // factor 12 a bond of 1.527 A is 0.186 A from the proline mean (< 12 x 0.016 = 0.192: no loss, no violation)
  // and 0.198 A from the other mean (> 12 x 0.014 = 0.168: loss 0.198 - 0.168 = 0.030, a violation; and > 0.192,
  // so the proline's stddev with the other mean would be a violation too).
  auto positions = at::zeros({2, 14, 3});
  positions.index_put_({0, 0}, at::tensor({-2.4f, 1.0f, 0.0f}));   // N
  positions.index_put_({0, 1}, at::tensor({-1.5f, 0.0f, 0.0f}));   // CA
  positions.index_put_({0, 2}, at::tensor({0.0f, 0.0f, 0.0f}));    // C
  positions.index_put_({1, 0}, at::tensor({1.527f, 0.0f, 0.0f}));  // N of the next residue
  positions.index_put_({1, 1}, at::tensor({2.3f, 1.2f, 0.0f}));    // CA
  positions.index_put_({1, 2}, at::tensor({3.8f, 1.2f, 0.0f}));    // C
  auto exists = at::zeros({2, 14});
  exists.index_put_({at::indexing::Slice(), at::indexing::Slice(0, 3)}, 1.0f);
  const auto residue_index = at::tensor({int64_t{0}, int64_t{1}});
  const int64_t ala = kfold::data::rc::resname_to_idx("ALA"), pro = kfold::data::rc::resname_to_idx("PRO");
  const auto before_pro =
      kfold::fold::find_structural_violations(at::tensor({ala, pro}), residue_index, positions, exists);
  const auto before_ala =
      kfold::fold::find_structural_violations(at::tensor({ala, ala}), residue_index, positions, exists);
  CHECK(before_pro.bonds_c_n_loss_mean.item<double>() == doctest::Approx(0.0).scale(1.0).epsilon(1e-6));
  CHECK(before_ala.bonds_c_n_loss_mean.item<double>() == doctest::Approx(0.198 - 0.168).epsilon(1e-3));
}

namespace {

// Atom14 arrays of `n_res` residues with no atoms; place() adds one atom.
struct TinyStructure {
  at::Tensor positions, exists;
  explicit TinyStructure(int64_t n_res) : positions(at::zeros({n_res, 14, 3})), exists(at::zeros({n_res, 14})) {}
  void place(int64_t residue, int64_t slot, float x, float y, float z) {
    positions.index_put_({residue, slot}, at::tensor({x, y, z}));
    exists.index_put_({residue, slot}, 1.0f);
  }
};

}  // namespace

TEST_CASE("structural violations: clash denominator exempts the peptide C-N pair and SG-SG pairs") {
  namespace rc = kfold::data::rc;
  const auto gly = rc::resname_to_idx("GLY"), cys = rc::resname_to_idx("CYS");
  // Residue 0 has C and O, residue 1 only N: two atom pairs, of which C(0)-N(1) is the exempt peptide bond.
  // O (1.52 A) and N (1.55 A) 1.07 A apart overlap by 3.07 - 1.5 - 1.07 = 0.5 A: mean clash loss 0.5 over 1 pair.
  TinyStructure s(2);
  s.place(0, 2, 0.0f, 0.0f, 0.0f);   // C
  s.place(0, 3, 0.0f, 2.0f, 0.0f);   // O
  s.place(1, 0, 0.0f, 2.0f, 1.07f);  // N
  const auto v = kfold::fold::find_structural_violations(at::tensor({gly, gly}), at::tensor({int64_t{0}, int64_t{1}}),
                                                         s.positions, s.exists);
  CHECK(v.clashes_mean_loss.item<double>() == doctest::Approx(0.5).epsilon(1e-4));
  CHECK(v.clashes_per_atom_clash_mask[0][3].item<float>() == 1.0f);
  CHECK(v.clashes_per_atom_clash_mask[0][2].item<float>() == 0.0f);  // C-N 2.3 A: exempt, not a clash
  // With the squared losses the same overlap costs 0.5^2; the masks are the same.
  kfold::fold::ViolationOptions squared;
  squared.squared_losses = true;
  const auto q = kfold::fold::find_structural_violations(at::tensor({gly, gly}), at::tensor({int64_t{0}, int64_t{1}}),
                                                         s.positions, s.exists, squared);
  CHECK(q.clashes_mean_loss.item<double>() == doctest::Approx(0.25).epsilon(1e-4));
  CHECK(at::equal(q.clashes_per_atom_clash_mask, v.clashes_per_atom_clash_mask));

  // A disulfide: the SG atoms (slot 5) of two cysteines 2.03 A apart overlap by 3.6 - 1.5 - 2.03 > 0 but are exempt.
  TinyStructure d(2);
  d.place(0, 5, 0.0f, 0.0f, 0.0f);
  d.place(1, 5, 2.03f, 0.0f, 0.0f);
  const auto ss = kfold::fold::find_structural_violations(at::tensor({cys, cys}), at::tensor({int64_t{0}, int64_t{10}}),
                                                          d.positions, d.exists);
  CHECK(ss.clashes_per_atom_clash_mask.sum().item<double>() == 0.0);
  CHECK(ss.clashes_mean_loss.item<double>() == 0.0);
}

TEST_CASE("structural violations: extreme CA-CA distances count consecutive residues only, beyond 1.5 A") {
  namespace rc = kfold::data::rc;
  const auto ala = rc::resname_to_idx("ALA");
  const auto metrics = [&](const TinyStructure& s, std::vector<int64_t> numbers) {
    const auto n = static_cast<int64_t>(numbers.size());
    const auto aatype = at::full({n}, ala, at::kLong), residue_index = at::tensor(numbers);
    const auto v = kfold::fold::find_structural_violations(aatype, residue_index, s.positions, s.exists);
    return kfold::fold::compute_violation_metrics(residue_index, s.positions, s.exists, v);
  };
  // Two residues, CA only: 1.2 A beyond the trans distance (3.80 A) is no violation, 1.6 A is one.
  TinyStructure near(2), far(2);
  near.place(0, 1, 0.0f, 0.0f, 0.0f);
  near.place(1, 1, 5.0f, 0.0f, 0.0f);
  far.place(0, 1, 0.0f, 0.0f, 0.0f);
  far.place(1, 1, 5.41f, 0.0f, 0.0f);
  CHECK(metrics(near, {0, 1}).extreme_ca_ca_distance == 0.0);
  CHECK(metrics(far, {0, 1}).extreme_ca_ca_distance == 1.0);
  // Not consecutive (a chain break): not counted, and no pair at all is 0, not NaN.
  CHECK(metrics(far, {0, 5}).extreme_ca_ca_distance == 0.0);
  TinyStructure three(3);
  three.place(0, 1, 0.0f, 0.0f, 0.0f);
  three.place(1, 1, 3.8f, 0.0f, 0.0f);
  three.place(2, 1, 30.0f, 0.0f, 0.0f);
  CHECK(metrics(three, {0, 1, 2}).extreme_ca_ca_distance == doctest::Approx(0.5));
  CHECK(metrics(three, {0, 1, 9}).extreme_ca_ca_distance == 0.0);
  // One residue: no pairs, no clash denominator; every metric 0 and the clash loss finite.
  TinyStructure one(1);
  one.place(0, 1, 0.0f, 0.0f, 0.0f);
  const auto single = kfold::fold::find_structural_violations(at::full({1}, ala, at::kLong), at::zeros({1}, at::kLong),
                                                              one.positions, one.exists);
  CHECK(single.clashes_mean_loss.item<double>() == 0.0);
  CHECK(metrics(one, {0}).per_residue == 0.0);
}

TEST_CASE("structural violations: connections_loss_sum skips chain breaks and missing atoms") {
  // The 1.527 A peptide bond of the proline test costs 0.030 A before an alanine; across a break in the residue
  // numbering the same geometry costs nothing, as in the per-connection means.
  namespace rc = kfold::data::rc;
  const auto ala = rc::resname_to_idx("ALA");
  TinyStructure s(2);
  s.place(0, 0, -2.4f, 1.0f, 0.0f);
  s.place(0, 1, -1.5f, 0.0f, 0.0f);
  s.place(0, 2, 0.0f, 0.0f, 0.0f);
  s.place(1, 0, 1.527f, 0.0f, 0.0f);
  s.place(1, 1, 2.3f, 1.2f, 0.0f);
  s.place(1, 2, 3.8f, 1.2f, 0.0f);
  const auto aatype = at::tensor({ala, ala});
  const auto joined =
      kfold::fold::find_structural_violations(aatype, at::tensor({int64_t{0}, int64_t{1}}), s.positions, s.exists);
  CHECK(joined.connections_loss_sum.item<double>() >= 0.029);
  const auto broken =
      kfold::fold::find_structural_violations(aatype, at::tensor({int64_t{0}, int64_t{3}}), s.positions, s.exists);
  CHECK(broken.connections_loss_sum.item<double>() == 0.0);
  CHECK(broken.connections_per_residue_violation_mask.sum().item<double>() == 0.0);
}
