// `kfold batch INPUT -o DIR`: many targets, resumable and sharded (pipelines/batch/batch_run.hpp).
#include <fmt/format.h>

#include <charconv>
#include <cstdlib>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

#include "data/error.hpp"
#include "data/interrupt.hpp"
#include "data/lock_directory.hpp"
#include "data/log.hpp"
#include "pipelines/batch/batch_run.hpp"
#include "pipelines/batch/batch_targets.hpp"
#include "pipelines/cli/commands.hpp"
#include "pipelines/cli/model_options.hpp"
#include "pipelines/cli/search_options.hpp"
#include "pipelines/cli/template_options.hpp"

namespace kfold::cli {
namespace {

// Exit code 3: the batch ran, but some targets failed or could not run (see DIR/summary.tsv).
constexpr int kSomeTargetsFailed = 3;
// Exit code 4 (--no-wait): nothing failed, but targets other workers hold were left to them, not seen done.
constexpr int kLeftToOthers = 4;

struct BatchCliOptions {
  pipelines::BatchOptions batch;
  ModelCliOptions model;
  TemplateCliOptions templates;
  SearchCliOptions search;
  std::string input, output, db, msa_dir, stage = "all", shard;
  int64_t lock_timeout = 600;
};

// The shard of a SLURM array task. KFOLD_SHARDS=N: the task's id itself of N (array ids 0..N-1), so that
// a resubmission of some tasks (--array=7,42) runs their original shards. Otherwise the id minus the
// array's first id, of its task count; an array whose ids are not contiguous, or one task of id > 0 (a
// partial resubmission), needs KFOLD_SHARDS.
std::pair<int64_t, int64_t> shard_from_slurm(const char* id) {
  auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
  };
  // Every SLURM number is a whole number: one that is not (a script's typo) must not read as 0 (shard 0).
  const auto number = [](const char* name, const std::string& text) {
    long value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 0)
      fail_input("{}='{}': not a whole number >= 0; set it as SLURM does, or pass --shard I/N", name, text);
    return value;
  };
  const long task = number("SLURM_ARRAY_TASK_ID", id);
  if (const std::string shards = env("KFOLD_SHARDS"); !shards.empty()) {
    // An array whose ids reach N (--array=1-N) is numbered from 1: its tasks 1..N-1 would run their shards while
    // shard 0 never runs and task N fails. Every task refuses it, so that none runs a part of the batch.
    long n_shards = 0;
    const std::string max = env("SLURM_ARRAY_TASK_MAX");
    if (std::from_chars(shards.data(), shards.data() + shards.size(), n_shards).ec == std::errc() && n_shards > 0 &&
        !max.empty() && number("SLURM_ARRAY_TASK_MAX", max) >= n_shards)
      fail_input(
          "KFOLD_SHARDS={} takes SLURM array ids 0..{}, and this array's ids reach {} (SLURM_ARRAY_TASK_MAX): submit "
          "--array=0-{}, or unset KFOLD_SHARDS (the array's ids, from any first one, are then its shards)",
          shards, n_shards - 1, max, n_shards - 1);
    const auto shard =
        pipelines::parse_shard(fmt::format("{}/{}", id, shards), "shard from SLURM_ARRAY_TASK_ID/KFOLD_SHARDS");
    // An array of ids 0..M-1, M > 1 tasks, is what a new submission looks like: with another N (a KFOLD_SHARDS left
    // exported from an earlier batch) the shards M..N-1 never run. A resubmission of tasks 0..M-1 looks the same,
    // hence a warning.
    long tasks = 0;
    const std::string count = env("SLURM_ARRAY_TASK_COUNT");
    const auto [end, error] = std::from_chars(count.data(), count.data() + count.size(), tasks);
    if (error == std::errc() && end == count.data() + count.size() && tasks > 1 && tasks != shard.second &&
        env("SLURM_ARRAY_TASK_MIN") == "0" && env("SLURM_ARRAY_TASK_MAX") == std::to_string(tasks - 1))
      log_warn(
          "KFOLD_SHARDS={} with an array of ids 0..{}: each task runs the shard of its id of {} (right when these "
          "tasks are resubmitted; for a new array of {} tasks, a KFOLD_SHARDS left exported from an earlier batch, "
          "unset it: the ids 0..{} together run every target)",
          shards, tasks - 1, shard.second, tasks, shard.second - 1);
    return shard;
  }
  const std::string count = env("SLURM_ARRAY_TASK_COUNT");
  if (count.empty()) fail_input("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard I/N");
  const std::string min = env("SLURM_ARRAY_TASK_MIN");
  const std::string max = env("SLURM_ARRAY_TASK_MAX");
  const long n_tasks = number("SLURM_ARRAY_TASK_COUNT", count);
  const long first = min.empty() ? 0 : number("SLURM_ARRAY_TASK_MIN", min);
  if (!min.empty() && !max.empty() && number("SLURM_ARRAY_TASK_MAX", max) - first + 1 != n_tasks)
    fail_input(
        "SLURM array ids {}..{} are not contiguous ({} tasks), as after resubmitting some tasks: set "
        "KFOLD_SHARDS=N, the first submission's task count (its array ids 0..N-1), or pass --shard I/N",
        min, max, count);
  // One task of id > 0 is most likely one task of an array resubmitted (--array=3): as shard 0/1 it would take
  // every target, under a time limit meant for one shard.
  if (n_tasks == 1 && task != 0)
    fail_input(
        "SLURM array task {} is its array's only task, as after resubmitting one task: set KFOLD_SHARDS=N, the "
        "first submission's task count (its array ids 0..N-1), or pass --shard I/N (--shard 0/1: every target)",
        id);
  // Array ids may start at any number (--array=1-100): shift by SLURM_ARRAY_TASK_MIN.
  const long index = task - first;
  return pipelines::parse_shard(fmt::format("{}/{}", index, count), "shard from SLURM_ARRAY_TASK_ID/COUNT");
}

void run_batch_command(BatchCliOptions& o) {
  // Batch state is resumable at any instant (atomic files, status.json last), and a scheduler's SIGKILL
  // follows its SIGTERM within seconds: the locks' handlers free the held locks and stop at once
  // (data/lock_directory.cpp) instead of waiting for a safe point.
  remove_interrupt_handlers();
  data::LockDirectory::release_locks_on_signals();
  check_interrupt();  // a signal that came before the handlers were removed stops the batch before any work
  auto& b = o.batch;
  b.input = o.input;
  b.output_dir = o.output;
  b.db = o.db;
  b.msa_dir = o.msa_dir;
  if (!b.msa_dir.empty() && !std::filesystem::is_directory(b.msa_dir))
    fail_input("--msa-dir {}: not a folder (it should hold <id>.a3m files)", o.msa_dir);
  b.stage = o.stage == "msa"       ? pipelines::BatchStage::msa
            : o.stage == "predict" ? pipelines::BatchStage::predict
                                   : pipelines::BatchStage::all;
  if (!o.shard.empty()) {
    std::tie(b.shard_index, b.shard_count) = pipelines::parse_shard(o.shard, "--shard");
  } else if (const char* id = std::getenv("SLURM_ARRAY_TASK_ID"); id != nullptr && *id != '\0') {
    std::tie(b.shard_index, b.shard_count) = shard_from_slurm(id);
  }
  // --stage predict without --db takes whatever MSA the MSA stage left: the search options (which
  // scripts/slurm/submit.sh passes to both stages) change nothing there, so they are not refused.
  const bool search_unused = b.stage == pipelines::BatchStage::predict && o.db.empty();
  if (search_unused && !o.search.first_given().empty())
    log_info("{} is an option of the MSA stage's search; --stage predict without --db does not use it",
             o.search.first_given());
  b.search = search_unused ? search_options(SearchCliOptions{}, "") : search_options(o.search, o.db);
  if (o.lock_timeout < 10) fail_input("--lock-timeout {}: must be at least 10 seconds", o.lock_timeout);
  // (--max-length -5 ran as 0, no limit; CLI11's NonNegativeNumber said "not in range 0.000000 to" and DBL_MAX's
  // 309 digits)
  if (b.max_length < 0) fail_input("--max-length {}: must be 0 (no limit) or a residue count", b.max_length);
  if (b.max_consecutive_failures < 0)
    fail_input("--max-consecutive-failures {}: must be 0 (never stop) or more", b.max_consecutive_failures);
  b.lock_stale_after = std::chrono::seconds(o.lock_timeout);
  b.search.threads = apply_model_options(o.model, b.predict);
  // (checked with the models too; here for --stage msa, which builds none: its --seed went unchecked)
  if (b.predict.seed < 0) fail_input("--seed {}: must be 0 or more", b.predict.seed);
  // Without --msa-dir either, every target takes the MSA stage's templates too: the template options are not
  // used, nor their files looked for (a GPU node need not see the PDB mirror).
  if (search_unused && o.msa_dir.empty() && !o.templates.db.empty())
    log_info(
        "--template-db is an option of the MSA stage; --stage predict without --db or --msa-dir takes the "
        "templates that stage found");
  else
    b.predict.templates = template_search_options(o.templates);
  const auto report = pipelines::run_batch(b);
  fmt::print("targets {}\tdone {}\tfailed {}\tbusy {}\twaiting {}\n", report.targets, report.done, report.failed,
             report.busy, report.waiting);
  if (report.failed > 0 || report.waiting > 0)
    throw Error(fmt::format("{} of {} targets failed and {} wait for the MSA stage; reasons in {}/summary.tsv{}",
                            report.failed, report.targets, report.waiting, o.output,
                            report.failed_before > 0
                                ? fmt::format(" ({} failed in an earlier run with these inputs and options and were "
                                              "not tried again: once the cause is fixed, --retry-failed tries them)",
                                              report.failed_before)
                                : ""),
                kSomeTargetsFailed);
  if (report.busy > 0)
    throw Error(fmt::format("{} of {} targets were left to the other workers that hold them (--no-wait); run the "
                            "same command again once they have ended to see them done",
                            report.busy, report.targets),
                kLeftToOthers);
}

}  // namespace

void add_batch_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("batch", "Many targets: resumable, sharded MSA and predict stages, one summary");
  auto o = std::make_shared<BatchCliOptions>();
  cmd->add_option("INPUT", o->input, "A folder of FASTA files, one multi-FASTA, or a CSV of id,sequence rows")
      ->required();
  cmd->add_option("-o,--output", o->output, "Output folder: DIR/<id>/ per target, DIR/summary.tsv")->required();
  cmd->add_option("--stage", o->stage, "all, msa (CPU nodes: MSAs only) or predict (GPU nodes: reuse the MSAs)")
      ->check(CLI::IsMember({"all", "msa", "predict"}))
      ->default_val("all");
  cmd->add_option("--shard", o->shard,
                  "Work on shard I of N (0-based), balanced by length (default in a SLURM array task: "
                  "SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT, or SLURM_ARRAY_TASK_ID of "
                  "$KFOLD_SHARDS when set; else 0/1)");
  cmd->add_option("--db", o->db, "Search this database (kfold db create, or FASTA) for each target's MSA");
  cmd->add_option("--msa-dir", o->msa_dir,
                  "Precomputed MSAs: <id>.a3m (.a3m.gz, .sto, .sto.gz, or colabfold_search's name of the whole header) "
                  "here is used instead of a search");
  add_search_options(*cmd, o->search);
  cmd->add_option(
         "--max-length", o->batch.max_length,
         "Longer targets fail with that reason (one complete with this run's options stays done); 0 = no limit")
      ->capture_default_str();
  cmd->add_flag("--retry-failed", o->batch.retry_failed,
                "Run again the targets that failed with the same inputs (input failures, and stages whose workers died "
                "twice: kind crash; memory and runtime failures are retried anyway)");
  cmd->add_option("--max-consecutive-failures", o->batch.max_consecutive_failures,
                  "Stop this worker (exit 1) when a stage (msa or predict) fails with a runtime error N times in a "
                  "row (a broken GPU, a full disk: every target left would fail); those targets are retried by the "
                  "next run. Memory failures and targets that failed so before do not count; 0 = never")
      ->capture_default_str();
  cmd->add_flag_callback(
      "--no-wait", [o] { o->batch.wait_for_busy = false; },
      "Leave targets that other workers hold to them (exit 4) instead of waiting until they are done or their "
      "worker is gone");
  cmd->add_option(
         "--lock-timeout", o->lock_timeout,
         "Seconds without a heartbeat after which a lock of another host (or container) on a target is taken over")
      ->capture_default_str();
  add_template_options(*cmd, o->templates);
  add_model_options(*cmd, o->model);
  cmd->footer(
      "Each target gets DIR/<id>/ with the files of kfold predict, plus query.fasta, msas/, status.json and\n"
      "stages.log. A stage is skipped when its inputs, options and parameters are unchanged; kill the batch at\n"
      "any moment and run the same command again to finish it. Several workers (shards, or the same shard on\n"
      "several GPUs with --device cuda:N) may share DIR: a lock per target keeps them apart.\n"
      "A target another worker holds is waited for: done by it, or taken over once that worker is gone\n"
      "(--lock-timeout for another host); --no-wait leaves it. Exit codes: 0 every target done, 3 some failed\n"
      "or wait for the MSA stage (see DIR/summary.tsv), 4 (--no-wait) some left to other workers, 2 bad input\n"
      "or options, 1 runtime failure (also: --max-consecutive-failures reached). The template search\n"
      "(--template-db) runs in the MSA stage and keeps DIR/<id>/templates.h5 for the predict stage.\n\n"
      "Examples:\n"
      "  kfold batch targets.fasta --db dbs/uniref50 --params ~/af2/params -o out\n"
      "  kfold batch targets.csv --stage msa --db dbs/uniref50 --threads 16 -o out     # CPU nodes\n"
      "  kfold batch targets.csv --stage predict --device cuda:0 -o out                # GPU nodes\n"
      "  kfold batch fastas/ --shard 3/100 --models model_1_ptm -o out\n"
      "  kfold batch data/examples/batch_targets.csv --random-weights --models model_1_ptm \\\n"
      "      --config data/examples/small_model.json -o out/batch");
  cmd->callback([&action, o] { action = [o] { run_batch_command(*o); }; });
}

}  // namespace kfold::cli
