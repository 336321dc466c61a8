// Why a shard's worker stopped early (--max-consecutive-failures), kept in the output folder as
// DIR/.stopped-STAGE-shard-I-of-N (ids never start with '.'; STAGE: --stage all, msa or predict), so that summary.tsv
// gives that reason for every target the worker left, whichever worker writes the summary (the other stage's job, a
// worker of another shard); removed when a worker of that stage and shard starts again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace kfold::pipelines {

class StoppedShards {
 public:
  StoppedShards(std::filesystem::path output_dir, int64_t shard_count);

  // Records why the worker of `stage` ("all", "msa", "predict") and `shard` stopped (throws Error when it cannot be
  // written: a full disk).
  void record(const std::string& stage, int64_t shard, const std::string& reason) const;
  // Removes that record (a worker of that stage and shard starts); never throws.
  void clear(const std::string& stage, int64_t shard) const;
  // The reason recorded for `shard` by a worker of any stage, "" when none; read once per shard and object.
  const std::string& reason(int64_t shard);

 private:
  std::filesystem::path path(const std::string& stage, int64_t shard) const;

  std::filesystem::path output_dir_;
  int64_t shard_count_;
  std::map<int64_t, std::string> read_;
};

}  // namespace kfold::pipelines
