// The key of a batch stage: a 64-bit FNV-1a hash of everything the stage's output depends on (inputs,
// options, parameter files), stored beside the output so an unchanged stage is skipped on a rerun.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace kfold::pipelines {

// The name of a file or folder without the folders it is in ("uniref50" of "/scratch/job/uniref50/"): a copy
// staged to node-local scratch (`cp -p`, `rsync -a` keep size and mtime) keeps the keys it is part of.
std::string staged_name(const std::filesystem::path& path);

class StageKey {
 public:
  // `field` names what follows, so ("a", "bc") and ("ab", "c") hash differently.
  StageKey& add(std::string_view field, std::string_view value);
  StageKey& add(std::string_view field, double value);
  StageKey& add(std::string_view field, int64_t value);
  // The bytes of a file (MSAs, config files); a missing file hashes as "missing".
  StageKey& add_file_content(std::string_view field, const std::filesystem::path& path);
  // Bytes read from a file already (a pipe's, which cannot be read twice): the key add_file_content gives them.
  StageKey& add_file_bytes(std::string_view field, std::string_view bytes);
  // Name, size and modification time of a file or of every file in a folder (databases, parameters:
  // too large to read on every run); not the folder it is in, so that a staged copy has the same key.
  StageKey& add_file_identity(std::string_view field, const std::filesystem::path& path);

  std::string hex() const;  // 16 hex digits

 private:
  void mix(std::string_view bytes);
  // FNV-1a's offset basis is 14695981039346656037; this one lost a digit when it was written. It stays: every
  // batch folder's stage keys were made with it, and another start value would make all of them stale.
  uint64_t state_ = 1469598103934665603ULL;
};

}  // namespace kfold::pipelines
