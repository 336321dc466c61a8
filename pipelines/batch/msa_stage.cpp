// compute_stage_msa, compute_stage_templates and open_batch_db (pipelines/batch/msa_stage.hpp).
#include "pipelines/batch/msa_stage.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <vector>

#include "data/error.hpp"
#include "data/log.hpp"
#include "data/msa_file.hpp"
#include "fold/raw_features.hpp"
#include "msa/search.hpp"
#include "msa/search_output.hpp"
#include "pipelines/batch/given_msa.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;

namespace {

// " (its subfolder uniref50 is one: --db /data/dbs/uniref50)" for a folder whose subfolders hold databases.
std::string database_subfolders(const fs::path& db) {
  std::vector<std::string> found;
  std::error_code error;
  if (!fs::is_directory(db, error)) return "";
  for (const auto& entry : fs::directory_iterator(db, error))
    if (found.size() < 3 && entry.is_directory(error) && fs::exists(entry.path() / msa::kDbManifestFile, error))
      found.push_back(entry.path().string());
  if (found.empty()) return "";
  return fmt::format(" (a folder of databases? --db {}{})", found.front(), found.size() > 1 ? ", or another" : "");
}

}  // namespace

StageMsa compute_stage_msa(const BatchTarget& target, const BatchOptions& options, const msa::SequenceDb* db,
                           const fs::path& searched_before) {
  const data::Sequence query{target.id, target.description, target.sequence};
  msa::check_queries({query}, target.source);  // a protein of a size kfold takes, searched or not
  StageMsa out;
  const auto given = given_msa(options.msa_dir, target);
  if (const auto others = other_given_msas(options.msa_dir, target); given && !others.empty()) {
    std::string names;
    for (const auto& other : others) names += (names.empty() ? "" : ", ") + other.filename().string();
    log_warn("{}: --msa-dir holds {} files for it: {} is used, not {} (remove the stale one)", target.id,
             others.size() + 1, given->filename().string(), names);
  }
  if (!given && !options.msa_dir.empty()) {
    const std::string missing = missing_msa_message(options.msa_dir, target);
    // Without --db the target would have been predicted from its sequence alone, a warning its only trace.
    if (options.db.empty())
      fail_input(
          "{}: {}; add it (a one-row A3M, '>{}' and the sequence, predicts from the sequence alone) or give "
          "--db to search for it",
          target.id, missing, target.id);
    log_warn("{}: {}; searching --db instead", target.id, missing);
  }
  if (given) {
    out.msa = data::read_msa_file(*given);
    out.file_name = target.id + ".a3m";
    // Here, not first in the predict stage (a complex's chains given in another order than its A3M's); the
    // target's letters are upper case as read (batch_targets.cpp, the FASTA reader).
    fold::check_msa_matches_query(*out.msa, target.sequence, given->string());
  } else if (!options.db.empty() && !searched_before.empty()) {
    log_info("{}: the MSA of its earlier search with these options is taken, not searched again", target.id);
    out.msa = data::read_msa_file(searched_before);
    out.file_name = "search.a3m";
  } else if (!options.db.empty()) {
    if (!db) fail_runtime("{}: --db {} was not opened", target.id, options.db.string());  // (open_batch_db does)
    const auto results = msa::search({query}, *db, options.search);
    out.msa = msa::build_msa(query, results.front(), *db);
    out.file_name = "search.a3m";
    out.searched = true;
  }
  return out;
}

std::optional<TemplateSearchOutput> compute_stage_templates(const BatchTarget& target, const BatchOptions& options,
                                                            const StageMsa& msa) {
  if (options.predict.templates.db.empty()) return std::nullopt;
  const data::Sequence query{target.id, target.description, target.sequence};
  auto template_options = options.predict.templates;
  template_options.threads = options.search.threads;
  const auto raw =
      msa.msa ? fold::make_raw_features(query, {*msa.msa}, {msa.file_name}) : fold::make_raw_features(query, {}, {});
  return search_templates(query, template_options, &raw);
}

std::optional<msa::SequenceDb> open_batch_db(const BatchOptions& options) {
  const fs::path& db = options.db;
  if (db.empty()) return std::nullopt;
  std::error_code error;
  if (!fs::exists(db, error))
    fail_input("--db {}: not found (a FASTA file or a folder made by kfold db create)", db.string());
  const bool search = options.stage != BatchStage::predict;
  // (A FASTA file is read whole by the open: --stage predict leaves it; a folder without a manifest is no database.)
  if (!search && (!fs::is_directory(db, error) || fs::exists(db / msa::kDbManifestFile, error))) return std::nullopt;
  try {
    auto opened = msa::SequenceDb::open(db);
    if (search) return opened;
  } catch (const InputError& e) {
    fail_input("--db: {}{}; no target was run", e.what(), database_subfolders(db));
  }
  return std::nullopt;
}

}  // namespace kfold::pipelines
