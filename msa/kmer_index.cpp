// Building the k-mer index of a database range: encode, count words, then place (counting sort), in
// parallel over parts of the range.
#include "msa/kmer_index.hpp"

#include <algorithm>
#include <atomic>
#include <limits>

#include "data/error.hpp"
#include "data/first_error.hpp"

namespace kfold::msa {

KmerIndex::KmerIndex(const SequenceDb& db, int64_t begin, int64_t end, int threads, int64_t min_part_residues) {
  rebuild(db, begin, end, threads, min_part_residues);
}

void KmerIndex::rebuild(const SequenceDb& db, int64_t begin, int64_t end, int threads, int64_t min_part_residues) {
  // Empty until built: should the build throw (bad input, no memory), the index holds no sequence and
  // no occurrence, and scanners laid out for its last build lay themselves out again.
  begin_ = end_ = 0;
  build_id_ = 0;
  mapping_.reset();
  starts_.assign(static_cast<size_t>(kSeedWords + 1), 0);
  const int64_t n = end - begin;
  threads = std::max(1, threads);
  code_offsets_.assign(static_cast<size_t>(n + 1), 0);
  n_entries_ = 0;
  view_own_storage();
  // Every residue is read here anyway: a damaged packed database is refused now (InputError naming the sequence),
  // not only where a hit's alignment covers the byte (read as X elsewhere).
  check_residue_bytes(db, begin, end);
  for (int64_t i = 0; i < n; ++i) {
    const auto len = static_cast<int64_t>(db.residues(begin + i).size());
    if (len >= int64_t{std::numeric_limits<uint32_t>::max()})
      fail_input("{}: sequence '{}' is too long for the k-mer index", db.source(), db.id(begin + i));
    code_offsets_[static_cast<size_t>(i + 1)] = code_offsets_[static_cast<size_t>(i)] + len;
  }
  codes_.resize(static_cast<size_t>(code_offsets_.back()));
  view_own_storage();  // codes(i) below reads the new codes
  // Parts: contiguous sequence ranges of about equal residues, one per thread (and of at least
  // min_part_residues). Each part counts and then places its own words; a word's entries stay ordered by
  // (target, position) because part p's go after those of parts < p, so the index does not depend on the
  // part count.
  const int64_t n_parts =
      std::min({static_cast<int64_t>(threads), std::max<int64_t>(n, 1),
                std::max<int64_t>(code_offsets_.back() / std::max<int64_t>(min_part_residues, 1), 1)});
  std::vector<int64_t> part_begin(static_cast<size_t>(n_parts + 1), n);
  part_begin[0] = 0;
  for (int64_t p = 1, i = 0; p < n_parts; ++p) {
    const int64_t goal = code_offsets_.back() * p / n_parts;
    while (i < n && code_offsets_[static_cast<size_t>(i)] < goal) ++i;
    part_begin[static_cast<size_t>(p)] = i;
  }
  std::vector<std::vector<uint32_t>> counts(static_cast<size_t>(n_parts));
  const auto for_each_word = [&](int64_t p, auto&& visit) {
    for (int64_t i = part_begin[static_cast<size_t>(p)]; i < part_begin[static_cast<size_t>(p) + 1]; ++i) {
      const std::span<const uint8_t> c = codes(i);
      const auto len = static_cast<int64_t>(c.size());
      for (int64_t pos = 0; pos + kSeedSpan <= len; ++pos) {
        const int64_t word = seed_word(c.data() + pos);
        if (word >= 0) visit(word, i, pos);
      }
    }
  };
  data::FirstError error;  // out of memory for a part's buffers: an error, not std::terminate
#pragma omp parallel for schedule(static, 1) num_threads(static_cast <int>(n_parts))
  for (int64_t p = 0; p < n_parts; ++p) {
    try {
      std::vector<uint8_t> buffer;
      for (int64_t i = part_begin[static_cast<size_t>(p)]; i < part_begin[static_cast<size_t>(p) + 1]; ++i) {
        encode_residues(db.residues(begin + i), buffer);
        std::copy(buffer.begin(), buffer.end(), codes_.begin() + code_offsets_[static_cast<size_t>(i)]);
      }
      auto& count = counts[static_cast<size_t>(p)];
      count.assign(static_cast<size_t>(kSeedWords), 0);
      for_each_word(p, [&](int64_t word, int64_t, int64_t) { ++count[static_cast<size_t>(word)]; });
    } catch (...) {
      error.record(p, std::current_exception());
    }
  }
  error.rethrow();
  // starts_ from the summed counts; fill[p][w]: where part p's first entry of word w goes.
  starts_.assign(static_cast<size_t>(kSeedWords + 1), 0);
  std::vector<std::vector<int64_t>> fill(static_cast<size_t>(n_parts), std::vector<int64_t>(kSeedWords));
  int64_t total = 0;
  for (int64_t w = 0; w < kSeedWords; ++w) {
    starts_[static_cast<size_t>(w)] = total;
    for (int64_t p = 0; p < n_parts; ++p) {
      fill[static_cast<size_t>(p)][static_cast<size_t>(w)] = total;
      total += counts[static_cast<size_t>(p)][static_cast<size_t>(w)];
    }
  }
  starts_[static_cast<size_t>(kSeedWords)] = total;
  if (static_cast<size_t>(total) > entries_capacity_) {
    entries_capacity_ = 0;
    entries_.reset();
    try {
      entries_ = make_huge_page_array<Entry>(static_cast<size_t>(total));  // pages are touched by the fill
    } catch (...) {
      std::fill(starts_.begin(), starts_.end(), 0);  // still empty: no occurrence without entries
      throw;
    }
    entries_capacity_ = static_cast<size_t>(total);
  }
#pragma omp parallel for schedule(static, 1) num_threads(static_cast <int>(n_parts))
  for (int64_t p = 0; p < n_parts; ++p) {
    auto& next = fill[static_cast<size_t>(p)];
    for_each_word(p, [&](int64_t word, int64_t i, int64_t pos) {
      entries_[static_cast<size_t>(next[static_cast<size_t>(word)]++)] = {static_cast<uint32_t>(i),
                                                                          static_cast<uint32_t>(pos)};
    });
  }
  n_entries_ = total;
  view_own_storage();
  begin_ = begin;
  end_ = end;
  build_id_ = next_build_id();
}

void KmerIndex::view_own_storage() {
  starts_view_ = starts_.data();
  entries_view_ = entries_.get();
  codes_view_ = codes_.data();
  code_offsets_view_ = code_offsets_.data();
}

uint64_t KmerIndex::next_build_id() {
  static std::atomic<uint64_t> builds{0};
  return ++builds;
}

std::vector<int64_t> index_chunk_bounds(const SequenceDb& db, int64_t residues) {
  std::vector<int64_t> bounds{0};
  int64_t filled = 0;
  for (int64_t i = 0; i < db.size(); ++i) {
    filled += static_cast<int64_t>(db.residues(i).size());
    // uint32 target indices: never more than 2^31 sequences in one chunk either.
    if (filled >= residues || i + 1 - bounds.back() >= (int64_t{1} << 31)) {
      bounds.push_back(i + 1);
      filled = 0;
    }
  }
  if (bounds.back() != db.size()) bounds.push_back(db.size());
  return bounds;
}

}  // namespace kfold::msa
