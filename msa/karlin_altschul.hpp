// Karlin-Altschul statistics of gapped local alignment scores: E-values and bit scores with BLAST's
// published parameters and its length (edge-effect) correction.
#pragma once

#include <cstdint>

#include "msa/alphabet.hpp"

namespace kfold::msa {

// Gumbel parameters of a scoring system: E = K m' n' exp(-lambda S), with H the relative entropy
// (nats per aligned pair), and alpha, beta of the expected alignment length at score S,
// (alpha / lambda) lambda S + beta (Altschul et al. 2001), used for the length correction.
struct KarlinAltschulParams {
  double lambda = 0.0;
  double k = 0.0;
  double h = 0.0;
  double alpha = 0.0;
  double beta = 0.0;
};

// NCBI BLAST's table (blast_stat.c) for BLOSUM62 with gap open/extend:
// 11/1: lambda 0.267, K 0.041, H 0.14, alpha 1.9, beta -30. Also 9/1 to 13/1, 6/2 to 11/2 and the ungapped
// (32767/32767) row. Throws InputError for any other pair.
KarlinAltschulParams blosum62_params(const GapPenalties& gaps);

// Search space of one query against a database of `db_residues` residues in `db_sequences` sequences,
// with BLAST+'s length correction (BLAST_ComputeLengthAdjustment, blast_stat.c): the expected HSP length
// l = (alpha / lambda) ln(K m' n') + beta is removed from the query length and from every database
// sequence (m' = m - l, n' = N - n_seq l). l is the root of that equation found by bisection, capped where the
// corrected space K m' n' would fall below max(m, N), as BLAST+ caps it; no correction when even the
// uncorrected space is below that. Defined and continuous for any lengths (short-sequence databases
// included).
struct SearchSpace {
  double length_correction = 0.0;  // l
  double effective_query = 0.0;    // m' = m - l
  double effective_db = 0.0;       // n' = N - n_seq * l
  double size() const { return effective_query * effective_db; }
};
SearchSpace search_space(const KarlinAltschulParams& params, int64_t query_length, int64_t db_residues,
                         int64_t db_sequences);

// E = K * space * exp(-lambda * score).
double evalue(const KarlinAltschulParams& params, const SearchSpace& space, double score);
// Bit score (lambda * score - ln K) / ln 2.
double bit_score(const KarlinAltschulParams& params, double score);

}  // namespace kfold::msa
