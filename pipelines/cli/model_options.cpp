// Shared model options of `kfold predict` and `kfold batch` (pipelines/cli/model_options.hpp).
#include "pipelines/cli/model_options.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <charconv>

#include "data/cpu_count.hpp"
#include "data/error.hpp"
#include "data/thread_limit.hpp"
#include "fold/config.hpp"
#include "pipelines/cli/commands.hpp"
#include "pipelines/predict/device_choice.hpp"

namespace kfold::cli {

int64_t parse_chunk_size(const std::string& text) {
  if (text == "auto") return fold::RunOptions::kAutoChunk;
  int64_t rows = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), rows);
  if (error != std::errc() || end != text.data() + text.size() || rows < 0)
    fail_input("--chunk-size '{}': expected a row count (0 = no chunking) or auto", text);
  return rows;
}

void add_model_options(CLI::App& cmd, ModelCliOptions& o) {
  auto* params =
      cmd.add_option("--params", o.params,
                     "Directory holding params_<model>.npz, or one .npz (default: $KFOLD_PARAMS, then data/params/)");
  cmd.add_flag("--random-weights", o.random_weights,
               "Deterministic random weights instead of parameters: a pipeline demo that predicts nothing")
      ->excludes(params);  // both given: which one was meant? (--params was ignored)
  cmd.add_option("--models", o.models, "Presets to run, comma separated")
      ->delimiter(',')
      ->check(CLI::IsMember(fold::model_presets()))
      ->default_str("model_1_ptm,...,model_5_ptm");
  cmd.add_option("--config", o.config, "JSON overrides with AlphaFold's config key names, applied to every preset");
  cmd.add_option(
      "--recycles", o.recycles,
      "Recycling iterations (default: the config's num_recycle, 3). With 0 the one iteration still embeds the "
      "zero recycled state, as AlphaFold (v2.2 and later) and ColabFold do, and every longer run's first "
      "iteration");
  cmd.add_option("--seed", o.seed,
                 "Seed of the input pipeline (MSA sampling, masking); with --random-weights also of the weights")
      ->default_val(0);
  cmd.add_option("--rank", o.rank,
                 "Rank models by mean pLDDT, pTM, or 0.8 ipTM + 0.2 pTM (a complex); auto: iptm+ptm for a complex "
                 "when every model has an aligned-error head (the _ptm presets), plddt otherwise, as ColabFold")
      ->check(CLI::IsMember({"auto", "plddt", "ptm", "iptm+ptm"}))
      ->default_val("auto");
  cmd.add_option("--relax", o.relax,
                 "Relax the structure of the best model, of all models, or none (relaxed_<model>.pdb/.cif, "
                 "relax_metrics.json; ranked_<k> then holds the relaxed structure): a restrained minimisation of "
                 "AlphaFold's structural violation terms, not the Amber force field")
      ->check(CLI::IsMember({"none", "best", "all"}))
      ->default_val("none");
  cmd.add_option("--device", o.device,
                 "cpu, cuda or cuda:N (CUDA: compiled, not yet validated on a GPU; see the README's GPU check)")
      ->default_val("cpu");
  cmd.add_option(
         "--dtype", o.dtype,
         "Trunk precision: fp32, or bf16 (mixed precision: Evoformer in bfloat16, weights, LayerNorm statistics, "
         "structure module and heads in float32; for GPUs, slow on CPUs without bfloat16 units)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->default_val("fp32");
  cmd.add_option("--attention", o.attention, "Attention kernel: fused (kernels/) or the plain reference")
      ->check(CLI::IsMember({"fused", "reference"}))
      ->default_val("fused");
  cmd.add_option("--chunk-size", o.chunk_size,
                 "Rows per chunk in attention, transitions, outer product mean and triangle multiplication (less "
                 "memory, the same results to float rounding); 0 = no chunking; auto = the largest that fits the "
                 "free memory (0 when everything fits)")
      ->default_val("0");
  cmd.add_option("--threads", o.threads, "CPU threads; 0 = $OMP_NUM_THREADS or the CPUs this process may use")
      ->default_val(0)
      ->check(thread_count());
  cmd.add_flag("--no-memory-check", o.no_memory_check, "Run even when the memory estimate exceeds what is free");
}

int64_t apply_model_options(const ModelCliOptions& o, pipelines::PredictOptions& p) {
  p.params = o.params;
  p.config = o.config;
  p.models = o.models;
  p.random_weights = o.random_weights;
  p.recycles = o.recycles;
  p.seed = o.seed;
  p.rank_by = pipelines::parse_rank_by(o.rank);
  p.relax = o.relax == "all"    ? pipelines::RelaxModels::all
            : o.relax == "best" ? pipelines::RelaxModels::best
                                : pipelines::RelaxModels::none;
  p.run.device = pipelines::parse_device(o.device);
  p.run.dtype = o.dtype == "bf16" ? c10::kBFloat16 : c10::kFloat;
  p.run.attention_kernel = o.attention == "reference" ? fold::AttentionKernel::reference : fold::AttentionKernel::fused;
  p.run.chunk_size = parse_chunk_size(o.chunk_size);
  p.check_memory = !o.no_memory_check;
  return set_model_threads(o.threads);
}

int64_t set_model_threads(int64_t threads) {
  if (threads <= 0) threads = data::default_threads();
  // libtorch's pthreadpool and the OpenMP team each start threads - 1 beside the caller: room for both and one
  // more (a lock's heartbeat, a progress line), before either starts.
  data::check_threads_can_start(2 * threads - 1);
  at::set_num_threads(static_cast<int>(threads));
  return threads;
}

}  // namespace kfold::cli
