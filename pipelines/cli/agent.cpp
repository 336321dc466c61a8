// `kfold agent CAMPAIGN.json -o DIR`: one round of the AI-scientist loop (propose, score, select a plate).
#include <fmt/format.h>

#include <memory>
#include <string>

#include "data/error.hpp"
#include "pipelines/agent/agent_run.hpp"
#include "pipelines/cli/commands.hpp"

namespace kfold::cli {
namespace {

struct AgentCommandOptions {
  std::string campaign;
  pipelines::agent::AgentOptions run;
  std::string out_dir;
  int64_t seed = 0;
  int64_t potts_iterations = 0;
  CLI::Option* seed_option = nullptr;
  CLI::Option* iterations_option = nullptr;
};

}  // namespace

void add_agent_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("agent", "AI-scientist loop: propose variants, score them, select a plate");
  auto o = std::make_shared<AgentCommandOptions>();
  cmd->add_option("CAMPAIGN", o->campaign, "Campaign file (JSON): target, objective, plate, results")->required();
  cmd->add_option("-o,--output", o->out_dir, "Output folder (scores.tsv, plate.csv, notebook.jsonl, report.md)")
      ->required();
  cmd->add_option("--threads", o->run.threads, "OpenMP threads; 0 = all cores (results are identical for any count)")
      ->capture_default_str();
  o->seed_option = cmd->add_option("--seed", o->seed, "Seed of the plate layout (overrides the campaign's \"seed\")");
  cmd->add_flag("--no-potts", o->run.no_potts, "Site-independent model only: skip the Potts fit (fast)");
  o->iterations_option = cmd->add_option("--potts-iterations", o->potts_iterations,
                                         "L-BFGS iterations of the Potts fit (overrides evolution.potts_iterations; "
                                         "default 100)");
  cmd->footer(
      "Scores every single substitution (and consensus substitutions) with the family alignment: a site-independent\n"
      "model and a Potts model fitted by pseudo-likelihood (EVmutation), flags sequence liabilities (new Cys,\n"
      "N-glycosylation sequons, deamidation/isomerisation motifs, Pro, invariant positions) and selects a plate\n"
      "(best scores, at most plate.max_per_position variants per residue, plate.controls wild-type wells, seeded\n"
      "layout). Structure terms are not computed in this version. DIR/done is written last.\n\n"
      "Campaign file (paths relative to it):\n"
      "  {\"name\": \"ubq\", \"target\": {\"id\": \"UBQ\", \"sequence\": \"MQIF...\", \"msa\": \"ubq.a3m\"},\n"
      "   \"objective\": {\"stability\": 1.0}, \"frozen\": [1], \"max_mutations\": 1,\n"
      "   \"plate\": {\"size\": 96, \"controls\": 4}, \"seed\": 0, \"results\": [\"round0.csv\"]}\n\n"
      "Example:\n"
      "  kfold agent data/examples/ubiquitin_campaign.json -o out/agent\n"
      "  kfold agent campaign.json -o out/round1 --threads 8 --seed 7\n"
      "  kfold agent campaign.json -o out/quick --no-potts");
  cmd->callback([&action, o] {
    action = [o] {
      pipelines::agent::AgentOptions run = o->run;
      run.out_dir = o->out_dir;
      if (o->seed_option->count() > 0) {
        if (o->seed < 0) throw InputError(fmt::format("--seed must be >= 0 (got {})", o->seed));
        run.seed = static_cast<uint64_t>(o->seed);
      }
      if (o->iterations_option->count() > 0) run.potts_iterations = o->potts_iterations;
      pipelines::agent::run_agent(o->campaign, run);
    };
  });
}

}  // namespace kfold::cli
