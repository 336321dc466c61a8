// K-mer index of a range of database sequences (the prefilter's target side, as MMseqs2's prefilter
// indexes its target database): every position of every sequence under its seed word, grouped by word,
// plus the sequences' residue codes for ungapped scoring. Built in memory, or mapped from a file that
// `kfold db index` stored (msa/kmer_index_file.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "msa/alphabet.hpp"
#include "msa/huge_page_allocator.hpp"
#include "msa/mapped_file.hpp"
#include "msa/sequence_db.hpp"

namespace kfold::msa {

// A seed word: kSeedWeight residues at these offsets from the word start (contiguous 4-mers). Words
// use the 20 amino acids only; a window with X (or B/Z/U... mapped to X) is not indexed.
inline constexpr int64_t kSeedWeight = 4;
inline constexpr std::array<int32_t, kSeedWeight> kSeedOffsets{0, 1, 2, 3};
inline constexpr int64_t kSeedSpan = 4;  // last offset + 1
inline constexpr int64_t kSeedAlphabet = 20;
inline constexpr int64_t kSeedWords = kSeedAlphabet * kSeedAlphabet * kSeedAlphabet * kSeedAlphabet;

// Residues per index chunk: a fixed size (not derived from the thread count, so that results do not
// depend on it) that bounds the index memory to about 9 bytes per residue (~600 MiB per chunk).
inline constexpr int64_t kIndexChunkResidues = int64_t{64} << 20;
inline constexpr int64_t kIndexBytesPerResidue = 9;  // an 8-byte entry and the 1-byte residue code
// Residues per part of a parallel index build at least: a part's word counters (12 bytes a seed word,
// 1.9 MB) then add under 2 bytes a residue (4096 threads on a small database had asked for 7 GB).
inline constexpr int64_t kMinIndexPartResidues = int64_t{1} << 20;

class KmerIndex {
 public:
  struct Entry {
    uint32_t target;  // sequence index relative to begin()
    uint32_t pos;     // word start in that sequence
  };

  // Indexes sequences [begin, end) of `db` with up to `threads` OpenMP threads, each building a part of
  // at least `min_part_residues` (its word counters take 1.9 MB); the index is the same for any count.
  // Sequences longer than 2^32 - 1 residues are rejected (InputError); none exist in practice.
  KmerIndex(const SequenceDb& db, int64_t begin, int64_t end, int threads = 1,
            int64_t min_part_residues = kMinIndexPartResidues);
  // The index of sequences [begin, end) instead, in this index's memory where it is large enough.
  void rebuild(const SequenceDb& db, int64_t begin, int64_t end, int threads = 1,
               int64_t min_part_residues = kMinIndexPartResidues);

  // The index of sequences [begin, end) of `db` stored in `file` by write() (`kfold db index`), memory-mapped:
  // nothing is built, and the pages are the page cache's (shared by every process on the node). Throws
  // InputError naming the file when it is not a kfold k-mer index of sequences of those lengths (another
  // database, a truncated or damaged file; stored_index_files refuses one of another database of the same lengths
  // by its residues digest). rebuild() on it builds in memory.
  static std::unique_ptr<KmerIndex> map_file(const std::filesystem::path& file, const SequenceDb& db, int64_t begin,
                                             int64_t end);
  // Writes this index to `file` (a new file; its directory must exist). Throws RuntimeError when writing fails.
  void write(const std::filesystem::path& file) const;

  // Unique to each build or mapping in this process (what per-index buffers are laid out for).
  uint64_t build_id() const { return build_id_; }
  int64_t begin() const { return begin_; }
  int64_t end() const { return end_; }
  bool mapped() const { return mapping_ != nullptr; }
  int64_t n_entries() const { return n_entries_; }
  // Occurrences of `word`, ordered by target, then position.
  std::span<const Entry> occurrences(uint32_t word) const {
    return {entries_view_ + starts_view_[word], static_cast<size_t>(starts_view_[word + 1] - starts_view_[word])};
  }
  // Hint that codes(local) will be asked for soon (its offset is a random access into the chunk).
  void prefetch_codes_offset(int64_t local) const { __builtin_prefetch(code_offsets_view_ + local); }
  // Residue codes of sequence begin() + local.
  std::span<const uint8_t> codes(int64_t local) const {
    return {codes_view_ + code_offsets_view_[local],
            static_cast<size_t>(code_offsets_view_[local + 1] - code_offsets_view_[local])};
  }

 private:
  KmerIndex() = default;
  void view_own_storage();  // the views below point at the owned containers
  static uint64_t next_build_id();

  int64_t begin_ = 0;
  int64_t end_ = 0;
  uint64_t build_id_ = 0;
  std::vector<int64_t> starts_;   // [kSeedWords + 1]
  HugePageArray<Entry> entries_;  // grouped by word; not zero-filled (the fill writes every entry)
  size_t entries_capacity_ = 0;
  HugePageVector<uint8_t> codes_;      // concatenated residue codes
  std::vector<int64_t> code_offsets_;  // [end - begin + 1]
  // What the accessors read: the containers above, or a mapped file's arrays.
  const int64_t* starts_view_ = nullptr;
  const Entry* entries_view_ = nullptr;
  const uint8_t* codes_view_ = nullptr;
  const int64_t* code_offsets_view_ = nullptr;
  int64_t n_entries_ = 0;
  std::shared_ptr<const MappedFile> mapping_;  // the file the views point into, when mapped
};

// Seed word at `codes[pos]` (pos + kSeedSpan <= size), or -1 when a residue in it is X.
inline int64_t seed_word(const uint8_t* codes) {
  int64_t word = 0;
  for (const int32_t off : kSeedOffsets) {
    const uint8_t c = codes[off];
    if (c >= kSeedAlphabet) return -1;
    word = word * kSeedAlphabet + c;
  }
  return word;
}

// Index chunks [bounds[c], bounds[c + 1]) of about `residues` residues each.
std::vector<int64_t> index_chunk_bounds(const SequenceDb& db, int64_t residues = kIndexChunkResidues);

}  // namespace kfold::msa
