// The search driver: query batches; per database index chunk, prefilter tasks per query; gapped scores
// in tasks of candidate blocks; tracebacks and composition-based statistics per query; OpenMP with
// per-thread buffers.
#include "msa/search.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <memory>
#include <variant>

#include "data/error.hpp"
#include "data/first_error.hpp"
#include "data/interrupt.hpp"
#include "data/log.hpp"
#include "data/progress.hpp"
#include "msa/composition_stats.hpp"
#include "msa/karlin_altschul.hpp"
#include "msa/kmer_index_file.hpp"
#include "msa/pssm.hpp"
#include "msa/score_profile.hpp"

namespace kfold::msa {
namespace {

constexpr int64_t kQueryBatch = 256;
// A packed database from this size up (16 Mi residues: ~0.3 s of index build a search) gets the hint to store
// its index (kfold db index) when it has none.
constexpr int64_t kStoredIndexHintResidues = int64_t{16} << 20;

// E-value first, then the bit score (of the composition-scaled score, which decides among hits whose
// E-values underflow to 0, as strong hits' do), then the raw score and the database order.
bool better_hit(const Hit& a, const Hit& b) {
  if (a.evalue != b.evalue) return a.evalue < b.evalue;
  if (a.bits != b.bits) return a.bits > b.bits;
  if (a.score != b.score) return a.score > b.score;
  if (a.target != b.target) return a.target < b.target;
  return a.alignment.t_start < b.alignment.t_start;  // alternative alignments of one target
}

}  // namespace

void check_queries(const std::vector<data::Sequence>& queries, const std::string& source) {
  if (queries.empty()) fail_input("{}: no query sequences", source);
  for (const auto& q : queries) {
    const auto n = static_cast<int64_t>(q.residues.size());
    if (n > kMaxQueryLength)
      fail_input("{}: query '{}' has {} residues; kfold takes at most {} (split it into domains)", source, q.id, n,
                 kMaxQueryLength);
    int64_t standard = 0;
    int64_t nucleotide = 0;
    bool seen[4] = {false, false, false, false};  // A, C, G, T or U
    for (const char c : q.residues) {
      standard += residue_code(c) != kCodeX;
      nucleotide += c == 'A' || c == 'C' || c == 'G' || c == 'T' || c == 'U' || c == 'N';
      if (c == 'A') seen[0] = true;
      if (c == 'C') seen[1] = true;
      if (c == 'G') seen[2] = true;
      if (c == 'T' || c == 'U') seen[3] = true;
    }
    if (standard == 0)
      fail_input(
          "{}: query '{}' has no standard amino acid (only X or other unknown letters): give the protein's sequence",
          source, q.id);
    // pdb_seqres.txt's headers say what a chain is: ">102d_A mol:na length:12  DNA".
    const std::string_view header = q.description;
    if (header == "mol:na" || header.starts_with("mol:na ") || header.ends_with(" mol:na") ||
        header.find(" mol:na ") != std::string_view::npos)
      fail_input(
          "{}: query '{}' is a nucleic-acid chain (its header says mol:na, as pdb_seqres.txt marks DNA and RNA); "
          "kfold takes protein sequences: leave it out",
          source, q.id);
    // Three of the four bases and 90 % of the letters: a low-complexity protein of one or two of these
    // amino acids (poly-GA, polyalanine) is no nucleotide sequence; DNA repeats (TTAGGG) are.
    if (n >= 20 && nucleotide * 10 >= n * 9 && seen[0] + seen[1] + seen[2] + seen[3] >= 3)
      fail_input(
          "{}: query '{}' looks like a nucleotide sequence ({} of {} residues are A, C, G, T, U or N); "
          "kfold needs protein sequences (translate it first)",
          source, q.id, nucleotide, n);
  }
}

void check_search_options(const SearchOptions& options) {
  if (!(std::isfinite(options.evalue) && options.evalue > 0.0))
    fail_input("-e/--evalue must be a finite number > 0 (got {})", options.evalue);
  if (options.max_seqs < 1) fail_input("--max-seqs must be >= 1 (got {})", options.max_seqs);
  check_prefilter_options(options.prefilter);
  if (!(options.min_coverage >= 0.0 && options.min_coverage <= 1.0))
    fail_input("--min-cov must be between 0 and 1 (got {})", options.min_coverage);
  if (options.alt_alignments < 0 || options.alt_alignments > kMaxAltAlignments)
    fail_input("--alt-ali must be between 0 and {} (got {})", kMaxAltAlignments, options.alt_alignments);
  if (options.threads < 1) fail_input("--threads must be >= 1 (got {})", options.threads);
  if (options.index_chunk_residues < 1)
    fail_input("the index chunk must hold at least 1 residue (got {})", options.index_chunk_residues);
  if (options.index_memory_bytes < 0)
    fail_input("--index-memory must be >= 0 (0: the default; got {} bytes)", options.index_memory_bytes);
  if (options.iterations < 1 || options.iterations > 20)
    fail_input("--iterations must be between 1 and 20 (got {})", options.iterations);
  if (!(options.inclusion_evalue > 0.0))
    fail_input("--inclusion-evalue must be > 0 (got {})", options.inclusion_evalue);
  check_gap_penalties(options.gaps);
  (void)blosum62_params(options.gaps);
}

namespace {

// Rows of a query's MSA as codes in query coordinates (kGapCode for gaps): the query, then every hit
// with E <= inclusion.
std::vector<std::vector<uint8_t>> included_rows(const ScoreProfile& query, const QueryResult& result,
                                                const SequenceDb& db, double inclusion) {
  std::vector<std::vector<uint8_t>> rows{query.codes};
  std::vector<uint8_t> target;
  for (const Hit& hit : result.hits) {
    if (hit.evalue > inclusion) continue;
    encode_residues(db.residues(hit.target), target);
    std::vector<uint8_t> row(static_cast<size_t>(query.n_res), kGapCode);
    int64_t i = hit.alignment.q_start;
    int64_t j = hit.alignment.t_start;
    for (const char op : hit.alignment.ops) {
      if (op == 'M')
        row[static_cast<size_t>(i++)] = target[static_cast<size_t>(j++)];
      else if (op == 'I')
        ++j;
      else
        ++i;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<int64_t> included_targets(const QueryResult& result, double inclusion) {
  std::vector<int64_t> targets;
  for (const Hit& hit : result.hits)
    if (hit.evalue <= inclusion) targets.push_back(hit.target);
  std::sort(targets.begin(), targets.end());
  return targets;
}

// Candidates scored per alignment task: small enough to balance a few queries over many threads.
constexpr int64_t kAlignBlock = 32;

// Progress units of one query in one round: one per index chunk scanned, kAlignUnits for its gapped
// alignments (shared out over its blocks) and one for the traceback of its hits.
constexpr int64_t kAlignUnits = 8;

// The alignment units that block `k` of `n_blocks` completes (they sum to kAlignUnits over the blocks).
int64_t align_units(int64_t k, int64_t n_blocks) {
  return (k + 1) * kAlignUnits / n_blocks - k * kAlignUnits / n_blocks;
}

// A stretch [begin, end) of a target that no alignment of it covers yet, and its best local score.
struct TargetStretch {
  int64_t begin = 0;
  int64_t end = 0;
  int32_t score = 0;
};

// The alternative alignments of one target after its best one (SearchOptions::alt_alignments): the stretches
// left and right of every alignment so far are scored, the best one (ties: the leftmost) is traced back, and
// its stretch splits in two; it stops after `count` alignments, or when the best stretch fails the E-value.
// `make_hit` keeps an alignment (in target coordinates) that passes; it returns false when the coverage
// filter drops it, which still splits its stretch.
template <typename Passes, typename MakeHit>
void add_alternative_alignments(StripedAligner& aligner, std::span<const uint8_t> target, const Alignment& best,
                                int64_t count, int64_t max_cells, const Passes& passes, const MakeHit& make_hit) {
  std::vector<TargetStretch> stretches;
  auto add_stretch = [&](int64_t begin, int64_t end) {
    if (end <= begin) return;
    const int32_t score = aligner.score(target.subspan(static_cast<size_t>(begin), static_cast<size_t>(end - begin)));
    if (score > 0) stretches.push_back({begin, end, score});
  };
  add_stretch(0, best.t_start);
  add_stretch(best.t_end + 1, static_cast<int64_t>(target.size()));
  for (int64_t made = 0; made < count && !stretches.empty();) {
    const auto top =
        std::max_element(stretches.begin(), stretches.end(), [](const TargetStretch& a, const TargetStretch& b) {
          return a.score != b.score ? a.score < b.score : a.begin > b.begin;
        });
    const TargetStretch stretch = *top;
    stretches.erase(top);
    if (!passes(stretch.score)) break;  // the best stretch left fails: so do the others
    const auto piece =
        target.subspan(static_cast<size_t>(stretch.begin), static_cast<size_t>(stretch.end - stretch.begin));
    auto alignment = aligner.align(piece, stretch.score, max_cells);
    if (!alignment) continue;  // too large to trace back: this stretch is given up
    alignment->t_start += stretch.begin;
    alignment->t_end += stretch.begin;
    const int64_t left_end = alignment->t_start;
    const int64_t right_begin = alignment->t_end + 1;
    made += make_hit(std::move(*alignment)) ? 1 : 0;
    add_stretch(stretch.begin, left_end);
    add_stretch(right_begin, stretch.end);
  }
}

// One query's gapped stage after its candidates have scores: E-values (composition-adjusted when
// `composition` is given), tracebacks, filters.
QueryResult finish_query(const data::Sequence& query, const ScoreProfile& profile, const CompositionStats* composition,
                         const std::vector<Candidate>& candidates, const std::vector<int32_t>& scores,
                         const SequenceDb& db, const SearchOptions& options, SimdLevel simd,
                         const KarlinAltschulParams& params, std::vector<uint8_t>& target) {
  QueryResult result;
  result.n_candidates = static_cast<int64_t>(candidates.size());
  const SearchSpace space = search_space(params, profile.n_res, db.total_residues(), db.size());
  StripedAligner aligner(profile, options.gaps, simd);  // tracebacks from the striped pass
  for (size_t k = 0; k < candidates.size(); ++k) {
    const int32_t score = scores[k];
    // The lambda ratio is <= 1, so a candidate failing on its raw score fails on the adjusted one too.
    if (evalue(params, space, score) > options.evalue) continue;
    const Candidate& candidate = candidates[k];
    encode_residues(db.residues(candidate.target), target);
    const double ratio = composition ? composition->lambda_ratio(target) : 1.0;
    const double e = evalue(params, space, score * ratio);
    if (e > options.evalue) continue;
    ++result.n_aligned;
    auto alignment = aligner.align(target, score, options.max_traceback_cells);
    if (!alignment) {
      log_warn("{}: alignment with {} is too large to trace back; hit skipped", query.id, db.id(candidate.target));
      continue;
    }
    // Keeps an alignment of this target that covers enough of the query; false when it does not.
    auto make_hit = [&](Alignment&& a) {
      const double coverage = static_cast<double>(a.q_end - a.q_start + 1) / static_cast<double>(profile.n_res);
      if (coverage < options.min_coverage) return false;
      Hit hit;
      hit.target = candidate.target;
      hit.score = a.score;
      hit.evalue = evalue(params, space, a.score * ratio);
      hit.bits = bit_score(params, a.score * ratio);
      hit.lambda_ratio = ratio;
      hit.stats = alignment_stats(a, query.residues, db.residues(candidate.target));
      hit.alignment = std::move(a);
      result.hits.push_back(std::move(hit));
      return true;
    };
    const Alignment best = *alignment;
    if (!make_hit(std::move(*alignment)) || options.alt_alignments == 0) continue;
    add_alternative_alignments(
        aligner, target, best, options.alt_alignments, options.max_traceback_cells,
        [&](int32_t s) { return evalue(params, space, s * ratio) <= options.evalue; }, make_hit);
  }
  std::sort(result.hits.begin(), result.hits.end(), better_hit);
  if (static_cast<int64_t>(result.hits.size()) > options.max_seqs)
    result.hits.resize(static_cast<size_t>(options.max_seqs));
  return result;
}

// A query whose prefilter kept its most candidates, most of which then passed the E-value, likely has more
// homologs in the database than the MSA holds: the candidate limit, not the statistics, ended its search.
void warn_where_the_prefilter_limited(const std::vector<data::Sequence>& queries,
                                      const std::vector<QueryResult>& results, const SearchOptions& options,
                                      int64_t db_size) {
  const int64_t limit = options.prefilter.max_candidates;
  if (limit >= db_size) return;  // every sequence could be a candidate: none was left out
  for (size_t q = 0; q < results.size(); ++q) {
    const QueryResult& r = results[q];
    if (r.n_candidates >= limit && 2 * r.n_aligned >= limit && static_cast<int64_t>(r.hits.size()) < options.max_seqs)
      log_warn(
          "{}: {} of the prefilter's {} candidates (its limit) passed the E-value: the database likely holds more "
          "homologs than the {} hits found; a deeper MSA needs a larger --max-prefilter (e.g. --max-prefilter {}) or "
          "-s",
          queries[q].id, r.n_aligned, limit, r.hits.size(), options.max_seqs);
  }
}

void cancellation_point(const SearchOptions& options) {
  check_interrupt();  // the CLI's Ctrl-C / SIGTERM (data/interrupt.hpp)
  if (options.check_cancelled) options.check_cancelled();
}

// One search: the queries in batches of kQueryBatch, each through its rounds (profiles, prefilter over the
// index chunks, gapped scores, tracebacks and statistics). Holds what the batches share: the index chunk in
// memory, the per-thread scanners, the results and the progress.
class SearchRun {
 public:
  SearchRun(const std::vector<data::Sequence>& queries, const SequenceDb& db, const SearchOptions& options)
      : queries_(queries),
        db_(db),
        options_(options),
        params_(blosum62_params(options.gaps)),
        threads_(static_cast<int>(options.threads)),
        simd_(options.simd ? *options.simd : detect_simd_level()),
        // The candidates do not depend on the chunking (nor, so, on the thread count a memory bound sizes it by).
        bounds_(options.index_memory_bytes > 0
                    ? prefilter_chunk_bounds(db, options.index_memory_bytes, std::max(threads_, 1))
                    : index_chunk_bounds(db, options.index_chunk_residues)),
        n_chunk_(static_cast<int64_t>(bounds_.size()) - 1),
        units_per_round_(n_chunk_ + kAlignUnits + 1),
        results_(queries.size()),
        progress_("search", static_cast<int64_t>(queries.size()) * options.iterations * units_per_round_),
        reuse_buffers_(options.index_memory_bytes == 0),
        scanners_(static_cast<size_t>(std::max(threads_, 1))),
        // --index-memory chunks the database otherwise (bounds_ differ from the stored index's).
        stored_index_(options.index_memory_bytes == 0 ? stored_index_files(db, bounds_, options.index_chunk_residues)
                                                      : std::vector<std::filesystem::path>{}) {
    const auto n_query = static_cast<int64_t>(queries.size());
    log_info("search: {} {} against {} sequences ({} residues) from {}, {} threads, {} kernel, {} iteration(s)",
             n_query, n_query == 1 ? "query" : "queries", db.size(), db.total_residues(), db.source(), threads_,
             simd_level_name(simd_), options.iterations);
    log_debug("search: k-mer T {}, max {} candidates per query, {} index chunk(s)", options.prefilter.word_threshold,
              options.prefilter.max_candidates, n_chunk_);
    // Few queries against a large packed database spend most of their time building the index: say once per
    // process (kfold batch searches target by target) how to store it.
    static std::atomic<bool> hinted{false};
    if (db.memory_mapped() && stored_index_.empty() && options.index_memory_bytes == 0 &&
        db.total_residues() >= kStoredIndexHintResidues && n_query <= 10 && !hinted.exchange(true))
      log_info(
          "search: the k-mer index of {} is built in memory for each search; 'kfold db index {}' stores it once "
          "and searches map it",
          db.source(), db.source());
  }

  std::vector<QueryResult> run() {
    const auto n_query = static_cast<int64_t>(queries_.size());
    for (int64_t first = 0; first < n_query; first += kQueryBatch) {
      Batch batch(first, std::min(kQueryBatch, n_query - first));
      for (int64_t round = 1; round <= options_.iterations; ++round) {
        make_profiles(batch, round);
        const auto active = static_cast<int64_t>(std::count(batch.converged.begin(), batch.converged.end(), 0));
        progress_.advance((batch.size - active) * units_per_round_);  // converged queries have nothing left
        const auto candidates = prefilter(batch, active);
        const auto scores = gapped_scores(batch, candidates);
        finish_round(batch, round, candidates, scores);
      }
    }
    progress_.finish();
    log_debug("search: {} prefilter candidates in all", prefilter_hits_);
    warn_where_the_prefilter_limited(queries_, results_, options_, db_.size());
    return std::move(results_);
  }

 private:
  // The queries first .. first + size - 1 through their rounds; a query whose included set stops changing
  // is converged and skips the rounds left.
  struct Batch {
    Batch(int64_t first_query, int64_t n)
        : first(first_query),
          size(n),
          profiles(static_cast<size_t>(n)),
          words(static_cast<size_t>(n)),
          composition(static_cast<size_t>(n)),
          params(static_cast<size_t>(n)),
          converged(static_cast<size_t>(n), 0) {}
    int64_t first, size;
    std::vector<ScoreProfile> profiles;
    std::vector<std::unique_ptr<NeighbourWords>> words;
    std::vector<std::unique_ptr<CompositionStats>> composition;
    std::vector<KarlinAltschulParams> params;  // BLOSUM62's, or a PSSM's own (pssm_statistics)
    std::vector<char> converged;
  };

  // Profiles: the query sequence in round 1, a PSSM of the included hits afterwards; with their masks, seed
  // words, Karlin-Altschul parameters and composition statistics.
  void make_profiles(Batch& batch, int64_t round) {
    for_each_active_query(batch, [&](int64_t b) {
      const auto bi = static_cast<size_t>(b);
      const auto qi = static_cast<size_t>(batch.first + b);
      auto& profile = batch.profiles[bi];
      profile = round > 1 ? make_pssm(included_rows(profile, results_[qi], db_, options_.inclusion_evalue))
                : options_.first_round_profiles.empty() ? make_sequence_profile(queries_[qi].residues, blosum62())
                                                        : options_.first_round_profiles[qi];
      // Low-complexity query regions: no seeds, and scored as X by the gapped alignment.
      const std::vector<uint8_t> mask =
          options_.prefilter.mask_low_complexity ? low_complexity_mask(profile.codes) : std::vector<uint8_t>{};
      mask_profile_positions(profile, mask, blosum62());
      if (options_.composition_bias) correct_local_composition_bias(profile, mask);
      batch.words[bi] = std::make_unique<NeighbourWords>(profile, options_.prefilter.word_threshold, mask);
      if (round == 1) warn_if_unseeded(queries_[qi], *batch.words[bi], mask);
      // A PSSM's E-values use its own Karlin-Altschul parameters, and its composition ratios its own lambda.
      const PssmStatistics stats =
          profile.pssm ? pssm_statistics(profile, mask, params_) : PssmStatistics{params_, kBlosum62UngappedLambda};
      batch.params[bi] = stats.gapped;
      if (options_.composition_stats)
        batch.composition[bi] = std::make_unique<CompositionStats>(profile, mask, stats.ungapped_lambda);
    });
  }

  // A query the prefilter cannot seed: said, with what it ends with (options_.unseeded_outcome).
  void warn_if_unseeded(const data::Sequence& query, const NeighbourWords& words,
                        const std::vector<uint8_t>& mask) const {
    // The prefilter's two-hit rule needs two seed words on one diagonal, min_hit_distance apart.
    const int64_t min_length = kSeedSpan + options_.prefilter.min_hit_distance;
    if (static_cast<int64_t>(query.residues.size()) < min_length) {
      const size_t n = query.residues.size();
      log_warn(
          "query {}: {} residue{}; the prefilter's two-hit rule (two seed words on one diagonal) needs at least {}: "
          "no search is possible, {}",
          query.id, n, n == 1 ? "" : "s", min_length, options_.unseeded_outcome);
    } else if (words.entries() == 0) {
      const bool masked = std::any_of(mask.begin(), mask.end(), [](uint8_t m) { return m != 0; });
      // The composition-bias correction lowers the scores of a query's over-represented residues: a poly-Q
      // query seeded nothing at any word threshold until --no-comp-bias (then 20 hits in a 40,000-sequence DB).
      std::string remedies = "a higher -s (lower word score)";
      if (masked) remedies += " or --no-mask";
      if (options_.composition_bias) remedies += " or --no-comp-bias";
      log_warn("query {}: no 4-mer of it can seed a hit ({} residues{}): {}; {} may help", query.id,
               query.residues.size(), masked ? ", low-complexity regions masked" : "", options_.unseeded_outcome,
               remedies);
    }
  }

  // Every index chunk against every active query of the batch; the best candidates are merged chunk by chunk (a
  // total order, so the merge does not depend on the chunking either).
  std::vector<std::vector<Candidate>> prefilter(const Batch& batch, int64_t active) {
    std::vector<std::vector<Candidate>> candidates(static_cast<size_t>(batch.size));
    // Chunks are visited from the end whose index is loaded (0, 1, 2 then 2, 1, 0 ...), saving one index build
    // per batch and round when the database is several chunks.
    const bool backwards = n_chunk_ > 1 && index_ && index_->begin() == bounds_[static_cast<size_t>(n_chunk_ - 1)];
    for (int64_t step = 0; step < n_chunk_; ++step) {
      const int64_t c = backwards ? n_chunk_ - 1 - step : step;
      const int64_t begin = bounds_[static_cast<size_t>(c)], end = bounds_[static_cast<size_t>(c) + 1];
      if (!index_ || index_->begin() != begin) load_index(c, begin, end);
      for_each_active_query(
          batch, [&]() -> PrefilterScanner& { return scanners_[static_cast<size_t>(omp_get_thread_num())]; },
          [&](int64_t b, PrefilterScanner& scanner) {
            const auto bi = static_cast<size_t>(b);
            scanner.scan(batch.profiles[bi], *batch.words[bi], *index_, options_.prefilter, candidates[bi]);
          });
      if (!reuse_buffers_)
        for (PrefilterScanner& s : scanners_) s = PrefilterScanner{};  // moved in: the buffers are freed
      progress_.advance(active);
    }
    for (const auto& c : candidates) prefilter_hits_ += static_cast<int64_t>(c.size());
    return candidates;
  }

  // The index of chunk c: mapped from the database's stored index when it has one, else built (in the last
  // index's memory when buffers are reused).
  void load_index(int64_t c, int64_t begin, int64_t end) {
    if (!stored_index_.empty()) {
      try {
        index_.reset();
        index_ = KmerIndex::map_file(stored_index_[static_cast<size_t>(c)], db_, begin, end);
        if (!said_mapped_) log_info("search: k-mer index mapped from {}", stored_index_.front().parent_path().string());
        said_mapped_ = true;
        return;
      } catch (const InputError& e) {
        log_warn("{}; the search builds its k-mer index in memory instead", e.what());
        stored_index_.clear();
      }
    }
    if (index_ && reuse_buffers_ && !index_->mapped()) {
      index_->rebuild(db_, begin, end, threads_);
    } else {
      index_.reset();  // one chunk's index in memory at a time: --index-memory bounds it
      index_ = std::make_unique<KmerIndex>(db_, begin, end, threads_);
    }
  }

  // Gapped scores: tasks of kAlignBlock candidates of one query, so that a few long queries still use every
  // thread.
  std::vector<std::vector<int32_t>> gapped_scores(const Batch& batch,
                                                  const std::vector<std::vector<Candidate>>& candidates) {
    std::vector<std::vector<int32_t>> scores(static_cast<size_t>(batch.size));
    std::vector<std::pair<int64_t, int64_t>> tasks;  // (query in batch, first candidate)
    for (int64_t b = 0; b < batch.size; ++b) {
      const auto bi = static_cast<size_t>(b);
      if (batch.converged[bi]) continue;
      const auto n_cand = static_cast<int64_t>(candidates[bi].size());
      scores[bi].assign(static_cast<size_t>(n_cand), 0);
      for (int64_t k = 0; k < n_cand; k += kAlignBlock) tasks.emplace_back(b, k);
      if (n_cand == 0) progress_.advance(kAlignUnits);
    }
#pragma omp parallel num_threads(threads_)
    {
      std::vector<uint8_t> target;  // per-thread buffer
#pragma omp for schedule(dynamic, 1)
      for (size_t task = 0; task < tasks.size(); ++task) {
        const auto [b, first] = tasks[task];
        const auto bi = static_cast<size_t>(b);
        try {
          cancellation_point(options_);
          StripedAligner aligner(batch.profiles[bi], options_.gaps, simd_);
          const auto n_cand = static_cast<int64_t>(candidates[bi].size());
          const int64_t last = std::min<int64_t>(first + kAlignBlock, n_cand);
          for (int64_t k = first; k < last; ++k) {
            encode_residues(db_.residues(candidates[bi][static_cast<size_t>(k)].target), target);
            scores[bi][static_cast<size_t>(k)] = aligner.score(target);
          }
          progress_.advance(align_units(first / kAlignBlock, (n_cand + kAlignBlock - 1) / kAlignBlock));
        } catch (...) {
          error_.record(batch.first + b, std::current_exception());
        }
      }
    }
    error_.rethrow();
    return scores;
  }

  // Tracebacks and statistics of each active query: its result for this round, and whether it converged.
  void finish_round(Batch& batch, int64_t round, const std::vector<std::vector<Candidate>>& candidates,
                    const std::vector<std::vector<int32_t>>& scores) {
    for_each_active_query(
        batch, [] { return std::vector<uint8_t>(); },
        [&](int64_t b, std::vector<uint8_t>& target) {
          const auto bi = static_cast<size_t>(b);
          const auto qi = static_cast<size_t>(batch.first + b);
          QueryResult next = finish_query(queries_[qi], batch.profiles[bi], batch.composition[bi].get(), candidates[bi],
                                          scores[bi], db_, options_, simd_, batch.params[bi], target);
          // Converged when the included set did not change (PSI-BLAST's stopping rule).
          if (round > 1 && included_targets(next, options_.inclusion_evalue) ==
                               included_targets(results_[qi], options_.inclusion_evalue))
            batch.converged[bi] = 1;
          if (round > 1)
            log_info("{}: round {}: {} hits{}", queries_[qi].id, round, next.hits.size(),
                     batch.converged[bi] ? " (converged)" : "");
          results_[qi] = std::move(next);
          progress_.advance();
        });
  }

  // body(b, state) for each query b of the batch that has not converged, in parallel (the converged flags are
  // read before the loop's body can change them: each body changes its own); `state` is its thread's own,
  // from make_state (a buffer, a scanner). An exception ends its query and is rethrown after the loop.
  template <typename MakeState, typename Body>
  void for_each_active_query(const Batch& batch, MakeState make_state, Body body) {
#pragma omp parallel num_threads(threads_)
    {
      decltype(auto) state = make_state();
#pragma omp for schedule(dynamic, 1)
      for (int64_t b = 0; b < batch.size; ++b) {
        if (batch.converged[static_cast<size_t>(b)]) continue;
        try {
          cancellation_point(options_);
          body(b, state);
        } catch (...) {
          error_.record(batch.first + b, std::current_exception());
        }
      }
    }
    error_.rethrow();
  }
  template <typename Body>
  void for_each_active_query(const Batch& batch, Body body) {
    for_each_active_query(
        batch, [] { return std::monostate(); }, [&](int64_t b, std::monostate) { body(b); });
  }

  const std::vector<data::Sequence>& queries_;
  const SequenceDb& db_;
  const SearchOptions& options_;
  const KarlinAltschulParams params_;
  const int threads_;
  const SimdLevel simd_;
  const std::vector<int64_t> bounds_;  // index chunks: sequences bounds_[c] .. bounds_[c + 1] - 1
  const int64_t n_chunk_;
  const int64_t units_per_round_;
  std::vector<QueryResult> results_;
  Progress progress_;
  data::FirstError error_;
  std::unique_ptr<KmerIndex> index_;  // kept across batches and rounds when the database is one chunk
  // One scanner per thread for the whole search: its buffers (and the index's, rebuilt in place) are paged in
  // once, not again for every batch and chunk (the kernel zeroes each new page: 7 % of a search's time).
  // Not under --index-memory: kept beside the index build and the gapped alignment, they raised the peak by
  // 30-60 MB at 16 threads and 64 MiB.
  const bool reuse_buffers_;
  std::vector<PrefilterScanner> scanners_;
  std::vector<std::filesystem::path> stored_index_;  // the chunks' files of the database's stored index, if used
  bool said_mapped_ = false;
  int64_t prefilter_hits_ = 0;
};

// The first-round profiles a caller gives must be profiles of the queries' own sequences.
void check_first_round_profiles(const std::vector<data::Sequence>& queries, const SearchOptions& options) {
  if (options.first_round_profiles.empty()) return;
  if (options.first_round_profiles.size() != queries.size())
    fail_input("search: {} first-round profiles for {} queries", options.first_round_profiles.size(), queries.size());
  std::vector<uint8_t> codes;
  for (size_t q = 0; q < queries.size(); ++q) {
    encode_residues(queries[q].residues, codes);
    if (options.first_round_profiles[q].codes != codes)
      fail_input("search: the first-round profile of query {} is not a profile of its sequence", queries[q].id);
  }
}

}  // namespace

std::vector<QueryResult> search(const std::vector<data::Sequence>& queries, const SequenceDb& db,
                                const SearchOptions& options) {
  check_search_options(options);
  check_first_round_profiles(queries, options);
  return SearchRun(queries, db, options).run();
}

}  // namespace kfold::msa
