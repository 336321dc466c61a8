// What `kfold batch`'s MSA stage computes before anything in a target's completed results changes: the MSA (a given
// file from --msa-dir, or a --db search) and the template hits. Every step that can fail runs here, so a failed
// stage leaves the target's earlier results as they were. And --db, opened (or checked) once before any target.
#pragma once

#include <optional>
#include <string>

#include "data/msa.hpp"
#include "data/sequence.hpp"
#include "msa/sequence_db.hpp"
#include "pipelines/batch/batch_run.hpp"
#include "pipelines/batch/batch_targets.hpp"
#include "pipelines/predict/template_search.hpp"

namespace kfold::pipelines {

struct StageMsa {
  std::optional<data::Msa> msa;  // none: single-sequence features
  std::string file_name;         // its name in DIR/<id>/msas/: <id>.a3m (given) or search.a3m
  bool searched = false;         // made by a --db search now (not given, not taken from an earlier search)
};

// The MSA of `target`'s MSA stage (its sequence checked first); `db` is --db as open_batch_db opened it (null
// without --db). `searched_before`: the MSA an earlier stage searched with the same database and search options
// (only the template options changed, or its template search failed), taken instead of searching again.
// InputError for a sequence kfold does not take, an unreadable given MSA, or no file in --msa-dir without --db;
// whatever the search throws.
StageMsa compute_stage_msa(const BatchTarget& target, const BatchOptions& options, const msa::SequenceDb* db,
                           const std::filesystem::path& searched_before = {});

// The template hits of the MSA stage (with --template-db; else nullopt), its MSA's profile guiding the search;
// whatever the template search throws (TemplateFolderError: none of the hits' mmCIF files in the folder).
std::optional<TemplateSearchOutput> compute_stage_templates(const BatchTarget& target, const BatchOptions& options,
                                                            const StageMsa& msa);

// --db, before any target: InputError (exit 2) naming the folder and the fix when it is missing or no database
// (a folder that is not a kfold database names its subfolders that are: /data/dbs for /data/dbs/uniref50), so
// that a typo stops the batch instead of failing every target. Opened for the MSA stage; --stage predict does not
// search (the database is part of the MSA stage's key there), so it only checks a folder's manifest: nullopt.
std::optional<msa::SequenceDb> open_batch_db(const BatchOptions& options);

}  // namespace kfold::pipelines
