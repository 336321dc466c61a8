// Plain reference implementations for the msa tests: full-matrix Smith-Waterman-Gotoh written
// independently of msa/, random sequences and mutated copies.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "msa/alphabet.hpp"

namespace kfold::test {

// Best local score with affine gaps (gap of k costs open + k * extend), three full matrices.
inline int32_t reference_sw(const std::string& a, const std::string& b, int32_t open, int32_t extend) {
  const auto& m = msa::blosum62();
  const size_t n = a.size(), k = b.size();
  const int32_t neg = -1000000;
  std::vector<std::vector<int32_t>> h(n + 1, std::vector<int32_t>(k + 1, 0));
  auto e = std::vector<std::vector<int32_t>>(n + 1, std::vector<int32_t>(k + 1, neg));
  auto f = e;
  int32_t best = 0;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= k; ++j) {
      e[i][j] = std::max(e[i][j - 1] - extend, h[i][j - 1] - open - extend);
      f[i][j] = std::max(f[i - 1][j] - extend, h[i - 1][j] - open - extend);
      const int32_t s = m[msa::residue_code(a[i - 1])][msa::residue_code(b[j - 1])];
      h[i][j] = std::max({0, h[i - 1][j - 1] + s, e[i][j], f[i][j]});
      best = std::max(best, h[i][j]);
    }
  }
  return best;
}

inline std::string random_protein(std::mt19937_64& rng, int64_t length) {
  static const std::string letters = "ARNDCQEGHILKMFPSTWYV";
  std::uniform_int_distribution<size_t> pick(0, letters.size() - 1);
  std::string s;
  for (int64_t i = 0; i < length; ++i) s.push_back(letters[pick(rng)]);
  return s;
}

// A copy of `s` where each residue is substituted with probability `sub` and indels of 1-3 residues
// occur with probability `indel` per position.
inline std::string mutate(std::mt19937_64& rng, const std::string& s, double sub, double indel) {
  static const std::string letters = "ARNDCQEGHILKMFPSTWYV";
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::uniform_int_distribution<size_t> pick(0, letters.size() - 1);
  std::uniform_int_distribution<int> len(1, 3);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (u(rng) < indel) {
      if (u(rng) < 0.5) {
        i += static_cast<size_t>(len(rng)) - 1;  // deletion
        continue;
      }
      for (int k = len(rng); k > 0; --k) out.push_back(letters[pick(rng)]);  // insertion
    }
    out.push_back(u(rng) < sub ? letters[pick(rng)] : s[i]);
  }
  return out;
}

}  // namespace kfold::test
