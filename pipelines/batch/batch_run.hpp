// `kfold batch`: many targets through the MSA stage (CPU) and the predict stage (CPU or GPU), each
// stage cached by a key of its inputs, resumable after a kill, sharded over array jobs, with a lock per
// target so several workers can share one output folder.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "msa/search.hpp"
#include "pipelines/predict/predict_options.hpp"

namespace kfold::pipelines {

enum class BatchStage { all, msa, predict };

struct BatchOptions {
  std::filesystem::path input;       // folder of FASTA files, multi-FASTA, or CSV id,sequence
  std::filesystem::path output_dir;  // DIR/<id>/ per target, DIR/summary.tsv
  BatchStage stage = BatchStage::all;
  int64_t shard_index = 0;
  int64_t shard_count = 1;

  // MSA stage: <id>.a3m (or .sto) from msa_dir when present, else a search of `db`, else none
  // (single-sequence features).
  std::filesystem::path db;
  std::filesystem::path msa_dir;
  msa::SearchOptions search;

  int64_t max_length = 0;     // longer targets fail with that reason; 0: no limit
  bool retry_failed = false;  // rerun targets that failed before with the same inputs
  std::chrono::seconds lock_stale_after{600};
  // Targets another worker holds are waited for (it finishes them, or dies and they are taken over), so that
  // a worker that returns has seen every target of its shard end; false: they are left to it (counted busy).
  bool wait_for_busy = true;
  // This worker stops (RuntimeError, exit 1) once a stage failed this many times in a row with a runtime error,
  // none of that stage completing in between: a broken GPU, a full local disk or a lost mount fails target after
  // target. A target that failed so before (same stage and inputs) does not count: each rerun gets further. Memory
  // failures do not count (a shard's longest targets may all need more than a GPU has). 0: never.
  int64_t max_consecutive_failures = 10;

  // The models and their options (query, msas, db, features and output_dir are set per target).
  PredictOptions predict;
};

struct BatchReport {
  int64_t targets = 0;        // in this shard
  int64_t done = 0;           // complete for the requested stage (now or before)
  int64_t failed = 0;         // recorded failures (now or before)
  int64_t failed_before = 0;  // of `failed`: an input or crash failure of an earlier run with these inputs
  int64_t busy = 0;           // locked by another live worker, left to it (wait_for_busy false)
  int64_t waiting = 0;        // --stage predict without a finished MSA stage
};

// Runs this shard's targets in order of length; the models load once. Never throws for one target's
// failure (it is recorded in DIR/<id>/status.json and summary.tsv); throws InputError for a bad
// input list or options, before any work.
BatchReport run_batch(const BatchOptions& options);

}  // namespace kfold::pipelines
