// Building query-anchored MSAs from hits, BLAST tabular text, and the output directory.
#include "msa/search_output.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <set>
#include <system_error>

#include "data/a3m.hpp"
#include "data/atomic_output.hpp"
#include "data/case_insensitive.hpp"
#include "data/error.hpp"
#include "data/file_stem.hpp"
#include "data/first_error.hpp"
#include "data/header_text.hpp"
#include "data/log.hpp"
#include "data/written_files_record.hpp"
#include "msa/msa_filter.hpp"

namespace kfold::msa {

std::vector<std::string> a3m_file_names(const std::vector<data::Sequence>& queries, const std::string& source) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& q : queries) {
    std::string name = data::file_stem_of(q.id);
    if (name.empty())
      fail_input("{}: query id '{}' cannot name an output file (DIR/<id>.a3m); give the query another id", source,
                 q.id);
    if (name.size() > data::kMaxFileStemLength)
      fail_input("{}: query id '{}...' is {} characters long, at most {} (it names DIR/<id>.a3m); shorten it", source,
                 q.id.substr(0, 40), name.size(), data::kMaxFileStemLength);
    name += ".a3m";
    if (!seen.insert(name).second)
      fail_input("{}: query id '{}' gives the output file name '{}' twice; make the ids unique", source, q.id, name);
    names.push_back(std::move(name));
  }
  return names;
}

void check_search_output_paths(const std::filesystem::path& dir, const std::vector<data::Sequence>& queries,
                               const std::string& source) {
  namespace fs = std::filesystem;
  std::vector<std::string> names = a3m_file_names(queries, source);
  // Names that differ in letter case only are one file where the folder ignores case (macOS, Windows shares).
  if (const auto pair = data::first_case_only_pair(names); pair && data::folder_ignores_case(dir))
    fail_input(
        "{}: query ids '{}' and '{}' differ in letter case only, and {} is on a file system that ignores case: "
        "their files DIR/<id>.a3m would be one; make the ids unique, or write to another file system",
        source, queries[pair->first].id, queries[pair->second].id, dir.string());
  names.emplace_back("hits.m8");
  names.emplace_back(kDoneMarker);
  for (const std::string& name : names) {
    std::error_code error;
    const fs::file_status status = fs::symlink_status(dir / name, error);
    // Followed through a symbolic link too: the atomic writer refuses a link to a directory.
    const bool taken = fs::is_directory(dir / name, error) ||
                       (fs::exists(status) && !fs::is_regular_file(status) && !fs::is_symlink(status));
    if (taken) {
      fail_input(
          "{}: exists and is not a regular file; kfold search writes a file of that name there (move it "
          "away or choose another -o)",
          (dir / name).string());
    }
  }
}

data::Msa build_msa(const data::Sequence& query, const QueryResult& result, const SequenceDb& db) {
  const auto n_res = static_cast<int64_t>(query.residues.size());
  data::Msa msa;
  msa.sequences.push_back(query.residues);
  msa.deletion_matrix.emplace_back(static_cast<size_t>(n_res), 0);
  // (Python readers: UTF-8; the query's header too, as the database's below.)
  msa.descriptions.push_back(
      data::valid_utf8_text(query.description.empty() ? query.id : query.id + " " + query.description));
  msa.insertions.emplace_back();
  for (const Hit& hit : result.hits) {
    const std::string_view target = db.residues(hit.target);
    // A database holds letters only (create_db and the FASTA reader see to it): anything else is damage
    // the search read as X, and must not reach an A3M as a gap or a stray byte.
    check_residue_bytes(db, hit.target, hit.alignment.t_start, hit.alignment.t_end);
    std::string row(static_cast<size_t>(n_res), '-');
    std::vector<int32_t> deletions(static_cast<size_t>(n_res), 0);
    std::string inserted;
    int64_t i = hit.alignment.q_start;
    int64_t j = hit.alignment.t_start;
    for (const char op : hit.alignment.ops) {
      if (op == 'M') {
        row[static_cast<size_t>(i++)] = data::to_ascii_upper(target[static_cast<size_t>(j++)]);
      } else if (op == 'I') {
        ++deletions[static_cast<size_t>(i)];  // a local alignment never ends with an insertion
        inserted.push_back(data::to_ascii_lower(target[static_cast<size_t>(j++)]));
      } else {
        ++i;
      }
    }
    msa.sequences.push_back(std::move(row));
    msa.deletion_matrix.push_back(std::move(deletions));
    msa.descriptions.emplace_back(data::valid_utf8_text(db.header(hit.target)));  // (Python readers: UTF-8)
    msa.insertions.push_back(std::move(inserted));
  }
  return msa;
}

namespace {

// An id as the A3M writes it (valid UTF-8, '_' for characters a reader would split at or stumble on), so that the
// two files join by id.
std::string m8_id(std::string_view id) { return data::portable_header_text(data::valid_utf8_text(id), '_'); }

}  // namespace

std::string format_m8(const std::vector<data::Sequence>& queries, const std::vector<QueryResult>& results,
                      const SequenceDb& db) {
  std::string text;
  for (size_t q = 0; q < queries.size(); ++q) {
    for (const Hit& hit : results[q].hits) {
      const auto& a = hit.alignment;
      const double pident = hit.stats.length > 0 ? 100.0 * static_cast<double>(hit.stats.identical) /
                                                       static_cast<double>(hit.stats.length)
                                                 : 0.0;
      fmt::format_to(std::back_inserter(text), "{}\t{}\t{:.3f}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.2e}\t{:.1f}\n",
                     m8_id(queries[q].id), m8_id(db.id(hit.target)), pident, hit.stats.length, hit.stats.mismatches,
                     hit.stats.gap_opens, a.q_start + 1, a.q_end + 1, a.t_start + 1, a.t_end + 1, hit.evalue, hit.bits);
    }
  }
  return text;
}

std::vector<MsaSummary> write_search_outputs(const std::filesystem::path& dir,
                                             const std::vector<data::Sequence>& queries,
                                             const std::vector<QueryResult>& results, const SequenceDb& db,
                                             const OutputOptions& options) {
  const std::vector<std::string> names = a3m_file_names(queries, "queries");
  check_msa_filter_options(options.filter);  // before the directory is touched
  data::ensure_directory(dir);
  // A marker from an earlier run must not vouch for files this run is about to replace.
  std::error_code ignored;
  std::filesystem::remove(dir / kDoneMarker, ignored);
  // A rerun with other queries removes the A3Ms an earlier search wrote here that this one does not write
  // again (they sat beside the new `done`); files no kfold search wrote stay (data/written_files_record.hpp).
  std::set<std::string> written(names.begin(), names.end());
  written.insert("hits.m8");
  // Temporary files a killed search left (an A3M of a deep MSA can be large); a live writer's are younger.
  data::remove_old_temp_files(dir, std::chrono::hours(1));
  data::WrittenFilesRecord record(dir, kSearchRecord);  // not predict's: a search into a target folder
  for (const std::string& name : written) {
    std::error_code error;
    if (!record.contains(name) && std::filesystem::exists(dir / name, error))
      log_warn("{}: replacing it (a file no kfold search wrote there)", (dir / name).string());
  }
  record.add(written);
  // Queries in groups: each group's MSAs are built, filtered and measured in parallel (Neff is
  // O(depth^2 length)), then written in query order; a group bounds the MSAs held in memory. In a group
  // of fewer queries than threads each Neff runs after the loop on all threads (nested in the loop over
  // queries it would run on one).
  constexpr size_t kGroup = 64;
  const int threads = static_cast<int>(std::max<int64_t>(1, options.threads));
  std::vector<MsaSummary> summaries(queries.size());
  std::vector<data::Msa> msas(std::min(kGroup, queries.size()));
  for (size_t first = 0; first < queries.size(); first += kGroup) {
    const auto n = static_cast<int64_t>(std::min(kGroup, queries.size() - first));
    const bool query_parallel = n >= threads;  // else each Neff on all threads, one query after another
    data::FirstError error;                    // the first query's, whatever the thread timing
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t k = 0; k < n; ++k) {
      const size_t q = first + static_cast<size_t>(k);
      auto& msa = msas[static_cast<size_t>(k)];
      try {
        msa = filter_msa(build_msa(queries[q], results[q], db), options.filter);
        if (query_parallel) summaries[q] = {msa.depth(), neff(msa, 0.8, {}, 1)};
      } catch (...) {
        error.record(k, std::current_exception());
      }
    }
    error.rethrow();
    for (int64_t k = 0; k < n && !query_parallel; ++k) {
      const size_t q = first + static_cast<size_t>(k);
      summaries[q] = {msas[static_cast<size_t>(k)].depth(),
                      neff(msas[static_cast<size_t>(k)], 0.8, {}, threads, /*show_progress=*/true)};
    }
    for (int64_t k = 0; k < n; ++k) {
      const size_t q = first + static_cast<size_t>(k);
      log_info("{}: {} prefilter candidates, {} hits, MSA depth {}, Neff {:.1f} (80% identity)", queries[q].id,
               results[q].n_candidates, results[q].hits.size(), summaries[q].depth, summaries[q].neff);
      data::write_a3m(dir / names[q], msas[static_cast<size_t>(k)]);
    }
  }
  data::write_file_atomic(dir / "hits.m8", format_m8(queries, results, db));
  record.remove_all_but(written);
  data::write_file_atomic(dir / kDoneMarker, fmt::format("kfold search: {} queries\n", queries.size()));
  return summaries;
}

}  // namespace kfold::msa
