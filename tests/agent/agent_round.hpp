// One `kfold agent` round for the agent's tests: the campaign written to DIR/NAME.json, run on one thread into
// DIR/NAME; plate.csv's text and the notebook's surrogate record back.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "data/text_input.hpp"
#include "pipelines/agent/agent_run.hpp"

namespace kfold::test {

inline std::pair<std::string, nlohmann::json> run_agent_round(const std::filesystem::path& dir,
                                                              const nlohmann::json& campaign, const std::string& name) {
  std::ofstream(dir / (name + ".json")) << campaign.dump();
  pipelines::agent::AgentOptions o;
  o.threads = 1;
  o.out_dir = dir / name;
  pipelines::agent::run_agent(dir / (name + ".json"), o);
  std::ifstream notebook(dir / name / "notebook.jsonl");
  std::string line;
  std::getline(notebook, line);
  return {data::read_text_file(dir / name / "plate.csv"), nlohmann::json::parse(line)["surrogate"]};
}

}  // namespace kfold::test
