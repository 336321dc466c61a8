// status.json's record of a stage a worker ran when it died (pipelines/batch/target_status.hpp): the worker that
// takes its lock over counts the death once, whatever stage it runs itself.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "pipelines/batch/target_status.hpp"

using nlohmann::json;

TEST_CASE("count_worker_death: counted once in the running record, by whichever worker takes the lock over") {
  json status = {{"status", "msa_done"}};
  CHECK_FALSE(kfold::pipelines::count_worker_death(status));  // no stage was running: nothing to count
  CHECK_FALSE(status.contains("running"));

  status["running"] = {{"stage", "predict"}, {"key", "0123456789abcdef"}, {"worker", "node7 4242 1"}};
  CHECK(kfold::pipelines::count_worker_death(status));
  CHECK(status["running"]["worker_deaths"] == 1);
  CHECK(status["running"]["worker_died"] == true);
  CHECK(status["running"]["stage"] == "predict");  // the dead worker's stage and inputs stay
  CHECK(kfold::pipelines::status_problem(status).empty());
  // The worker that counted it died too, before it ran the stage (it would have replaced the record): no death
  // in the stage, not counted again.
  CHECK_FALSE(kfold::pipelines::count_worker_death(status));
  CHECK(status["running"]["worker_deaths"] == 1);

  status["running"] = {{"stage", "msa"}, {"key", "0123456789abcdef"}, {"worker_deaths", 1}};
  CHECK(kfold::pipelines::count_worker_death(status));
  CHECK(status["running"]["worker_deaths"] == 2);

  status["running"]["worker_died"] = "yes";  // a hand-edited record: refused by the shape check, not a type error
  CHECK(kfold::pipelines::status_problem(status) == "'running': 'worker_died' is not true or false");
}
