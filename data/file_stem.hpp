// The file or folder name an id (a FASTA id, a file stem) gives an output: kfold search's DIR/<id>.a3m,
// kfold predict's and kfold batch's DIR/<id>/. Header-only and torch-free (the batch manifest reader's fuzz
// harness compiles it alone).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kfold::data {

// The longest stem: DIR/<id>/ and its lock DIR/.locks/<id>.lock.break, a given MSA <id>.sto.gz and the
// temporary name of msas/<id>.a3m (".<id>.a3m.tmp.<pid>.<n>") must stay within NAME_MAX (255 bytes).
inline constexpr size_t kMaxFileStemLength = 200;

// Letters, digits, '-', '_' and '.' of `id`; anything else becomes '_', and so does a leading '.' (no hidden
// files: ../x gave .._x). "" for an id that names no file ("", ".", "..").
inline std::string file_stem_of(std::string_view id) {
  std::string stem;
  for (const char c : id) {
    const bool keep =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    stem += keep ? c : '_';
  }
  if (stem == "." || stem == "..") return "";
  if (!stem.empty() && stem.front() == '.') stem.front() = '_';
  return stem;
}

}  // namespace kfold::data
