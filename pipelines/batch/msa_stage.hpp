// What `kfold batch`'s MSA stage computes before anything in a target's folder changes: the MSA (a given file
// from --msa-dir, or a --db search) and the template hits. Every step that can fail runs here, so a failed stage
// leaves the target's earlier results as they were. And --db, opened (or checked) once before any target.
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

struct MsaStageInputs {
  std::optional<data::Msa> msa;                   // none: single-sequence features
  std::string file_name;                          // its name in DIR/<id>/msas/: <id>.a3m (given) or search.a3m
  std::optional<TemplateSearchOutput> templates;  // with --template-db
};

// The MSA stage of `target` (its sequence checked first); `db` is --db as open_batch_db opened it (null without
// --db). `searched_before`: the MSA an earlier stage searched with the same database and search options (only the
// template options changed), taken instead of searching again. InputError for a sequence kfold does not take, an
// unreadable given MSA, or no file in --msa-dir without --db; whatever the search or the template search throws.
MsaStageInputs compute_msa_stage(const BatchTarget& target, const BatchOptions& options, const msa::SequenceDb* db,
                                 const std::filesystem::path& searched_before = {});

// --db, before any target: InputError (exit 2) naming the folder and the fix when it is missing or no database
// (a folder that is not a kfold database names its subfolders that are: /data/dbs for /data/dbs/uniref50), so
// that a typo stops the batch instead of failing every target. Opened for the MSA stage; --stage predict does not
// search (the database is part of the MSA stage's key there), so it only checks a folder's manifest: nullopt.
std::optional<msa::SequenceDb> open_batch_db(const BatchOptions& options);

}  // namespace kfold::pipelines
