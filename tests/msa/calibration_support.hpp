// What the E-value calibration tests share: sequences drawn from BLOSUM62's background (Robinson & Robinson)
// frequencies, and search options under which every database sequence reaches the gapped alignment.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "msa/pssm.hpp"
#include "msa/search.hpp"

namespace kfold::test {

inline const std::string kAminoAcidLetters = "ARNDCQEGHILKMFPSTWYV";  // msa's code order

// Draws residues of the background frequencies from `rng`.
class BackgroundSequences {
 public:
  BackgroundSequences() : residue_(msa::background_frequencies().begin(), msa::background_frequencies().end()) {}
  std::string operator()(std::mt19937_64& rng, int64_t length) {
    std::string s(static_cast<size_t>(length), 'A');
    for (char& c : s) c = kAminoAcidLetters[static_cast<size_t>(residue_(rng))];
    return s;
  }

 private:
  std::discrete_distribution<int> residue_;
};

// Two threads, E <= 10, and a prefilter that hides no chance hit (T 11, no ungapped score needed, every
// candidate kept): the hits are what the statistics say of every sequence.
inline msa::SearchOptions exhaustive_search_options() {
  msa::SearchOptions options;
  options.threads = 2;
  options.evalue = 10.0;
  options.max_seqs = 100000;
  options.prefilter.word_threshold = 11;
  options.prefilter.min_ungapped_score = 0;
  options.prefilter.max_candidates = 100000;
  return options;
}

}  // namespace kfold::test
