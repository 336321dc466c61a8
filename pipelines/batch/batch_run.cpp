// run_batch (pipelines/batch/batch_run.hpp). Per target, under its lock: the MSA stage (query.fasta,
// msas/*.a3m) and the predict stage (kfold predict's files), each skipped when status.json holds the
// key of its current inputs; status.json is written after a stage's outputs, so a kill at any moment
// leaves either the old complete state or the new one.
#include "pipelines/batch/batch_run.hpp"

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "data/a3m.hpp"
#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/interrupt.hpp"
#include "data/lock_directory.hpp"
#include "data/log.hpp"
#include "data/msa_file.hpp"
#include "data/sequence.hpp"
#include "fold/template_features.hpp"
#include "msa/msa_filter.hpp"
#include "msa/sequence_db.hpp"
#include "pipelines/batch/batch_targets.hpp"
#include "pipelines/batch/given_msa.hpp"
#include "pipelines/batch/msa_stage.hpp"
#include "pipelines/batch/stage_key.hpp"
#include "pipelines/batch/stage_keys.hpp"
#include "pipelines/batch/stopped_shards.hpp"
#include "pipelines/batch/target_status.hpp"
#include "pipelines/predict/loaded_model.hpp"
#include "pipelines/predict/predict_target.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Seconds since 1970 (status.json's failure times, compared between workers and hosts).
double unix_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// --stage's word for `stage`.
std::string stage_name(BatchStage stage) {
  return stage == BatchStage::msa ? "msa" : stage == BatchStage::predict ? "predict" : "all";
}

// "N/M finished (F failed[, W waiting for their MSA stage])": what a worker has seen of its shard.
std::string progress(const BatchReport& r) {
  return fmt::format("{}/{} finished ({} failed{})", r.done + r.failed + r.waiting, r.targets, r.failed,
                     r.waiting > 0 ? fmt::format(", {} waiting for their MSA stage", r.waiting) : "");
}

class BatchRunner {
 public:
  explicit BatchRunner(const BatchOptions& options) : options_(options) {}

  BatchReport run();

 private:
  // One target's run: its folder, its status.json as it changes, the report its outcome counts in.
  struct TargetRun {
    const BatchTarget& target;
    fs::path dir;
    json status;
    BatchReport& report;
    json failed_before = json::object();  // status.json's failure record as this run found it
  };
  void run_target(const BatchTarget& target, BatchReport& report, bool previous_worker_died);
  bool refuse_problem_target(TargetRun& run);
  bool takes_any_msa(const BatchTarget& target) const;
  std::string msa_key_in_use(const TargetRun& run) const;
  std::string predict_key(const TargetRun& run, const std::string& mkey) const;
  bool complete_for_this_run(const TargetRun& run) const;
  void fail(TargetRun& run, const std::string& stage, const std::string& key, const std::string& kind,
            const std::string& reason);
  bool failed_before(const TargetRun& run, const std::string& stage, const std::string& key) const;
  bool attempt(TargetRun& run, const std::string& stage, const std::string& key, const std::function<void()>& work);
  bool msa_complete(const TargetRun& run, const std::string& key) const;
  bool mark_running(TargetRun& run, const std::string& stage, const std::string& key);
  void wait_for_msa_stage(TargetRun& run);
  void run_msa_stage(const BatchTarget& target, const fs::path& dir, const std::string& key, json& status);
  void run_predict_stage(const BatchTarget& target, const fs::path& dir, const std::string& key, json& status);
  void write_summary(bool force);
  void stop_if_failing_in_a_row();

  const BatchOptions& options_;
  std::vector<BatchTarget> targets_;
  std::optional<ModelSet> models_;
  std::string models_key_;  // the model part of the predict key
  std::optional<msa::SequenceDb> db_;
  std::unique_ptr<data::LockDirectory> locks_;
  Clock::time_point last_summary_{};
  // [targets] summary rows of targets seen done, not read again; cleared when this worker runs the target (a
  // rerun with other inputs or options replaces its results, or fails it).
  std::vector<std::string> done_rows_;
  int64_t stages_run_ = 0;  // stages started by this worker (skipped ones do not count)
  bool parameters_checked_ = false;
  // When this worker started (unix_time): a failure recorded since is another worker's of this run, not retried.
  double started_at_ = unix_time();
  // Failures whose status.json could not be written, with the checksum of what that file held then ("" when none).
  std::map<std::string, std::pair<json, std::string>> unrecorded_failures_;
  // Per stage: runtime failures of this worker since that stage last completed here (of targets whose status.json
  // held no runtime failure of that stage with those inputs), and the last one's "<id>: <reason>" (a broken GPU
  // fails every predict stage while the MSA stages on the CPU complete).
  struct FailuresInARow {
    int64_t count = 0;
    std::string last;
  };
  std::map<std::string, FailuresInARow> runtime_failures_;
  std::vector<int64_t> shard_of_;  // [targets] each one's shard of options_.shard_count
};

void BatchRunner::run_msa_stage(const BatchTarget& target, const fs::path& dir, const std::string& key, json& status) {
  const auto start = Clock::now();
  data::ensure_directory(dir);
  // Another sequence's stages (the input edited) go first: a new sequence that fails its check must not leave the
  // old one's MSA stage for --stage predict to take, nor `done` beside the old one's structures.
  if (!msa_stage_query_is(dir, target)) forget_completed_stages(dir, status);
  // What can fail runs before the folder changes: a failed stage (a bad --msa-dir, a search error) leaves this
  // sequence's earlier MSA stage, so that a rerun with its options skips it again.
  const std::string search_key = msa_search_key(options_, target);
  const auto stage_msa =
      compute_stage_msa(target, options_, db_ ? &*db_ : nullptr, earlier_search(dir, status, search_key));
  if (stage_msa.searched && !options_.predict.templates.db.empty())
    keep_search(dir, status, search_key, *stage_msa.msa);
  const auto templates = compute_stage_templates(target, options_, stage_msa);
  const auto& [msa, file_name, searched] = stage_msa;
  // The target's inputs change from here: what an earlier run completed is complete no more (a kill during
  // the writes must not leave `done` and a "done" status beside the new query.fasta and the old structures).
  forget_completed_stages(dir, status);
  data::write_fasta(dir / "query.fasta", {data::Sequence{target.id, target.description, target.sequence}});
  // msas/ holds exactly this stage's MSA (and template hits): files of an earlier, different run go.
  std::error_code error;
  if (fs::is_directory(dir / "msas"))
    for (const auto& entry : fs::directory_iterator(dir / "msas", error))
      if (entry.path().filename() != file_name) fs::remove(entry.path(), error);
  fs::remove(dir / kTemplatesFile, error);
  json msa_status = {{"key", key}, {"search_key", search_key}, {"files", json::array()}, {"depth", 1}, {"neff", 1.0}};
  msa_status["checksums"]["query.fasta"] = file_checksum(dir / "query.fasta");
  if (msa) {
    data::ensure_directory(dir / "msas");
    data::write_a3m(dir / "msas" / file_name, *msa);
    msa_status["files"].push_back(file_name);
    msa_status["checksums"]["msas/" + file_name] = file_checksum(dir / "msas" / file_name);
    msa_status["depth"] = msa->depth();
    if (msa->chain_lengths.size() > 1) msa_status["chains"] = msa->chain_lengths.size();  // a complex (--rank auto)
    msa_status["neff"] = msa::neff(*msa);
  }
  if (templates) {
    msa_status["template_search"] = template_search_record(options_.predict.templates);
    data::ensure_directory(dir / "msas");
    data::write_file_atomic(dir / "msas" / "pdb_hits.m8", templates->hits_m8);
    const auto& t = templates->result.features;
    if (t.n_templates > 0) {
      fold::write_template_features(dir / kTemplatesFile, t);
      msa_status["templates"] = t.domain_names;
      msa_status["checksums"][kTemplatesFile] = file_checksum(dir / kTemplatesFile);
    }
  }
  msa_status["seconds"] = seconds_since(start);
  status["msa"] = msa_status;
  const bool kept_search = status.contains("kept_search");
  status.erase("kept_search");
  status["status"] = "msa_done";
  status.erase("running");
  // The log says what was computed, status.json what is complete: a kill between them reruns the stage.
  append_stage_log(dir, "msa", key, msa_status["seconds"].get<double>());
  write_status(dir / "status.json", status);
  if (kept_search) forget_kept_search(dir);
  log_info("{}: MSA depth {}, Neff {:.1f} ({:.1f} s)", target.id, msa_status["depth"].get<int64_t>(),
           msa_status["neff"].get<double>(), msa_status["seconds"].get<double>());
}

void BatchRunner::run_predict_stage(const BatchTarget& target, const fs::path& dir, const std::string& key,
                                    json& status) {
  const auto start = Clock::now();
  const auto queries = data::read_fasta(dir / "query.fasta");
  std::vector<data::Msa> msas;
  std::vector<std::string> names;
  for (const auto& file : status["msa"].value("files", std::vector<std::string>{})) {
    msas.push_back(data::read_msa_file(dir / "msas" / file));
    names.push_back(file);
  }
  TargetInputs inputs;
  inputs.id = target.id;
  inputs.raw = fold::make_raw_features(queries.front(), msas, names);
  if (status["msa"].contains("templates")) inputs.raw->templates = fold::read_template_features(dir / kTemplatesFile);
  inputs.seconds = seconds_since(start);
  auto predict = options_.predict;
  predict.output_dir = options_.output_dir;
  // The templates are the MSA stage's: run.json names the options it searched with, not this stage's (which
  // submit.sh passes to both stages, and which search nothing here). An older kfold's record names none.
  if (const auto searched = recorded_template_search(status["msa"]))
    predict.templates = *searched;
  else if (!status["msa"].contains("templates"))
    predict.templates = {};
  // The earlier prediction's record goes before its files change: a run killed after writing `done` and
  // before status.json must not leave this run's files under the earlier run's key, nor a folder of two runs'
  // files counted as done.
  if (status.contains("predict")) {
    status.erase("predict");
    status["status"] = "msa_done";
    write_status(dir / "status.json", status);
  }
  const auto summary = predict_target(inputs, predict, *models_);
  json result = {{"key", key}, {"seconds", seconds_since(start)}, {"ranking", summary.ranking}};
  const auto best = std::find_if(summary.models.begin(), summary.models.end(),
                                 [&](const ModelResult& m) { return m.model_name == summary.ranking.front(); });
  result["best_model"] = best->model_name;
  result["mean_plddt"] = best->mean_plddt;
  result["ptm"] = best->ptm >= 0 ? json(best->ptm) : json(nullptr);
  if (best->iptm) result["iptm"] = *best->iptm;  // a complex's
  result["ranked_by"] = ranking_key(summary.rank_by);
  result["num_residue_violations"] = best->num_residue_violations;
  result["sizes"] = prediction_file_sizes(dir, summary.ranking);
  status["predict"] = result;
  status.erase("failed");
  status.erase("running");
  status["status"] = "done";
  append_stage_log(dir, "predict", key, result["seconds"].get<double>());
  write_status(dir / "status.json", status);
}

// Records a failed stage (the batch goes on): the target is not done, whatever an earlier run with other
// inputs predicted.
void BatchRunner::fail(TargetRun& run, const std::string& stage, const std::string& key, const std::string& kind,
                       const std::string& reason) {
  log_error("{}: {} stage failed: {}", run.target.id, stage, reason);
  // A runtime failure of a target that failed so before (a rerun retries them first) does not count towards
  // --max-consecutive-failures: each run gets further through a shard whose targets fail the same way.
  const json& before = run.failed_before;
  if (kind == "runtime" && !(before.value("stage", "") == stage && before.value("key", "") == key &&
                             before.value("kind", "") == "runtime")) {
    auto& in_a_row = runtime_failures_[stage];
    ++in_a_row.count;
    in_a_row.last = fmt::format("{}: {}", run.target.id, reason);
  }
  run.status.erase("predict");
  run.status.erase("running");
  std::error_code error;
  fs::remove(run.dir / "done", error);
  run.status["status"] = "failed";
  run.status["failed"] = {{"stage", stage},   {"key", key},          {"kind", kind},
                          {"reason", reason}, {"time", unix_time()}, {"sequence_sha256", sequence_digest(run.target)}};
  ++run.report.failed;
  try {  // a folder that cannot be written (a file of its name, a full disk) fails this target, not the batch
    data::ensure_directory(run.dir);
    write_status(run.dir / "status.json", run.status);
  } catch (const std::exception& e) {
    log_error("{}: its failure could not be recorded in {}: {}", run.target.id, (run.dir / "status.json").string(),
              e.what());
    std::error_code exists_error;  // summary.tsv says it still, while that file stays as it was
    const bool exists = fs::is_regular_file(run.dir / "status.json", exists_error);
    unrecorded_failures_[run.target.id] = {run.status["failed"],
                                           exists ? file_checksum(run.dir / "status.json") : std::string()};
  }
}

// A failure of the inputs themselves comes back with the same inputs, and so does a stage that killed its
// workers again and again (kind "crash"); one of the resources (memory, disk, a node) may not: those are
// tried again by every rerun, and a memory failure not by another worker of this run (workers of one shard, one
// per GPU, would each try the target that just ran out of memory); a runtime failure is (a worker on a broken
// GPU or a full local disk fails target after target: its healthy siblings must not skip them all).
bool BatchRunner::failed_before(const TargetRun& run, const std::string& stage, const std::string& key) const {
  if (options_.retry_failed || !run.status.contains("failed")) return false;
  const auto& failed = run.status["failed"];
  return failed.value("stage", "") == stage && failed.value("key", "") == key &&
         (permanent_failure(failed) ||
          (failed.value("kind", "") == "memory" && failed.value("time", 0.0) >= started_at_));
}

// Runs one stage, turning a failure into a record (the batch goes on). False when it failed.
bool BatchRunner::attempt(TargetRun& run, const std::string& stage, const std::string& key,
                          const std::function<void()>& work) {
  ++stages_run_;
  try {
    if (!mark_running(run, stage, key)) return false;  // (a folder it cannot write fails the target here)
    work();
    runtime_failures_.erase(stage);
    return true;
  } catch (const Interrupted&) {
    // The batch stops (and the target stays as it was): not a failure of the target, nor a worker's death.
    try {
      run.status.erase("running");
      write_status(run.dir / "status.json", run.status);
    } catch (const std::exception&) {  // (the next worker counts one death too many)
    }
    throw;
  } catch (const fold::TemplateFolderError& e) {  // the folder is wrong, not the target: retried when fixed
    fail(run, stage, key, "runtime", e.what());
  } catch (const InputError& e) {
    fail(run, stage, key, "input", e.what());
  } catch (const MemoryError& e) {
    fail(run, stage, key, "memory", e.what());
  } catch (const std::bad_alloc&) {
    fail(run, stage, key, "memory", "out of memory (try --chunk-size, fewer threads, or a larger node)");
  } catch (const c10::Error& e) {
    const std::string message = e.what_without_backtrace();
    fail(run, stage, key, is_out_of_memory_message(message) ? "memory" : "runtime",
         message.substr(0, message.find('\n')));
  } catch (const std::exception& e) {
    fail(run, stage, key, "runtime", e.what());
  }
  return false;
}

// Records in status.json that this worker runs `stage` (the record goes when the stage ends, failed or not).
// A record found there that a worker taking over the lock marked worker_died (run_target, whatever stage that
// worker ran) was left by a worker that died in the stage (SIGKILL: the scheduler's out-of-memory kill or the
// kill after a time limit's SIGTERM, a crash, a lost node); one stopped by SIGTERM, SIGINT or SIGHUP released
// its lock, and its stop is no death. After kMaxWorkerDeaths for the same inputs the target fails (kind
// "crash", not retried but with --retry-failed) instead of taking down every later worker of its shard. False then.
bool BatchRunner::mark_running(TargetRun& run, const std::string& stage, const std::string& key) {
  constexpr int64_t kMaxWorkerDeaths = 2;
  int64_t deaths = 0;
  const json left = run.status.value("running", json::object());
  if (left.value("stage", "") == stage && left.value("key", "") == key) {
    deaths = left.value("worker_deaths", int64_t{0});
    if (left.value("worker_died", false) && deaths >= kMaxWorkerDeaths && !options_.retry_failed) {
      fail(run, stage, key, "crash",
           fmt::format("{} workers died running this stage (SIGKILL: killed for memory or at a time limit by the "
                       "scheduler; a crash; a lost node; the last: {}); give it more memory, time or --chunk-size, "
                       "then kfold batch --retry-failed",
                       deaths, left.value("worker", "?")));
      return false;
    }
  }
  char started[21];
  format_utc_time(std::time(nullptr), started);  // not std::gmtime: its buffer is shared by every thread
  run.status.erase("waiting");
  run.status["running"] = {{"stage", stage},
                           {"key", key},
                           {"worker", data::LockDirectory::owner_text()},
                           {"started", started},
                           {"worker_deaths", deaths}};
  data::ensure_directory(run.dir);
  write_status(run.dir / "status.json", run.status);
  return true;
}

// --stage predict without --db, for a target without an MSA in --msa-dir, takes the MSAs the MSA stage left for the
// target's sequence, whatever made them (that stage may have searched a database: the options of the two stages
// need not be the same).
bool BatchRunner::takes_any_msa(const BatchTarget& target) const {
  return options_.stage == BatchStage::predict && options_.db.empty() && !given_msa(options_.msa_dir, target);
}

// The predict stage's key of a target whose MSA stage has `mkey`.
std::string BatchRunner::predict_key(const TargetRun& run, const std::string& mkey) const {
  return predict_stage_key(mkey, models_key_, run.dir, run.status["msa"], options_.predict.rank_by,
                           models_->have_pae());
}

// The key of the MSA stage this run takes: the one recorded when it takes any, else that of this run's options.
std::string BatchRunner::msa_key_in_use(const TargetRun& run) const {
  return takes_any_msa(run.target) && run.status.contains("msa") ? key_of(run.status, "msa")
                                                                 : msa_stage_key(options_, run.target);
}

// Whether the stages this run asks for are complete with its inputs and options: nothing would run.
bool BatchRunner::complete_for_this_run(const TargetRun& run) const {
  if (run.status.contains("failed") || !run.status.contains("msa") || !msa_stage_query_is(run.dir, run.target))
    return false;
  const auto mkey = msa_key_in_use(run);
  if (!msa_complete(run, mkey)) return false;
  if (options_.stage == BatchStage::msa) return true;
  return key_of(run.status, "predict") == predict_key(run, mkey) &&
         prediction_complete(run.dir, run.status, run.target.id);
}

// A target the input itself rules out (a problem found reading it, longer than --max-length) fails, once per
// reason, unless it is done. False when the target may run.
bool BatchRunner::refuse_problem_target(TargetRun& run) {
  const BatchTarget& target = run.target;
  if (target.problem.empty() &&
      (options_.max_length <= 0 || static_cast<int64_t>(target.sequence.size()) <= options_.max_length))
    return false;
  const auto reason = !target.problem.empty() ? target.problem
                                              : fmt::format("{}: {} residues, longer than --max-length {}",
                                                            target.source, target.sequence.size(), options_.max_length);
  // A target over a lower --max-length of a rerun (or of another job on the folder) whose stages are complete with
  // this run's inputs and options is left as it is: the limit says which targets this run works on, not that
  // finished predictions are void (they were thrown away and predicted again by the next run with the old limit).
  if (target.problem.empty() && complete_for_this_run(run)) {
    log_info("{}: {} residues, longer than --max-length {}: complete already, kept", target.id, target.sequence.size(),
             options_.max_length);
    ++run.report.done;
    return true;
  }
  const auto key = StageKey().add("problem", reason).hex();
  if (failed_before(run, "input", key)) {
    ++run.report.failed;
    ++run.report.failed_before;  // (an input failure: permanent)
  } else {
    fail(run, "input", key, "input", reason);
  }
  return true;
}

// The MSA stage's files for `key` exist and match the checksums status.json holds (a damaged file is never used).
bool BatchRunner::msa_complete(const TargetRun& run, const std::string& key) const {
  const json& status = run.status;
  if (key_of(status, "msa") != key) return false;
  const auto checksums = status["msa"].value("checksums", std::map<std::string, std::string>{});
  std::vector<fs::path> files{run.dir / "query.fasta"};
  for (const auto& file : status["msa"].value("files", std::vector<std::string>{}))
    files.push_back(run.dir / "msas" / file);
  if (status["msa"].contains("templates")) files.push_back(run.dir / kTemplatesFile);
  for (const auto& path : files) {
    const auto name = fs::relative(path, run.dir).generic_string();
    if (!fs::is_regular_file(path)) return false;
    const auto expected = checksums.find(name);
    if (expected == checksums.end() || expected->second != file_checksum(path)) {
      log_warn("{}: {} does not match its checksum in status.json (damaged or changed); the MSA stage runs again",
               run.target.id, path.string());
      return false;
    }
  }
  return true;
}

// A target whose MSA stage has not finished when the predict stage needs it: failed when that stage failed for this
// sequence (as summary.tsv says: a rerun of --stage msa retries a failure of resources), else waiting for it.
void BatchRunner::wait_for_msa_stage(TargetRun& run) {
  const json& status = run.status;
  const json failed = status.value("failed", json::object());
  // (a failure recorded for another sequence, the input edited since, is not this one's)
  if (failed.value("stage", "") == "msa" &&
      failed.value("sequence_sha256", sequence_digest(run.target)) == sequence_digest(run.target)) {
    log_error("{}: its MSA stage failed ({}): {}{}", run.target.id, failed.value("kind", "?"),
              failed.value("reason", ""),
              permanent_failure(failed) ? "" : "; a rerun of kfold batch --stage msa retries it");
    ++run.report.failed;
    return;
  }
  if (status.contains("msa") && key_of(status, "msa") != msa_key_in_use(run))  // of other inputs or options
    log_warn(
        "{}: its MSA stage finished with other inputs or options than this run's (--msa-dir, --db and its search "
        "options, the template options: give both stages the same), so it waits for kfold batch --stage msa with "
        "this run's",
        run.target.id);
  else  // none, or its files damaged or missing (a warning said which)
    log_warn("{}: no finished MSA stage (run kfold batch --stage msa first)", run.target.id);
  ++run.report.waiting;
  // Recorded for summary.tsv, whichever worker writes it (the next stage to start removes it).
  run.status["waiting"] = {{"stage", "msa"}, {"time", unix_time()}};
  try {
    data::ensure_directory(run.dir);
    write_status(run.dir / "status.json", run.status);
  } catch (const std::exception& e) {
    log_warn("{}: {} (summary.tsv gives no reason for its wait)", run.target.id, e.what());
  }
}

void BatchRunner::run_target(const BatchTarget& target, BatchReport& report, bool previous_worker_died) {
  if (!done_rows_.empty()) done_rows_[static_cast<size_t>(&target - targets_.data())].clear();  // read it again
  unrecorded_failures_.erase(target.id);
  TargetRun run{target, options_.output_dir / target.id, {}, report};
  data::remove_temp_files(run.dir);  // a killed worker's; nobody else writes there while we hold the lock
  run.status = read_status(run.dir / "status.json");
  run.failed_before = run.status.value("failed", json::object());  // (a stage starting forgets it)
  run.status["id"] = target.id;
  run.status["length"] = target.sequence.size();
  // Its lock taken over: a "running" record is a worker's death in that stage, counted now whatever stage this
  // worker runs (in the two-job setup the other job's worker takes it over, and then releases it normally).
  if (previous_worker_died && count_worker_death(run.status)) {
    const json& left = run.status["running"];
    log_warn("{}: a worker died running its {} stage ({}, started {}); {} death(s) with those inputs", target.id,
             left.value("stage", "?"), left.value("worker", "?"), left.value("started", "?"),
             left["worker_deaths"].get<int64_t>());
    try {
      write_status(run.dir / "status.json", run.status);
    } catch (const std::exception& e) {  // (a folder it cannot write fails the target when its stage starts)
      log_warn("{}: the death could not be recorded: {}", target.id, e.what());
    }
  }
  if (refuse_problem_target(run)) return;

  const bool any_msa = takes_any_msa(target);
  if (any_msa && run.status.contains("msa") && !msa_stage_query_is(run.dir, target)) {
    log_warn("{}: its MSA stage was run for another sequence than {} gives now (the input changed)", target.id,
             target.source);
    try {  // the old sequence's structures are not this target's
      forget_completed_stages(run.dir, run.status);
    } catch (const std::exception& e) {  // a folder that cannot be written fails this target, not the batch
      fail(run, "msa", msa_stage_key(options_, target), "runtime", e.what());
      return;
    }
  }
  const bool msa_failed = run.status.value("failed", json::object()).value("stage", "") == "msa";
  // The MSA stage last run for this sequence failed, keeping what an earlier one completed: not its result to take.
  if (any_msa && msa_failed) {
    wait_for_msa_stage(run);
    return;
  }
  const auto mkey = msa_key_in_use(run);
  // Checked once (it reads every MSA file: a rerun over 10,000 finished targets on a shared file system).
  bool msa_ready = msa_complete(run, mkey);
  if (options_.stage != BatchStage::predict && !msa_ready) {
    if (failed_before(run, "msa", mkey)) {
      ++report.failed;
      report.failed_before += permanent_failure(run.status["failed"]) ? 1 : 0;  // (not another worker's memory failure)
      return;
    }
    if (!attempt(run, "msa", mkey, [&] { run_msa_stage(target, run.dir, mkey, run.status); })) return;
    msa_ready = true;  // its files, as it recorded them
  }
  if (options_.stage == BatchStage::msa) {
    // Skipped as complete: a failure recorded since was another MSA stage's (a failed stage keeps this one's).
    if (run.status.value("failed", json::object()).value("stage", "") == "msa") {
      run.status.erase("failed");
      run.status["status"] = "msa_done";
      try {
        write_status(run.dir / "status.json", run.status);
      } catch (const std::exception& e) {
        fail(run, "msa", mkey, "runtime", e.what());
        return;
      }
    }
    ++report.done;
    return;
  }
  if (!msa_ready) {
    wait_for_msa_stage(run);
    return;
  }
  const auto pkey = predict_key(run, mkey);
  if (key_of(run.status, "predict") == pkey && prediction_complete(run.dir, run.status, target.id)) {
    ++report.done;
    return;
  }
  if (failed_before(run, "predict", pkey)) {
    ++report.failed;
    report.failed_before += permanent_failure(run.status["failed"]) ? 1 : 0;  // (not another worker's memory failure)
    return;
  }
  // The parameters belong to the batch, not to a target: a bad file stops the batch (exit 2) at the first
  // prediction instead of failing every target. Loading them here costs nothing extra: the stage would.
  if (!parameters_checked_) {
    for (const auto& name : models_->names()) models_->get(name).check_parameters(options_.predict.check_memory);
    parameters_checked_ = true;
  }
  if (attempt(run, "predict", pkey, [&] { run_predict_stage(target, run.dir, pkey, run.status); })) ++report.done;
}

// DIR/summary.tsv over every target of the input (all shards), from their status.json; at most every 10 s unless
// forced, and not when another worker wrote it within those 10 s. A done target's row is read once per worker.
// Each write is whole (temp + rename), read and written under the lock ".summary" (ids never start with '.'): a
// worker that read statuses before another's targets were done cannot rename its summary over the newer one. A
// periodic summary skips while another worker writes; a worker's last waits, at most kSummaryWait.
void BatchRunner::write_summary(bool force) {
  constexpr auto kInterval = std::chrono::seconds(10);
  constexpr auto kSummaryWait = std::chrono::seconds(120);
  if (!force && Clock::now() - last_summary_ < kInterval) return;
  last_summary_ = Clock::now();
  const fs::path path = options_.output_dir / "summary.tsv";
  if (!force) {
    // Another worker rewrote it within the interval: skip. Every worker reads every target's status.json
    // for a summary; hundreds of array tasks doing so every 10 s would load a shared file system. The age by
    // the clock that stamped the file (on NFS the server's; a node's clock a minute off skipped no summary).
    std::error_code error;
    if (const auto written = fs::last_write_time(path, error); !error) {
      const auto age = data::file_system_now(options_.output_dir) - written;
      if (age >= fs::file_time_type::duration::zero() && age < kInterval) return;
    }
  }
  std::unique_ptr<data::TargetLock> writing;
  try {  // (a lock that cannot be made, a full disk, leaves the summary unserialised: the write says what fails)
    writing = locks_->lock_waiting(".summary", force ? kSummaryWait : std::chrono::seconds(0));
    if (!writing && !force) return;
    if (!writing)
      log_info("{}: another worker has been writing it for {} s ({}); written without waiting longer", path.string(),
               kSummaryWait.count(), locks_->holder_text(".summary"));
  } catch (const Interrupted&) {
    throw;
  } catch (const Error&) {
  }
  done_rows_.resize(targets_.size());
  StoppedShards stopped_shards(options_.output_dir, options_.shard_count);
  std::string text =
      "id\tlength\tmsa_depth\tneff\tbest_model\tmean_plddt\tptm\tstatus\treason\tmsa_seconds\tpredict_seconds"
      "\tviolations\tfailure_kind\tiptm\n";
  const auto number = [](const json& j, const char* section, const char* field, const char* format) -> std::string {
    if (!j.contains(section) || !j[section].contains(field) || j[section][field].is_null()) return "";
    return fmt::format(fmt::runtime(format), j[section][field].get<double>());
  };
  for (size_t t = 0; t < targets_.size(); ++t) {
    if (!done_rows_[t].empty()) {
      text += done_rows_[t];
      continue;
    }
    const auto& target = targets_[t];
    const auto dir = options_.output_dir / target.id;
    auto status = read_status(dir / "status.json");
    // A failure this worker could not record, while its status.json is as it was then (an earlier stage's
    // record, or none); another worker may since have run the target: its status.json then says what is true.
    if (const auto failure = unrecorded_failures_.find(target.id); failure != unrecorded_failures_.end()) {
      std::error_code exists_error;
      const bool exists = fs::is_regular_file(dir / "status.json", exists_error);
      if ((exists ? file_checksum(dir / "status.json") : std::string()) == failure->second.second) {
        status["status"] = "failed";
        status["failed"] = failure->second.first;
      }
    }
    std::string state = status.value("status", "pending");
    std::string reason;
    std::string kind;  // input, memory, runtime: which failures a rerun retries
    if (status.contains("failed")) {
      reason = status["failed"].value("reason", "");
      kind = status["failed"].value("kind", "");
    }
    // "running" only while a live worker holds the target: a lock its worker left when killed (SIGKILL, OOM, a lost
    // node) says so instead, until the next worker of its shard takes it over.
    if (state != "done" && state != "failed") {
      if (locks_->held_by_live_worker(target.id)) {
        state = "running";
      } else if (std::error_code error; fs::exists(options_.output_dir / ".locks" / (target.id + ".lock"), error)) {
        reason = "its worker is gone (killed or its node lost); the next run of its shard takes it over";
      }
    }
    if (state != "done" && state != "failed" && state != "running" && reason.empty()) {
      if (status.contains("waiting"))
        reason = "no finished MSA stage with these inputs and options: run kfold batch --stage msa first";
      else
        reason = stopped_shards.reason(shard_of_[t]);
    }
    std::replace_if(
        reason.begin(), reason.end(), [](char c) { return c == '\t' || c == '\n'; }, ' ');
    const std::string best = status.contains("predict") ? status["predict"].value("best_model", "") : "";
    std::string row = fmt::format(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", target.id,
        target.sequence.empty() ? std::string() : std::to_string(target.sequence.size()),  // unreadable: no length
        number(status, "msa", "depth", "{:.0f}"), number(status, "msa", "neff", "{:.1f}"), best,
        number(status, "predict", "mean_plddt", "{:.2f}"), number(status, "predict", "ptm", "{:.4f}"), state, reason,
        number(status, "msa", "seconds", "{:.1f}"), number(status, "predict", "seconds", "{:.1f}"),
        number(status, "predict", "num_residue_violations", "{:.0f}"), kind,
        number(status, "predict", "iptm", "{:.4f}"));
    text += row;
    // Final unless this worker runs the target again (run_target clears it). Not msa_done: a predict-stage worker
    // may finish the target meanwhile, and this worker's last summary would turn it back into msa_done.
    if (state == "done") done_rows_[t] = std::move(row);
  }
  if (force) {
    data::write_file_atomic(path, text);
    return;
  }
  try {  // a periodic summary that cannot be written (a full disk) must not stop the targets; the last one says
    data::write_file_atomic(path, text);
  } catch (const Interrupted&) {
    throw;
  } catch (const Error& e) {
    log_warn("{} (the summary is written again as targets finish)", e.what());
  }
}

// Stops this worker once one stage failed --max-consecutive-failures times in a row with a runtime error: a broken
// GPU, a full local disk or a lost mount would otherwise fail every target left in its shard within minutes (runtime
// failures are retried by the next run; the rest of the shard is left to it or to sibling workers).
void BatchRunner::stop_if_failing_in_a_row() {
  const int64_t limit = options_.max_consecutive_failures;
  const auto broken = std::find_if(runtime_failures_.begin(), runtime_failures_.end(),
                                   [&](const auto& stage) { return limit > 0 && stage.second.count >= limit; });
  if (broken == runtime_failures_.end()) return;
  try {
    StoppedShards(options_.output_dir, options_.shard_count)
        .record(stage_name(options_.stage), options_.shard_index,
                fmt::format("not run: the worker of its shard ({}) stopped after {} runtime failures of the {} stage "
                            "in a row; the next run takes it",
                            data::LockDirectory::owner_text(), broken->second.count, broken->first));
    write_summary(true);
  } catch (const Interrupted&) {
    throw;
  } catch (const std::exception& e) {
    log_warn("{}", e.what());
  }
  fail_runtime(
      "batch: the {} stage of {} targets in a row failed with a runtime error on this worker (the last, {}); it stops "
      "here: the node, its GPU or its disk looks broken. Its failed targets are retried by the next run (on another "
      "node, or once the cause is fixed); --max-consecutive-failures 0 never stops",
      broken->first, broken->second.count, broken->second.last);
}

BatchReport BatchRunner::run() {
  targets_ = read_batch_targets(options_.input);
  if (options_.stage != BatchStage::msa) {
    models_.emplace(options_.predict);  // checks presets, configs and parameter files; loads nothing yet
    models_key_ = models_stage_key(options_, models_->names());
  }
  if (!options_.db.empty() && options_.stage != BatchStage::predict) msa::check_search_options(options_.search);
  // A bad database stops the batch here (exit 2), not every target one by one (in --stage predict it is part of
  // the MSA stage's key: every target would wait for a stage that cannot run).
  db_ = open_batch_db(options_);
  // (--stage predict reads what an earlier MSA stage made.)
  if (options_.db.empty() && options_.msa_dir.empty() && options_.stage != BatchStage::predict)
    log_warn(
        "no --db or --msa-dir: every target gets single-sequence features (predictions will be much less "
        "accurate)");
  data::ensure_directory(options_.output_dir);
  check_case_distinct_ids(targets_, options_.output_dir);
  // summary.tsv's temporary files that a killed worker left (another worker may be writing one now).
  data::remove_old_temp_files(options_.output_dir, options_.lock_stale_after);
  locks_ = std::make_unique<data::LockDirectory>(options_.output_dir / ".locks", options_.lock_stale_after);

  const auto mine = shard_targets(targets_, options_.shard_index, options_.shard_count);
  shard_of_ = target_shards(targets_, options_.shard_count);
  StoppedShards(options_.output_dir, options_.shard_count)
      .clear(stage_name(options_.stage), options_.shard_index);  // worked on again
  BatchReport report;
  report.targets = static_cast<int64_t>(mine.size());
  log_info("batch: {} targets in {}, {} in shard {}/{}", targets_.size(), options_.input.string(), mine.size(),
           options_.shard_index, options_.shard_count);
  // More shards than targets leave some empty (fine); an array job whose tasks each have their own input
  // file shards it again by the SLURM variables and does nothing: say so.
  if (mine.empty() && !targets_.empty())
    log_warn(
        "batch: shard {}/{} holds none of the {} targets, nothing to do here (fine when there are more shards than "
        "targets; when each array task has its own input, pass --shard 0/1)",
        options_.shard_index, options_.shard_count, targets_.size());
  const auto cost = [&](int64_t i) {
    const auto n = static_cast<double>(targets_[static_cast<size_t>(i)].sequence.size());
    return std::max(1.0, n * n);
  };
  double remaining_cost = 0, computed_cost = 0;
  for (const int64_t i : mine) remaining_cost += cost(i);
  const auto start = Clock::now();
  std::vector<int64_t> busy;
  for (const int64_t i : mine) {
    const auto& target = targets_[static_cast<size_t>(i)];
    remaining_cost -= cost(i);
    auto lock = locks_->try_lock(target.id);
    if (!lock) {
      busy.push_back(i);
      continue;
    }
    const int64_t stages_before = stages_run_;
    run_target(target, report, lock->took_over_stale());
    lock.reset();
    stop_if_failing_in_a_row();
    if (stages_run_ > stages_before) computed_cost += cost(i);
    write_summary(false);
    const double eta = computed_cost > 0 ? seconds_since(start) / computed_cost * remaining_cost : 0;
    log_info("batch: {}{}", progress(report), computed_cost > 0 ? fmt::format(", ETA {:.0f} s", eta) : "");
  }
  // Targets another worker held: take each once its owner has finished it (then it is skipped as done) or has gone
  // (then it runs here); without wait_for_busy leave the ones still held to their owner.
  const auto poll = std::clamp<std::chrono::seconds>(options_.lock_stale_after / 20, std::chrono::seconds(1),
                                                     std::chrono::seconds(5));
  auto last_said = Clock::now();
  for (bool first = true; !busy.empty(); first = false) {
    if (!first) std::this_thread::sleep_for(poll);
    if (!first && Clock::now() - last_said >= std::chrono::minutes(5)) {  // a job log that says it is alive
      last_said = Clock::now();
      log_info("batch: waiting for {} target(s) other workers hold ({} finished here)", busy.size(),
               report.done + report.failed + report.waiting);
    }
    std::vector<int64_t> still_held;
    for (const int64_t i : busy) {
      const auto& target = targets_[static_cast<size_t>(i)];
      if (auto lock = locks_->try_lock(target.id)) {
        run_target(target, report, lock->took_over_stale());
        lock.reset();
        stop_if_failing_in_a_row();
        log_info("batch: {}", progress(report));
      } else {
        if (first || !options_.wait_for_busy)
          log_warn("{}: {} another worker: {}", target.id, options_.wait_for_busy ? "waiting for" : "left to",
                   locks_->holder_text(target.id));
        still_held.push_back(i);
      }
    }
    busy = std::move(still_held);
    if (!options_.wait_for_busy) break;
    write_summary(false);
  }
  report.busy = static_cast<int64_t>(busy.size());
  write_summary(true);
  return report;
}

}  // namespace

BatchReport run_batch(const BatchOptions& options) { return BatchRunner(options).run(); }

}  // namespace kfold::pipelines
