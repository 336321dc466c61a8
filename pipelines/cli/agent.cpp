// `kfold agent CAMPAIGN.json -o DIR`: one round of the AI-scientist loop (propose, score, select a plate).
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>

#include "data/cpu_count.hpp"
#include "data/error.hpp"
#include "data/log.hpp"
#include "data/thread_limit.hpp"
#include "fold/config.hpp"
#include "pipelines/agent/agent_run.hpp"
#include "pipelines/agent/campaign.hpp"
#include "pipelines/cli/commands.hpp"
#include "pipelines/cli/model_options.hpp"
#include "pipelines/predict/device_choice.hpp"
#include "pipelines/predict/model_structure_oracle.hpp"
#include "pipelines/predict/predict_target.hpp"

namespace kfold::cli {
namespace {

struct AgentCommandOptions {
  std::string campaign;
  pipelines::agent::AgentOptions run;
  std::string out_dir;
  std::string evolution_cache;
  int64_t seed = 0;
  int64_t potts_iterations = 0;
  CLI::Option* seed_option = nullptr;
  CLI::Option* iterations_option = nullptr;
  // Structure terms (campaign "structure_budget" > 0): one model predicts the wild type and the shortlist.
  std::string model = "model_1_ptm", params, config, device = "cpu", dtype = "fp32";
  bool random_weights = false;
};

// The structure oracle of the campaign's shortlist, or nullptr (budget 0, or no parameters: a warning).
struct StructureSetup {
  std::unique_ptr<pipelines::LoadedModel> model;
  std::unique_ptr<pipelines::ModelStructureOracle> oracle;
};

StructureSetup make_structure_oracle(const AgentCommandOptions& o, const pipelines::agent::Campaign& campaign) {
  StructureSetup setup;
  if (campaign.structure_budget <= 0) return setup;
  pipelines::PredictOptions predict;
  predict.params = o.params;
  std::filesystem::path params;
  if (!o.random_weights) {
    try {
      params = pipelines::find_params(o.model, predict);
    } catch (const InputError& e) {
      if (!o.params.empty()) throw;  // asked for by name: a mistake, not a choice to skip structures
      log_warn("structure terms skipped (structure_budget {}): {}", campaign.structure_budget, e.what());
      return setup;
    }
  } else {
    log_warn("structure terms from RANDOM WEIGHTS (--random-weights): they measure nothing; a pipeline demo");
  }
  fold::RunOptions run;
  run.device = pipelines::parse_device(o.device);
  run.dtype = o.dtype == "bf16" ? c10::kBFloat16 : c10::kFloat;
  set_model_threads(o.run.threads);  // (before the model's thread pools start)
  setup.model =
      std::make_unique<pipelines::LoadedModel>(pipelines::ModelSpec{o.model, o.config, std::nullopt}, params, 0, run);
  setup.oracle = pipelines::campaign_structure_oracle(*setup.model, campaign, 0);
  return setup;
}

}  // namespace

void add_agent_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("agent", "AI-scientist loop: propose variants, score them, select a plate");
  auto o = std::make_shared<AgentCommandOptions>();
  cmd->add_option("CAMPAIGN", o->campaign, "Campaign file (JSON): target, objective, plate, results")->required();
  cmd->add_option("-o,--output", o->out_dir,
                  "Output folder (scores.tsv, plate.csv, notebook.jsonl, report.md, report.html)")
      ->required();
  cmd->add_option(
         "--threads", o->run.threads,
         "OpenMP threads; 0 = $OMP_NUM_THREADS or the CPUs this process may use (results are identical for any count)")
      ->capture_default_str()
      ->check(thread_count());
  o->seed_option = cmd->add_option(
      "--seed", o->seed,
      "Seed of the surrogate's bootstrap, the Thompson draws and the plate layout (overrides the campaign's \"seed\")");
  cmd->add_flag("--no-potts", o->run.no_potts, "Site-independent model only: skip the Potts fit (fast)");
  cmd->add_option("--evolution-cache", o->evolution_cache,
                  "Folder of fitted evolutionary models (sequence weights, Potts parameters) keyed by the "
                  "alignment's SHA-256 and the options: fitted once, reused by later rounds (made when missing; "
                  "a file of that name is an error)");
  o->iterations_option = cmd->add_option("--potts-iterations", o->potts_iterations,
                                         "L-BFGS iterations of the Potts fit, 1 to 100000 (overrides "
                                         "evolution.potts_iterations; default 100)");
  cmd->add_option("--model", o->model, "Preset predicting the structure_budget shortlist and the wild type")
      ->check(CLI::IsMember(fold::model_presets()))
      ->capture_default_str();
  cmd->add_option("--params", o->params,
                  "Directory holding params_<model>.npz, or one .npz (default: $KFOLD_PARAMS, then data/params/); "
                  "when none is found there the structure terms are skipped (a warning); a --params without the "
                  "model's file is an error")
      ->check(CLI::ExistingPath);
  cmd->add_flag("--random-weights", o->random_weights,
                "Structure terms from deterministic random weights (a pipeline demo: they measure nothing)")
      ->excludes("--params");
  cmd->add_option("--config", o->config, "JSON overrides of the model config (AlphaFold's key names)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--device", o->device,
                  "cpu, cuda or cuda:N for the structure predictions (CUDA: not yet validated on a GPU)")
      ->capture_default_str();
  cmd->add_option("--dtype", o->dtype, "Trunk precision of the structure predictions: fp32 or bf16")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  cmd->footer(
      "Scores every single substitution (and consensus, coevolution-pair and beneficial-combination variants)\n"
      "with the family alignment: a site-independent model and a Potts model fitted by pseudo-likelihood\n"
      "(EVmutation), flags sequence liabilities (new Cys, N-glycosylation sequons, deamidation/isomerisation\n"
      "motifs, Pro, Met 1, invariant positions). With measured results (\"results\": CSVs variant,value[,sd]) it fits\n"
      "a bootstrap ensemble of ridge regressions and ranks by an acquisition function (\"acquisition\":\n"
      "{\"type\": \"ucb\"|\"thompson\", \"beta\": 1.0}). The plate: exploit and explore quotas\n"
      "(plate.explore_fraction; explore: the residue the family prefers most, of those it holds, at residues\n"
      "nobody has measured, one each), at most plate.max_per_position variants per residue, plate.controls\n"
      "wild-type wells and plate.blanks buffer-only wells (default 2) spread over rows and columns (distinct\n"
      "while they fit), a seeded layout; wells named A01 .. H12. With \"structure_budget\": N and parameters\n"
      "(--params, $KFOLD_PARAMS, data/params/) the wild type is predicted first: structure-rule proposals (disulfide "
      "designs, surface\n"
      "hydrophobic to polar, surface-entropy reduction, helix rules), construct proposals (disordered termini\n"
      "trimmed, domains split by PAE; up to plate.constructs wells, constructs.tsv) and exposure for the\n"
      "solubility term; then up to plate.constructs constructs and the best candidates, N predictions in all\n"
      "(--model): dpLDDT near the site, C-alpha distance RMSD, dpTM and site contacts gained less lost join\n"
      "the total on fixed scales (5 pLDDT, 0.5 A, 0.02, 3 contacts a unit each; their mean counts like one sd of the\n"
      "stability term). With\n"
      "\"target\": {\"partner\": {\"id\", \"sequence\"[, \"msa\"]}} the predictions are complexes (the partner with\n"
      "its own MSA when given) and \"binding\" weighs the change of the mean PAE between the chains. \"target\": "
      "{\"db\":\n"
      "DB} instead of \"msa\" searches that database for the family (kept in the output folder as target.a3m,\n"
      "with target_search.json). The output folder's done is written last.\n\n"
      "Optional LLM helper (off unless KFOLD_LLM_URL is set; the round never depends on it):\n"
      "  KFOLD_LLM_URL      OpenAI-compatible chat-completions URL POSTed to, e.g.\n"
      "                     http://localhost:8000/v1/chat/completions: an extra operator (\"llm\") asks it\n"
      "                     for variants, a critic pass flags plate variants (soft llm_concern); every\n"
      "                     suggestion is validated and scored like the others, each call recorded in\n"
      "                     notebook.jsonl; unreachable: one warning, the round goes on without it\n"
      "  KFOLD_LLM_MODEL    the request's \"model\" (default: default)\n"
      "  KFOLD_LLM_API_KEY  sent as \"Authorization: Bearer <key>\" when set\n"
      "  KFOLD_LLM_TIMEOUT  seconds per request (default 60)\n\n"
      "Campaign file (paths relative to it):\n"
      "  {\"name\": \"ubq\", \"target\": {\"id\": \"UBQ\", \"sequence\": \"MQIF...\", \"msa\": \"ubq.a3m\"},\n"
      "   \"objective\": {\"stability\": 1.0}, \"frozen\": [1], \"max_mutations\": 1,\n"
      "   \"plate\": {\"size\": 96, \"controls\": 4}, \"seed\": 0, \"results\": [\"round0.csv\"]}\n\n"
      "Example:\n"
      "  kfold agent data/examples/ubiquitin_campaign.json -o out/agent\n"
      "  kfold agent campaign.json -o out/ubq --threads 8 --seed 7   # round 1; later rounds: the same -o\n"
      "  kfold agent campaign.json -o out/quick --no-potts\n"
      "  kfold agent campaign.json -o out/ubq --evolution-cache ~/.cache/kfold/evolution   # next round, new results");
  cmd->callback([&action, o] {
    action = [o] {
      pipelines::agent::AgentOptions run = o->run;
      run.out_dir = o->out_dir;
      run.evolution_cache = o->evolution_cache;
      if (o->seed_option->count() > 0) {
        if (o->seed < 0) throw InputError(fmt::format("--seed must be >= 0 (got {})", o->seed));
        run.seed = static_cast<uint64_t>(o->seed);
      }
      if (o->iterations_option->count() > 0) run.potts_iterations = o->potts_iterations;
      pipelines::parse_device(o->device);  // a bad --device is an error even when no structure is predicted
      data::check_threads_can_start(run.threads > 0 ? run.threads : data::default_threads());  // (--threads >= 0)
      auto campaign = pipelines::agent::read_campaign(o->campaign);
      const auto structures = make_structure_oracle(*o, campaign);
      run.structure_oracle = structures.oracle.get();
      pipelines::agent::run_agent(std::move(campaign), o->campaign, run);
    };
  });
}

}  // namespace kfold::cli
