// k-mer prefilter in the manner of MMseqs2's: the query's neighbourhood seed words (words scoring >= T
// against the query's profile, "similar k-mers") are looked up in a k-mer index of the database; two
// hits on the same diagonal of one target, at most a window apart, trigger an ungapped X-drop extension
// on that diagonal. A target's prefilter score is its best extension; only the best candidates per query
// go on to gapped alignment.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "msa/huge_page_allocator.hpp"
#include "msa/kmer_index.hpp"
#include "msa/score_profile.hpp"

namespace kfold::msa {

struct PrefilterOptions {
  int32_t word_threshold = 16;      // T: neighbourhood score of a 4-mer seed word
  int32_t two_hit_window = 40;      // largest query distance between two hits on one diagonal
  int32_t min_hit_distance = 1;     // smallest query distance between them (kSeedSpan: no overlap)
  int32_t min_ungapped_score = 15;  // smallest best-diagonal score a candidate needs
  int64_t max_candidates = 1000;    // candidates kept per query (best prefilter scores)
  bool mask_low_complexity = true;  // low-complexity query regions (see below) neither seed nor score
};

// -s/--sensitivity presets (the spirit of MMseqs2's -s): a lower seed threshold T and more candidates as
// s grows. Between the integer levels the values are interpolated.
inline constexpr double kMinSensitivity = 1.0;
inline constexpr double kMaxSensitivity = 7.0;
inline constexpr double kDefaultSensitivity = 4.0;
// Throws InputError unless kMinSensitivity <= s <= kMaxSensitivity.
void check_sensitivity(double s);
// The preset of sensitivity s (InputError as check_sensitivity when out of range).
PrefilterOptions prefilter_for_sensitivity(double s);
// Throws InputError for options out of range (each message names its command-line option).
void check_prefilter_options(const PrefilterOptions& options);
// Candidates per query the prefilter passes to alignment: --max-prefilter when given, else the sensitivity's
// `preset` raised to an explicit --max-seqs (only candidates can become hits: a user asking for 5000 hits
// gets a prefilter of 5000, as MMseqs2's --max-seqs is its prefilter's limit).
int64_t prefilter_candidates(int64_t preset, std::optional<int64_t> max_prefilter, std::optional<int64_t> max_seqs);
// The prefilter of a search at sensitivity `s`, as every caller builds it (kfold search, predict and batch's
// --db, Python's kfold.search): `base` (its masking and two-hit rule kept) with the preset's word threshold
// unless one is given, and prefilter_candidates' count. InputError for an s out of range.
PrefilterOptions prefilter_for_search(PrefilterOptions base, double s, std::optional<int32_t> word_threshold,
                                      std::optional<int64_t> max_prefilter, std::optional<int64_t> max_seqs);

// Low-complexity regions of a sequence (a SEG-like rule): windows of 12 residues whose Shannon entropy
// is below 2.2 bits are masked. Returns one flag per residue (1: masked). The search picks no seed
// words there and scores those positions as X (mask_profile_positions, msa/score_profile.hpp).
std::vector<uint8_t> low_complexity_mask(std::span<const uint8_t> codes);

// Neighbourhood words of one query, per query position: the seed words (msa/kmer_index.hpp) whose
// score against the profile at that position is >= T. Positions whose window touches a masked
// residue get none.
class NeighbourWords {
 public:
  NeighbourWords(const ScoreProfile& query, int32_t threshold, std::span<const uint8_t> mask = {});
  int64_t positions() const { return static_cast<int64_t>(starts_.size()) - 1; }
  std::span<const uint32_t> at(int64_t pos) const {
    return {words_.data() + starts_[static_cast<size_t>(pos)],
            static_cast<size_t>(starts_[static_cast<size_t>(pos) + 1] - starts_[static_cast<size_t>(pos)])};
  }
  int64_t entries() const { return static_cast<int64_t>(words_.size()); }

 private:
  std::vector<int64_t> starts_;  // [positions + 1]
  std::vector<uint32_t> words_;
};

struct Candidate {
  int64_t target = 0;
  int32_t ungapped_score = 0;
  // What candidates are ranked by: the score less ln(target length) / lambda (BLOSUM62's ungapped lambda,
  // 0.3176 per raw unit), i.e. by the ungapped E-value. Raw scores favour long sequences, whose chance
  // best segment is higher: with the raw score, 3,000-residue decoys took the places of a family's members.
  float rank = 0;
};

// Candidate with its rank for a target of `length` residues.
Candidate make_candidate(int64_t target, int32_t ungapped_score, int64_t length);

// Best rank first, then best score, ties by target index; keeps at most `max_count`.
void keep_best_candidates(std::vector<Candidate>& candidates, int64_t max_count);

// Best ungapped segment score of the query against `target` on diagonal `diagonal` (target position
// = query position + diagonal).
int32_t ungapped_diagonal_score(const ScoreProfile& query, std::span<const uint8_t> target, int64_t diagonal);

// Ungapped X-drop extension on `diagonal` from query position q_seed: the best segment that starts
// at or before q_seed and ends at or after it (0 if none scores above 0), as BLAST's ungapped extension.
int32_t ungapped_xdrop_score(const ScoreProfile& query, std::span<const uint8_t> target, int64_t diagonal,
                             int64_t q_seed, int32_t xdrop);

// Scans one index chunk with one query. Holds per-thread buffers: one per thread. The result depends
// only on the query, the words and the index contents (not on chunking or threads).
class PrefilterScanner {
 public:
  // Targets per scan block: about 4 MiB of diagonal bins (block_ends_). Measured on 100 queries against 200,000
  // sequences (two threads, a 32 MiB last-level cache): the scan 16-22 % faster than unblocked.
  static constexpr uint64_t kBlockBins = (uint64_t{4} << 20) / sizeof(uint32_t);
  // Runs (query position, word) held at a time: consecutive query positions are scanned as windows of at most
  // this many (at least one position), so runs_ stays within 2 MiB for any query length and word threshold.
  static constexpr size_t kWindowRuns = size_t{1} << 16;
  // Other sizes are for tests: the result does not depend on them.
  explicit PrefilterScanner(uint64_t block_bins = kBlockBins, size_t window_runs = kWindowRuns)
      : block_bins_(block_bins), window_runs_(window_runs) {}

  // Appends the targets of `index` whose best diagonal scores >= options.min_ungapped_score, then
  // keeps the best options.max_candidates of what `out` holds.
  void scan(const ScoreProfile& query, const NeighbourWords& words, const KmerIndex& index,
            const PrefilterOptions& options, std::vector<Candidate>& out);
  // Bytes of the scan state for one target of `length` residues (its TargetState, bin layout, touched bit and
  // diagonal bins): each scanning thread holds this for every target of the chunk it scans.
  static int64_t state_bytes(int64_t length);

 private:
  // Each target remembers its last hit per diagonal bin: the diagonal modulo a power of two near an eighth of
  // the target's length. A bin holds
  //   bits 31..24: the scan's epoch (bins of earlier scans read as empty without being cleared),
  //   bits 23..15: the diagonal's tag (diagonal >> log2(bins), low 9 bits),
  //   bits 14..0:  the query position + 1,
  // so that only two hits on one diagonal are a pair (diagonals that share a bin have different tags unless
  // they are a multiple of 512 x bins apart, more than a target's length plus the two-hit window). A hit of
  // another diagonal in between hides a pair only when it shares the pair's bin (one of length / 8 to
  // length / 4), not whenever it falls in the same target, as a single "last hit" per target did in long
  // targets (a 200-residue exact copy inside a 70,000-residue sequence was missed). Per seed hit the scan
  // touches its target's layout word (4 bytes a target: small enough to stay in cache), its bin and its
  // touched bit; the target's state only for a pair.
  struct TargetState {
    int32_t scored_diag = std::numeric_limits<int32_t>::min();  // last diagonal extended (not again at once)
    int32_t best = 0;                                           // best extension score so far
  };
  // One (query position, neighbour word) of a scan: its occurrence list and how far the scan has read it.
  struct Run {
    const KmerIndex::Entry* occurrences;
    size_t size;
    size_t next;  // the first occurrence not scanned yet (of a target in a later block)
    uint32_t q;   // the query position
  };
  void prepare(const KmerIndex& index);
  std::vector<TargetState> states_;
  HugePageVector<uint32_t> layout_;  // per target: (first bin / 8) << 5 | log2(bins)
  HugePageVector<uint32_t> bins_;
  // The scan reads every occurrence list once per block of targets (each list is ordered by target) whose
  // bins fit in a few MiB of cache: a block's bins are then read from cache, not memory (the chunk's bins,
  // tens of MB per scanning thread, exceed the last-level cache). Each target's hits come in the order an
  // unblocked scan gives them (query position, word, target position), so the result is the same.
  uint64_t block_bins_;
  size_t window_runs_;
  std::vector<uint32_t> block_ends_;  // [blocks] one past each block's last target
  std::vector<Run> runs_;             // the non-empty runs of the window of query positions being scanned
  std::vector<uint64_t> touched_;     // bit per target: a seed hit in this scan
  uint64_t prepared_build_ = 0;       // KmerIndex::build_id of the index the members are laid out for
  uint32_t epoch_ = 0;
};

// Index chunk bounds (as index_chunk_bounds) such that a chunk's index (kIndexBytesPerResidue a residue) and
// `threads` scanners' state for it (PrefilterScanner::state_bytes per target and thread) fit in
// `memory_bytes`; a chunk holds at least one sequence. Results do not depend on the chunking.
std::vector<int64_t> prefilter_chunk_bounds(const SequenceDb& db, int64_t memory_bytes, int64_t threads);

}  // namespace kfold::msa
