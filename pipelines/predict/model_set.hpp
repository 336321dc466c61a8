// The models a predict run selects (ModelSet: each loaded once, kept for every later target) and where their
// AlphaFold parameter files are found (find_params).
#pragma once

#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pipelines/predict/loaded_model.hpp"
#include "pipelines/predict/predict_options.hpp"

namespace kfold::pipelines {

// The parameter file of `model` under `options` (see PredictOptions); InputError naming every place
// looked at, with the fix, when there is none.
std::filesystem::path find_params(const std::string& model, const PredictOptions& options);

// The selected models of `options`, each loaded on first use and kept for every later target (one
// load per process in `kfold batch`). The constructor checks every preset, config and parameter file
// (InputError) without loading anything.
class ModelSet {
 public:
  explicit ModelSet(const PredictOptions& options);
  ~ModelSet();  // stops the parameter files' hashing (a run that fails or is stopped does not wait for it)
  ModelSet(const ModelSet&) = delete;
  ModelSet& operator=(const ModelSet&) = delete;
  const std::vector<std::string>& names() const { return names_; }
  const LoadedModel& get(const std::string& name);
  // Every model has an aligned-error head (PAE, pTM; the _ptm presets), known from the configs without loading.
  bool have_pae() const { return have_pae_; }
  // The parameter file of `name` (empty with random weights) and its SHA-256 for run.json ("" when it cannot be
  // read): hashed once, on a thread of its own started with the set, while the models run.
  std::filesystem::path params_file(const std::string& name) const;
  std::string params_sha256(const std::string& name) const;

 private:
  PredictOptions options_;
  std::vector<std::string> names_;
  bool have_pae_ = true;
  std::map<std::string, std::filesystem::path> params_;
  std::shared_ptr<std::atomic<bool>> stop_hashing_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_future<std::map<std::string, std::string>> params_sha256_;
  std::map<std::string, std::unique_ptr<LoadedModel>> loaded_;
};

}  // namespace kfold::pipelines
