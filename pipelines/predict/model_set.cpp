// The selected models of a predict run and their parameter files (pipelines/predict/model_set.hpp).
#include "pipelines/predict/model_set.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <set>

#include "data/error.hpp"
#include "data/log.hpp"
#include "data/sequence.hpp"
#include "data/sha256.hpp"
#include "fold/config.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;

namespace {

// A parameter file given by name (--params FILE or KFOLD_PARAMS=FILE) for `model`. AlphaFold's file
// names say the model: another model's weights would run under this model's name.
fs::path checked_params_file(const fs::path& file, const std::string& model, std::string_view given_as) {
  std::string name = file.filename().string();
  std::transform(name.begin(), name.end(), name.begin(), data::to_ascii_lower);
  if (!name.starts_with("params_") || !name.ends_with(".npz")) return file;
  const auto file_model = name.substr(7, name.size() - 11);
  if (file_model.find("multimer") != std::string::npos)
    fail_input(
        "{} {}: AlphaFold-Multimer parameters; kfold runs the monomer models: give params_{}.npz (or its "
        "directory), e.g. from scripts/download-params",
        given_as, file.string(), model);
  const auto& presets = fold::model_presets();
  if (file_model != model && std::find(presets.begin(), presets.end(), file_model) != presets.end())
    fail_input(
        "{} {}: the parameters of {}, not of {}; run {} (kfold predict and batch: --models {}, kfold agent: --model "
        "{}, "
        "Python: kfold.Model(\"{}\")) or give {}'s file",
        given_as, file.string(), file_model, model, file_model, file_model, file_model, file_model, model);
  if (file_model != model)  // a name no model has (params_bad.npz): --models bad would fail too
    fail_input(
        "{} {}: its name says the parameters of '{}', which is no kfold model ({}); rename it params_{}.npz if it "
        "holds {}'s parameters, or give that model's file",
        given_as, file.string(), file_model, fmt::join(presets, ", "), model, model);
  return file;
}

}  // namespace

fs::path find_params(const std::string& model, const PredictOptions& options) {
  fold::model_config(model);  // an unknown name fails as such, not as missing parameters (kfold.Model("model_9"))
  const auto file_name = "params_" + model + ".npz";
  std::vector<fs::path> places;
  if (!options.params.empty()) {
    std::error_code error;
    if (fs::is_regular_file(options.params, error)) return checked_params_file(options.params, model, "--params");
    if (error && error != std::errc::no_such_file_or_directory)
      fail_input("--params {}: {}; ask for read access to the parameters (or give --params a copy of your own)",
                 options.params.string(), error.message());
    if (!fs::exists(options.params))
      fail_input("--params {}: {} not found; check the path (a directory holding params_<model>.npz, or one such file)",
                 options.params.string(), options.params.extension() == ".npz" ? "file" : "directory");
    places.push_back(options.params);
  } else {
    if (const char* env = std::getenv("KFOLD_PARAMS"); env != nullptr && *env != '\0') {
      if (std::error_code ignored; fs::is_regular_file(env, ignored))
        return checked_params_file(env, model, "KFOLD_PARAMS");
      // A typo there fell back to ./data/params without a word: parameters from elsewhere than the user meant.
      if (std::error_code error; !fs::is_directory(env, error))
        fail_input(
            "KFOLD_PARAMS={}: {}{}; set it to the directory holding params_<model>.npz (or unset it), or pass --params",
            env, error && error != std::errc::no_such_file_or_directory ? error.message() : "no such directory or file",
            std::string_view(env).starts_with("~") ? " ('~' is not expanded inside quotes: write $HOME)" : "");
      places.emplace_back(env);
    }
    places.emplace_back("data/params");
  }
  std::string looked;
  for (const auto& dir : places) {
    std::error_code error;  // (a folder this user may not search: named, not libstdc++'s "filesystem error")
    if (fs::is_regular_file(dir / file_name, error)) return dir / file_name;
    if (error && error != std::errc::no_such_file_or_directory)
      fail_input("{}: {}; ask for read access to the parameters (or give --params a copy of your own)",
                 (dir / file_name).string(), error.message());
    looked += (looked.empty() ? "" : ", ") + (dir / file_name).string();
  }
  fail_input(
      "no parameters for {}: looked for {}. Download AlphaFold's parameters with download-params (scripts/ of a "
      "checkout, share/kfold/ of an install; then --params DIR or KFOLD_PARAMS=DIR), or pass --random-weights for a "
      "demo that predicts nothing",
      model, looked);
}

ModelSet::ModelSet(const PredictOptions& options) : options_(options), names_(options.models) {
  if (names_.empty()) fail_input("--models: no model given");
  std::set<std::string> seen;
  for (const auto& model : names_)
    if (!seen.insert(model).second) fail_input("--models: {} is listed twice; list each model once", model);
  if (std::error_code error; !options.random_weights && names_.size() > 1 && fs::is_regular_file(options.params, error))
    fail_input(
        "--params {}: one parameter file serves one model, but {} models are selected ({}); pass the "
        "directory holding params_<model>.npz for each, or --models with one model",
        options.params.string(), names_.size(), fmt::join(names_, ","));
  const auto n_models = static_cast<int64_t>(names_.size());
  if (options.seed < 0 || options.seed > (std::numeric_limits<int64_t>::max() - n_models) / n_models)
    fail_input("--seed {}: must be in 0..{} (model i of {} uses seed i + {} x seed, as AlphaFold)", options.seed,
               (std::numeric_limits<int64_t>::max() - n_models) / n_models, n_models, n_models);
  for (const auto& model : names_) {
    const auto config = model_config_for({model, options.config, options.recycles});
    if (!options.random_weights) params_[model] = find_params(model, options);
    const bool has_pae = config.model.heads.predicted_aligned_error.weight != 0;
    have_pae_ = have_pae_ && has_pae;
    if ((options.rank_by == RankBy::ptm || options.rank_by == RankBy::iptm_ptm) && !has_pae)
      fail_input("--rank {}: {} has no aligned-error head (use the _ptm presets or --rank plddt)",
                 rank_by_name(options.rank_by), model);
  }
  if (!params_.empty())
    params_sha256_ = std::async(std::launch::async, [files = params_, stop = stop_hashing_] {
                       std::map<std::string, std::string> digests;
                       for (const auto& [model, file] : files) try {
                           digests[model] = data::sha256_file(file, stop.get());
                         } catch (const std::exception&) {  // unreadable: run.json says so, the run goes on
                         }
                       return digests;
                     }).share();
}

ModelSet::~ModelSet() { *stop_hashing_ = true; }

const LoadedModel& ModelSet::get(const std::string& name) {
  auto& slot = loaded_[name];
  if (!slot) {
    const auto params = options_.random_weights ? fs::path() : params_.at(name);
    if (!params.empty()) log_info("{}: loading {}", name, params.string());
    slot = std::make_unique<LoadedModel>(ModelSpec{name, options_.config, options_.recycles}, params,
                                         static_cast<uint64_t>(options_.seed), options_.run);
  }
  return *slot;
}

fs::path ModelSet::params_file(const std::string& name) const {
  const auto it = params_.find(name);
  return it == params_.end() ? fs::path() : it->second;
}

std::string ModelSet::params_sha256(const std::string& name) const {
  if (!params_sha256_.valid()) return "";
  const auto& digests = params_sha256_.get();
  const auto it = digests.find(name);
  return it == digests.end() ? "" : it->second;
}

}  // namespace kfold::pipelines
