// Tests of fold/rigid.hpp: hand-computed rotations and Hamilton products, frame identities, and parity with
// AlphaFold's r3 / quat_affine on the rigid/* arrays of tests/fixtures/fold/all_atom.npz
// (scripts/make_fixture_all_atom.py). Tolerances are fp32: 1e-6 for unit-scale values, 1e-5 for products.
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <cmath>

#include "fold/rigid.hpp"
#include "fold_fixture.hpp"

namespace kfold::fold {
namespace {

at::Tensor mat3(std::initializer_list<float> values) { return at::tensor(std::vector<float>(values)).reshape({3, 3}); }

// A few well-conditioned random frames (fixed seed).
Rigid random_frames(int64_t n) {
  at::manual_seed(7);
  return Rigid::from_quaternion(at::randn({n, 4}), 10 * at::randn({n, 3}));
}

}  // namespace

TEST_CASE("Rigid: from_quaternion equals hand-computed rotations") {
  // 90 degrees about z, quaternion not normalised (normalised inside): x -> y, y -> -x.
  auto r = Rigid::from_quaternion(at::tensor({2.0f, 0.0f, 0.0f, 2.0f}), at::zeros({3}));
  test::check_close(r.rot, mat3({0, -1, 0, 1, 0, 0, 0, 0, 1}), 1e-6, 0, "90 deg about z");
  // 120 degrees about (1, 1, 1): x -> y -> z -> x.
  r = Rigid::from_quaternion(at::tensor({0.5f, 0.5f, 0.5f, 0.5f}), at::zeros({3}));
  test::check_close(r.rot, mat3({0, 0, 1, 1, 0, 0, 0, 1, 0}), 1e-6, 0, "120 deg about (1,1,1)");
  // 180 degrees about x.
  r = Rigid::from_quaternion(at::tensor({0.0f, 3.0f, 0.0f, 0.0f}), at::tensor({1.0f, 2.0f, 3.0f}));
  test::check_close(r.rot, mat3({1, 0, 0, 0, -1, 0, 0, 0, -1}), 1e-6, 0, "180 deg about x");
  test::check_close(r.apply(at::tensor({1.0f, 1.0f, 1.0f})), at::tensor({2.0f, 1.0f, 2.0f}), 1e-6, 0,
                    "apply = R x + t");
  // Identity quaternion.
  r = Rigid::from_quaternion(at::tensor({1.0f, 0.0f, 0.0f, 0.0f}), at::zeros({3}));
  test::check_close(r.rot, at::eye(3), 0, 0, "identity");
}

TEST_CASE("Rigid: quaternion_multiply_by_vector is the Hamilton product q (0, v)") {
  // (1 + 2i + 3j + 4k)(5i + 6j + 7k) = -56 + 2i + 12j + 4k, worked by hand with i^2 = j^2 = k^2 = ijk = -1.
  const auto out = quaternion_multiply_by_vector(at::tensor({1.0f, 2.0f, 3.0f, 4.0f}), at::tensor({5.0f, 6.0f, 7.0f}));
  test::check_close(out, at::tensor({-56.0f, 2.0f, 12.0f, 4.0f}), 0, 0, "Hamilton product");
  // Unit axes: i * j = k, j * k = i, k * i = j.
  const auto axes = at::eye(4).narrow(0, 1, 3);  // [3, 4] quaternions i, j, k
  const auto vecs = at::eye(3).roll(-1, 0);      // [3, 3] vectors j, k, i
  test::check_close(quaternion_multiply_by_vector(axes, vecs), at::eye(4).narrow(0, 1, 3).roll(1, 0), 0, 0,
                    "ij = k, jk = i, ki = j");
}

TEST_CASE("Rigid: compose with invert is the identity") {
  const Rigid r = random_frames(5);
  for (const Rigid& id : {r.compose(r.invert()), r.invert().compose(r)}) {
    test::check_close(id.rot, at::eye(3).expand({5, 3, 3}), 1e-5, 0, "rotation");
    test::check_close(id.trans, at::zeros({5, 3}), 1e-5, 0, "translation");
  }
  const auto x = at::randn({5, 3});
  test::check_close(r.invert_apply(r.apply(x)), x, 1e-5, 0, "invert_apply(apply(x))");
  test::check_close(r.invert().apply(x), r.invert_apply(x), 1e-5, 0, "invert().apply = invert_apply");
  // compose acts as function composition.
  const Rigid s = Rigid::from_quaternion(at::randn({5, 4}), at::randn({5, 3}));
  test::check_close(r.compose(s).apply(x), r.apply(s.apply(x)), 1e-5, 0, "(r o s)(x) = r(s(x))");
  // 4x4 round trip and broadcasting through unsqueeze: frames [5, 1] on points [5, 7, 3].
  const Rigid back = Rigid::from_tensor_4x4(r.to_tensor_4x4());
  test::check_close(back.rot, r.rot, 0, 0, "4x4 rot");
  test::check_close(back.trans, r.trans, 0, 0, "4x4 trans");
  const auto points = at::randn({5, 7, 3});
  test::check_close(r.unsqueeze(-1).apply(points).select(1, 3), r.apply(points.select(1, 3)), 1e-6, 0, "unsqueeze");
}

TEST_CASE("Rigid: from_3_points is a proper orthonormal frame mapping the points as documented") {
  at::manual_seed(11);
  const auto neg_x = at::randn({6, 3}) * 3, origin = at::randn({6, 3}) * 3, xy = at::randn({6, 3}) * 3;
  const Rigid f = Rigid::from_3_points(neg_x, origin, xy);
  test::check_close(at::matmul(f.rot.transpose(-1, -2), f.rot), at::eye(3).expand({6, 3, 3}), 1e-5, 0, "R^T R = I");
  test::check_close(at::linalg_det(f.rot), at::ones({6}), 1e-5, 0, "det R = +1");
  test::check_close(f.trans, origin, 0, 0, "origin is the translation");
  const auto a = f.invert_apply(neg_x);  // [6, 3] on the negative x axis
  test::check_close(a.narrow(-1, 1, 2), at::zeros({6, 2}), 1e-5, 0, "point_on_neg_x_axis: y = z = 0");
  CHECK((a.select(-1, 0) < 0).all().item<bool>());
  test::check_close(a.select(-1, 0), -(origin - neg_x).norm(2, {-1}), 1e-5, 0, "distance kept on -x");
  const auto b = f.invert_apply(xy);  // [6, 3] in the xy plane, y > 0
  test::check_close(b.select(-1, 2), at::zeros({6}), 1e-5, 0, "point_on_xy_plane: z = 0");
  CHECK((b.select(-1, 1) > 0).all().item<bool>());
}

TEST_CASE("Rigid: parity with AlphaFold r3 and quat_affine") {
  const test::ModuleFixture fx("all_atom");
  const auto q = fx.array("rigid/quaternion"), v = fx.array("rigid/vector");  // [6, 4], [6, 3]
  test::check_close(quaternion_to_rotation(q), fx.array("rigid/quat_to_rot"), 1e-6, 0, "quat_to_rot");
  test::check_close(quaternion_multiply_by_vector(q, v), fx.array("rigid/quat_multiply_by_vec"), 1e-5, 0,
                    "quat_multiply_by_vec");
  const Rigid a = Rigid::from_3_points(fx.array("rigid/point_on_neg_x_axis"), fx.array("rigid/origin"),
                                       fx.array("rigid/point_on_xy_plane"));
  test::check_close(a.rot, fx.array("rigid/from_3_points/rot"), 1e-6, 0, "rigids_from_3_points rot");
  test::check_close(a.trans, fx.array("rigid/from_3_points/trans"), 0, 0, "rigids_from_3_points trans");
  const Rigid ab = a.compose(Rigid::from_quaternion(q, v));
  test::check_close(ab.rot, fx.array("rigid/a_compose_b/rot"), 1e-6, 0, "rigids_mul_rigids rot");
  test::check_close(ab.trans, fx.array("rigid/a_compose_b/trans"), 1e-5, 0, "rigids_mul_rigids trans");
  const auto target = fx.array("rigid/target");
  test::check_close(a.apply(target), fx.array("rigid/a_apply_target"), 1e-5, 0, "rigids_mul_vecs");
  test::check_close(a.invert_apply(target), fx.array("rigid/a_invert_apply_target"), 1e-5, 0,
                    "invert_rigids then rigids_mul_vecs");
}

TEST_CASE("correctly_rounded_sqrt: every float32 as IEEE 754 rounds it (std::sqrt), on the vectorised path too") {
  // libtorch's vectorised float32 sqrt was one ulp off for about 17 % of these (its scalar path is exact): the
  // direction of a masked template atom's frame, rounding residue, then differed from AlphaFold's.
  at::manual_seed(3);
  const auto x = at::cat({at::rand({100000}) * 1000, at::rand({1000}) * 1e-12, at::zeros({3})});  // [N] float32
  const auto fast = at::sqrt(x), exact = correctly_rounded_sqrt(x);
  REQUIRE((exact.scalar_type() == at::kFloat));
  const auto* in = x.data_ptr<float>();
  const auto* out = exact.data_ptr<float>();
  int64_t wrong = 0;
  for (int64_t i = 0; i < x.numel(); ++i) wrong += out[i] != std::sqrt(in[i]);
  CHECK(wrong == 0);
  MESSAGE("at::sqrt differs from std::sqrt for " << (fast != exact).sum().item<int64_t>() << " of " << x.numel());
}

}  // namespace kfold::fold
