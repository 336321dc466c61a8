// Building the k-mer index of a database range: encode, count words, then place (counting sort).
#include "msa/kmer_index.hpp"

#include <limits>

#include "data/error.hpp"

namespace kfold::msa {

KmerIndex::KmerIndex(const SequenceDb& db, int64_t begin, int64_t end) : begin_(begin), end_(end) {
  const int64_t n = end - begin;
  code_offsets_.assign(static_cast<size_t>(n + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    const auto len = static_cast<int64_t>(db.residues(begin + i).size());
    if (len >= int64_t{std::numeric_limits<uint32_t>::max()})
      fail_input("{}: sequence '{}' is too long for the k-mer index", db.source(), db.id(begin + i));
    code_offsets_[static_cast<size_t>(i + 1)] = code_offsets_[static_cast<size_t>(i)] + len;
  }
  codes_.resize(static_cast<size_t>(code_offsets_.back()));
  std::vector<uint8_t> buffer;
  for (int64_t i = 0; i < n; ++i) {
    encode_residues(db.residues(begin + i), buffer);
    std::copy(buffer.begin(), buffer.end(), codes_.begin() + code_offsets_[static_cast<size_t>(i)]);
  }
  starts_.assign(static_cast<size_t>(kSeedWords + 1), 0);
  const auto for_each_word = [&](auto&& visit) {
    for (int64_t i = 0; i < n; ++i) {
      const std::span<const uint8_t> c = codes(i);
      const auto len = static_cast<int64_t>(c.size());
      for (int64_t p = 0; p + kSeedSpan <= len; ++p) {
        const int64_t word = seed_word(c.data() + p);
        if (word >= 0) visit(word, i, p);
      }
    }
  };
  for_each_word([&](int64_t word, int64_t, int64_t) { ++starts_[static_cast<size_t>(word) + 1]; });
  for (int64_t w = 0; w < kSeedWords; ++w) starts_[static_cast<size_t>(w + 1)] += starts_[static_cast<size_t>(w)];
  entries_.resize(static_cast<size_t>(starts_.back()));
  std::vector<int64_t> fill(starts_.begin(), starts_.end() - 1);
  for_each_word([&](int64_t word, int64_t i, int64_t p) {
    entries_[static_cast<size_t>(fill[static_cast<size_t>(word)]++)] = {static_cast<uint32_t>(i),
                                                                        static_cast<uint32_t>(p)};
  });
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
