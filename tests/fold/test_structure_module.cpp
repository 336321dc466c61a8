// Parity of invariant point attention (Suppl. Alg. 22) and the structure module (Alg. 20, 23, 24)
// with the AlphaFold reference (fixtures tests/fixtures/fold/{invariant_point_attention,
// structure_module}.npz from scripts/make_fixture_structure_module.py). Tolerances, fp32: activations
// and angles atol 1e-4 + rtol 1e-4; positions and translations atol 1e-4 Angstrom (+ rtol 1e-5).
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include "fold/config.hpp"
#include "fold/invariant_point_attention.hpp"
#include "fold/rigid.hpp"
#include "fold/structure_module.hpp"
#include "fold_fixture.hpp"

using kfold::test::check_close;
namespace fold = kfold::fold;

namespace {

constexpr int64_t kSeqChannel = 20, kPairChannel = 8;  // the fixture's c_s, c_z

// The fixtures' small structure module, through the JSON override path users have.
fold::ModelConfig small_structure_config() {
  auto config = fold::model_config("model_1");
  fold::apply_config_json(config, R"({"model": {
      "embeddings_and_evoformer": {"seq_channel": 20, "pair_channel": 8},
      "heads": {"structure_module": {"num_layer": 3, "num_channel": 24, "num_head": 4, "num_scalar_qk": 8,
        "num_scalar_v": 6, "num_point_qk": 4, "num_point_v": 5, "num_layer_in_transition": 3,
        "sidechain": {"num_channel": 12}}}}})",
                          "small structure module");
  return config;
}

const char* const kFoldIteration = "alphafold/alphafold_iteration/structure_module/fold_iteration";

// A fixed rigid motion (rotation about a skew axis, then a shift).
fold::Rigid some_global_motion() {
  const auto q = at::tensor({0.3, -0.5, 0.7, 0.2}, at::kFloat);
  return fold::Rigid::from_quaternion(q, at::tensor({1.5, -2.0, 0.25}, at::kFloat));
}

}  // namespace

TEST_CASE("Invariant point attention matches the reference") {
  kfold::test::ModuleFixture f("invariant_point_attention");
  const auto config = small_structure_config().model.heads.structure_module;
  const fold::InvariantPointAttention ipa(f.params->scope(kFoldIteration) / "invariant_point_attention", config,
                                          kPairChannel);
  CHECK(f.params->unused_keys().empty());

  const auto affine = f.input("affine");  // [n_res, 7]
  const auto frames = fold::Rigid::from_quaternion(affine.slice(-1, 0, 4), affine.slice(-1, 4));
  const auto single = f.input("inputs_1d"), pair = f.input("inputs_2d"), mask = f.input("mask");
  const auto out = ipa.forward(single, pair, mask, frames);  // [n_res, c]
  check_close(out, f.output(), 1e-4, 1e-4, "IPA output");

  SUBCASE("invariant under a global rigid motion of all frames") {
    const auto moved = ipa.forward(single, pair, mask, some_global_motion().unsqueeze(0).compose(frames));
    check_close(moved, out, 1e-4, 1e-4, "IPA output after a global motion");
  }
  SUBCASE("a masked residue does not influence the others") {
    const int64_t masked = 5;
    REQUIRE(mask[masked].item<float>() == 0.0f);
    auto single2 = single.clone();
    single2[masked].normal_();
    const auto out2 = ipa.forward(single2, pair, mask, frames);
    const auto keep = at::arange(single.size(0)).ne(masked);
    check_close(out2.index({keep}), out.index({keep}), 1e-6, 0.0, "IPA output of unmasked residues");
  }
}

TEST_CASE("Structure module matches the reference") {
  kfold::test::ModuleFixture f("structure_module");
  const auto config = small_structure_config().model.heads.structure_module;
  const fold::StructureModule module(f.params->scope("alphafold/alphafold_iteration/structure_module"), config,
                                     kSeqChannel, kPairChannel);
  CHECK(f.params->unused_keys().empty());

  const auto out = module.forward(f.input("single"), f.input("pair"), f.input("seq_mask"), f.int_input("aatype"));
  const auto traj = f.output("traj");  // [num_layer, n_res, 7]
  REQUIRE(out.traj.sizes() == traj.sizes());
  check_close(out.traj.slice(-1, 0, 4), traj.slice(-1, 0, 4), 1e-5, 1e-5, "traj quaternions");
  check_close(out.traj.slice(-1, 4), traj.slice(-1, 4), 1e-4, 1e-5, "traj translations (Angstrom)");
  check_close(out.act, f.output("act"), 1e-4, 1e-4, "final single activations");
  check_close(out.angles.angles_sin_cos, f.output("angles_sin_cos")[-1], 1e-4, 1e-4, "torsion angles sin/cos");
  check_close(out.angles.unnormalized_angles_sin_cos, f.output("unnormalized_angles_sin_cos")[-1], 1e-4, 1e-4,
              "unnormalised torsion angles");

  // The final backbone frames are the last trajectory entry and proper rotations.
  const auto last = traj[-1];  // [n_res, 7]
  check_close(out.backbone_frames.trans, last.slice(-1, 4), 1e-4, 1e-5, "backbone translations");
  const auto rot = out.backbone_frames.rot;  // [n_res, 3, 3]
  check_close(at::matmul(rot, rot.transpose(-1, -2)), at::eye(3).expand_as(rot), 1e-5, 0.0, "R R^T");
  check_close(at::linalg_det(rot), at::ones({rot.size(0)}), 1e-5, 0.0, "det R");

  // Alg. 24 through fold/all_atom.hpp.
  check_close(out.sidechain_frames.to_tensor_4x4(), f.output("sidechain_frames"), 1e-4, 1e-5,
              "rigid-group frames (Angstrom)");
  check_close(out.final_atom14_positions, f.output("final_atom14_positions"), 1e-4, 1e-5,
              "atom14 positions (Angstrom)");
  check_close(out.final_atom_positions, f.output("final_atom_positions"), 1e-4, 1e-5, "atom37 positions (Angstrom)");
  CHECK(at::equal(out.final_atom_mask, f.output("final_atom_mask")));
  CHECK(at::equal(out.final_atom14_mask, f.output("final_atom14_mask")));
}
