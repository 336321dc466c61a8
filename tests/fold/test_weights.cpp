// ParameterStore: AlphaFold parameter lookup with shape/dtype checks naming the key, stacked-layer
// views, zero-copy use of stored float32 arrays, unused-key reporting
// (tests/fixtures/fold/params_small.npz, scripts/make_fixture_fold_weights.py).
#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include <algorithm>

#include "data/error.hpp"
#include "data/npz_file.hpp"
#include "fold/weights.hpp"
#include "test_support.hpp"

using kfold::fold::ParameterStore;

namespace {

const std::string kEvo = "alphafold/alphafold_iteration/evoformer";

std::filesystem::path fixture() { return kfold::test::source_dir() / "tests/fixtures/fold/params_small.npz"; }

// The fixture's values: (flat index + offset) / 64.
at::Tensor expected(std::vector<int64_t> shape, int offset) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return (at::arange(n, at::kFloat) + offset).div(64).reshape(shape);
}

doctest::Contains has(const std::string& text) { return doctest::Contains(text.c_str()); }

}  // namespace

TEST_CASE("ParameterStore: keys with '//' are parameters, values, shape and zero-copy views") {
  auto npz = std::make_shared<const kfold::data::NpzFile>(fixture());
  ParameterStore store(npz);
  CHECK(store.keys().size() == 6);  // "input/not_a_parameter" is not one
  CHECK_FALSE(store.contains("input/not_a_parameter"));
  CHECK(store.contains(kEvo + "/preprocess_1d//weights"));

  const auto w = store.get(kEvo + "/preprocess_1d//weights", {22, 8});
  CHECK((w.sizes() == at::IntArrayRef({22, 8})));
  CHECK(at::equal(w, expected({22, 8}, 0)));
  // A stored little-endian float32 array is used in place: the tensor points into the mapped file.
  const auto& info = npz->get(kEvo + "/preprocess_1d//weights");
  const auto bytes = npz->raw_bytes(info);
  // (This array's data starts 4-byte aligned in the fixture; misaligned ones are copied once instead.)
  REQUIRE(reinterpret_cast<uintptr_t>(bytes.data()) % alignof(float) == 0);
  CHECK((w.data_ptr() == static_cast<const void*>(bytes.data())));
  // Fetching twice gives the same tensor.
  CHECK((store.get(kEvo + "/preprocess_1d//weights", {22, 8}).data_ptr() == w.data_ptr()));

  // float16 and big-endian arrays are converted to float32 once.
  const auto b = store.get(kEvo + "/evoformer_iteration/msa_transition/transition1//bias", {3, 16});
  CHECK((b.scalar_type() == at::kFloat));
  CHECK(at::allclose(b, expected({3, 16}, 3), 0, 1e-3));  // float16 rounding of k/64
  const auto s = store.get(kEvo + "/evoformer_iteration/msa_transition/input_layer_norm//scale", {3, 8});
  CHECK(at::equal(s, expected({3, 8}, 4)));
  // Only the converted copies hold memory of their own; the mapped views are page cache.
  CHECK(store.allocated_bytes() == b.nbytes() + s.nbytes());
  CHECK(ParameterStore::random(1)->allocated_bytes() == 0);
}

TEST_CASE("ParameterStore: errors name the key and both shapes") {
  ParameterStore store(fixture());
  CHECK_THROWS_WITH_AS(store.get(kEvo + "/preprocess_1d//weights", {22, 9}),
                       has("parameter '" + kEvo +
                           "/preprocess_1d//weights' has shape [22, 8], "
                           "expected [22, 9]"),
                       kfold::InputError);
  CHECK_THROWS_WITH_AS(store.get(kEvo + "/preprocess_msa//weights", {49, 8}),
                       has("parameter '" + kEvo +
                           "/preprocess_msa//weights' is missing "
                           "(expected shape [49, 8])"),
                       kfold::InputError);
  CHECK_THROWS_WITH_AS(store.get(kEvo + "/counts//n", {2}), has("parameter '" + kEvo + "/counts//n' has dtype int32"),
                       kfold::InputError);
  CHECK_THROWS_WITH_AS(store.get("input/not_a_parameter", {2}), doctest::Contains("is missing"), kfold::InputError);
}

TEST_CASE("ParameterScope: haiku scopes and stacked layers as views") {
  ParameterStore store(fixture());
  const auto evo = store.scope(kEvo);
  const auto block = evo / "evoformer_iteration";
  const auto transition1 = block / "msa_transition" / "transition1";
  CHECK(transition1.key("weights") == kEvo + "/evoformer_iteration/msa_transition/transition1//weights");
  const auto all = expected({3, 8, 16}, 2);
  for (int64_t i = 0; i < 3; ++i) {
    const auto w = block.layer(i, 3) / "msa_transition" / "transition1";
    const auto wi = w.get("weights", {8, 16});
    CHECK((wi.sizes() == at::IntArrayRef({8, 16})));
    CHECK(at::equal(wi, all[i]));
  }
  // The per-layer shape is checked against the stack: a wrong layer count names the full shape.
  CHECK_THROWS_WITH_AS((block.layer(0, 4) / "msa_transition" / "transition1").get("weights", {8, 16}),
                       doctest::Contains("has shape [3, 8, 16], expected [4, 8, 16]"), kfold::InputError);
  CHECK_THROWS_AS(block.layer(3, 3), kfold::RuntimeError);
}

TEST_CASE("ParameterStore: unused keys are reported in archive order") {
  ParameterStore store(fixture());
  CHECK(store.unused_keys().size() == 6);
  store.get(kEvo + "/preprocess_1d//weights", {22, 8});
  ((store.scope(kEvo) / "evoformer_iteration").layer(1, 3) / "msa_transition" / "transition1").get("weights", {8, 16});
  const auto unused = store.unused_keys();
  CHECK(unused.size() == 4);
  CHECK(std::find(unused.begin(), unused.end(), kEvo + "/preprocess_1d//weights") == unused.end());
  CHECK(std::find(unused.begin(), unused.end(), kEvo + "/preprocess_1d//bias") != unused.end());
  CHECK(std::find(unused.begin(), unused.end(), kEvo + "/evoformer_iteration/msa_transition/transition1//weights") ==
        unused.end());
}

TEST_CASE("ParameterStore: random weights depend only on the seed and the key") {
  auto store = ParameterStore::random(7);
  CHECK(store->is_random());
  CHECK(store->path().empty());
  const auto block = store->scope(kEvo + "/evoformer_iteration/msa_transition");
  const auto w1 = (block.layer(1, 4) / "transition1").get("weights", {256, 1024});  // [c_in, c_out]
  const auto b1 = (block.layer(1, 4) / "transition1").get("bias", {1024});
  const auto scale = (block.layer(0, 4) / "input_layer_norm").get("scale", {256});
  // Layer views of one stacked tensor [4, 256, 1024], drawn once.
  CHECK(store->contains(kEvo + "/evoformer_iteration/msa_transition/transition1//weights"));
  // Scales: N(0, 1/fan_in) for weights (per layer: fan_in 256), 0.02 for biases, 1 + 0.02 for LayerNorm.
  CHECK(w1.std().item<double>() == doctest::Approx(1.0 / 16.0).epsilon(0.02));
  CHECK(b1.std().item<double>() == doctest::Approx(0.02).epsilon(0.1));
  CHECK(scale.mean().item<double>() == doctest::Approx(1.0).epsilon(0.01));

  // Another store with the same seed, asked in another order, gives the same values; another seed not.
  auto again = ParameterStore::random(7);
  const auto again_b1 =
      (again->scope(kEvo + "/evoformer_iteration/msa_transition").layer(1, 4) / "transition1").get("bias", {1024});
  CHECK(at::equal(again_b1, b1));
  auto other = ParameterStore::random(8);
  CHECK_FALSE(at::equal(
      (other->scope(kEvo + "/evoformer_iteration/msa_transition").layer(1, 4) / "transition1").get("bias", {1024}),
      b1));
  // Asking again with another shape is a programming error that names the key.
  CHECK_THROWS_WITH_AS((block.layer(1, 4) / "transition1").get("bias", {512}), doctest::Contains("transition1//bias"),
                       kfold::RuntimeError);
  CHECK(store->unused_keys().empty());
}
