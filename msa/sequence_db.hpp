// Sequence databases for search: a FASTA file read into memory, or a directory packed by
// `kfold db create` and memory-mapped. Both give the same view: residues, ids and headers by index.
//
// Packed format (version 1), all files in DB_DIR:
//   kfold_db.json        {"format": "kfold-db", "version": 1, "sequences": n, "residues": total,
//                         "max_length": L, "byte_order": "little", "source": "<fasta path>",
//                         "residues_fnv1a64": "<16 hex digits>"}  (absent in databases of older versions)
//   residues.bin         the residues of every sequence, concatenated, one uppercase ASCII letter per byte
//   offsets.bin          int64 little-endian [n + 1]: sequence i is residues[offsets[i], offsets[i+1])
//   headers.txt          "id description\n" per sequence
//   header_offsets.bin   int64 little-endian [n + 1] into headers.txt (each header ends with '\n')
// The directory is built under DB_DIR.tmp.<pid> and renamed when complete.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace kfold::msa {

inline constexpr int64_t kDbFormatVersion = 1;
inline constexpr const char* kDbManifestFile = "kfold_db.json";  // what makes a folder a database

class SequenceDb {
 public:
  // A directory made by create_db (memory-mapped) or a FASTA file (plain or gzip, read into memory).
  // Throws InputError naming `path` when it does not exist, is neither, or is damaged.
  static SequenceDb open(const std::filesystem::path& path);

  SequenceDb(SequenceDb&&) noexcept;
  SequenceDb& operator=(SequenceDb&&) noexcept;
  ~SequenceDb();

  int64_t size() const { return n_seq_; }
  int64_t total_residues() const { return n_residues_; }
  int64_t max_length() const { return max_length_; }
  bool memory_mapped() const { return mapped_; }
  const std::string& source() const { return source_; }
  // The manifest's "residues_fnv1a64": 64-bit FNV-1a of every sequence's residues, each followed by '\n' (what a
  // stored k-mer index is checked against); "" for a FASTA file and databases of older versions.
  const std::string& residues_digest() const { return residues_digest_; }

  std::string_view residues(int64_t i) const {
    return {residues_ + offsets_[i], static_cast<size_t>(offsets_[i + 1] - offsets_[i])};
  }
  // "id description" (no line break).
  std::string_view header(int64_t i) const {
    return {headers_ + header_offsets_[i], static_cast<size_t>(header_offsets_[i + 1] - header_offsets_[i] - 1)};
  }
  std::string_view id(int64_t i) const;

 private:
  struct Storage;
  SequenceDb();
  void finish_open();

  std::unique_ptr<Storage> storage_;
  std::string source_;
  std::string residues_digest_;
  bool mapped_ = false;
  int64_t n_seq_ = 0;
  int64_t n_residues_ = 0;
  int64_t max_length_ = 0;
  const char* residues_ = nullptr;
  const int64_t* offsets_ = nullptr;
  const char* headers_ = nullptr;
  const int64_t* header_offsets_ = nullptr;
};

// Throws InputError, "the database is damaged; create it again", for the first byte of sequence `i`'s
// residues from `first` to `last` (0-based, inclusive) that is no letter: create_db writes letters only, so
// anything else in a packed database is damage (its search reads it as X).
void check_residue_bytes(const SequenceDb& db, int64_t i, int64_t first, int64_t last);

// The same for every residue of sequences `begin` to `end` - 1.
void check_residue_bytes(const SequenceDb& db, int64_t begin, int64_t end);

struct DbStats {
  int64_t sequences = 0;
  int64_t residues = 0;
  int64_t max_length = 0;
};

// Packs `fasta` (plain or gzip, streamed record by record) into `db_dir`, which must not exist yet.
// Throws InputError for bad input (nothing is left behind), RuntimeError for write failures.
DbStats create_db(const std::filesystem::path& fasta, const std::filesystem::path& db_dir);

}  // namespace kfold::msa
