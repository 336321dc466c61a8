// The model options `kfold predict` and `kfold batch` share (--models, --params, --config, --device,
// ...): registered once on a command and turned into PredictOptions after parsing.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/predict/predict_options.hpp"

namespace kfold::cli {

struct ModelCliOptions {
  std::string params, config;
  std::vector<std::string> models = {"model_1_ptm", "model_2_ptm", "model_3_ptm", "model_4_ptm", "model_5_ptm"};
  bool random_weights = false;
  std::optional<int64_t> recycles;  // unset: the config's num_recycle
  int64_t seed = 0;
  std::string rank = "auto";
  std::string relax = "none";
  std::string device = "cpu";
  std::string dtype = "fp32";
  std::string attention = "fused";
  std::string chunk_size = "0";  // a row count, or "auto"
  int64_t threads = 0;
  bool no_memory_check = false;
};

void add_model_options(CLI::App& cmd, ModelCliOptions& o);

// "auto" (RunOptions::kAutoChunk) or a row count >= 0 (0: no chunking); InputError naming --chunk-size.
int64_t parse_chunk_size(const std::string& text);

// Resolves --threads (0: data::default_threads()), checks that libtorch's thread pools can start that many
// (data/thread_limit.hpp) and sets libtorch's thread count; returns it.
int64_t set_model_threads(int64_t threads);

// Fills the model fields of `p` from `o` (InputError for a bad --device or --chunk-size) and sets the
// libtorch thread count (set_model_threads); returns the thread count used.
int64_t apply_model_options(const ModelCliOptions& o, pipelines::PredictOptions& p);

}  // namespace kfold::cli
