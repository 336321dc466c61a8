// One round of the agent loop for a campaign: read the campaign and its results, build the evolutionary
// models, propose hypotheses (singles, consensus, coevolution pairs, combinations of measured beneficial
// singles; restricted to the library when one is given), score and filter them, learn from the measured
// results (surrogate ensemble + acquisition), select the plate and write scores.tsv, plate.csv,
// notebook.jsonl (appended), report.md, report.html and last `done` into the output folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/structure_oracle.hpp"

namespace kfold::pipelines::agent {

struct AgentOptions {
  std::filesystem::path out_dir;
  int threads = 0;                          // 0: data::default_threads(); results are the same for any count
  std::optional<uint64_t> seed;             // overrides the campaign's seed
  bool no_potts = false;                    // site-independent model only (fast)
  std::optional<int64_t> potts_iterations;  // overrides evolution.potts_iterations
  std::filesystem::path evolution_cache;    // --evolution-cache DIR (empty: none)
  // Predicts the wild type and the campaign's structure_budget best candidates (by the cheap terms,
  // without hard liability flags); their structure terms join the total. nullptr: no structure terms.
  StructureOracle* structure_oracle = nullptr;
  // Called between the stages of the round, after each Potts iteration and before each structure
  // prediction; it throws to stop the round before anything is written (Python's Ctrl-C). Empty: never.
  std::function<void()> check_cancelled;
};

void run_agent(const std::filesystem::path& campaign_path, const AgentOptions& options);
// The same round for `campaign`, read from `campaign_path` by the caller (who needed it first: its warnings
// are said once).
void run_agent(Campaign campaign, const std::filesystem::path& campaign_path, const AgentOptions& options);

}  // namespace kfold::pipelines::agent
