// The output folder name of a target (DIR/<id>/), from a FASTA id or a file stem. Header-only and
// torch-free, so the batch manifest reader (and its fuzz harness) can use it without the model.
#pragma once

#include <cstddef>
#include <string>

namespace kfold::pipelines {

// The longest id: DIR/<id>/ and its lock DIR/.locks/<id>.lock.break, a given MSA <id>.sto.gz and the
// temporary name of msas/<id>.a3m (".<id>.a3m.tmp.<pid>.<n>") must stay within NAME_MAX (255 bytes).
inline constexpr size_t kMaxTargetIdLength = 200;

// Letters, digits, '-', '_' and '.' of a FASTA id or file stem; anything else becomes '_', and so does a
// leading '.'.
inline std::string target_id_from(const std::string& text) {
  std::string id;
  for (const char c : text) {
    const bool keep =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    id += keep ? c : '_';
  }
  if (id.empty() || id == "." || id == "..") id = "target";
  if (id.front() == '.') id.front() = '_';  // no hidden folders (and none like DIR/.locks)
  return id;
}

}  // namespace kfold::pipelines
