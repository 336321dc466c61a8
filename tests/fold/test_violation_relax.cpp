// Tests of fold/violation_relax.hpp on the structures of tests/fixtures/fold/structural_violations.npz
// (scripts/make_fixture_structural_violations.py): the damaged copy of 1HPV chain A (planted peptide-bond,
// clash and within-residue faults) relaxes to no violation while moving little, and away from the faults
// hardly at all; a clean structure comes back unchanged; the result does not depend on the thread count.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "fold/violation_relax.hpp"
#include "fold_fixture.hpp"

namespace kfold::fold {
namespace {

struct Structure {
  at::Tensor aatype, residue_index, positions, mask;  // [L], [L], [L, 37, 3], [L, 37]
};

Structure fixture_structure(const std::string& name) {
  const test::ModuleFixture fx("structural_violations");
  const auto ints = [&](const std::string& key) {
    const auto values = fx.npz->read<int64_t>(name + "/" + key);
    return at::tensor(at::ArrayRef<int64_t>(values));
  };
  return {ints("aatype"), ints("residue_index"), fx.array(name + "/atom_positions"), fx.array(name + "/atom_mask")};
}

RelaxResult relax(const Structure& s, const RelaxOptions& options = {}) {
  return relax_structure(s.aatype, s.residue_index, s.positions, s.mask, options);
}

// Residues whose CA changed handedness (signed volume of N, C, CB about CA; atom37 slots 0, 2, 3 about 1), and
// peptide bonds between consecutive residues that went from trans to cis or the other way, relaxed vs input.
struct StereoChanges {
  int64_t inverted = 0, flipped = 0;
};
StereoChanges stereo_changes(const Structure& s, const at::Tensor& relaxed) {
  const auto volume = [](const at::Tensor& x) {  // [L]
    const auto ca = x.select(1, 1);
    return ((x.select(1, 0) - ca) * at::linalg_cross(x.select(1, 2) - ca, x.select(1, 3) - ca, -1)).sum(-1);
  };
  const auto trans = [](const at::Tensor& x) {  // [L - 1] omega (CA, C, N', CA') beyond 90 degrees
    const auto ca = x.select(1, 1).slice(0, 0, -1), c = x.select(1, 2).slice(0, 0, -1);
    const auto n = x.select(1, 0).slice(0, 1), ca2 = x.select(1, 1).slice(0, 1);
    return (at::linalg_cross(c - ca, n - c, -1) * at::linalg_cross(n - c, ca2 - n, -1)).sum(-1) < 0;
  };
  const auto x0 = s.positions.to(at::kDouble), x = relaxed.to(at::kDouble);
  const auto with_cb = s.mask.select(1, 3) > 0;
  const auto consecutive = (s.residue_index.slice(0, 1) - s.residue_index.slice(0, 0, -1)) == 1;
  return {((volume(x0) * volume(x) < 0) & with_cb).sum().item<int64_t>(),
          ((trans(x0) != trans(x)) & consecutive).sum().item<int64_t>()};
}

}  // namespace

TEST_CASE(
    "relax: no residue changes handedness and no peptide bond flips (a loop pushed into the core, a clash of "
    "two chains)") {
  // The violation losses are distances, the same for a mirror image: the minimisation made D residues and cis
  // peptides out of L and trans ones while removing the violations.
  const auto crystal = fixture_structure("crystal");
  Structure loop = crystal;
  loop.positions = crystal.positions.clone();
  const auto centroid = (crystal.positions.select(1, 1) * crystal.mask.select(1, 1).unsqueeze(-1)).sum(0) /
                        crystal.mask.select(1, 1).sum();
  auto segment = loop.positions.slice(0, 42, 49);  // residues 43-49, 40 % of the way to the centroid
  segment.add_(0.4 * (centroid - segment.select(1, 1)).unsqueeze(1) * crystal.mask.slice(0, 42, 49).unsqueeze(-1));
  // Two copies of residues 1-40 as two chains, the second 3 A along x.
  const auto part = [](const at::Tensor& t) { return t.slice(0, 0, 40); };
  const Structure dimer{at::cat({part(crystal.aatype), part(crystal.aatype)}),
                        at::cat({part(crystal.residue_index), part(crystal.residue_index) + 1000}),
                        at::cat({part(crystal.positions), part(crystal.positions) + at::tensor({3.0f, 0.0f, 0.0f})}) *
                            at::cat({part(crystal.mask), part(crystal.mask)}).unsqueeze(-1),
                        at::cat({part(crystal.mask), part(crystal.mask)})};
  for (const auto& [name, s] : {std::pair{std::string("loop"), loop}, std::pair{std::string("dimer"), dimer}}) {
    const auto r = relax(s);
    const auto changes = stereo_changes(s, r.atom37_positions);
    MESSAGE(name << ": violating residues " << r.initial.residue_violations.size() << " -> "
                 << r.final.residue_violations.size() << ", inverted " << changes.inverted << ", flipped "
                 << changes.flipped << ", RMSD " << r.rmsd);
    CHECK(r.final.residue_violations.size() < r.initial.residue_violations.size());
    CHECK(changes.inverted == 0);
    CHECK(changes.flipped == 0);
  }
}

TEST_CASE("relax: the damaged structure loses every violation and moves little") {
  const auto s = fixture_structure("damaged");
  const auto r = relax(s);
  MESSAGE("violating residues " << r.initial.residue_violations.size() << " -> " << r.final.residue_violations.size()
                                << ", rounds " << r.rounds << ", evaluations " << r.evaluations << ", RMSD " << r.rmsd
                                << " A, max displacement " << r.max_displacement << " A");
  CHECK(r.initial.residue_violations.size() == 8);
  CHECK(r.final.residue_violations.empty());
  // The relaxed structure, checked again from scratch in float32: clean.
  CHECK(check_structure(s.aatype, s.residue_index, r.atom37_positions, s.mask).residue_violations.empty());
  // The faults are repaired locally: residues with no atom within 8 A of a violating residue's atoms stay put
  // within 0.02 A (the minimisation also tightens their bonds and angles beyond 3 stddevs: 0.017 A), and the
  // structure as a whole moves 0.1 A RMS at most.
  CHECK(r.rmsd < 0.1);
  const auto atoms = s.positions.reshape({-1, 3});  // [L * 37, 3]
  const auto present = s.mask.reshape({-1}) > 0;
  auto near_fault = at::zeros({s.aatype.size(0)}, at::kBool);
  for (const int64_t i : r.initial.residue_violations) {
    const auto close = (at::cdist(atoms, s.positions[i].index({s.mask[i] > 0})).amin(-1) < 8.0) & present;  // [L * 37]
    near_fault |= close.reshape({-1, 37}).any(-1);
  }
  const auto moved = (r.atom37_positions - s.positions).square().sum(-1).sqrt() * s.mask;  // [L, 37]
  const auto far = ~near_fault;
  MESSAGE(far.sum().item<int64_t>() << " residues far from the faults move at most "
                                    << moved.index({far}).max().item<double>() << " A");
  CHECK(far.sum().item<int64_t>() > 30);
  CHECK(moved.index({far}).max().item<double>() < 0.02);
  // The stretched peptide bond ends within 3.5 stddevs of the ideal 1.329 A (not at the edge of AlphaFold's 12).
  const auto c_n = [](const at::Tensor& x, int64_t i) {  // C (atom37 2) of residue i to N (0) of i + 1, Angstrom
    return (x[i][2] - x[i + 1][0]).norm().item<double>();
  };
  int64_t stretched = 0;
  for (int64_t i = 0; i + 1 < s.aatype.size(0); ++i)
    if (c_n(s.positions, i) > 1.329 + 12 * 0.014) {
      ++stretched;
      MESSAGE("peptide bond " << i << "-" << i + 1 << ": " << c_n(s.positions, i) << " -> "
                              << c_n(r.atom37_positions, i) << " A");
      CHECK(c_n(r.atom37_positions, i) < 1.329 + 3.5 * 0.014);
    }
  CHECK(stretched == 1);
  CHECK((r.atom37_positions.index({s.mask == 0}) == 0).all().item<bool>());
}

TEST_CASE("relax: 0.12 A of noise on every atom (nearly every residue violating) is repaired") {
  const auto s = fixture_structure("noisy");
  const auto r = relax(s);
  MESSAGE("violating residues " << r.initial.residue_violations.size() << " -> " << r.final.residue_violations.size()
                                << ", rounds " << r.rounds << ", evaluations " << r.evaluations << ", RMSD " << r.rmsd
                                << " A, max displacement " << r.max_displacement << " A");
  CHECK(r.initial.residue_violations.size() > 80);
  CHECK(r.final.residue_violations.empty());
  CHECK(r.rmsd < 0.15);  // the noise itself is 0.21 A RMS
}

TEST_CASE("relax: a structure without violations comes back unchanged") {
  const auto s = fixture_structure("crystal");
  const auto r = relax(s);
  CHECK(r.rounds == 0);
  CHECK(r.initial.residue_violations.empty());
  CHECK(at::equal(r.atom37_positions, s.positions * s.mask.unsqueeze(-1)));
}

TEST_CASE("relax: the same result for 1 and 2 threads, and run to run") {
  const auto s = fixture_structure("damaged");
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = relax(s);
  at::set_num_threads(2);
  const auto two = relax(s);
  const auto again = relax(s);
  at::set_num_threads(threads);
  CHECK(at::get_num_threads() == threads);
  CHECK(at::equal(one.atom37_positions, two.atom37_positions));
  CHECK(at::equal(two.atom37_positions, again.atom37_positions));
}

TEST_CASE("relax: overlapping relaxes on two threads leave the thread count as it was") {
  // Each relax runs on one thread; one that began while another ran saved that one's 1 and restored it,
  // so that every later thread (a Python call's) ran on one thread.
  const auto s = fixture_structure("damaged");
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  const auto expected = relax(s);
  // The second starts (a new thread, as each Python call's) while the first runs, and ends last.
  std::vector<at::Tensor> results(2);
  std::thread first([&] { results[0] = relax(s).atom37_positions; });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::thread second([&] { results[1] = relax(s).atom37_positions; });
  first.join();
  second.join();
  int fresh = 0;
  std::thread([&] { fresh = at::get_num_threads(); }).join();
  CHECK(fresh == 2);
  CHECK(at::get_num_threads() == 2);
  for (const auto& r : results) CHECK(at::equal(r, expected.atom37_positions));
  at::set_num_threads(threads);
}

TEST_CASE("relax: works from inside inference mode and with gradients off (a model run's context)") {
  const auto s = fixture_structure("damaged");
  const auto expected = relax(s);
  const c10::InferenceMode inference;
  const Structure inference_inputs{s.aatype.clone(), s.residue_index.clone(), s.positions.clone(), s.mask.clone()};
  CHECK(inference_inputs.positions.is_inference());
  const at::NoGradGuard no_grad;
  CHECK(at::equal(relax(inference_inputs).atom37_positions, expected.atom37_positions));
}

TEST_CASE("relax: missing atoms are neither checked nor moved") {
  const auto s = fixture_structure("missing_atoms");
  const auto r = relax(s);
  CHECK(r.final.residue_violations.empty());
  CHECK((r.atom37_positions.index({s.mask == 0}) == 0).all().item<bool>());
}

}  // namespace kfold::fold
