// The output folder name of a target (DIR/<id>/), from a FASTA id or a file stem. Header-only and
// torch-free, so the batch manifest reader (and its fuzz harness) can use it without the model.
#pragma once

#include <cstddef>
#include <string>

#include "data/file_stem.hpp"

namespace kfold::pipelines {

// The longest id (data/file_stem.hpp).
inline constexpr size_t kMaxTargetIdLength = data::kMaxFileStemLength;

// data::file_stem_of(text), or "target" for a text that names no file.
inline std::string target_id_from(const std::string& text) {
  std::string id = data::file_stem_of(text);
  return id.empty() ? "target" : id;
}

}  // namespace kfold::pipelines
