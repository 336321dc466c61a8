// The agent round end to end: campaign in, plate and records out.
#include "pipelines/agent/agent_run.hpp"

#include <omp.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string_view>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/log.hpp"
#include "data/text_input.hpp"
#include "pipelines/agent/agent_outputs.hpp"
#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/operators.hpp"
#include "pipelines/agent/plate_layout.hpp"
#include "pipelines/agent/scoring.hpp"
#include "pipelines/agent/sha256.hpp"

namespace kfold::pipelines::agent {

namespace {

// Number of "run" records already in the notebook (the new round is one more).
int64_t previous_rounds(const std::string& notebook, const std::filesystem::path& path) {
  int64_t n = 0;
  int64_t line_number = 0;
  size_t start = 0;
  while (start < notebook.size()) {
    const size_t end = std::min(notebook.find('\n', start), notebook.size());
    ++line_number;
    const std::string_view line(notebook.data() + start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_discarded() || !record.is_object()) {
      fail_input("{}:{}: not a JSON record; the notebook is append-only: restore it or write to a new folder",
                 path.string(), line_number);
    }
    if (record.value("type", "") == "run") ++n;
  }
  return n;
}

}  // namespace

void run_agent(const std::filesystem::path& campaign_path, const AgentOptions& options) {
  namespace fs = std::filesystem;
  if (options.threads < 0) fail_input("--threads must be >= 0 (got {})", options.threads);
  Campaign campaign = read_campaign(campaign_path);
  if (options.potts_iterations) {
    if (*options.potts_iterations < 1) fail_input("--potts-iterations must be >= 1");
    campaign.evolution.potts_iterations = *options.potts_iterations;
  }
  const uint64_t seed = options.seed.value_or(campaign.seed);
  if (fs::exists(options.out_dir) && !fs::is_directory(options.out_dir)) {
    fail_input("{}: exists and is not a directory; give -o a folder", options.out_dir.string());
  }
  data::ensure_directory(options.out_dir);
  fs::remove(options.out_dir / "done");
  const int threads = options.threads > 0 ? options.threads : omp_get_num_procs();

  RunRecord run;
  run.seed = seed;
  run.threads = threads;
  run.no_potts = options.no_potts;
  run.input_hashes[campaign_path.string()] = sha256_file(campaign_path);
  run.input_hashes[campaign.target.msa.string()] = sha256_file(campaign.target.msa);
  for (const auto& p : campaign.results) run.input_hashes[p.string()] = sha256_file(p);

  EvolutionOptions eo;
  eo.fit_potts = !options.no_potts;
  eo.threads = threads;
  const EvolutionaryModels models = build_evolutionary_models(campaign, eo);

  HypothesisSet hypotheses;
  propose_single_substitutions(campaign, hypotheses);
  propose_consensus(campaign, models, hypotheses);
  log_info("agent: {} hypotheses (single substitutions, consensus)", hypotheses.items().size());
  const ScoreTable table = score_hypotheses(hypotheses.items(), campaign, models);
  const Plate plate = select_plate(table, campaign, seed);
  log_info("agent: plate of {} wells: {} variants, {} controls ({} eligible, {} filtered by liabilities)",
           campaign.plate.size, plate.n_variants, plate.n_controls, plate.n_candidates, plate.n_filtered);

  const fs::path notebook_path = options.out_dir / "notebook.jsonl";
  std::string notebook = fs::exists(notebook_path) ? data::read_text_file(notebook_path) : std::string();
  if (!notebook.empty() && notebook.back() != '\n') notebook += '\n';
  const int64_t round = previous_rounds(notebook, notebook_path) + 1;
  notebook += notebook_lines(table, plate, campaign, models, run, round);

  data::write_file_atomic(options.out_dir / "scores.tsv", scores_tsv(table, campaign));
  data::write_file_atomic(options.out_dir / "plate.csv", plate_csv(plate, table, campaign));
  data::write_file_atomic(notebook_path, notebook);
  data::write_file_atomic(options.out_dir / "report.md", report_md(table, plate, campaign, models, run));
  data::write_file_atomic(options.out_dir / "done", "");
  log_info("agent: wrote {}/{{scores.tsv, plate.csv, notebook.jsonl, report.md}}", options.out_dir.string());
}

}  // namespace kfold::pipelines::agent
