// A batch target's DIR/<id>/status.json: what is complete, with the key of its inputs ("msa", "predict"), a
// failure ("failed": stage, key, kind, reason, time, the sequence's digest) and the stage a worker runs
// ("running"). Read back only when every field read has its type (a hand-edited or foreign file runs the
// target again); written whole (temp + rename). Also DIR/<id>/stages.log, a line per computed stage.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/msa.hpp"
#include "pipelines/batch/batch_targets.hpp"
#include "pipelines/predict/template_search.hpp"

namespace kfold::pipelines {

// Why a parsed status.json is not one this program wrote ("" when it is).
std::string status_problem(const nlohmann::json& status);
// The status at `path` (an empty object when there is none or it is not this program's: said in a warning).
nlohmann::json read_status(const std::filesystem::path& path);
void write_status(const std::filesystem::path& path, const nlohmann::json& status);
// The key of the completed `stage` ("" when there is none).
std::string key_of(const nlohmann::json& status, const char* stage);
// A failure that comes back with the same inputs: of the inputs themselves ("input"), or a stage that killed
// its workers ("crash").
bool permanent_failure(const nlohmann::json& failed);
// The first 16 hex digits of the target sequence's SHA-256, kept with a failure.
std::string sequence_digest(const BatchTarget& target);
// Whether the prediction recorded in `status` is complete in the target folder `dir`: its `done` marker and
// the files a user reads first (ranking_debug.json, ranked_<k>.pdb/.cif, result_<model>.h5 and
// confidence_<model>.json of each ranked model), each of the size the record's "sizes" gives (when it has them). A
// file deleted or cut short is named in a warning (target `id`), and the target is predicted again.
bool prediction_complete(const std::filesystem::path& dir, const nlohmann::json& status, const std::string& id);
// The sizes of those files for a prediction ranked `ranking`, for status.json's "predict" record ("sizes").
nlohmann::json prediction_file_sizes(const std::filesystem::path& dir, const std::vector<std::string>& ranking);
// Appends "UTC time, worker, stage, key, seconds" to DIR/<id>/stages.log, a line per computed stage (a warning,
// not an error, when it cannot: a link or a FIFO there is not written through).
void append_stage_log(const std::filesystem::path& dir, const std::string& stage, const std::string& key,
                      double seconds);
// Removes DIR/<id>/done and the records of completed stages and of a failure, when there are any: the
// target's inputs changed.
void forget_completed_stages(const std::filesystem::path& dir, nlohmann::json& status);
// True when DIR/<id>/query.fasta, the MSA stage's record of its query, holds the target's sequence.
bool msa_stage_query_is(const std::filesystem::path& dir, const BatchTarget& target);
// Content checksum of a stage's file, kept in status.json so that a damaged cached file is recomputed.
std::string file_checksum(const std::filesystem::path& path);
// The MSA of an earlier search whose key (msa_search_key) is `search_key`, when its file is intact (its checksum):
// DIR/<id>/msas/search.a3m of a completed MSA stage (its template options alone changed), or the search a failed
// stage kept (keep_search). An MSA stage takes it instead of searching the database again. Else an empty path.
std::filesystem::path earlier_search(const std::filesystem::path& dir, const nlohmann::json& status,
                                     const std::string& search_key);
// Keeps a finished --db search before the stage's template search runs: DIR/<id>/kept_search.a3m and its record in
// `status` ("kept_search": key and checksum), written to status.json, so that a stage failing in its template search
// (a folder short of mmCIF files, a kill) does not lose the search's hours: its rerun takes it (earlier_search).
void keep_search(const std::filesystem::path& dir, nlohmann::json& status, const std::string& search_key,
                 const data::Msa& msa);
// Removes the kept search's file, once the status.json without its record ("kept_search") is written (the MSA
// stage completed: msas/ holds its MSA; a kill between the two leaves a record whose file is gone, not the other
// way round).
void forget_kept_search(const std::filesystem::path& dir);
// The template options an MSA stage searched with, for its record in status.json ("template_search"), and
// back: the predict stage's run.json names them (the predict stage's own template options search nothing), the
// search's threads aside. An MSA record without one: nullopt.
nlohmann::json template_search_record(const TemplateSearchOptions& options);
std::optional<TemplateSearchOptions> recorded_template_search(const nlohmann::json& msa_record);
// A worker took the target's lock over from one that is gone: the "running" record in `status` was left by a
// worker that died in that stage. Counts the death in the record (worker_deaths + 1, worker_died true), whatever
// stage the worker that took over runs, for the next worker of that stage to see; not when a worker that took over
// before counted it (the owner then died outside the stage). True when it counted one.
bool count_worker_death(nlohmann::json& status);

}  // namespace kfold::pipelines
