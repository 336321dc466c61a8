// ranking_debug.json and timings.json: ranking order (stable for ties) and text identical to
// json.dumps(..., indent=4) as AlphaFold's run_alphafold.py writes them.
#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <thread>

#include "data/error.hpp"
#include "pipelines/predict/ranking.hpp"
#include "pipelines/predict/timings.hpp"

namespace kp = kfold::pipelines;

TEST_CASE("Models rank by decreasing confidence, ties in input order") {
  const std::vector<kp::ModelScore> scores = {{"model_1", 87.5}, {"model_2_ptm", 91.25}, {"model_3", 87.5}};
  CHECK(kp::rank_models(scores) == std::vector<std::string>{"model_2_ptm", "model_1", "model_3"});
  CHECK(kp::rank_models({}).empty());
  CHECK_THROWS_AS(kp::rank_models({{"m", std::nan("")}}), kfold::RuntimeError);
}

TEST_CASE("ranking_debug.json is json.dumps with indent 4") {
  const std::vector<kp::ModelScore> scores = {{"model_1", 87.5}, {"model_2_ptm", 91.25}, {"model_3", 87.5}};
  // json.dumps({'plddts': {...}, 'order': [...]}, indent=4)
  CHECK(kp::ranking_debug_json(scores, kp::RankBy::plddt) ==
        "{\n    \"plddts\": {\n        \"model_1\": 87.5,\n        \"model_2_ptm\": 91.25,\n"
        "        \"model_3\": 87.5\n    },\n    \"order\": [\n        \"model_2_ptm\",\n        \"model_1\",\n"
        "        \"model_3\"\n    ]\n}");
  const auto ptm = kp::ranking_debug_json({{"model_1_ptm", 0.5}, {"model_2_ptm", 0.75}}, kp::RankBy::ptm);
  CHECK(ptm.find("\"ptm\": {") != std::string::npos);
  CHECK(ptm.find("\"order\": [\n        \"model_2_ptm\",\n        \"model_1_ptm\"\n    ]") != std::string::npos);
  CHECK(kp::ranking_debug_json({{"m", 0.5}}, kp::RankBy::iptm_ptm).rfind("{\n    \"iptm+ptm\": {", 0) == 0);
  CHECK(kp::ranking_debug_json({}, kp::RankBy::plddt) == "{\n    \"plddts\": {},\n    \"order\": []\n}");
  CHECK_THROWS_AS(kp::ranking_debug_json({{"m", 1.0}, {"m", 2.0}}, kp::RankBy::plddt), kfold::InputError);
}

TEST_CASE("--rank: auto is ColabFold's choice, iptm+ptm needs a complex, scores are AlphaFold-Multimer's") {
  using kp::RankBy;
  CHECK(kp::resolve_rank_by(RankBy::automatic, 2, true) == RankBy::iptm_ptm);
  CHECK(kp::resolve_rank_by(RankBy::automatic, 2, false) == RankBy::plddt);  // a model without the PAE head
  CHECK(kp::resolve_rank_by(RankBy::automatic, 1, true) == RankBy::plddt);
  CHECK(kp::resolve_rank_by(RankBy::ptm, 1, true) == RankBy::ptm);
  CHECK(kp::resolve_rank_by(RankBy::plddt, 3, true) == RankBy::plddt);
  CHECK_THROWS_WITH_AS(kp::resolve_rank_by(RankBy::iptm_ptm, 1, true),
                       doctest::Contains("--rank iptm+ptm: the target is one chain"), kfold::InputError);
  CHECK(kp::ranking_confidence(RankBy::iptm_ptm, 80.0, 0.5, 0.25) == doctest::Approx(0.8 * 0.25 + 0.2 * 0.5));
  CHECK(kp::ranking_confidence(RankBy::ptm, 80.0, 0.5, std::nullopt) == 0.5);
  CHECK(kp::ranking_confidence(RankBy::plddt, 80.0, 0.5, 0.25) == 80.0);
  CHECK_THROWS_AS(kp::ranking_confidence(RankBy::automatic, 80.0, 0.5, 0.25), kfold::RuntimeError);  // internal
  for (const auto rank_by : {RankBy::plddt, RankBy::ptm, RankBy::iptm_ptm, RankBy::automatic})
    CHECK(kp::parse_rank_by(kp::rank_by_name(rank_by)) == rank_by);
  CHECK_THROWS_AS(kp::parse_rank_by("iptm"), kfold::InputError);
}

TEST_CASE("timings.json is json.dumps with indent 4, in insertion order") {
  kp::Timings timings;
  CHECK(timings.json() == "{}");
  timings.add("features", 1.5);
  timings.add("predict_and_compile_model_1", 1e-05);
  timings.add("x", 12.0);
  timings.add("features", 2.5);  // a Python dict keeps the first position
  CHECK(timings.json() == "{\n    \"features\": 2.5,\n    \"predict_and_compile_model_1\": 1e-05,\n    \"x\": 12.0\n}");
  {
    kp::Timings::Scope scope(timings, "process_features_model_1");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(timings.entries().size() == 4);
  CHECK(timings.entries()[3].first == "process_features_model_1");
  CHECK(timings.entries()[3].second >= 0.004);
}
