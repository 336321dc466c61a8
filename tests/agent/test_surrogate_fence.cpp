// The surrogate fits a measurement far below the rest at Tukey's lower fence (pipelines/agent/scoring.cpp): how
// dead a variant is says nothing of where the best ones are, yet its squared error set the fit.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "agent/agent_round.hpp"
#include "data/text_input.hpp"
#include "pipelines/agent/surrogate_model.hpp"
#include "test_support.hpp"

using namespace kfold::pipelines::agent;

namespace {

const std::filesystem::path kExamples = kfold::test::source_dir() / "data/examples";

// The example campaign with its family alignment, no structure predictions, a short Potts fit.
nlohmann::json example_campaign() {
  auto campaign = nlohmann::json::parse(kfold::data::read_text_file(kExamples / "ubiquitin_campaign.json"));
  campaign["target"]["msa"] = (kExamples / "ubiquitin.a3m").string();
  campaign["structure_budget"] = 0;
  campaign["evolution"]["potts_iterations"] = 5;
  return campaign;
}

}  // namespace

TEST_CASE("surrogate fence: Tukey's lower fence, quartiles interpolated between order statistics") {
  // Sorted: -50, 1, ..., 9. Q1 at rank 2.25 of 0..9: 2.25; Q3 at 6.75: 6.75; fence 2.25 - 1.5 x 4.5.
  CHECK(lower_tukey_fence({5, 1, 9, -50, 2, 8, 3, 7, 4, 6}) == doctest::Approx(-4.5).epsilon(1e-12));
  // No spread in the middle half (a live/dead screen's 1s and 0s): no value is far, the 0s are learnt.
  CHECK(lower_tukey_fence({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}) == -std::numeric_limits<double>::infinity());
  CHECK(lower_tukey_fence({1, 2, 3}) == -std::numeric_limits<double>::infinity());  // too few to tell
}

TEST_CASE("surrogate fence: a dead variant's depth does not move the plate") {
  kfold::test::ScratchDir dir("agent-fence");
  auto campaign = example_campaign();
  const auto run_with_dead_variant = [&](double value, const std::string& name) {
    std::ofstream(dir / (name + ".csv")) << "variant,value,sd\nV5A," << value << ",0.1\n";
    campaign["results"] = {(kExamples / "ubiquitin_round0.csv").string(), (dir / (name + ".csv")).string()};
    return kfold::test::run_agent_round(dir.path(), campaign, name);
  };
  // The example's 12 values lie within -1.5 and 0.15: with V5A the fence is -1.1 - 1.5 x 1.15 = -2.825.
  const auto [plate, surrogate] = run_with_dead_variant(-40.0, "dead");
  const auto [deeper_plate, deeper] = run_with_dead_variant(-4000.0, "deeper");
  CHECK(surrogate["at_fence"] == 1);
  CHECK(surrogate["fence"].get<double>() == doctest::Approx(-2.825).epsilon(1e-9));
  CHECK(deeper_plate == plate);
  CHECK(deeper["lambda"] == surrogate["lambda"]);
  CHECK(kfold::data::read_text_file(dir / "dead/report.md")
            .find("1 far below the rest fitted at Tukey's lower fence, -2.83") != std::string::npos);
  CHECK(kfold::data::read_text_file(dir / "dead/report.html")
            .find("; 1 far below the rest fitted at Tukey&#39;s lower fence, -2.83); leave-one-out") !=
        std::string::npos);
  // Within the fence, the value is fitted as it is.
  const auto alive = run_with_dead_variant(-2.0, "alive").second;
  CHECK(alive["at_fence"] == 0);
  CHECK(alive["fence"].is_null());
  CHECK(alive["loo_rmse"] != surrogate["loo_rmse"]);
}

TEST_CASE("surrogate fence: lower-is-better campaigns clamp their worst (highest) values, replicates averaged first") {
  kfold::test::ScratchDir dir("agent-fence-lower");
  auto campaign = example_campaign();
  campaign["better"] = "lower";
  // The example's values negated (a Kd-like unit: lower is better), V5A measured twice (mean 40 or 4000).
  std::string negated = "variant,value,sd\n";
  const std::string round0 = kfold::data::read_text_file(kExamples / "ubiquitin_round0.csv");
  for (size_t line = round0.find("\n", round0.find("\nvariant,") + 1) + 1; line < round0.size();) {
    const size_t end = round0.find('\n', line);
    const std::string row = round0.substr(line, end - line);
    const size_t comma = row.find(',');
    negated +=
        row.substr(0, comma + 1) + (row[comma + 1] == '-' ? row.substr(comma + 2) : "-" + row.substr(comma + 1)) + "\n";
    line = end + 1;
  }
  std::ofstream(dir / "negated.csv") << negated;
  const auto run_with_dead_variant = [&](double first, double second, const std::string& name) {
    std::ofstream(dir / (name + ".csv")) << "variant,value\nV5A," << first << "\nV5A," << second << "\n";
    campaign["results"] = {(dir / "negated.csv").string(), (dir / (name + ".csv")).string()};
    return kfold::test::run_agent_round(dir.path(), campaign, name);
  };
  const auto [plate, surrogate] = run_with_dead_variant(30.0, 50.0, "dead");
  const auto [deeper_plate, deeper] = run_with_dead_variant(3000.0, 5000.0, "deeper");
  CHECK(surrogate["at_fence"] == 1);
  CHECK(surrogate["fence"].get<double>() == doctest::Approx(2.825).epsilon(1e-9));
  CHECK(deeper_plate == plate);
  CHECK(kfold::data::read_text_file(dir / "dead/report.md")
            .find("1 far above the rest (worse) fitted at Tukey's upper fence, 2.83") != std::string::npos);
}
