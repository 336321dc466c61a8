// The prefilter's k-mer index stored in a database folder (`kfold db index DB`), so that a search maps it
// (page cache, shared by the processes of a node) instead of building it for every run: a one-query
// search of a large database spends nearly all its time building the index otherwise.
//
// DB/kmer_index/ holds
//   index.json      {"format": "kfold-kmer-index", "version": 1, "sequences": n, "residues": total,
//                    "chunk_residues": R, "bounds": [0, ..., n], "database_residues_fnv1a64": the
//                    database's residues digest (SequenceDb::residues_digest; an index copied into another
//                    database of the same size is refused by it)}: the chunks of the default size
//   chunk_<c>.kmi   chunk c (little-endian): int64 header[8] {magic, version, begin, end, entries, codes,
//                   seed words, seed weight}, int64 starts[seed words + 1], int64 code_offsets[end - begin
//                   + 1], KmerIndex::Entry entries[entries], uint8 codes[codes]
// A search with --index-memory (other chunks) builds its index as before.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "msa/kmer_index.hpp"
#include "msa/sequence_db.hpp"

namespace kfold::msa {

inline constexpr const char* kStoredIndexFolder = "kmer_index";

struct StoredIndexStats {
  int64_t chunks = 0;
  int64_t entries = 0;  // indexed words
  int64_t bytes = 0;    // on disk
};

// Builds the k-mer index of the database folder `db_dir` with `threads` threads and stores it in
// db_dir/kmer_index, replacing one there (built in kmer_index.tmp.<pid>, renamed when complete). InputError
// when db_dir is no database folder or cannot be written; RuntimeError when writing fails (disk full).
// `chunk_residues`: the chunks' size (tests store several chunks of a small database).
StoredIndexStats write_stored_index(const std::filesystem::path& db_dir, int threads,
                                    int64_t chunk_residues = kIndexChunkResidues);

// The chunk files of the index stored with `db` (a database folder) for the chunks `bounds` of
// `chunk_residues`; empty when there is none, when it was stored in chunks of another size, or when it does
// not fit the database (another database's, damaged: warned about).
std::vector<std::filesystem::path> stored_index_files(const SequenceDb& db, const std::vector<int64_t>& bounds,
                                                      int64_t chunk_residues = kIndexChunkResidues);

}  // namespace kfold::msa
