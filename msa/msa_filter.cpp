// Pairwise-identity filters and Neff over MSA rows in query coordinates.
#include "msa/msa_filter.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>

#include <omp.h>

#include "data/error.hpp"
#include "data/first_error.hpp"
#include "data/progress.hpp"

namespace kfold::msa {

double row_identity(const std::string& a, const std::string& b) {
  int64_t same = 0;
  int64_t both = 0;
  const size_t n = std::min(a.size(), b.size());
  for (size_t k = 0; k < n; ++k) {
    const bool aligned = (a[k] != '-') & (b[k] != '-');
    both += aligned;
    same += aligned & (a[k] == b[k]);
  }
  return both == 0 ? 0.0 : static_cast<double>(same) / static_cast<double>(both);
}

std::vector<int64_t> filter_max_seq_id(const data::Msa& msa, double max_seq_id,
                                       const std::function<void()>& check_cancelled) {
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < msa.depth(); ++i) {
    if (check_cancelled && i % 64 == 0) check_cancelled();
    bool keep = true;
    if (i > 0 && max_seq_id < 1.0) {
      for (const int64_t k : kept) {
        if (row_identity(msa.sequences[static_cast<size_t>(i)], msa.sequences[static_cast<size_t>(k)]) > max_seq_id) {
          keep = false;
          break;
        }
      }
    }
    if (keep) kept.push_back(i);
  }
  return kept;
}

std::vector<int64_t> filter_diverse(const data::Msa& msa, int64_t min_per_block) {
  const int64_t depth = msa.depth();
  std::vector<int64_t> all(static_cast<size_t>(depth));
  for (int64_t i = 0; i < depth; ++i) all[static_cast<size_t>(i)] = i;
  if (min_per_block <= 0 || depth <= 1) return all;
  const int64_t length = msa.length();
  const int64_t n_blocks = (length + kDiversityBlock - 1) / kDiversityBlock;
  // covers[r]: the blocks row r covers (residues in at least half of the block's columns).
  std::vector<std::vector<int32_t>> covers(static_cast<size_t>(depth));
  std::vector<int64_t> available(static_cast<size_t>(n_blocks), 0);  // rows covering each block
  for (int64_t r = 1; r < depth; ++r) {
    const std::string& row = msa.sequences[static_cast<size_t>(r)];
    for (int64_t b = 0; b < n_blocks; ++b) {
      const int64_t begin = b * kDiversityBlock;
      const int64_t end = std::min(length, begin + kDiversityBlock);
      const auto residues = std::count_if(row.begin() + begin, row.begin() + end, [](char c) { return c != '-'; });
      if (2 * residues >= end - begin) {
        covers[static_cast<size_t>(r)].push_back(static_cast<int32_t>(b));
        ++available[static_cast<size_t>(b)];
      }
    }
  }
  // Each block needs min(min_per_block, rows covering it) kept rows.
  std::vector<int64_t> missing(static_cast<size_t>(n_blocks));
  int64_t blocks_missing = 0;
  for (int64_t b = 0; b < n_blocks; ++b) {
    missing[static_cast<size_t>(b)] = std::min(min_per_block, available[static_cast<size_t>(b)]);
    blocks_missing += missing[static_cast<size_t>(b)] > 0;
  }
  std::vector<int64_t> kept_rows{0};
  std::vector<char> kept(static_cast<size_t>(depth), 0);
  kept[0] = 1;
  // Identity of each row to the kept rows, computed lazily: max_identity[r] over kept_rows[0, checked[r]).
  std::vector<double> max_identity(static_cast<size_t>(depth), 0.0);
  std::vector<size_t> checked(static_cast<size_t>(depth), 0);
  for (int step = 0; step <= 14 && blocks_missing > 0; ++step) {
    const double threshold = 0.3 + 0.05 * step + 1e-9;
    for (int64_t r = 1; r < depth && blocks_missing > 0; ++r) {
      const auto ri = static_cast<size_t>(r);
      if (kept[ri]) continue;
      const auto& blocks = covers[ri];
      if (std::none_of(blocks.begin(), blocks.end(), [&](int32_t b) { return missing[static_cast<size_t>(b)] > 0; }))
        continue;
      while (checked[ri] < kept_rows.size() && max_identity[ri] <= threshold) {
        const auto k = static_cast<size_t>(kept_rows[checked[ri]++]);
        max_identity[ri] = std::max(max_identity[ri], row_identity(msa.sequences[ri], msa.sequences[k]));
      }
      if (max_identity[ri] > threshold) continue;
      kept[ri] = 1;
      kept_rows.push_back(r);
      for (const int32_t b : blocks) {
        auto& m = missing[static_cast<size_t>(b)];
        if (m > 0 && --m == 0) --blocks_missing;
      }
    }
  }
  std::sort(kept_rows.begin(), kept_rows.end());
  return kept_rows;
}

void check_msa_filter_options(const MsaFilterOptions& options) {
  if (!(options.max_seq_id > 0.0 && options.max_seq_id <= 1.0))
    fail_input("--max-seq-id must be in (0, 1] (got {})", options.max_seq_id);
  if (options.diff < 0) fail_input("--diff must be >= 0 (got {}; 0 turns the filter off)", options.diff);
}

data::Msa filter_msa(const data::Msa& msa, const MsaFilterOptions& options) {
  check_msa_filter_options(options);
  data::Msa out = options.max_seq_id < 1.0 ? select_rows(msa, filter_max_seq_id(msa, options.max_seq_id)) : msa;
  if (options.diff > 0) out = select_rows(out, filter_diverse(out, options.diff));
  return out;
}

data::Msa select_rows(const data::Msa& msa, const std::vector<int64_t>& rows) {
  data::Msa out;
  out.chain_lengths = msa.chain_lengths;  // the columns stay: so do a complex's chains
  const bool has_insertions = msa.insertions.size() == msa.sequences.size();
  for (const int64_t r : rows) {
    if (r < 0 || r >= msa.depth()) fail_input("rows: index {} is outside the MSA's rows 0..{}", r, msa.depth() - 1);
    const auto i = static_cast<size_t>(r);
    out.sequences.push_back(msa.sequences[i]);
    out.deletion_matrix.push_back(msa.deletion_matrix[i]);
    out.descriptions.push_back(msa.descriptions[i]);
    if (has_insertions) out.insertions.push_back(msa.insertions[i]);
  }
  return out;
}

namespace {

// row_identity(a, b) >= identity, with a and b of length n, deciding early once the mismatches ruled it out:
// same / aligned >= identity needs mismatches <= (1 - identity) * aligned, and aligned <= max_aligned (the
// fewer residues of the two rows). Columns in blocks of 64 (SIMD); the same answer as row_identity's.
bool identity_at_least(const char* a, const char* b, int64_t n, double identity, int64_t max_aligned) {
  constexpr int64_t kBlock = 64;
  // More mismatches than this: below `identity` (the margin keeps a pair at the threshold for the exact test).
  const double ruled_out = (1.0 - identity) * static_cast<double>(max_aligned) + 1e-6;
  int64_t same = 0;
  int64_t both = 0;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t end = std::min(n, start + kBlock);
    int32_t block_same = 0;
    int32_t block_both = 0;
#pragma omp simd reduction(+ : block_same, block_both)
    for (int64_t k = start; k < end; ++k) {
      const int32_t aligned = static_cast<int32_t>(a[k] != '-') & static_cast<int32_t>(b[k] != '-');
      block_both += aligned;
      block_same += aligned & static_cast<int32_t>(a[k] == b[k]);
    }
    same += block_same;
    both += block_both;
    if (static_cast<double>(both - same) > ruled_out) return false;
  }
  return (both == 0 ? 0.0 : static_cast<double>(same) / static_cast<double>(both)) >= identity;
}

}  // namespace

double neff(const data::Msa& msa, double identity, const std::function<void()>& check_cancelled, int threads,
            bool show_progress) {
  const int64_t depth = msa.depth();
  std::optional<Progress> progress;  // pairs of rows compared (seconds from about 10,000 rows on)
  if (show_progress && depth >= 4096) progress.emplace("Neff", depth * (depth - 1) / 2);
  std::vector<int64_t> neighbours(static_cast<size_t>(depth), 1);  // each row counts itself
  std::vector<int64_t> residues(static_cast<size_t>(depth));       // [depth] non-gap columns of each row
  for (int64_t i = 0; i < depth; ++i) {
    const std::string& row = msa.sequences[static_cast<size_t>(i)];
    residues[static_cast<size_t>(i)] = static_cast<int64_t>(row.size() - std::count(row.begin(), row.end(), '-'));
  }
  data::FirstError cancelled;  // no exception may leave the parallel loop
  std::atomic<bool> stop{false};
  // Rows in parallel (a search's outputs call this from a parallel loop over queries, where it runs on
  // that thread alone); integer counts, so the sum is the same for any thread count.
  if (threads <= 0) threads = omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 16) if (depth >= 256) num_threads(threads)
  for (int64_t i = 0; i < depth; ++i) {
    if (stop.load(std::memory_order_relaxed)) continue;
    if (check_cancelled && i % 64 == 0) {
      try {
        check_cancelled();
      } catch (...) {
        cancelled.record(i, std::current_exception());
        stop = true;
        continue;
      }
    }
    int64_t own = 0;
    const std::string& a = msa.sequences[static_cast<size_t>(i)];
    for (int64_t j = i + 1; j < depth; ++j) {
      const std::string& b = msa.sequences[static_cast<size_t>(j)];
      const auto n = static_cast<int64_t>(std::min(a.size(), b.size()));
      const int64_t max_aligned = std::min(residues[static_cast<size_t>(i)], residues[static_cast<size_t>(j)]);
      // A row without a residue is nobody's neighbour, not even at identity 0.
      if (max_aligned > 0 && identity_at_least(a.data(), b.data(), n, identity, max_aligned)) {
        ++own;
#pragma omp atomic
        ++neighbours[static_cast<size_t>(j)];
      }
    }
#pragma omp atomic
    neighbours[static_cast<size_t>(i)] += own;
    if (progress) progress->advance(depth - 1 - i);
  }
  cancelled.rethrow();
  // A row without a residue (all gaps: a hit outside a cropped domain) is no sequence here: it counts 0, not 1,
  // and no row's neighbour.
  double sum = 0.0;
  for (int64_t i = 0; i < depth; ++i)
    if (residues[static_cast<size_t>(i)] > 0) sum += 1.0 / static_cast<double>(neighbours[static_cast<size_t>(i)]);
  return sum;
}

}  // namespace kfold::msa
