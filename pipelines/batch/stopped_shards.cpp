// StoppedShards (pipelines/batch/stopped_shards.hpp).
#include "pipelines/batch/stopped_shards.hpp"

#include <fmt/format.h>

#include <system_error>

#include "data/atomic_output.hpp"
#include "data/text_input.hpp"

namespace kfold::pipelines {

StoppedShards::StoppedShards(std::filesystem::path output_dir, int64_t shard_count)
    : output_dir_(std::move(output_dir)), shard_count_(shard_count) {}

std::filesystem::path StoppedShards::path(const std::string& stage, int64_t shard) const {
  return output_dir_ / fmt::format(".stopped-{}-shard-{}-of-{}", stage, shard, shard_count_);
}

void StoppedShards::record(const std::string& stage, int64_t shard, const std::string& reason) const {
  data::write_file_atomic(path(stage, shard), reason + "\n");
}

void StoppedShards::clear(const std::string& stage, int64_t shard) const {
  std::error_code error;
  std::filesystem::remove(path(stage, shard), error);
}

const std::string& StoppedShards::reason(int64_t shard) {
  const auto known = read_.find(shard);
  if (known != read_.end()) return known->second;
  std::string text;
  for (const char* stage : {"all", "predict", "msa"}) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(path(stage, shard), error)) continue;  // no such worker stopped early
    text = data::read_text_file(path(stage, shard));
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (!text.empty()) break;
  }
  return read_.emplace(shard, std::move(text)).first->second;
}

}  // namespace kfold::pipelines
