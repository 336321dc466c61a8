// The run record of a target folder (run.json).
#include "pipelines/predict/run_record.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "data/atomic_output.hpp"
#include "data/sha256.hpp"
#include "fold/config.hpp"
#include "pipelines/git_revision.hpp"
#include "pipelines/version.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// This process's arguments (/proc/self/cmdline: NUL-separated); empty where it cannot be read.
json command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  json args = json::array();
  for (size_t begin = 0; begin < text.size();) {
    const size_t end = std::min(text.find('\0', begin), text.size());
    args.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return args;
}

// {"path", "sha256"} of an input file (sha256 null where it cannot be read as a file); null for an empty path.
json file_entry(const fs::path& path) {
  if (path.empty()) return nullptr;
  std::error_code error;
  json entry = {{"path", fs::absolute(path, error).lexically_normal().string()}, {"sha256", nullptr}};
  if (fs::is_regular_file(path, error)) try {
      entry["sha256"] = data::sha256_file(path);
    } catch (const std::exception&) {  // unreadable now: recorded as such
    }
  return entry;
}

json search_entry(const msa::SearchOptions& s) {
  return {{"evalue", s.evalue},
          {"max_seqs", s.max_seqs},
          {"min_coverage", s.min_coverage},
          {"alt_alignments", s.alt_alignments},
          {"iterations", s.iterations},
          {"inclusion_evalue", s.inclusion_evalue},
          {"word_threshold", s.prefilter.word_threshold},
          {"max_prefilter", s.prefilter.max_candidates},
          {"mask_low_complexity", s.prefilter.mask_low_complexity},
          {"composition_stats", s.composition_stats},
          {"composition_bias", s.composition_bias},
          {"gap_open", s.gaps.open},
          {"gap_extend", s.gaps.extend}};
}

}  // namespace

std::string run_inputs_json(const PredictOptions& options) {
  json inputs = {{"query", file_entry(options.query)},
                 {"features", file_entry(options.features)},
                 {"config_overrides", file_entry(options.config)}};
  if (std::error_code error; !options.config.empty() && !fs::is_regular_file(options.config, error)) try {
      inputs["config_overrides"]["sha256"] = data::sha256_hex(fold::config_file_text(options.config));  // a pipe's
    } catch (const std::exception&) {  // unreadable now: recorded as such
    }
  inputs["msa_files"] = json::array();
  for (const auto& msa : options.msas) inputs["msa_files"].push_back(file_entry(msa));
  std::error_code error;
  if (!options.db.empty())
    inputs["search"] = {{"db", fs::absolute(options.db, error).lexically_normal().string()},
                        {"options", search_entry(options.search)}};
  if (!options.templates.db.empty())
    inputs["template_search"] = {
        {"db", fs::absolute(options.templates.db, error).lexically_normal().string()},
        {"mmcif_dir", fs::absolute(options.templates.featurizer.mmcif_dir, error).lexically_normal().string()},
        {"max_template_date", options.templates.featurizer.max_template_date},
        {"max_hits", options.templates.featurizer.max_hits},
        {"evalue", options.templates.evalue}};
  return inputs.dump(-1, ' ', false, json::error_handler_t::replace);  // paths need not be UTF-8
}

void write_run_json(const fs::path& path, const PredictOptions& options, const std::string& inputs_json,
                    const PredictSummary& summary, ModelSet& models, const std::set<std::string>& folder_inputs) {
  const fs::path dir = summary.target_dir;
  // What the models read, as this folder holds it: the features (raw: the input pipeline samples them with each
  // model's seed) and the MSAs they were made from.
  json folder = json::object();
  for (const auto& name : folder_inputs) folder[name] = file_entry(dir / name)["sha256"];

  const auto n_models = static_cast<int64_t>(summary.models.size());
  json model_entries = json::array();
  for (int64_t i = 0; i < n_models; ++i) {
    const auto& name = summary.models[static_cast<size_t>(i)].model_name;
    const auto& model = models.get(name);
    json entry = {{"name", name},
                  // AlphaFold's run_alphafold.py: model i of n samples its MSA with seed i + n * seed.
                  {"pipeline_seed", i + n_models * options.seed},
                  {"num_recycle", model.config().model.num_recycle}};
    if (model.random_weights())
      entry["parameters"] = {{"random_weights", true}, {"seed", options.seed}};
    else if (const std::string digest = models.params_sha256(name); !digest.empty())
      entry["parameters"] = {{"path", fs::absolute(models.params_file(name)).lexically_normal().string()},
                             {"sha256", digest}};
    else
      entry["parameters"] = file_entry(models.params_file(name));
    model_entries.push_back(std::move(entry));
  }
  const auto& run = options.run;
  const json run_options = {
      {"device", run.device.str()},
      {"dtype", run.dtype == c10::kBFloat16 ? "bf16" : "fp32"},  // as --dtype
      {"attention", run.attention_kernel == fold::AttentionKernel::fused ? "fused" : "reference"},
      {"chunk_size", run.chunk_size == fold::RunOptions::kAutoChunk ? json("auto") : json(run.chunk_size)}};
  const char* relax = options.relax == RelaxModels::all ? "all" : options.relax == RelaxModels::best ? "best" : "none";
  const json record = {{"kfold", {{"version", kVersion}, {"git_revision", git_revision()}}},
                       {"command_line", command_line()},
                       {"target", summary.target_id},
                       {"inputs", json::parse(inputs_json)},
                       {"folder_inputs_sha256", folder},
                       {"seed", options.seed},
                       {"models", model_entries},
                       {"recycles", options.recycles ? json(*options.recycles) : json(nullptr)},
                       {"rank_by", rank_by_name(options.rank_by)},
                       {"relax", relax},
                       {"run_options", run_options}};
  data::write_file_atomic(path, record.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

}  // namespace kfold::pipelines
