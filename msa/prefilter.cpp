// Neighbourhood seed words, low-complexity masking, index lookups with two-hit diagonal detection and
// ungapped diagonal scores.
#include "msa/prefilter.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>

#include "data/error.hpp"
#include "msa/alphabet.hpp"

namespace kfold::msa {
namespace {

constexpr int32_t kXdrop = 16;  // ungapped X-drop (raw BLOSUM62 units; BLAST's 7 bits)

// Per integer level 1..7: T and max candidates (measured with scripts/bench_msa, see README).
constexpr std::array<int32_t, 7> kLevelThreshold{17, 17, 16, 16, 15, 15, 14};
constexpr std::array<int32_t, 7> kLevelCandidates{300, 500, 700, 1000, 1500, 2000, 4000};

}  // namespace

void check_sensitivity(double s) {
  if (!(s >= kMinSensitivity && s <= kMaxSensitivity))
    fail_input("-s/--sensitivity must be between {} and {} (got {})", kMinSensitivity, kMaxSensitivity, s);
}

PrefilterOptions prefilter_for_sensitivity(double s) {
  check_sensitivity(s);
  const double x = s - kMinSensitivity;
  const auto lo = std::min<size_t>(static_cast<size_t>(x), kLevelThreshold.size() - 1);
  const size_t hi = std::min(lo + 1, kLevelThreshold.size() - 1);
  const double f = x - static_cast<double>(lo);
  PrefilterOptions options;
  options.word_threshold = static_cast<int32_t>(std::lround((1.0 - f) * kLevelThreshold[lo] + f * kLevelThreshold[hi]));
  options.max_candidates =
      static_cast<int64_t>(std::lround((1.0 - f) * kLevelCandidates[lo] + f * kLevelCandidates[hi]));
  return options;
}

int64_t prefilter_candidates(int64_t preset, std::optional<int64_t> max_prefilter, std::optional<int64_t> max_seqs) {
  if (max_prefilter) return *max_prefilter;
  return max_seqs ? std::max(preset, *max_seqs) : preset;
}

PrefilterOptions prefilter_for_search(PrefilterOptions base, double s, std::optional<int32_t> word_threshold,
                                      std::optional<int64_t> max_prefilter, std::optional<int64_t> max_seqs) {
  const PrefilterOptions preset = prefilter_for_sensitivity(s);
  base.word_threshold = word_threshold.value_or(preset.word_threshold);
  base.max_candidates = prefilter_candidates(preset.max_candidates, max_prefilter, max_seqs);
  return base;
}

void check_prefilter_options(const PrefilterOptions& options) {
  if (options.max_candidates < 1) fail_input("--max-prefilter must be >= 1 (got {})", options.max_candidates);
  if (options.word_threshold < 1 || options.word_threshold > 60)
    fail_input("--word-threshold must be between 1 and 60 (got {})", options.word_threshold);
  if (options.min_ungapped_score < 0)
    fail_input("--min-ungapped-score must be >= 0 (got {})", options.min_ungapped_score);
  if (options.two_hit_window < 1) fail_input("the two-hit window must be >= 1 (got {})", options.two_hit_window);
}

std::vector<uint8_t> low_complexity_mask(std::span<const uint8_t> codes) {
  constexpr int64_t kWindow = 12;
  constexpr double kMaxEntropy = 2.2;  // bits; SEG's K1 for its 12-residue window
  const auto n = static_cast<int64_t>(codes.size());
  std::vector<uint8_t> mask(static_cast<size_t>(n), 0);
  if (n < kWindow) return mask;
  std::array<int32_t, kAlphabetSize> counts{};
  for (int64_t i = 0; i < kWindow; ++i) ++counts[codes[static_cast<size_t>(i)]];
  for (int64_t start = 0;; ++start) {
    double entropy = 0.0;
    for (const int32_t c : counts) {
      if (c == 0) continue;
      const double p = static_cast<double>(c) / kWindow;
      entropy -= p * std::log2(p);
    }
    if (entropy < kMaxEntropy) std::fill(mask.begin() + start, mask.begin() + start + kWindow, 1);
    if (start + kWindow >= n) break;
    --counts[codes[static_cast<size_t>(start)]];
    ++counts[codes[static_cast<size_t>(start + kWindow)]];
  }
  return mask;
}

NeighbourWords::NeighbourWords(const ScoreProfile& query, int32_t threshold, std::span<const uint8_t> mask) {
  const int64_t n_pos = std::max<int64_t>(0, query.n_res - kSeedSpan + 1);
  starts_.assign(static_cast<size_t>(n_pos + 1), 0);
  std::array<const int8_t*, kSeedWeight> rows{};
  std::array<int32_t, kSeedWeight + 1> suffix_max{};  // best score of the remaining seed residues
  for (int64_t i = 0; i < n_pos; ++i) {
    starts_[static_cast<size_t>(i)] = static_cast<int64_t>(words_.size());
    bool masked = false;
    for (int64_t j = 0; j < kSeedSpan && !mask.empty(); ++j) masked |= mask[static_cast<size_t>(i + j)] != 0;
    if (masked) continue;
    for (int64_t j = 0; j < kSeedWeight; ++j)
      rows[static_cast<size_t>(j)] = query.row(i + kSeedOffsets[static_cast<size_t>(j)]);
    suffix_max[kSeedWeight] = 0;
    for (int64_t j = kSeedWeight - 1; j >= 0; --j) {
      const int8_t* r = rows[static_cast<size_t>(j)];
      suffix_max[static_cast<size_t>(j)] =
          suffix_max[static_cast<size_t>(j + 1)] + *std::max_element(r, r + kSeedAlphabet);
    }
    // Depth-first over the seed residues, pruned when even the best completion misses T.
    const auto visit = [&](const auto& self, int64_t depth, int32_t score, uint32_t word) -> void {
      if (depth == kSeedWeight) {
        words_.push_back(word);
        return;
      }
      const int8_t* r = rows[static_cast<size_t>(depth)];
      const int32_t rest = suffix_max[static_cast<size_t>(depth + 1)];
      for (int64_t a = 0; a < kSeedAlphabet; ++a) {
        const int32_t s = score + r[a];
        if (s + rest >= threshold) self(self, depth + 1, s, word * kSeedAlphabet + static_cast<uint32_t>(a));
      }
    };
    if (suffix_max[0] >= threshold) visit(visit, 0, 0, 0);
  }
  starts_[static_cast<size_t>(n_pos)] = static_cast<int64_t>(words_.size());
}

Candidate make_candidate(int64_t target, int32_t ungapped_score, int64_t length) {
  constexpr double kUngappedLambda = 0.3176;  // BLOSUM62, ungapped (BLAST's blast_stat.c)
  const double rank = ungapped_score - std::log(static_cast<double>(std::max<int64_t>(length, 1))) / kUngappedLambda;
  return {target, ungapped_score, static_cast<float>(rank)};
}

void keep_best_candidates(std::vector<Candidate>& candidates, int64_t max_count) {
  const auto better = [](const Candidate& a, const Candidate& b) {
    if (a.rank != b.rank) return a.rank > b.rank;
    return a.ungapped_score != b.ungapped_score ? a.ungapped_score > b.ungapped_score : a.target < b.target;
  };
  if (static_cast<int64_t>(candidates.size()) > max_count) {
    std::nth_element(candidates.begin(), candidates.begin() + max_count, candidates.end(), better);
    candidates.resize(static_cast<size_t>(max_count));
  }
  std::sort(candidates.begin(), candidates.end(), better);
}

int32_t ungapped_diagonal_score(const ScoreProfile& query, std::span<const uint8_t> target, int64_t diagonal) {
  const auto n = static_cast<int64_t>(target.size());
  const int64_t q_begin = std::max<int64_t>(0, -diagonal);
  const int64_t q_end = std::min(query.n_res, n - diagonal);
  const int8_t* scores = query.scores.data();
  const uint8_t* t = target.data();  // t[q + diagonal]: (t + diagonal, before the array, is undefined behaviour)
  int32_t run = 0;
  int32_t best = 0;
  for (int64_t q = q_begin; q < q_end; ++q) {
    run = std::max(0, run + scores[q * kAlphabetSize + t[q + diagonal]]);
    best = std::max(best, run);
  }
  return best;
}

int32_t ungapped_xdrop_score(const ScoreProfile& query, std::span<const uint8_t> target, int64_t diagonal,
                             int64_t q_seed, int32_t xdrop) {
  const auto n = static_cast<int64_t>(target.size());
  const int64_t q_begin = std::max<int64_t>(0, -diagonal);
  const int64_t q_end = std::min(query.n_res, n - diagonal);
  // A seed lies on the diagonal inside both sequences; one outside (a damaged stored index's position)
  // scores what the overlap gives instead of reading past the target.
  if (q_end <= q_begin) return 0;
  q_seed = std::clamp(q_seed, q_begin, q_end);
  const int8_t* scores = query.scores.data();
  const uint8_t* t = target.data();  // indexed q + diagonal, as above
  int32_t run = 0;
  int32_t right = 0;  // best sum of [q_seed, q]
  for (int64_t q = q_seed; q < q_end; ++q) {
    run += scores[q * kAlphabetSize + t[q + diagonal]];
    if (run > right) right = run;
    if (run < right - xdrop) break;
  }
  run = 0;
  int32_t left = 0;  // best sum of [q, q_seed)
  for (int64_t q = q_seed - 1; q >= q_begin; --q) {
    run += scores[q * kAlphabetSize + t[q + diagonal]];
    if (run > left) left = run;
    if (run < left - xdrop) break;
  }
  return left + right;
}

namespace {

// Fields of a diagonal bin (see PrefilterScanner).
constexpr uint32_t kBinPositionMask = 0x7FFF;
constexpr uint32_t kBinTagShift = 15;
constexpr uint32_t kBinTagMask = 0x1FF;
constexpr uint32_t kBinEpochShift = 24;
// Fields of a target's bin layout word: its first bin / 8 (every target has a multiple of 8 bins) and log2 of
// its number of bins.
constexpr uint32_t kLayoutShiftBits = 5;
constexpr uint64_t kMaxChunkBins = uint64_t{8} << (32 - kLayoutShiftBits);
constexpr uint32_t low_bits(uint32_t n) { return (uint32_t{1} << n) - 1; }

// Diagonal bins of a target: a power of two near an eighth of its length, 8 to 8192.
uint64_t diagonal_bins(uint64_t length) { return std::clamp<uint64_t>(std::bit_ceil(length / 8), 8, 8192); }

}  // namespace

int64_t PrefilterScanner::state_bytes(int64_t length) {
  // TargetState, the layout word, the touched bit (a byte, rounded up) and the bins.
  return static_cast<int64_t>(sizeof(PrefilterScanner::TargetState) + sizeof(uint32_t) + 1 +
                              sizeof(uint32_t) * diagonal_bins(static_cast<uint64_t>(length)));
}

std::vector<int64_t> prefilter_chunk_bounds(const SequenceDb& db, int64_t memory_bytes, int64_t threads) {
  std::vector<int64_t> bounds{0};
  int64_t filled = 0;
  for (int64_t i = 0; i < db.size(); ++i) {
    const auto length = static_cast<int64_t>(db.residues(i).size());
    const int64_t bytes = kIndexBytesPerResidue * length + threads * PrefilterScanner::state_bytes(length);
    // uint32 target indices: never more than 2^31 sequences in one chunk either.
    if ((filled > 0 && filled + bytes > memory_bytes) || i - bounds.back() >= (int64_t{1} << 31)) {
      bounds.push_back(i);
      filled = 0;
    }
    filled += bytes;
  }
  if (bounds.back() != db.size()) bounds.push_back(db.size());
  return bounds;
}

void PrefilterScanner::prepare(const KmerIndex& index) {
  prepared_build_ = 0;  // laid out for no index until done (should this throw)
  const int64_t n_local = index.end() - index.begin();
  states_.assign(static_cast<size_t>(n_local), TargetState{});
  layout_.resize(static_cast<size_t>(n_local));
  uint64_t total = 0;
  for (int64_t t = 0; t < n_local; ++t) {
    const uint64_t n_bins = diagonal_bins(index.codes(t).size());
    layout_[static_cast<size_t>(t)] =
        static_cast<uint32_t>((total / 8) << kLayoutShiftBits) | static_cast<uint32_t>(std::countr_zero(n_bins));
    total += n_bins;
    if (total > kMaxChunkBins)
      fail_runtime("prefilter: index chunk too large for its diagonal bins; lower --index-memory");
  }
  bins_.assign(static_cast<size_t>(total), 0);
  block_ends_.clear();
  uint64_t block_bins = 0;
  for (int64_t t = 0; t < n_local; ++t) {
    block_bins += diagonal_bins(index.codes(t).size());
    if (block_bins >= block_bins_ || t + 1 == n_local) {
      block_ends_.push_back(static_cast<uint32_t>(t + 1));
      block_bins = 0;
    }
  }
  touched_.assign(static_cast<size_t>((n_local + 63) / 64), 0);
  runs_.reserve(window_runs_);  // a window holds at most this many (or one position's): no allocation mid-scan
  prepared_build_ = index.build_id();
  epoch_ = 0;
}

void PrefilterScanner::scan(const ScoreProfile& query, const NeighbourWords& words, const KmerIndex& index,
                            const PrefilterOptions& options, std::vector<Candidate>& out) {
  if (prepared_build_ != index.build_id()) prepare(index);
  if (words.positions() >= kBinPositionMask) fail_runtime("prefilter: query of {} residues is too long", query.n_res);
  if (++epoch_ == 0x100) {  // the epochs would wrap: clear once every 255 scans
    std::fill(bins_.begin(), bins_.end(), 0);
    epoch_ = 1;
  }
  const uint32_t epoch = epoch_ << kBinEpochShift;
  const int32_t window = options.two_hit_window;
  const int32_t min_distance = options.min_hit_distance;
  // Pairs wait in a ring before their extension: their target's state and residue offset are prefetched when
  // a pair enters, the residues around the seed kCodesAt pairs later, and the extension runs kPending pairs
  // after it entered (each a random access into the index chunk, a cache miss when done at once). A
  // target's pairs leave in the order they came and its score is only read after the scan, so the delay
  // changes nothing.
  struct Pending {
    uint32_t target;
    int32_t diag;
    int32_t q_seed;
  };
  constexpr size_t kPending = 32;
  constexpr size_t kCodesAt = 16;
  std::array<Pending, kPending> pending{};
  size_t n_pending = 0;
  const auto extend = [&](const Pending& p) {
    TargetState& s = states_[p.target];
    if (s.scored_diag == p.diag) return;  // extended last: the same diagonal again at once
    s.scored_diag = p.diag;
    s.best = std::max(s.best, ungapped_xdrop_score(query, index.codes(p.target), p.diag, p.q_seed, kXdrop));
  };
  const auto bin_of = [&](uint32_t layout, uint32_t diag) -> uint32_t& {
    return bins_[size_t{layout >> kLayoutShiftBits} * 8 + (diag & low_bits(layout & low_bits(kLayoutShiftBits)))];
  };
  constexpr size_t kBinAhead = 16;  // occurrences ahead whose diagonal bin is prefetched
  constexpr size_t kRunAhead = 4;   // runs ahead whose next occurrences are prefetched (a random place in the index)
  for (int64_t first = 0; first < words.positions();) {  // windows of query positions
    runs_.clear();
    int64_t end = first;
    for (; end < words.positions(); ++end) {
      if (end > first && runs_.size() + words.at(end).size() > window_runs_) break;
      for (const uint32_t word : words.at(end)) {
        const std::span<const KmerIndex::Entry> occurrences = index.occurrences(word);
        if (!occurrences.empty())
          runs_.push_back({occurrences.data(), occurrences.size(), 0, static_cast<uint32_t>(end)});
      }
    }
    first = end;
    for (const uint32_t block_end : block_ends_) {
      // A second cursor, kBinAhead occurrences ahead of the scan through the same runs, prefetches their bins.
      size_t ahead_run = 0;
      size_t ahead_k = runs_.empty() ? 0 : runs_.front().next;
      const auto prefetch_ahead = [&] {
        while (ahead_run < runs_.size()) {
          const Run& run = runs_[ahead_run];
          if (ahead_k < run.size && run.occurrences[ahead_k].target < block_end) {
            const KmerIndex::Entry& a = run.occurrences[ahead_k++];
            __builtin_prefetch(&bin_of(layout_[a.target], a.pos - run.q), 1);
            return;
          }
          if (++ahead_run == runs_.size()) return;
          ahead_k = runs_[ahead_run].next;
          if (ahead_run + kRunAhead < runs_.size()) {
            const Run& later = runs_[ahead_run + kRunAhead];
            __builtin_prefetch(later.occurrences + later.next);
            if (later.next + 8 < later.size) __builtin_prefetch(later.occurrences + later.next + 8);
          }
        }
      };
      for (size_t j = 0; j < kBinAhead; ++j) prefetch_ahead();
      for (Run& run : runs_) {
        const uint32_t q = run.q;
        size_t k = run.next;
        for (; k < run.size && run.occurrences[k].target < block_end; ++k) {
          prefetch_ahead();
          const KmerIndex::Entry& e = run.occurrences[k];
          touched_[e.target / 64] |= uint64_t{1} << (e.target % 64);
          const uint32_t d = e.pos - q;  // the diagonal, modulo 2^32
          const uint32_t layout = layout_[e.target];
          uint32_t& bin = bin_of(layout, d);
          const uint32_t previous = bin;
          const uint32_t key = epoch | (((d >> (layout & low_bits(kLayoutShiftBits))) & kBinTagMask) << kBinTagShift);
          bin = key | (q + 1);
          if ((previous & ~kBinPositionMask) != key) continue;  // no hit on this diagonal yet
          const auto distance = static_cast<int32_t>(q + 1 - (previous & kBinPositionMask));
          if (distance > window || distance < min_distance) continue;
          const Pending p{e.target, static_cast<int32_t>(d), static_cast<int32_t>(q)};
          __builtin_prefetch(&states_[p.target], 1);
          index.prefetch_codes_offset(p.target);
          if (n_pending >= kCodesAt) {
            // Extensions reach ~20 residues each way from the seed: the lines on both sides, which may lie
            // outside the target's residues (addresses as integers: no pointer outside an array is formed).
            // (Written out here: GCC drops a call to a lambda that only prefetches, as a call without effects.)
            const Pending& c = pending[(n_pending - kCodesAt) % kPending];
            const uintptr_t seed = reinterpret_cast<uintptr_t>(index.codes(c.target).data()) +
                                   static_cast<uintptr_t>(static_cast<int64_t>(c.q_seed) + c.diag);
            __builtin_prefetch(reinterpret_cast<const void*>(seed - 24));
            __builtin_prefetch(reinterpret_cast<const void*>(seed + 40));
          }
          Pending& slot = pending[n_pending % kPending];
          if (n_pending >= kPending) extend(slot);  // the oldest
          slot = p;
          ++n_pending;
        }
        run.next = k;
      }
    }
  }
  for (size_t k = n_pending > kPending ? n_pending - kPending : 0; k < n_pending; ++k) extend(pending[k % kPending]);
  // Candidates in target order; targets with seed hits but no pair score 0.
  try {
    for (size_t w = 0; w < touched_.size(); ++w) {
      for (uint64_t bits = touched_[w]; bits != 0; bits &= bits - 1) {
        const size_t t = w * 64 + static_cast<size_t>(std::countr_zero(bits));
        TargetState& s = states_[t];
        if (s.best >= options.min_ungapped_score)
          out.push_back(make_candidate(index.begin() + static_cast<int64_t>(t), s.best,
                                       static_cast<int64_t>(index.codes(static_cast<int64_t>(t)).size())));
        s = TargetState{};
      }
      touched_[w] = 0;
    }
  } catch (...) {  // out of memory: the next scan still starts clean
    std::fill(touched_.begin(), touched_.end(), 0);
    std::fill(states_.begin(), states_.end(), TargetState{});
    throw;
  }
  keep_best_candidates(out, options.max_candidates);
}

}  // namespace kfold::msa
