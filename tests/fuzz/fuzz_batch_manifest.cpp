// Fuzz harness: the inputs of kfold batch (pipelines/batch/batch_targets.hpp). The input is read as a
// CSV manifest (`id,sequence`), as a multi-FASTA, and as the one file of a folder input; targets read
// are split into shards, which must cover every target exactly once.
#include <algorithm>
#include <numeric>
#include <vector>

#include "data/error.hpp"
#include "fuzz_support.hpp"
#include "pipelines/batch/batch_targets.hpp"

namespace {

void check_shards(const std::vector<kfold::pipelines::BatchTarget>& targets) {
  for (const int64_t count : {1, 3}) {
    std::vector<int64_t> all;
    for (int64_t shard = 0; shard < count; ++shard) {
      const auto mine = kfold::pipelines::shard_targets(targets, shard, count);
      all.insert(all.end(), mine.begin(), mine.end());
    }
    std::sort(all.begin(), all.end());
    std::vector<int64_t> expected(targets.size());
    std::iota(expected.begin(), expected.end(), 0);
    if (all != expected) kfold::fuzz::finding("batch shards do not cover every target exactly once");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto csv = kfold::fuzz::write_scratch("batch/targets.csv", data, size);
  const auto fasta = kfold::fuzz::write_scratch("batch/targets.fasta", data, size);
  const auto folder_file = kfold::fuzz::write_scratch("batch/folder/target_1.fa", data, size);
  for (const auto& input : {csv, fasta, folder_file.parent_path()}) {
    try {
      check_shards(kfold::pipelines::read_batch_targets(input));
    } catch (const kfold::Error&) {
      // Rejected with a message naming file and line: what the reader should do with a bad manifest.
    }
  }
  return 0;
}
