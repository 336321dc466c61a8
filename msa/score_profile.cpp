// Building position-specific score tables from a sequence.
#include "msa/score_profile.hpp"

#include <algorithm>

namespace kfold::msa {

ScoreProfile make_sequence_profile(std::string_view residues, const SubstitutionMatrix& matrix) {
  ScoreProfile profile;
  profile.n_res = static_cast<int64_t>(residues.size());
  encode_residues(residues, profile.codes);
  profile.scores.resize(static_cast<size_t>(profile.n_res * kAlphabetSize));
  int32_t lo = 127;
  int32_t hi = -128;
  for (int64_t i = 0; i < profile.n_res; ++i) {
    const auto& row = matrix[profile.codes[static_cast<size_t>(i)]];
    std::copy(row.begin(), row.end(), profile.scores.begin() + i * kAlphabetSize);
    for (const int8_t s : row) {
      lo = std::min<int32_t>(lo, s);
      hi = std::max<int32_t>(hi, s);
    }
  }
  profile.min_score = profile.n_res > 0 ? lo : 0;
  profile.max_score = profile.n_res > 0 ? hi : 0;
  return profile;
}

void mask_profile_positions(ScoreProfile& profile, std::span<const uint8_t> mask, const SubstitutionMatrix& matrix) {
  if (mask.empty()) return;
  const auto& x_row = matrix[kCodeX];
  for (int64_t i = 0; i < profile.n_res; ++i)
    if (mask[static_cast<size_t>(i)] != 0)
      std::copy(x_row.begin(), x_row.end(), profile.scores.begin() + i * kAlphabetSize);
  if (profile.n_res == 0) return;
  const auto [lo, hi] = std::minmax_element(profile.scores.begin(), profile.scores.end());
  profile.min_score = *lo;
  profile.max_score = *hi;
}

}  // namespace kfold::msa
