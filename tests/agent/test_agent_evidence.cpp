// What a round says about the strength of its evidence: zero-shot sds only from a Potts model the stability
// term trusts, no coevolution pairs from one too shallow, a surrogate without skill named as such, the plate's
// variants that rest on the pseudocount counted, combinations of "beneficial" singles with their reference.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "data/text_input.hpp"
#include "pipelines/agent/agent_run.hpp"
#include "test_support.hpp"

using namespace kfold::pipelines::agent;

namespace {

const std::filesystem::path kExamples = kfold::test::source_dir() / "data/examples";

// The example campaign (its 9-sequence alignment: Neff 2, too shallow for the Potts model under `auto`) with
// `results`, no structure predictions, run into dir/out; returns the warnings.
std::vector<std::string> run_example(const kfold::test::ScratchDir& dir, const nlohmann::json& results,
                                     const std::string& out) {
  auto campaign = nlohmann::json::parse(kfold::data::read_text_file(kExamples / "ubiquitin_campaign.json"));
  campaign["target"]["msa"] = (kExamples / "ubiquitin.a3m").string();
  campaign["results"] = results;
  campaign["structure_budget"] = 0;
  campaign["evolution"]["potts_iterations"] = 5;
  std::ofstream(dir / (out + ".json")) << campaign.dump();
  AgentOptions o;
  o.threads = 1;
  o.out_dir = dir / out;
  const kfold::test::CapturedWarnings warnings;
  run_agent(dir / (out + ".json"), o);
  return warnings.lines;
}

// The `column` of every row of a scores.tsv.
std::vector<std::string> column_of(const std::filesystem::path& scores, const std::string& column) {
  std::istringstream in(kfold::data::read_text_file(scores));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  for (std::istringstream h(line); std::getline(h, line, '\t');) header.push_back(line);
  const auto at = static_cast<size_t>(std::find(header.begin(), header.end(), column) - header.begin());
  REQUIRE(at < header.size());
  std::vector<std::string> values;
  for (std::string row; std::getline(in, row);) {
    std::vector<std::string> cells;
    for (std::istringstream r(row); std::getline(r, line, '\t');) cells.push_back(line);
    values.push_back(cells.at(at));
  }
  return values;
}

}  // namespace

TEST_CASE("agent evidence: a shallow alignment's Potts model gives no zero-shot sd and no coevolution pairs") {
  kfold::test::ScratchDir dir("agent-evidence-shallow");
  run_example(dir, nlohmann::json::array(), "zero");
  // The sd was |z_potts - z_si| / 2 of a Potts model the same run called too shallow to use (sd 0.02 on a
  // 9-sequence alignment), and its couplings proposed the round's rank 1.
  const auto sds = column_of(dir / "zero/scores.tsv", "sd");
  CHECK(!sds.empty());
  CHECK(std::all_of(sds.begin(), sds.end(), [](const std::string& sd) { return sd == "NA"; }));
  const auto operators = column_of(dir / "zero/scores.tsv", "operator");
  CHECK(std::none_of(operators.begin(), operators.end(),
                     [](const std::string& op) { return op.find("coevolution_pair") != std::string::npos; }));
  const std::string report = kfold::data::read_text_file(dir / "zero/report.md");
  CHECK(report.find("Zero-shot scores have no calibrated uncertainty (`sd` NA).") != std::string::npos);
  // Most of this plate rests on the pseudocount: the report counts it.
  CHECK(report.find(" of the plate's 90 variants put a residue where the family alignment never shows it") !=
        std::string::npos);
}

TEST_CASE("agent evidence: a surrogate without skill is named, beside the evolutionary score's Spearman") {
  kfold::test::ScratchDir dir("agent-evidence-skill");
  // Values unrelated to the variants (a scrambled plate): the leave-one-out Spearman is below 0.1.
  std::ofstream(dir / "scrambled.csv") << "variant,value\nI44A,0.9\nL8A,-0.7\nK63R,-1.1\nL43A,1.2\nV26A,0.1\n"
                                          "I61A,-0.2\nL67A,1.0\nK48R,-0.9\nK11R,0.4\nE18Q,-0.4\n";
  const auto warnings = run_example(dir, nlohmann::json::array({(dir / "scrambled.csv").string()}), "r");
  const auto warned = std::find_if(warnings.begin(), warnings.end(), [](const std::string& w) {
    return w.find("agent: the surrogate has no predictive skill yet (leave-one-out Spearman ") != std::string::npos;
  });
  REQUIRE(warned != warnings.end());
  CHECK(warned->find("the evolutionary score's on 10 of them: ") != std::string::npos);
  const std::string report = kfold::data::read_text_file(dir / "r/report.md");
  CHECK(report.find("**The surrogate has no predictive skill yet**") != std::string::npos);
  CHECK(kfold::data::read_text_file(dir / "r/report.html").find("no predictive skill yet") != std::string::npos);
  // The shipped results are learnable: no such warning, and the rationale of a combination names its reference
  // (the results have no wild-type wells).
  const auto learnable = run_example(dir, nlohmann::json::array({(kExamples / "ubiquitin_round0.csv").string()}), "ok");
  CHECK(std::none_of(learnable.begin(), learnable.end(),
                     [](const std::string& w) { return w.find("no predictive skill") != std::string::npos; }));
  CHECK(kfold::data::read_text_file(dir / "ok/scores.tsv")
            .find("each above the median measured value -0.2, no wild-type wells measured") != std::string::npos);
}
