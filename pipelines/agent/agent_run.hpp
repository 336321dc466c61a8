// One round of the agent loop for a campaign: read the campaign and its results, build the evolutionary
// models, propose hypotheses (all singles, consensus), score and filter them, select the plate and write
// scores.tsv, plate.csv, notebook.jsonl (appended), report.md and last `done` into the output folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

namespace kfold::pipelines::agent {

struct AgentOptions {
  std::filesystem::path out_dir;
  int threads = 0;                          // 0: all cores; results are the same for any count
  std::optional<uint64_t> seed;             // overrides the campaign's seed
  bool no_potts = false;                    // site-independent model only (fast)
  std::optional<int64_t> potts_iterations;  // overrides evolution.potts_iterations
};

void run_agent(const std::filesystem::path& campaign_path, const AgentOptions& options);

}  // namespace kfold::pipelines::agent
