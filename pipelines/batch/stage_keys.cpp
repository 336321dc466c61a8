// msa_stage_key, models_stage_key and predict_stage_key (pipelines/batch/stage_keys.hpp). A field added to a key
// is added only when it is set, so that the keys of folders made before it existed stay valid.
#include "pipelines/batch/stage_keys.hpp"

#include <c10/core/ScalarType.h>

#include <fstream>
#include <optional>

#include "data/a3m.hpp"
#include "data/error.hpp"
#include "fold/config.hpp"
#include "pipelines/batch/given_msa.hpp"
#include "pipelines/batch/stage_key.hpp"
#include "pipelines/predict/loaded_model.hpp"
#include "pipelines/predict/model_set.hpp"

namespace kfold::pipelines {

namespace {

// The recycles part of the predict key: --recycles N, or -1 without it, and -1 when every model's config already
// runs N (both num_recycle keys): it changes nothing then (the presets and the config's bytes key the config).
int64_t recycles_key(const PredictOptions& predict, const std::vector<std::string>& models) {
  if (!predict.recycles) return -1;
  try {
    for (const auto& name : models) {
      const auto config = model_config_for({name, predict.config, std::nullopt});
      if (config.model.num_recycle != *predict.recycles || config.data.common.num_recycle != *predict.recycles)
        return *predict.recycles;
    }
  } catch (const InputError&) {  // a config that runs only with --recycles (num_recycle keys that differ)
    return *predict.recycles;
  }
  return -1;
}

}  // namespace

namespace {

// The MSA part of the MSA stage's key: the sequence and what its MSA comes from.
StageKey msa_part_of_key(const BatchOptions& options, const BatchTarget& target) {
  StageKey key;
  key.add("stage", std::string_view("msa v1")).add("sequence", target.sequence);
  if (const auto given = given_msa(options.msa_dir, target)) {
    key.add_file_content("given msa", *given);
  } else if (!options.db.empty()) {
    const auto& s = options.search;
    key.add_file_identity("db", options.db)
        .add("evalue", s.evalue)
        .add("max_seqs", s.max_seqs)
        .add("min_coverage", s.min_coverage)
        .add("iterations", s.iterations)
        .add("inclusion_evalue", s.inclusion_evalue)
        .add("word_threshold", static_cast<int64_t>(s.prefilter.word_threshold))
        .add("max_candidates", s.prefilter.max_candidates)
        .add("mask", static_cast<int64_t>(s.prefilter.mask_low_complexity))
        .add("composition_stats", static_cast<int64_t>(s.composition_stats))
        .add("composition_bias", static_cast<int64_t>(s.composition_bias));
    if (s.alt_alignments > 0) key.add("alt_alignments", s.alt_alignments);
  } else if (!options.msa_dir.empty()) {  // it fails: not the single-sequence stage of a run without --msa-dir
    key.add("given msa", std::string_view("missing"));
  }
  return key;
}

}  // namespace

std::string msa_search_key(const BatchOptions& options, const BatchTarget& target) {
  return msa_part_of_key(options, target).hex();
}

std::string msa_stage_key(const BatchOptions& options, const BatchTarget& target) {
  StageKey key = msa_part_of_key(options, target);
  if (const auto& t = options.predict.templates; !t.db.empty()) {
    key.add_file_identity("template db", t.db)
        .add("mmcif dir", staged_name(t.featurizer.mmcif_dir))  // its name: a staged copy keeps the key
        .add("max template date", t.featurizer.max_template_date)
        .add("max template hits", t.featurizer.max_hits)
        .add("template evalue", t.evalue);
    // Since files of the older mmCIF dictionary are dated (they were kept under any date limit), features made
    // with a date limit before then are made again. Without one, only a template that the 150 A CA-CA rule of the
    // same change drops (a damaged entry, rare) can differ: not worth searching every finished target again.
    if (!t.featurizer.max_template_date.empty()) key.add("template release dates", std::string_view("v2"));
  }
  return key.hex();
}

std::string models_stage_key(const BatchOptions& options, const std::vector<std::string>& models) {
  const PredictOptions& predict = options.predict;
  StageKey key;
  for (const auto& name : models) {
    key.add("model", name);
    if (predict.random_weights)
      key.add("random weights seed", predict.seed);
    else
      key.add_file_identity("params", find_params(name, predict));
  }
  if (!predict.config.empty()) key.add_file_bytes("config", fold::config_file_text(predict.config));
  key.add("recycles", recycles_key(predict, models))
      .add("seed", predict.seed)
      // auto keys as plddt, the default before it: a finished one-chain target is not predicted again (auto
      // ranks it by pLDDT); a complex ranked by pLDDT before stays so (its ranking_debug.json says "plddts").
      .add("rank", static_cast<int64_t>(predict.rank_by == RankBy::automatic ? RankBy::plddt : predict.rank_by))
      .add("dtype", std::string_view(c10::toString(predict.run.dtype)));
  if (predict.relax != RelaxModels::none) key.add("relax", static_cast<int64_t>(predict.relax));
  return key.hex();
}

namespace {

// The chains of a target's MSA stage: its record's "chains", or (an earlier kfold's record) the ColabFold header of
// its MSA file; 1 otherwise.
int64_t recorded_chain_count(const std::filesystem::path& dir, const nlohmann::json& msa_status) {
  if (msa_status.contains("chains")) return msa_status.value("chains", int64_t{1});
  for (const auto& file : msa_status.value("files", std::vector<std::string>{})) {
    std::ifstream in(dir / "msas" / file);
    std::string line;
    if (!std::getline(in, line)) continue;
    try {
      if (const auto lengths = data::colabfold_chain_lengths(line, file); lengths.size() > 1)
        return static_cast<int64_t>(lengths.size());
    } catch (const InputError&) {  // no header: the MSA stage wrote it, a damaged file fails that stage's check
    }
  }
  return 1;
}

}  // namespace

std::string predict_stage_key(const std::string& msa_key, const std::string& models_key,
                              const std::filesystem::path& dir, const nlohmann::json& msa_status, RankBy rank_by,
                              bool models_have_pae) {
  StageKey key;
  // v2: model i of n has the pipeline seed i + n x seed (AlphaFold's), v1 gave every model the seed.
  key.add("stage", std::string_view("predict v2")).add("msa", msa_key).add("models", models_key);
  // --rank auto keys as plddt in the models' key; where it ranks this target otherwise (a complex), it says so here,
  // apart from an explicit --rank plddt.
  if (rank_by == RankBy::automatic)
    if (const auto resolved = resolve_rank_by(rank_by, recorded_chain_count(dir, msa_status), models_have_pae);
        resolved != RankBy::plddt)
      key.add("ranked by", std::string_view(rank_by_name(resolved)));
  for (const auto& file : msa_status.value("files", std::vector<std::string>{}))
    key.add_file_content("msa file", dir / "msas" / file);
  if (msa_status.contains("templates")) key.add_file_content("templates", dir / kTemplatesFile);
  return key.hex();
}

}  // namespace kfold::pipelines
