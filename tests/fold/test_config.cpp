// AlphaFold2 model configuration: presets against the AlphaFold reference's model_config(name)
// (tests/fixtures/fold/model_config.json, scripts/make_fixture_fold_config.py) and JSON overrides.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <set>

#include "data/error.hpp"
#include "fold/config.hpp"
#include "test_support.hpp"

using kfold::fold::apply_config_json;
using kfold::fold::model_config;
using nlohmann::json;

namespace {

void flatten(const json& j, const std::string& path, std::map<std::string, json>& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) flatten(value, path.empty() ? key : path + "." + key, out);
  } else {
    out[path] = j;
  }
}

std::map<std::string, json> flat(const json& j) {
  std::map<std::string, json> out;
  flatten(j, "", out);
  return out;
}

bool same_value(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

// Keys of the reference that kfold does not model: alphafold-colabfold's additions (its fused-kernel and
// half-precision switches, early stopping, ranking) and inference-irrelevant extras.
const std::set<std::string> kNotModelled{
    "model.global_config.compute_capability",
    "model.global_config.fp8",
    "model.global_config.half_dtype",
    "model.global_config.kernel_backend",
    "model.global_config.length_buckets",
    "model.global_config.use_pallas",
    "model.rank_by",
    "model.recycle_early_stop_tolerance",
    "model.stop_at_score",
};

}  // namespace

TEST_CASE("model presets match AlphaFold's model_config for every monomer preset") {
  std::ifstream in(kfold::test::source_dir() / "tests/fixtures/fold/model_config.json");
  REQUIRE(in.good());
  const json reference = json::parse(in);
  REQUIRE(reference.size() == kfold::fold::model_presets().size());
  for (const auto& preset : kfold::fold::model_presets()) {
    CAPTURE(preset);
    REQUIRE(reference.contains(preset));
    const auto ours = flat(json::parse(kfold::fold::config_to_json(model_config(preset))));
    const auto theirs = flat(reference[preset]);
    int compared = 0;
    for (const auto& [key, value] : ours) {
      CAPTURE(key);
      CHECK_MESSAGE(theirs.contains(key), "kfold has a key the reference lacks");
      if (!theirs.contains(key)) continue;
      CHECK_MESSAGE(same_value(value, theirs.at(key)),
                    "kfold " << value.dump() << " vs reference " << theirs.at(key).dump());
      ++compared;
    }
    for (const auto& [key, value] : theirs) {
      CAPTURE(key);
      // optional keys (key_dim/value_dim absent in the Evoformer's attention) are absent on both sides
      CHECK_MESSAGE((ours.contains(key) || kNotModelled.contains(key)), "reference key not modelled by kfold");
    }
    CHECK(compared == 176);  // every kfold key (all but the not-modelled ones above)
  }
}

TEST_CASE("model presets: AlphaFold2's numbers") {
  const auto m1 = model_config("model_1");
  const auto& e = m1.model.embeddings_and_evoformer;
  CHECK(e.evoformer_num_block == 48);
  CHECK(e.extra_msa_stack_num_block == 4);
  CHECK(e.msa_channel == 256);
  CHECK(e.pair_channel == 128);
  CHECK(e.seq_channel == 384);
  CHECK(e.extra_msa_channel == 64);
  CHECK(e.evoformer.msa_row_attention_with_pair_bias.num_head == 8);
  CHECK(e.evoformer.triangle_attention_starting_node.num_head == 4);
  CHECK(e.template_.enabled);
  CHECK(m1.data.common.max_extra_msa == 5120);
  CHECK(model_config("model_2").data.common.max_extra_msa == 1024);
  CHECK_FALSE(model_config("model_3").model.embeddings_and_evoformer.template_.enabled);
  CHECK(model_config("model_5_ptm").model.heads.predicted_aligned_error.weight == 0.1);
  CHECK(model_config("model_5").model.heads.predicted_aligned_error.weight == 0.0);
  CHECK(m1.model.num_recycle == 3);
  CHECK_THROWS_WITH_AS(model_config("model_6"), doctest::Contains("unknown model preset 'model_6'"), kfold::InputError);
}

TEST_CASE("config JSON overrides use AlphaFold's key names") {
  auto c = model_config("model_3_ptm");
  apply_config_json(c,
                    R"({"model": {"embeddings_and_evoformer": {"evoformer_num_block": 2,
                         "evoformer": {"msa_row_attention_with_pair_bias": {"num_head": 2}}},
                         "num_recycle": 1}, "data": {"eval": {"max_msa_clusters": 16}}})",
                    "small.json");
  CHECK(c.model.embeddings_and_evoformer.evoformer_num_block == 2);
  CHECK(c.model.embeddings_and_evoformer.evoformer.msa_row_attention_with_pair_bias.num_head == 2);
  CHECK(c.model.num_recycle == 1);
  CHECK(c.data.eval.max_msa_clusters == 16);
  CHECK(c.model.embeddings_and_evoformer.msa_channel == 256);  // omitted keys keep the preset's value
  CHECK(c.data.common.max_extra_msa == 5120);

  auto before = kfold::fold::config_to_json(c);
  CHECK_THROWS_WITH_AS(
      apply_config_json(c, R"({"model": {"embeddings_and_evoformer": {"evoformer_num_blocks": 2}}})", "bad.json"),
      doctest::Contains("bad.json: unknown config key "
                        "'model.embeddings_and_evoformer.evoformer_num_blocks'"),
      kfold::InputError);
  CHECK_THROWS_WITH_AS(apply_config_json(c, R"({"model": {"num_recycle": "3"}})", "bad.json"),
                       doctest::Contains("config key 'model.num_recycle': expected an integer, found a string"),
                       kfold::InputError);
  CHECK_THROWS_WITH_AS(
      apply_config_json(c, R"({"model": {"num_recycle": 1, "global_config": {"zero_init": 1}}})", "bad.json"),
      doctest::Contains("'model.global_config.zero_init': expected a boolean, found an integer"), kfold::InputError);
  CHECK_THROWS_WITH_AS(apply_config_json(c, R"({"model": 3})", "bad.json"),
                       doctest::Contains("config key 'model': expected an object"), kfold::InputError);
  CHECK_THROWS_WITH_AS(apply_config_json(c, "[1, 2]", "bad.json"),
                       doctest::Contains("bad.json: a config is a JSON object of AlphaFold's config keys"),
                       kfold::InputError);  // (said "config key ''")
  CHECK_THROWS_WITH_AS(apply_config_json(c, "{", "bad.json"), doctest::Contains("bad.json: invalid JSON"),
                       kfold::InputError);
  CHECK_THROWS_WITH_AS(apply_config_json(c, R"({"model": {"num_recycle": 1e999}})", "bad.json"),
                       doctest::Contains("bad.json: invalid JSON"), kfold::InputError);  // past double's range
  // Integers out of range name the key and the least value: sizes >= 1, other counts >= 0.
  const std::pair<const char*, const char*> out_of_range[] = {
      {R"({"model": {"num_recycle": -2}})", "'model.num_recycle': -2 is out of range; it must be at least 0"},
      {R"({"data": {"common": {"max_extra_msa": 0}}})", "'data.common.max_extra_msa': 0 is out of range"},
      {R"({"model": {"embeddings_and_evoformer": {"pair_channel": 0}}})", "pair_channel': 0 is out of range"},
      {R"({"model": {"heads": {"structure_module": {"num_layer": 0}}}})", "num_layer': 0 is out of range"},
      {R"({"model": {"heads": {"distogram": {"num_bins": 0}}}})", "num_bins': 0 is out of range"},
      {R"({"model": {"embeddings_and_evoformer": {"evoformer_num_block": -1}}})", "must be at least 0"},
      {R"({"model": {"embeddings_and_evoformer": {"max_relative_feature": -3}}})", "must be at least 0"},
      // Beyond int64_t (nlohmann reads it as unsigned): it wrapped to -1 and was named so.
      {R"({"model": {"embeddings_and_evoformer": {"msa_channel": 18446744073709551615}}})",
       "'model.embeddings_and_evoformer.msa_channel': 18446744073709551615 is out of range; it must be at most "
       "16777216"},
      {R"({"model": {"num_recycle": 9223372036854775808}})",
       "'model.num_recycle': 9223372036854775808 is out of range; it must be at most 16777216"},
  };
  for (const auto& [json, message] : out_of_range) {
    CAPTURE(json);
    CHECK_THROWS_WITH_AS(apply_config_json(c, json, "bad.json"), doctest::Contains(message), kfold::InputError);
  }
  apply_config_json(c, R"({"model": {"num_recycle": 0}, "data": {"eval": {"max_templates": 0}}})", "ok.json");
  CHECK(c.model.num_recycle == 0);  // 0 recycles and 0 templates are valid counts
  c.model.num_recycle = 1;
  c.data.eval.max_templates = 4;
  CHECK(kfold::fold::config_to_json(c) == before);  // a failed override changes nothing

  apply_config_json(c, R"({"model": {"heads": {"distogram": {"first_break": 2}}}})", "ok.json");
  CHECK(c.model.heads.distogram.first_break == 2.0);  // integers are numbers
}

TEST_CASE("data.eval.feat, AlphaFold's feature shape schema, loads from a config AlphaFold exported") {
  // The schema of alphafold.model.config (scripts/make_fixture_fold_config.py): it sets fixed-size padding,
  // which kfold drops, so it changes nothing; it was refused as an unknown key.
  std::ifstream in(kfold::test::source_dir() / "tests/fixtures/fold/eval_feat.json");
  REQUIRE(in.good());
  const json feat = json::parse(in);
  REQUIRE(feat.size() > 40);
  auto c = model_config("model_1_ptm");
  const auto preset = kfold::fold::config_to_json(c);
  CHECK(json::parse(preset)["data"]["eval"].contains("feat") == false);  // absent unless given
  apply_config_json(c, json{{"data", {{"eval", {{"feat", feat}, {"num_ensemble", 1}}}}}}.dump(), "exported.json");
  const json written = json::parse(kfold::fold::config_to_json(c));
  CHECK(written["data"]["eval"]["feat"] == feat);  // written back as given
  auto without = written;
  without["data"]["eval"].erase("feat");
  CHECK(without == json::parse(preset));  // and nothing else changed
  // A config over it changes the features it names and keeps the others, as every other section merges.
  apply_config_json(c, R"({"data": {"eval": {"feat": {"aatype": ["num residues placeholder", 7]}}}})", "over.json");
  auto merged = feat;
  merged["aatype"] = json::array({"num residues placeholder", 7});
  CHECK(json::parse(kfold::fold::config_to_json(c))["data"]["eval"]["feat"] == merged);

  const std::pair<const char*, const char*> refused[] = {
      {R"({"data": {"eval": {"feat": 3}}})",
       "'data.eval.feat': expected an object of feature names and their shapes, found an integer"},
      {R"({"data": {"eval": {"feat": {"aatype": "num residues placeholder"}}}})",
       "'data.eval.feat.aatype': expected a list of dimensions (names, nulls or sizes), found a string"},
      {R"({"data": {"eval": {"feat": {"aatype": [1.5]}}}})",
       "'data.eval.feat.aatype': expected dimensions that are names, nulls or sizes, found a number"},
  };
  for (const auto& [text, message] : refused) {
    CAPTURE(text);
    CHECK_THROWS_WITH_AS(apply_config_json(c, text, "bad.json"), doctest::Contains(message), kfold::InputError);
  }
}

TEST_CASE("model_config: an unknown preset names the presets, and a JSON file's place") {
  CHECK(kfold::fold::model_config("model_4").data.common.max_extra_msa == 5120);
  CHECK_THROWS_WITH_AS(kfold::fold::model_config("model_6"),
                       "unknown model preset 'model_6' (expected one of model_1, model_2, model_3, model_4, model_5, "
                       "model_1_ptm, model_2_ptm, model_3_ptm, model_4_ptm, model_5_ptm)",
                       kfold::InputError);
  CHECK_THROWS_WITH_AS(kfold::fold::model_config("small.json"),
                       doctest::Contains("; a JSON file of config overrides goes in --config (Python: config=)"),
                       kfold::InputError);
}

TEST_CASE("config values a key alone cannot judge are refused when the config is read, naming the key") {
  // Each ran its models before failing (at pae.png, or inside the network with a libtorch trace).
  const std::pair<const char*, const char*> refused[] = {
      {R"({"model": {"embeddings_and_evoformer": {"evoformer": {"triangle_attention_starting_node": {"num_head": 3}}}}})",
       "'model.embeddings_and_evoformer.evoformer.triangle_attention_starting_node.num_head': 3 heads do not divide "
       "this module's 128 key and 128 value channels"},
      // 8 heads divide the Evoformer's 256 MSA channels but not the extra-MSA stack's 12.
      {R"({"model": {"embeddings_and_evoformer": {"extra_msa_channel": 12}}})",
       "'model.embeddings_and_evoformer.evoformer.msa_row_attention_with_pair_bias.num_head': 8 heads do not divide "
       "this module's 12 key and 12 value channels in the extra-MSA stack (extra_msa_channel)"},
      {R"({"model": {"embeddings_and_evoformer": {"template": {"attention": {"key_dim": 30}}}}})",
       "'model.embeddings_and_evoformer.template.attention.num_head': 4 heads do not divide"},
      {R"({"model": {"heads": {"predicted_aligned_error": {"max_error_bin": -5}}}})",
       "'model.heads.predicted_aligned_error.max_error_bin': must be above 0"},
      // 2 bins make one break where the head needs two (it failed after the models had run).
      {R"({"model": {"heads": {"predicted_aligned_error": {"num_bins": 2}}}})",
       "'model.heads.predicted_aligned_error.num_bins': 2 is out of range; it must be at least 3"},
      // The modules refused these texts at model construction, naming a weight scope and not this file.
      {R"({"model": {"embeddings_and_evoformer": {"evoformer": {"msa_row_attention_with_pair_bias": {"orientation":
          "per_column"}}}}})",
       "'model.embeddings_and_evoformer.evoformer.msa_row_attention_with_pair_bias.orientation': 'per_column', "
       "expected per_row"},
      {R"({"model": {"embeddings_and_evoformer": {"evoformer": {"msa_column_attention": {"orientation": "x"}}}}})",
       "'model.embeddings_and_evoformer.evoformer.msa_column_attention.orientation': 'x', expected per_column"},
      {R"({"model": {"embeddings_and_evoformer": {"template": {"template_pair_stack": {"triangle_attention_ending_node":
          {"orientation": "sideways"}}}}}})",
       "'model.embeddings_and_evoformer.template.template_pair_stack.triangle_attention_ending_node.orientation': "
       "'sideways' is neither per_row nor per_column"},
      {R"({"model": {"embeddings_and_evoformer": {"evoformer": {"triangle_multiplication_incoming": {"equation":
          "abc"}}}}})",
       "'model.embeddings_and_evoformer.evoformer.triangle_multiplication_incoming.equation': 'abc' is neither"},
      {R"({"model": {"heads": {"distogram": {"first_break": 30}}}})",
       "'model.heads.distogram': first_break (30) must be below last_break (21.6875)"},
      {R"({"model": {"embeddings_and_evoformer": {"prev_pos": {"max_bin": 1}}}})",
       "'model.embeddings_and_evoformer.prev_pos': min_bin (3.25) must be below max_bin (1)"},
      {R"({"data": {"common": {"masked_msa": {"same_prob": 1.5}}}})",
       "'data.common.masked_msa.same_prob': 1.5 is not a probability"},
      {R"({"data": {"common": {"masked_msa": {"same_prob": 0.5, "uniform_prob": 0.5}}}})",
       "'data.common.masked_msa': profile_prob + same_prob + uniform_prob must be at most 1"},
      {R"({"data": {"common": {"msa_cluster_features": false}}})",
       "'data.common.msa_cluster_features': false makes a 25-channel msa_feat"},
      // Values with which AlphaFold predicts what kfold does not compute: each was accepted and the default run
      // (the same atoms, bit for bit), or, for the pLDDT head, the models ran and an internal error followed.
      {R"({"model": {"global_config": {"zero_init": false}}})",
       "'model.global_config.zero_init': false makes AlphaFold's template embedding put the placeholder"},
      {R"({"model": {"global_config": {"eval_dropout": true}}})",
       "'model.global_config.eval_dropout': true makes AlphaFold apply the Evoformer's dropout at prediction time"},
      {R"({"model": {"global_config": {"multimer_mode": true}}})",
       "'model.global_config.multimer_mode': true selects AlphaFold-Multimer's network"},
      {R"({"data": {"eval": {"subsample_templates": true}}})",
       "'data.eval.subsample_templates': true makes AlphaFold's input pipeline keep a random subset"},
      {R"({"model": {"heads": {"structure_module": {"weight": 0}}}})",
       "'model.heads.structure_module.weight': 0 leaves out AlphaFold's structure module"},
      {R"({"model": {"heads": {"predicted_lddt": {"weight": 0.0}}}})",
       "'model.heads.predicted_lddt.weight': 0 leaves out the pLDDT head"},
      {R"({"model": {"embeddings_and_evoformer": {"template": {"template_pair_stack": {"triangle_attention_ending_node":
          {"value_dim": null}}}}}})",
       "'model.embeddings_and_evoformer.template.template_pair_stack.triangle_attention_ending_node.value_dim': null, "
       "but with template.enabled it is the template pair channels"},
  };
  for (const auto& [json, message] : refused) {
    CAPTURE(json);
    auto c = model_config("model_1_ptm");
    const auto before = kfold::fold::config_to_json(c);
    CHECK_THROWS_WITH_AS(apply_config_json(c, json, "bad.json"),
                         doctest::Contains((std::string("bad.json: config key ") + message).c_str()),
                         kfold::InputError);
    CHECK(kfold::fold::config_to_json(c) == before);
  }
  // Changing heads and channels together is fine: the check is on the result, not on each key.
  auto c = model_config("model_1_ptm");
  apply_config_json(c, R"({"model": {"embeddings_and_evoformer": {"extra_msa_channel": 12, "evoformer":
                          {"msa_row_attention_with_pair_bias": {"num_head": 4}, "msa_column_attention": {"num_head": 4}}}}})",
                    "ok.json");
  CHECK(c.model.embeddings_and_evoformer.extra_msa_channel == 12);
  // Keys AlphaFold reads for training, memory or its own precision only are accepted (README: Model parameters).
  apply_config_json(c, R"({"model": {"global_config": {"deterministic": true, "bfloat16": false, "subbatch_size": 1}},
                          "data": {"eval": {"fixed_size": false}}})",
                    "ok.json");
  CHECK(c.model.global_config.deterministic);
  // Without templates the template pair channels are not read, nor does zero_init change a prediction.
  auto no_templates = model_config("model_3");
  apply_config_json(no_templates, R"({"model": {"global_config": {"zero_init": false}}})", "ok.json");
  apply_config_json(no_templates, R"({"model": {"embeddings_and_evoformer": {"template": {"template_pair_stack":
                          {"triangle_attention_ending_node": {"value_dim": null}}}}}})",
                    "ok.json");
}
