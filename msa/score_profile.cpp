// Position-specific score tables from a sequence; masking and local composition-bias shifts of them.
#include "msa/score_profile.hpp"

#include <algorithm>
#include <cmath>

#include "msa/pssm.hpp"

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

void correct_local_composition_bias(ScoreProfile& profile, std::span<const uint8_t> mask, int64_t half_window) {
  const auto& background = background_frequencies();
  const int64_t n = profile.n_res;
  const auto masked = [&](int64_t i) { return !mask.empty() && mask[static_cast<size_t>(i)] != 0; };
  std::vector<int8_t> shift(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    if (masked(i)) continue;
    const int8_t* row = profile.row(i);
    double expected = 0.0;
    for (int64_t a = 0; a < 20; ++a) expected += background[static_cast<size_t>(a)] * row[a];
    double sum = 0.0;
    int64_t count = 0;
    for (int64_t j = std::max<int64_t>(0, i - half_window); j < std::min(n, i + half_window + 1); ++j) {
      const uint8_t c = profile.codes[static_cast<size_t>(j)];
      if (j == i || c >= 20 || masked(j)) continue;
      sum += row[c];
      ++count;
    }
    if (count > 0) shift[static_cast<size_t>(i)] = static_cast<int8_t>(std::lround(expected - sum / count));
  }
  for (int64_t i = 0; i < n; ++i) {
    int8_t* row = profile.scores.data() + i * kAlphabetSize;
    for (int64_t a = 0; a < kAlphabetSize; ++a)
      row[a] = static_cast<int8_t>(std::clamp<int32_t>(row[a] + shift[static_cast<size_t>(i)], -127, 127));
  }
  if (n == 0) return;
  const auto [lo, hi] = std::minmax_element(profile.scores.begin(), profile.scores.end());
  profile.min_score = *lo;
  profile.max_score = *hi;
}

}  // namespace kfold::msa
