// Tests for the input pipeline: every processed array against AlphaFold's reference
// (features.np_example_to_features on tests/fixtures/raw_features_ubiquitin.npz, stored again as
// input_pipeline/raw_ubiquitin.npz without its strings; fixtures from
// scripts/make_fixture_input_pipeline.py), determinism, the transforms' invariants, and file I/O.
#include <ATen/ATen.h>  // before doctest: c10 logging defines its own CHECK
#include <ATen/Parallel.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <vector>

#include "data/error.hpp"
#include "data/npz_file.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/msa_transforms.hpp"
#include "test_support.hpp"

using namespace kfold::fold;
using kfold::data::NpzFile;

namespace {

std::vector<int64_t> dims(const at::Tensor& t) { return {t.sizes().begin(), t.sizes().end()}; }

const std::filesystem::path& fixture_dir() {
  static const auto dir = kfold::test::source_dir() / "tests/fixtures/input_pipeline";
  return dir;
}

// The numeric raw features stored in `npz` under `prefix` + AlphaFold's names.
RawFeatures raw_features_from(const NpzFile& npz, const std::string& prefix) {
  RawFeatures raw;
  const auto& msa = npz.get(prefix + "msa");
  raw.n_seq = msa.shape[0];
  raw.n_res = msa.shape[1];
  raw.aatype = npz.read<int32_t>(prefix + "aatype", {raw.n_res, 21});
  raw.between_segment_residues = npz.read<int32_t>(prefix + "between_segment_residues", {raw.n_res});
  raw.residue_index = npz.read<int32_t>(prefix + "residue_index", {raw.n_res});
  raw.seq_length = npz.read<int32_t>(prefix + "seq_length", {raw.n_res});
  raw.msa = npz.read<int32_t>(prefix + "msa", {raw.n_seq, raw.n_res});
  raw.deletion_matrix_int = npz.read<int32_t>(prefix + "deletion_matrix_int", {raw.n_seq, raw.n_res});
  raw.num_alignments = npz.read<int32_t>(prefix + "num_alignments", {raw.n_res});
  if (npz.find(prefix + "template_aatype")) {
    kfold::fold::TemplateFeatures& t = raw.templates;
    t.n_templates = npz.get(prefix + "template_aatype").shape[0];
    t.n_res = raw.n_res;
    t.aatype = npz.read<float>(prefix + "template_aatype", {t.n_templates, raw.n_res, 22});
    t.all_atom_masks = npz.read<float>(prefix + "template_all_atom_masks", {t.n_templates, raw.n_res, 37});
    t.all_atom_positions = npz.read<float>(prefix + "template_all_atom_positions", {t.n_templates, raw.n_res, 37, 3});
    t.sum_probs = npz.read<float>(prefix + "template_sum_probs", {t.n_templates, 1});
  }
  return raw;
}

const RawFeatures& ubiquitin() {
  static const RawFeatures raw = raw_features_from(NpzFile(fixture_dir() / "raw_ubiquitin.npz"), "");
  return raw;
}

// The config and seed stored with a reference case.
std::pair<InputPipelineConfig, int64_t> case_config(const NpzFile& npz) {
  const auto i = [&](const char* key) { return npz.read<int64_t>(fmt::format("config.{}", key)).at(0); };
  const auto d = [&](const char* key) { return npz.read<double>(fmt::format("config.{}", key)).at(0); };
  InputPipelineConfig c;
  c.max_msa_clusters = i("max_msa_clusters");
  c.max_templates = i("max_templates");
  c.num_ensemble = i("num_ensemble");
  c.masked_msa_replace_fraction = d("masked_msa_replace_fraction");
  c.max_extra_msa = i("max_extra_msa");
  c.num_recycle = i("num_recycle");
  c.resample_msa_in_recycling = i("resample_msa_in_recycling") != 0;
  c.reduce_msa_clusters_by_max_templates = i("reduce_msa_clusters_by_max_templates") != 0;
  c.msa_cluster_features = i("msa_cluster_features") != 0;
  c.use_templates = i("use_templates") != 0;
  c.masked_msa = {d("uniform_prob"), d("profile_prob"), d("same_prob")};
  return {c, i("seed")};
}

// Values that come out of atan (deletion_value channels, all in [0, 1)): kfold rounds atan correctly,
// NumPy's SIMD float32 arctan (the reference, on AVX-512 machines) is 1 ulp off for a few percent
// of inputs (at most 2 ulp seen). 1 ulp of [0.5, 1) is 6e-8; the tolerance is 4 ulp. All else is bit-exact.
constexpr float kAtanTolerance = 2.4e-7f;

bool is_atan_channel(const std::string& name, int64_t channel, int64_t channels) {
  if (name == "extra_deletion_value") return true;
  return name == "msa_feat" && (channel == 24 || (channels == 49 && channel == 48));
}

struct AtanDifferences {
  float max_abs = 0.0f;
  int64_t count = 0, total = 0;
};

// Compares one array with the reference: exactly, except the atan-derived values (kAtanTolerance).
void check_against_reference(const NpzFile& npz, const std::string& name, const at::Tensor& got,
                             AtanDifferences& atan) {
  CAPTURE(name);
  const auto& ref = npz.get(name);
  REQUIRE(dims(got) == ref.shape);
  if (got.scalar_type() == at::kInt) {
    const auto expected = npz.read<int32_t>(name);
    const int32_t* g = got.data_ptr<int32_t>();
    int64_t mismatches = 0;
    for (size_t k = 0; k < expected.size(); ++k) mismatches += g[k] != expected[k];
    CHECK(mismatches == 0);
    return;
  }
  REQUIRE((got.scalar_type() == at::kFloat));
  const auto expected = npz.read<float>(name);
  const float* g = got.data_ptr<float>();
  const int64_t channels = ref.shape.back();
  int64_t exact_mismatches = 0;
  float atan_diff = 0.0f;
  for (size_t k = 0; k < expected.size(); ++k) {
    if (is_atan_channel(name, static_cast<int64_t>(k) % channels, channels)) {
      atan_diff = std::max(atan_diff, std::abs(g[k] - expected[k]));
      atan.count += g[k] != expected[k];
      atan.total += expected[k] != 0.0f;
    } else {
      exact_mismatches += std::memcmp(&g[k], &expected[k], sizeof(float)) != 0;
    }
  }
  CHECK(exact_mismatches == 0);
  CHECK(atan_diff <= kAtanTolerance);
  atan.max_abs = std::max(atan.max_abs, atan_diff);
}

std::vector<std::string> reference_cases() {
  return {"small_seed7",
          "all_clusters_seed0",
          "templates_reduce_bigseed",
          "seed0_recycle",
          "no_resample_no_clusters",
          "ensemble2",
          "model_3_seed1",
          "synthetic_deep",
          "synthetic_templates",
          "synthetic_templates_cropped"};
}

}  // namespace

TEST_CASE("make_model_inputs equals AlphaFold's np_example_to_features for every reference case") {
  for (const std::string& name : reference_cases()) {
    CAPTURE(name);
    const NpzFile npz(fixture_dir() / (name + ".npz"));
    const auto [config, seed] = case_config(npz);
    // The synthetic case carries its raw input as raw.*; the others run on ubiquitin.
    const RawFeatures raw = npz.find("raw.msa") ? raw_features_from(npz, "raw.") : ubiquitin();
    const ProcessedFeatures features = make_model_inputs(raw, config, seed);
    CHECK(features.n_batch() == config.num_batches());
    // The memory guard's count of the features is exact.
    CHECK(processed_feature_bytes(features) == processed_feature_bytes(config, raw.n_res, raw.templates.n_templates));
    // Every reference array is produced, and nothing else.
    int64_t reference_arrays = 0;
    for (const auto& a : npz.arrays()) reference_arrays += a.name.find('.') == std::string::npos;
    const auto named = features.named();
    CHECK(static_cast<int64_t>(named.size()) == reference_arrays);
    AtanDifferences atan;
    for (const auto& [key, tensor] : named) check_against_reference(npz, key, tensor, atan);
    MESSAGE(name << ": atan-derived deletion values: " << atan.count << " of " << atan.total
                 << " nonzero differ, max |difference| " << atan.max_abs);
  }
}

TEST_CASE("make_model_inputs: shapes, padding and invariants at the real model_3 sizes") {
  InputPipelineConfig config;  // model_3: 512 clusters, 5120 extra
  config.max_extra_msa = 5120;
  const auto f = make_model_inputs(ubiquitin(), config, 11);
  const int64_t n_res = 76, n_seq = 13;
  CHECK((dims(f.msa_feat) == std::vector<int64_t>{4, 512, n_res, 49}));
  CHECK((dims(f.target_feat) == std::vector<int64_t>{4, n_res, 22}));
  CHECK((dims(f.extra_msa) == std::vector<int64_t>{4, 5120, n_res}));
  // Padded to 512 + 5120 rows for 13 sequences: ~23 MB per recycle at L = 76, all counted by the guard.
  CHECK(processed_feature_bytes(f) == processed_feature_bytes(config, n_res, 0));
  CHECK(processed_feature_bytes(f) > 4 * (512 * n_res * 49 + 5120 * n_res * 4) * 4);
  // All 13 rows are centres; rows past them are zero padding, masks included.
  CHECK(f.msa_row_mask.sum().item<float>() == 4 * n_seq);
  CHECK(f.msa_feat.slice(1, n_seq).abs().sum().item<float>() == 0.0f);
  CHECK(f.extra_msa_row_mask.sum().item<float>() == 0.0f);
  // Query first in every batch; one-hot (23) channels sum to 1 on real rows; profiles sum to ~1.
  CHECK(at::equal(f.true_msa.select(1, 0), f.aatype));
  const at::Tensor real = f.msa_feat.slice(1, 0, n_seq);
  CHECK(at::allclose(real.slice(3, 0, 23).sum(3), at::ones({4, n_seq, n_res})));
  CHECK(at::allclose(real.slice(3, 25, 48).sum(3), at::ones({4, n_seq, n_res}), 1e-5, 1e-5));
  // BERT: corrupted positions are exactly where msa differs from true_msa or was kept by chance.
  const at::Tensor msa = real.slice(3, 0, 23).argmax(3).to(at::kInt);
  const at::Tensor differs = msa.ne(f.true_msa.slice(1, 0, n_seq));
  CHECK(differs.logical_and(f.bert_mask.slice(1, 0, n_seq).eq(0)).sum().item<int64_t>() == 0);
  const double masked = f.bert_mask.sum().item<double>() / (4.0 * n_seq * n_res);
  CHECK(masked > 0.10);
  CHECK(masked < 0.20);
  // Resampling: batches differ.
  CHECK_FALSE(at::equal(f.bert_mask[0], f.bert_mask[1]));
}

TEST_CASE("make_model_inputs is reproducible and seeded") {
  InputPipelineConfig config;
  config.max_msa_clusters = 5;
  config.max_extra_msa = 6;
  config.num_recycle = 1;
  const auto a = make_model_inputs(ubiquitin(), config, 123);
  const auto b = make_model_inputs(ubiquitin(), config, 123);
  const auto c = make_model_inputs(ubiquitin(), config, 124);
  for (const auto& [name, tensor] : a.named()) {
    CAPTURE(name);
    CHECK(at::equal(tensor, *const_cast<ProcessedFeatures&>(b).field(name)));
  }
  CHECK_FALSE(at::equal(a.msa_feat, c.msa_feat));
  // Seeds congruent modulo 2^31 - 1 are the same graph seed (TF's rule).
  const auto d = make_model_inputs(ubiquitin(), config, 123 + 2147483647LL);
  CHECK(at::equal(a.msa_feat, d.msa_feat));
}

TEST_CASE("InputBatches makes any batch alone exactly as make_model_inputs makes it among all") {
  InputPipelineConfig config;
  config.max_msa_clusters = 5;
  config.max_extra_msa = 6;
  config.num_recycle = 2;
  const auto all = make_model_inputs(ubiquitin(), config, 77);
  const InputBatches batches(ubiquitin(), config, 77);
  REQUIRE(batches.n_batch() == 3);
  CHECK(batches.n_res() == 76);
  CHECK(batches.msa_rows() == ubiquitin().n_seq);
  CHECK_FALSE(batches.with_templates());
  // Out of order and overlapping: no batch depends on what was asked before.
  for (const auto& [first, count] : std::vector<std::pair<int64_t, int64_t>>{{2, 1}, {0, 1}, {1, 2}, {0, 3}, {2, 1}}) {
    const ProcessedFeatures part = batches.batches(first, count);
    const ProcessedFeatures expected = all.batches(first, count);
    CHECK(part.named().size() == all.named().size());
    for (const auto& [name, tensor] : expected.named()) {
      CAPTURE(name);
      CAPTURE(first);
      CHECK(at::equal(tensor, *const_cast<ProcessedFeatures&>(part).field(name)));
    }
    CHECK(processed_feature_bytes(part) == processed_feature_bytes(config, 76, 0) / 3 * count);
  }
  CHECK(at::equal(batches.shared().aatype[0], all.aatype[0]));
  CHECK_FALSE(batches.shared().msa_feat.defined());
  // One batch (no resampling): the op seeds continue after the non-ensembled ones, as in make_model_inputs.
  config.resample_msa_in_recycling = false;
  CHECK(at::equal(InputBatches(ubiquitin(), config, 9).batches(0, 1).msa_feat,
                  make_model_inputs(ubiquitin(), config, 9).msa_feat));
  CHECK_THROWS_WITH_AS(batches.batches(2, 2), doctest::Contains("batches 2 .. 3 asked for; there are 3"),
                       kfold::InputError);
  CHECK_THROWS_AS(batches.batches(-1, 1), kfold::InputError);
  CHECK_THROWS_AS(all.batches(0, 0), kfold::InputError);
}

TEST_CASE("make_model_inputs: single sequence, no extra MSA, config errors") {
  RawFeatures single = ubiquitin();
  single.n_seq = 1;
  single.msa.resize(static_cast<size_t>(single.n_res));
  single.deletion_matrix_int.resize(static_cast<size_t>(single.n_res));
  InputPipelineConfig config;
  config.max_msa_clusters = 4;
  config.max_extra_msa = 0;
  config.num_recycle = 0;
  const auto f = make_model_inputs(single, config, 5);
  CHECK((dims(f.msa_feat) == std::vector<int64_t>{1, 4, 76, 49}));
  CHECK_FALSE(f.extra_msa.defined());
  CHECK(f.named().size() == 16);
  CHECK(processed_feature_bytes(f) == processed_feature_bytes(config, single.n_res, 0));
  CHECK(f.msa_row_mask.sum().item<float>() == 1.0f);

  InputPipelineConfig bad = config;
  bad.reduce_msa_clusters_by_max_templates = true;  // 4 - 4 templates = 0 centres
  CHECK_THROWS_WITH_AS(make_model_inputs(single, bad, 0), doctest::Contains("max_msa_clusters"), kfold::InputError);
  bad = config;
  bad.masked_msa.same_prob = 0.9;
  CHECK_THROWS_WITH_AS(make_model_inputs(single, bad, 0), doctest::Contains("masked_msa"), kfold::InputError);
  RawFeatures broken = single;
  broken.msa[3] = 30;
  CHECK_THROWS_WITH_AS(make_model_inputs(broken, config, 0), doctest::Contains("HHblits id"), kfold::InputError);
}

TEST_CASE("processed features: HDF5 round trip, reading the reference .npz, shape errors") {
  kfold::test::ScratchDir dir("input_pipeline_io");
  InputPipelineConfig config;
  config.max_msa_clusters = 4;
  config.max_extra_msa = 8;
  config.num_recycle = 1;
  const auto f = make_model_inputs(ubiquitin(), config, 9);
  write_processed_features(dir / "features.h5", f);
  auto back = read_processed_features(dir / "features.h5");
  CHECK(back.named().size() == f.named().size());
  for (const auto& [name, tensor] : f.named()) {
    CAPTURE(name);
    REQUIRE(back.field(name)->defined());
    CHECK(at::equal(tensor, *back.field(name)));
  }
  // The reference's own arrays load unchanged (its config.* entries are ignored).
  const auto ref = read_processed_features(fixture_dir() / "small_seed7.npz");
  CHECK((dims(ref.msa_feat) == std::vector<int64_t>{2, 4, 76, 49}));
  CHECK((ref.extra_msa.scalar_type() == at::kInt));

  ProcessedFeatures wrong = f;
  wrong.msa_mask = wrong.msa_mask.slice(2, 0, 70).contiguous();
  write_processed_features(dir / "wrong.h5", wrong);
  CHECK_THROWS_WITH_AS(read_processed_features(dir / "wrong.h5"),
                       doctest::Contains("'msa_mask' has shape [2, 4, 70]: n_res is 70 here but 76 in 'aatype'"),
                       kfold::InputError);
  std::ofstream(dir / "junk.h5") << "not a file";
  CHECK_THROWS_AS(read_processed_features(dir / "junk.h5"), kfold::InputError);

  // Values the model would index out of its tables with, or that make every output NaN, are named.
  const auto refused = [&](const char* file, ProcessedFeatures broken) {
    write_processed_features(dir / file, broken);
    std::string message;
    try {
      (void)read_processed_features(dir / file);
    } catch (const kfold::InputError& e) {
      message = e.what();
    }
    return message;
  };
  ProcessedFeatures bad = f;
  bad.aatype = f.aatype.clone();
  bad.aatype[1][5] = 25;
  CHECK(refused("aatype.h5", bad).find("'aatype' holds 25 at index [1, 5] (1 values outside 0..20)") !=
        std::string::npos);
  bad = f;
  bad.extra_msa = f.extra_msa.clone();
  bad.extra_msa[0][0][0] = -5;
  CHECK(refused("extra.h5", bad).find("'extra_msa' holds -5 at index [0, 0, 0]") != std::string::npos);
  bad = f;
  bad.msa_feat = f.msa_feat.clone();
  bad.msa_feat[0][1][2][3] = std::numeric_limits<float>::quiet_NaN();
  bad.msa_feat[1][1][2][3] = std::numeric_limits<float>::infinity();
  CHECK(refused("nan.h5", bad).find("'msa_feat' holds 2 NaN or infinite values") != std::string::npos);
  bad = f;
  bad.extra_msa = at::Tensor();  // the extra MSA stack reads it
  CHECK(refused("no_extra.h5", bad).find("lack 'extra_msa'") != std::string::npos);
  bad = f;
  bad.msa_feat = f.msa_feat.slice(1, 0, 0).contiguous();  // no cluster rows
  bad.msa_mask = f.msa_mask.slice(1, 0, 0).contiguous();
  bad.msa_row_mask = f.msa_row_mask.slice(1, 0, 0).contiguous();
  bad.bert_mask = f.bert_mask.slice(1, 0, 0).contiguous();
  bad.true_msa = f.true_msa.slice(1, 0, 0).contiguous();
  CHECK(refused("empty.h5", bad).find("dimension 1 is empty") != std::string::npos);
}

TEST_CASE("reference sweep: every .npz in $KFOLD_INPUT_PIPELINE_SWEEP (skipped when unset)") {
  // For wider checks than the committed fixtures: cases written like the fixture script's (config.*,
  // raw.* arrays), e.g. many seeds on a deep MSA. Reports every case, checks as the fixture test does.
  const char* dir = std::getenv("KFOLD_INPUT_PIPELINE_SWEEP");
  if (dir == nullptr) return;
  int64_t cases = 0;
  AtanDifferences atan;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".npz") continue;
    CAPTURE(entry.path().string());
    const NpzFile npz(entry.path());
    const auto [config, seed] = case_config(npz);
    const RawFeatures raw = npz.find("raw.msa") ? raw_features_from(npz, "raw.") : ubiquitin();
    for (const auto& [key, tensor] : make_model_inputs(raw, config, seed).named())
      check_against_reference(npz, key, tensor, atan);
    ++cases;
  }
  MESSAGE(cases << " sweep cases; atan-derived values: " << atan.count << " of " << atan.total
                << " nonzero differ, max |difference| " << atan.max_abs);
}

TEST_CASE("make_model_inputs is bitwise the same for 1, 2, 3 and 4 threads") {
  InputPipelineConfig config;
  config.max_extra_msa = 64;
  const int saved = at::get_num_threads();
  std::vector<ProcessedFeatures> runs;
  for (const int threads : {1, 2, 3, 4}) {
    at::set_num_threads(threads);
    runs.push_back(make_model_inputs(ubiquitin(), config, 5));
  }
  at::set_num_threads(saved);
  for (size_t run = 1; run < runs.size(); ++run) {
    INFO("threads " << run + 1 << " vs 1");
    CHECK(at::equal(runs[run].msa_feat, runs[0].msa_feat));
    CHECK(at::equal(runs[run].bert_mask, runs[0].bert_mask));
    CHECK(at::equal(runs[run].extra_msa, runs[0].extra_msa));
    CHECK(at::equal(runs[run].extra_deletion_value, runs[0].extra_deletion_value));
    CHECK(at::equal(runs[run].target_feat, runs[0].target_feat));
  }
}

TEST_CASE("make_model_inputs: config ranges and raw feature checks") {
  RawFeatures raw = ubiquitin();
  InputPipelineConfig config;
  config.max_msa_clusters = 4;
  config.max_extra_msa = 4;
  config.num_recycle = 0;
  CHECK_NOTHROW(config.validate());
  const auto refused = [](InputPipelineConfig c, const char* what) {
    CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains(what), kfold::InputError);
  };
  InputPipelineConfig bad = config;
  bad.max_extra_msa = -1;
  refused(bad, "max_extra_msa must be >= 0");
  bad = config;
  bad.num_recycle = -1;
  refused(bad, "num_recycle must be >= 0");
  bad = config;
  bad.num_ensemble = 0;
  refused(bad, "num_ensemble must be >= 1");
  bad = config;
  bad.masked_msa_replace_fraction = 1.5;
  refused(bad, "masked_msa_replace_fraction must be in [0, 1]");
  bad.masked_msa_replace_fraction = -0.1;
  refused(bad, "masked_msa_replace_fraction must be in [0, 1]");
  bad = config;
  bad.max_extra_msa = 0;  // the edges themselves are allowed
  bad.masked_msa_replace_fraction = 1.0;
  CHECK_NOTHROW(bad.validate());

  // between_segment_residues is target_feat's channel 0 (clipped to 1); the residue type is channel 1 + aatype.
  raw.between_segment_residues[3] = 2;
  const auto f = make_model_inputs(raw, config, 1);
  CHECK(f.target_feat[0][3][0].item<float>() == 1.0f);
  CHECK(f.target_feat[0][2][0].item<float>() == 0.0f);
  CHECK(f.target_feat.select(2, 0).sum().item<float>() == 1.0f);

  RawFeatures wrong_length = ubiquitin();
  wrong_length.seq_length.assign(wrong_length.seq_length.size(), 75);
  CHECK_THROWS_WITH_AS(make_model_inputs(wrong_length, config, 1), doctest::Contains("seq_length is 75"),
                       kfold::InputError);
  RawFeatures empty;
  CHECK_THROWS_WITH_AS(make_model_inputs(empty, config, 1), doctest::Contains("no residues"), kfold::InputError);
}

TEST_CASE("processed features: msa_feat channel count and incomplete template arrays are refused") {
  kfold::test::ScratchDir dir("input_pipeline_refused");
  InputPipelineConfig config;
  config.max_msa_clusters = 4;
  config.max_extra_msa = 4;
  config.num_recycle = 0;
  const auto f = make_model_inputs(ubiquitin(), config, 3);
  ProcessedFeatures bad = f;
  bad.msa_feat = f.msa_feat.slice(3, 0, 30).contiguous();
  write_processed_features(dir / "channels.h5", bad);
  CHECK_THROWS_WITH_AS(read_processed_features(dir / "channels.h5"), doctest::Contains("must have 49 channels"),
                       kfold::InputError);
  // 25 channels (no cluster features): the model's first MSA layer reads 49 (it failed inside libtorch).
  bad.msa_feat = f.msa_feat.slice(3, 0, 25).contiguous();
  write_processed_features(dir / "plain.h5", bad);
  CHECK_THROWS_WITH_AS(read_processed_features(dir / "plain.h5"), doctest::Contains("msa_cluster_features false"),
                       kfold::InputError);
  bad = f;
  bad.template_aatype = at::zeros({1, 2, 76}, at::kInt);  // without the other template arrays
  write_processed_features(dir / "templates.h5", bad);
  CHECK_THROWS_WITH_AS(read_processed_features(dir / "templates.h5"),
                       doctest::Contains("have template arrays but lack 'template_all_atom_positions'"),
                       kfold::InputError);
  // Masks other than 0 and 1 and deletion values outside [0, 1] ran (a seq_mask of 0.5 moved pTM, exit 0).
  bad = f;
  bad.seq_mask = f.seq_mask.clone();
  bad.seq_mask.index_put_({0, 3}, 0.5);
  write_processed_features(dir / "seq_mask.h5", bad);
  CHECK_THROWS_WITH_AS(read_processed_features(dir / "seq_mask.h5"),
                       doctest::Contains("processed feature 'seq_mask' holds 1 values outside {0, 1} (e.g. 0.5)"),
                       kfold::InputError);
  bad = f;
  bad.extra_deletion_value = f.extra_deletion_value.clone();
  bad.extra_deletion_value.index_put_({0, 0, 0}, 1e30);
  write_processed_features(dir / "deletion.h5", bad);
  CHECK_THROWS_WITH_AS(read_processed_features(dir / "deletion.h5"),
                       doctest::Contains("'extra_deletion_value' holds 1 values outside [0, 1] (e.g. 1e+30)"),
                       kfold::InputError);
  // residue_index -1000 is residue -999 in the structures, which readers take for no number: refused at once.
  bad = f;
  bad.residue_index = f.residue_index.clone();
  bad.residue_index.sub_(1000 + bad.residue_index.index({0, 0}).item<int32_t>());
  write_processed_features(dir / "residue_index.h5", bad);
  CHECK_THROWS_WITH_AS(read_processed_features(dir / "residue_index.h5"),
                       doctest::Contains("'residue_index' of residue 1 is -1000"), kfold::InputError);
}

TEST_CASE("nearest_neighbor_clusters over several row chunks equals a brute-force count") {
  // 3,000 extra rows of 400 residues: more than one matrix product's chunk of rows (2^24 one-hot floats, 1,997
  // rows here); random ids 0..22 (gap, X and [MASK] count as no agreement) and masks, 20 centres. Each row
  // goes to the centre with the most mask-weighted shared residues, ties to the first: exact integers.
  constexpr int64_t n_res = 400, n_clust = 20, n_extra = 3000;
  uint64_t state = 12345;
  const auto next = [&state](uint64_t n) {  // (a small LCG: the test needs no distribution)
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % n;
  };
  const auto fill = [&](MsaArrays& m, int64_t rows) {
    m.n_seq = rows;
    m.n_res = n_res;
    for (int64_t k = 0; k < rows * n_res; ++k) {
      m.msa.push_back(static_cast<int32_t>(next(4) == 0 ? next(23) : next(3)));  // few classes: many ties
      m.msa_mask.push_back(next(10) == 0 ? 0.0f : 1.0f);
      m.deletion_matrix.push_back(0.0f);
    }
    m.msa_row_mask.assign(static_cast<size_t>(rows), 1.0f);
  };
  EnsembleMsa batch;
  fill(batch.msa, n_clust);
  fill(batch.extra, n_extra);
  nearest_neighbor_clusters(batch);
  REQUIRE(batch.extra_cluster_assignment.size() == static_cast<size_t>(n_extra));
  for (int64_t e = 0; e < n_extra; ++e) {
    int64_t best = 0;
    float best_count = -1.0f;
    for (int64_t c = 0; c < n_clust; ++c) {
      float count = 0.0f;
      for (int64_t r = 0; r < n_res; ++r) {
        const auto ke = static_cast<size_t>(e * n_res + r), kc = static_cast<size_t>(c * n_res + r);
        if (batch.extra.msa[ke] < 21 && batch.extra.msa[ke] == batch.msa.msa[kc])
          count += batch.extra.msa_mask[ke] * batch.msa.msa_mask[kc];
      }
      if (count > best_count) {
        best_count = count;
        best = c;
      }
    }
    if (batch.extra_cluster_assignment[static_cast<size_t>(e)] != best) {
      FAIL("extra row ", e, ": assigned centre ", batch.extra_cluster_assignment[static_cast<size_t>(e)],
           ", brute force ", best);
    }
  }
}
