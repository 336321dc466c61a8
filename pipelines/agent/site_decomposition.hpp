// The surrogate's evolutionary features: each model's score of a variant split into a site term and a
// residue term. The site term of a substitution at residue i is the mean score of the 19 substitutions at
// i (how much the family tolerates change there); the residue term is the rest (how the mutant compares
// with the other residues at that site). A multiple mutant sums its site terms; its residue term is its
// score minus that sum, so the two add up to the zero-shot score, couplings included. The split lets the
// surrogate learn from measurements which of the two predicts the objective: on TEM-1 beta-lactamase the
// tolerant sites hold the fittest variants; on E. coli DHFR they do not, and the residue term alone, one
// variant per site, puts 22 of the top 10% among its first 80 variants where the whole Potts score puts 12.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/variant.hpp"

namespace kfold::pipelines::agent {

class SiteDecomposition {
 public:
  // Scores every single substitution of `sequence` once (positions numbered from first_residue).
  SiteDecomposition(const EvolutionaryModels& models, const std::string& sequence, int64_t first_residue);
  // [site-independent site, site-independent residue, Potts site, Potts residue] (the last two only with a
  // Potts model); NaN where a substitution is off the alignment's columns.
  std::vector<double> features(const Variant& variant) const;
  int64_t size() const { return has_potts_ ? 4 : 2; }
  // Mean score of the 19 substitutions at a residue number; NaN off the columns (or without a Potts model).
  double site_independent_site_mean(int64_t position) const;
  double potts_site_mean(int64_t position) const;

 private:
  const EvolutionaryModels& models_;
  int64_t first_residue_;
  bool has_potts_;
  std::vector<double> site_independent_mean_;  // [L] per target index
  std::vector<double> potts_mean_;             // [L]
};

}  // namespace kfold::pipelines::agent
