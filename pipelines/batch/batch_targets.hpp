// The targets of a batch (a folder of FASTA files, one multi-FASTA, or a CSV `id,sequence`) and their
// deterministic split into shards balanced by sequence length.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kfold::pipelines {

struct BatchTarget {
  std::string id;           // output folder name: DIR/<id>/
  std::string sequence;     // uppercase one-letter codes
  std::string source;       // "file:line" of the record, for messages
  std::string problem;      // why the target cannot run (bad letters, no residues); empty when fine
  std::string description;  // a FASTA header's words after the id (written to DIR/<id>/query.fasta); CSV: none
};

// Reads every target of `input`, in input order. A target with bad residues is kept with its `problem`
// set (the batch records it as failed and goes on); an unreadable input, a duplicate id or no target at
// all is an InputError naming the file and line.
std::vector<BatchTarget> read_batch_targets(const std::filesystem::path& input);

// InputError when two targets' ids differ in letter case only and `output_dir` is on a file system that ignores
// case (their folders would be one); elsewhere such ids are two folders and pass.
void check_case_distinct_ids(const std::vector<BatchTarget>& targets, const std::filesystem::path& output_dir);

// "I/N" (0-based I < N) into {I, N}; InputError naming `what` otherwise.
std::pair<int64_t, int64_t> parse_shard(const std::string& text, const std::string& what);

// The targets of shard `index` of `count`: longest first, each goes to the shard with the least total
// cost (length squared) so far, ties to the lowest shard; the same inputs always give the same split.
// Returns indices into `targets`, sorted by length then id.
std::vector<int64_t> shard_targets(const std::vector<BatchTarget>& targets, int64_t index, int64_t count);

// [targets] the shard of `count` that each target belongs to, by shard_targets' rule.
std::vector<int64_t> target_shards(const std::vector<BatchTarget>& targets, int64_t count);

}  // namespace kfold::pipelines
