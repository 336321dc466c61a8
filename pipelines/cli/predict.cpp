// `kfold predict QUERY.fasta -o DIR`: MSAs (given or searched), features, every selected model with
// recycling, ranking and AlphaFold's output files (pipelines/predict/predict_target.hpp).
#include <ATen/Parallel.h>
#include <ATen/Context.h>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "data/error.hpp"
#include "data/log.hpp"
#include "fold/config.hpp"
#include "pipelines/cli/commands.hpp"
#include "pipelines/predict/predict_target.hpp"

namespace kfold::cli {
namespace {

struct PredictCliOptions {
  pipelines::PredictOptions predict;
  std::string query, features, db, output, params, config;
  std::vector<std::string> msas;
  std::vector<std::string> models = {"model_1_ptm", "model_2_ptm", "model_3_ptm", "model_4_ptm", "model_5_ptm"};
  int64_t recycles = -1;
  std::string rank = "plddt";
  std::string device = "cpu";
  std::string dtype = "fp32";
  std::string attention = "fused";
  int64_t chunk_size = 0;
  int64_t threads = 0;
  bool no_memory_check = false;
};

c10::Device parse_device(const std::string& text) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(text);
  } catch (const std::exception&) {
    fail_input("--device '{}': expected cpu, cuda or cuda:N", text);
  }
  if (device.is_cuda()) {
    if (!at::hasCUDA()) fail_input("--device {}: this kfold (or this machine) has no CUDA device; use --device cpu", text);
  } else if (!device.is_cpu()) {
    fail_input("--device '{}': expected cpu, cuda or cuda:N", text);
  }
  return device;
}

void run_predict(PredictCliOptions& o) {
  auto& p = o.predict;
  p.query = o.query;
  p.features = o.features;
  p.db = o.db;
  p.output_dir = o.output;
  p.params = o.params;
  p.config = o.config;
  p.msas.assign(o.msas.begin(), o.msas.end());
  p.models = o.models;
  if (o.recycles >= 0) p.recycles = o.recycles;
  p.rank_by = o.rank == "ptm" ? pipelines::RankBy::ptm : pipelines::RankBy::plddt;
  p.run.device = parse_device(o.device);
  p.run.dtype = c10::kFloat;
  p.run.attention_kernel = o.attention == "reference" ? fold::AttentionKernel::reference : fold::AttentionKernel::fused;
  if (o.chunk_size < 0) fail_input("--chunk-size {}: must be 0 (no chunking) or more", o.chunk_size);
  p.run.chunk_size = o.chunk_size;
  p.check_memory = !o.no_memory_check;
  const int64_t threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  at::set_num_threads(static_cast<int>(threads));
  const auto summary = pipelines::predict_target(p);
  fmt::print("{}\t{}\n", summary.target_id, summary.target_dir.string());
}

}  // namespace

void add_predict_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("predict", "Predict a structure: MSAs, features, models, ranking, output files");
  auto o = std::make_shared<PredictCliOptions>();
  cmd->add_option("QUERY", o->query, "FASTA file with one sequence (plain or gzip); not with --features");
  cmd->add_option("--msa", o->msas, "MSA of the query, A3M or Stockholm (repeatable)");
  cmd->add_option("--db", o->db, "Search this database (kfold db create, or FASTA) for the MSA");
  cmd->add_option("--features", o->features,
                  "AlphaFold-processed features (.h5 or .npz, leading recycling axis) instead of QUERY");
  cmd->add_option("-o,--output", o->output, "Output directory (files go to DIR/<target id>/)")->required();
  cmd->add_option("--params", o->params,
                  "Directory holding params_<model>.npz, or one .npz (default: $KFOLD_PARAMS, then data/params/)");
  cmd->add_flag("--random-weights", o->predict.random_weights,
                "Deterministic random weights instead of parameters: a pipeline demo that predicts nothing");
  cmd->add_option("--models", o->models, "Presets to run, comma separated")
      ->delimiter(',')
      ->check(CLI::IsMember(fold::model_presets()))
      ->default_str("model_1_ptm,...,model_5_ptm");
  cmd->add_option("--config", o->config, "JSON overrides with AlphaFold's config key names, applied to every preset");
  cmd->add_option("--recycles", o->recycles, "Recycling iterations (default: the config's num_recycle, 3)");
  cmd->add_option("--seed", o->predict.seed, "Seed of the input pipeline (MSA sampling, masking)")->default_val(0);
  cmd->add_option("--rank", o->rank, "Rank models by mean pLDDT or by pTM")
      ->check(CLI::IsMember({"plddt", "ptm"}))
      ->default_val("plddt");
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N")->default_val("cpu");
  // bf16 waits for a mixed-precision path (trunk in bf16, structure module and heads in fp32).
  cmd->add_option("--dtype", o->dtype, "Activation and weight precision (fp32 only for now)")
      ->check(CLI::IsMember({"fp32"}))
      ->default_val("fp32");
  cmd->add_option("--attention", o->attention, "Attention kernel: fused (kernels/) or the plain reference")
      ->check(CLI::IsMember({"fused", "reference"}))
      ->default_val("fused");
  cmd->add_option("--chunk-size", o->chunk_size, "Rows per chunk in attention and transitions; 0 = no chunking")
      ->default_val(0);
  cmd->add_option("--threads", o->threads, "CPU threads; 0 = all cores")->default_val(0);
  cmd->add_flag("--no-memory-check", o->no_memory_check, "Run even when the memory estimate exceeds what is free");
  cmd->footer(
      "Examples:\n"
      "  kfold predict query.fasta --msa query.a3m --params ~/af2/params -o out\n"
      "  kfold predict query.fasta --db dbs/uniref50 --models model_1_ptm,model_3_ptm --device cuda -o out\n"
      "  kfold predict data/examples/ubiquitin.fasta --msa data/examples/ubiquitin.a3m --random-weights \\\n"
      "      --models model_1_ptm --config data/examples/small_model.json -o out/demo\n"
      "Writes DIR/<id>/: result_<model>.h5, unrelaxed_<model>.pdb/.cif, ranked_<k>.pdb/.cif (pLDDT in the\n"
      "B-factor column), confidence_<model>.json, pae_<model>.json (pTM models), ranking_debug.json,\n"
      "timings.json, plddt.png, pae.png, features.h5, msas/, and `done` when complete.");
  cmd->callback([&action, o] { action = [o] { run_predict(*o); }; });
}

}  // namespace kfold::cli
