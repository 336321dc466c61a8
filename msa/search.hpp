// Homology search of query sequences against a sequence database: k-mer prefilter, striped
// Smith-Waterman scores of composition-bias-corrected query profiles, Karlin-Altschul E-values with
// composition-based statistics, tracebacks for accepted hits, and optional
// PSI-BLAST-style iterations with a PSSM of the included hits. Results are the same
// for any thread count (every ordering is by score, then database index).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/sequence.hpp"
#include "msa/alphabet.hpp"
#include "msa/gotoh.hpp"
#include "msa/prefilter.hpp"
#include "msa/sequence_db.hpp"
#include "msa/striped_sw.hpp"

namespace kfold::msa {

// Longest query accepted: the traceback memory is sized for it.
inline constexpr int64_t kMaxQueryLength = 16384;
// Most alternative alignments per target (--alt-ali).
inline constexpr int64_t kMaxAltAlignments = 100;

struct SearchOptions {
  double evalue = 1e-3;       // report hits with E <= evalue
  int64_t max_seqs = 10000;   // hits kept per query (best E-values), after the coverage filter
  double min_coverage = 0.0;  // fraction of the query the aligned query span must cover
  // Further alignments per target beyond its best (MMseqs2's --alt-ali): each the best local alignment
  // in a stretch of the target that no alignment before it covers, kept while it passes evalue and
  // min_coverage; a target with two copies of a domain gives two rows. Each counts as a hit.
  int64_t alt_alignments = 0;
  GapPenalties gaps;           // BLOSUM62 with BLAST's 11/1 by default
  PrefilterOptions prefilter;  // prefilter.max_candidates is --max-prefilter
  int64_t iterations = 1;      // search rounds; rounds after the first use a PSSM of the hits
  // Hits with E <= this build the next round's PSSM. Stricter than jackhmmer's 1e-3: a profile that
  // takes in one wrong hit drifts towards its family in later rounds.
  double inclusion_evalue = 1e-5;
  // Scale each hit's score by its composition-based lambda ratio before its E-value is computed
  // (msa/composition_stats.hpp; BLAST's -comp_based_stats 1). Off: plain BLOSUM62 statistics.
  bool composition_stats = true;
  // Shift each query profile row by its local composition bias (correct_local_composition_bias,
  // msa/score_profile.hpp; MMseqs2's --comp-bias-corr) before the prefilter and alignment. Off: raw scores.
  bool composition_bias = true;
  int64_t threads = 1;
  // Alignment kernels; unset: detect_simd_level() when a search starts (timed once per process).
  std::optional<SimdLevel> simd;
  // Residues per k-mer index chunk (about 9 bytes each): bounds the index memory; a database larger than
  // one chunk is scanned chunk by chunk (identical results, the index is rebuilt per query batch).
  int64_t index_chunk_residues = kIndexChunkResidues;
  // When > 0, chunks are sized instead so that the index and every thread's prefilter state for it fit in
  // these bytes (prefilter_chunk_bounds; --index-memory).
  int64_t index_memory_bytes = 0;
  // Stored traceback cells per hit (1 or 2 bytes each; 4 when a score fits neither 8 nor 16 bits); beyond them
  // the hit is first narrowed to its own target columns (StripedAligner::align), and skipped only if still larger.
  int64_t max_traceback_cells = int64_t{1} << 28;
  // Round-1 profiles, one per query (empty: each query's sequence scored with BLOSUM62), e.g. a PSSM of
  // the query's MSA (make_pssm) to search with the family's profile; each profile's codes must be its
  // query's residues. Later rounds build their PSSM from the hits, as without it.
  std::vector<ScoreProfile> first_round_profiles;
  // Called from worker threads before each unit of work (a profile, a query's prefilter scan of one
  // index chunk, a block of alignments, a query's tracebacks); it throws to stop the search early (the
  // Python module's Ctrl-C), and search() rethrows that exception. Must be thread-safe. Empty: never.
  std::function<void()> check_cancelled;
  // What a query the prefilter cannot seed ends with, in the warning that says so.
  std::string unseeded_outcome = "its MSA will hold the query alone";
};

struct Hit {
  int64_t target = 0;         // database index
  int32_t score = 0;          // Smith-Waterman score of the (bias-corrected) query profile
  double evalue = 0.0;        // of score * lambda_ratio
  double bits = 0.0;          // of score * lambda_ratio
  double lambda_ratio = 1.0;  // composition-based scale of the score (1: none)
  Alignment alignment;
  AlignmentStats stats;
};

struct QueryResult {
  std::vector<Hit> hits;     // best first: E-value, then bit score, then score, then database index
  int64_t n_candidates = 0;  // targets that passed the prefilter
  int64_t n_aligned = 0;     // candidates whose E-value passed (before coverage and max_seqs)
};

// Throws InputError (naming `source`) for an empty query list, a query longer than kMaxQueryLength, one
// without a standard amino acid, or one of 20 residues or more that is 90% A, C, G, T, U or N with three
// of the four bases (a nucleotide sequence), or whose header says mol:na (pdb_seqres.txt's DNA and RNA
// chains): what no kfold command takes as a protein query, searched or not.
void check_queries(const std::vector<data::Sequence>& queries, const std::string& source);

// Throws InputError for options out of range.
void check_search_options(const SearchOptions& options);

std::vector<QueryResult> search(const std::vector<data::Sequence>& queries, const SequenceDb& db,
                                const SearchOptions& options);

}  // namespace kfold::msa
