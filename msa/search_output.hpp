// Search results as files: one A3M per query (query first, hits in query coordinates, insertions
// lowercase, optionally redundancy- and diversity-filtered) and hits.m8 (BLAST tabular, 12 columns).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/msa.hpp"
#include "data/sequence.hpp"
#include "msa/msa_filter.hpp"
#include "msa/search.hpp"
#include "msa/sequence_db.hpp"

namespace kfold::msa {

// The A3M file name of each query: its id with characters other than letters, digits, '.', '_' and '-'
// replaced by '_' (a leading '.' too), plus ".a3m". Throws InputError (naming `source`) when two queries get the same
// name or an id makes no usable name.
std::vector<std::string> a3m_file_names(const std::vector<data::Sequence>& queries, const std::string& source);

// The MSA of one query: the query row, then one row per hit in hit order, each with the target's header.
data::Msa build_msa(const data::Sequence& query, const QueryResult& result, const SequenceDb& db);

// BLAST tabular lines (query target pident alnlen mismatch gapopen qstart qend tstart tend evalue bits),
// queries in input order, hits in result order; positions 1-based.
std::string format_m8(const std::vector<data::Sequence>& queries, const std::vector<QueryResult>& results,
                      const SequenceDb& db);

struct OutputOptions {
  MsaFilterOptions filter;  // applied to each A3M (msa/msa_filter.hpp); hits.m8 keeps every hit
  int64_t threads = 1;      // MSAs, filters and Neff of several queries at once (same files for any count)
};

struct MsaSummary {
  int64_t depth = 0;  // rows written, query included
  double neff = 0.0;  // at 80% identity
};

// Written last into the output directory: its presence means every output file is complete (a pipeline
// can skip a finished search, as MMseqs2's .done markers allow).
inline constexpr const char* kDoneMarker = "done";
// The record of the files kfold search wrote in its folder (data/written_files_record.hpp).
inline constexpr const char* kSearchRecord = ".kfold_search_files";

// Throws InputError when one of the files write_search_outputs would write into `dir` (the A3Ms, hits.m8,
// done) is taken by something that is not a regular file (a directory, say): checked before a search,
// not found after it with half the A3Ms written.
void check_search_output_paths(const std::filesystem::path& dir, const std::vector<data::Sequence>& queries,
                               const std::string& source);

// Removes DIR/done, writes DIR/<name>.a3m for every query, then DIR/hits.m8, then DIR/done (each file
// atomically).
std::vector<MsaSummary> write_search_outputs(const std::filesystem::path& dir,
                                             const std::vector<data::Sequence>& queries,
                                             const std::vector<QueryResult>& results, const SequenceDb& db,
                                             const OutputOptions& options);

}  // namespace kfold::msa
