// Tests for TF's Philox4x32-10 RNG and samplers: Random123 known-answer vectors and vectors from the
// reference module alphafold/model/tf/random_philox.py (scripts/make_fixture_input_pipeline.py).
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "data/npz_file.hpp"
#include "fold/philox_random.hpp"
#include "test_support.hpp"

using namespace kfold::fold;

namespace {

const kfold::data::NpzFile& philox_fixture() {
  static const kfold::data::NpzFile npz(kfold::test::source_dir() / "tests/fixtures/input_pipeline/philox.npz");
  return npz;
}

std::vector<uint32_t> as_u32(const std::vector<int64_t>& v) {
  std::vector<uint32_t> out(v.size());
  std::transform(v.begin(), v.end(), out.begin(), [](int64_t x) { return static_cast<uint32_t>(x); });
  return out;
}

}  // namespace

TEST_CASE("philox4x32_10 matches the Random123 known-answer vectors") {
  CHECK(philox4x32_10({0, 0, 0, 0}, {0, 0}) == std::array<uint32_t, 4>{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}) ==
        std::array<uint32_t, 4>{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
        std::array<uint32_t, 4>{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("philox_stream equals the reference blocks, including a counter carry past 2^32") {
  const auto& npz = philox_fixture();
  for (int i = 0; i < 4; ++i) {
    CAPTURE(i);
    const auto seeds = npz.read<int64_t>(fmt::format("blocks{}.seeds", i));
    const auto expected = as_u32(npz.read<int64_t>(fmt::format("blocks{}.values", i)));
    const auto got = philox_stream({static_cast<uint64_t>(seeds[0]), static_cast<uint64_t>(seeds[1])},
                                   static_cast<int64_t>(expected.size()), static_cast<uint64_t>(seeds[2]));
    CHECK(got == expected);
  }
  // A partial last block is a prefix of the full one.
  const auto full = philox_stream({5, 6}, 8);
  CHECK(philox_stream({5, 6}, 6) == std::vector<uint32_t>(full.begin(), full.begin() + 6));
}

TEST_CASE("uint32_to_float and uint64_to_double map into the half-open unit interval") {
  CHECK(uint32_to_float(0) == 0.0f);
  CHECK(uint32_to_float(0xffffffffu) == 1.0f - 0x1p-23f);
  CHECK(uint32_to_float(0x00400000u) == 0.5f);
  CHECK(uint64_to_double(0, 0) == 0.0);
  CHECK(uint64_to_double(0xffffffffu, 0xffffffffu) == 1.0 - 0x1p-52);
  CHECK(uint64_to_double(0x80000u, 0) == 0.5);
}

TEST_CASE("TF samplers equal the reference for map_fn iterations 0, 1 and 3") {
  const auto& npz = philox_fixture();
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    const auto p = [&](const char* key) { return fmt::format("sampler{}.{}", i, key); };
    const auto s = npz.read<int64_t>(p("seeds"));
    const PhiloxSeeds seeds{static_cast<uint64_t>(s[0]), static_cast<uint64_t>(s[1])};
    const int64_t iteration = s[2];
    CHECK(tf_uniform_float(seeds, 15, iteration) == npz.read<float>(p("uniform_float"), {3, 5}));
    CHECK(tf_uniform_int(seeds, 6, INT32_MIN, INT32_MAX, iteration) == npz.read<int32_t>(p("uniform_int")));
    CHECK(tf_uniform_int(seeds, 6, -3, 11, iteration) == npz.read<int32_t>(p("uniform_int_small")));
    const auto perm = tf_random_shuffle(seeds, 11, iteration);
    CHECK(std::vector<int32_t>(perm.begin(), perm.end()) == npz.read<int32_t>(p("shuffle")));
    const auto logits32 = npz.read<float>(p("categorical_logits"), {20, 3});
    const std::vector<double> logits(logits32.begin(), logits32.end());
    CHECK(tf_categorical(seeds, logits, 20, 3, iteration) == npz.read<int32_t>(p("categorical")));
  }
}

TEST_CASE("tf_random_shuffle is a permutation, tiny inputs need no draws") {
  auto perm = tf_random_shuffle({1, 2}, 1000, 2);
  std::sort(perm.begin(), perm.end());
  std::vector<int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(perm == identity);
  CHECK(tf_random_shuffle({1, 2}, 0).empty());
  CHECK(tf_random_shuffle({1, 2}, 1) == std::vector<int64_t>{0});
  CHECK_THROWS(tf_uniform_int({1, 2}, 3, 5, 5));
}

TEST_CASE("TfRandomGraph follows TF's graph/op seed rules") {
  TfRandomGraph graph(7);
  CHECK(graph.next_seeds().op_seed == 0);
  CHECK(graph.next_seeds().op_seed == 1);
  CHECK(graph.next_seeds(40).op_seed == 40);  // an explicit op seed leaves the counter alone
  CHECK(graph.next_seeds().op_seed == 2);
  graph.start_map_fn_iteration(3);
  CHECK(graph.op_counter() == 0);
  CHECK(graph.iteration() == 3);

  TfRandomGraph zero(0);  // (0, 0) is replaced by (0, 2^31 - 1)
  const auto z = zero.next_seeds();
  CHECK(z.graph_seed == 0);
  CHECK(z.op_seed == 2147483647u);
  CHECK(zero.next_seeds().op_seed == 1);

  CHECK(TfRandomGraph(int64_t{1} << 40).next_seeds().graph_seed == (uint64_t{1} << 40) % 2147483647u);
  CHECK(TfRandomGraph(-1).next_seeds().graph_seed == 2147483646u);       // Python's modulo
  CHECK(TfRandomGraph(2147483647).next_seeds().op_seed == 2147483647u);  // seed ≡ 0
}
