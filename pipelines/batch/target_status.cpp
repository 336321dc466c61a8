// A batch target's records: status.json and stages.log (pipelines/batch/target_status.hpp).
#include "pipelines/batch/target_status.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "data/a3m.hpp"
#include "data/atomic_output.hpp"
#include "data/fasta.hpp"
#include "data/lock_directory.hpp"
#include "data/log.hpp"
#include "data/sha256.hpp"
#include "pipelines/batch/stage_key.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;
using json = nlohmann::json;

// Why a parsed status.json is not one this program wrote ("" when it is): the type of every field that is
// read back (a hand-edited or foreign file must not stop the batch with a type error).
std::string status_problem(const json& status) {
  if (!status.is_object()) return "not a JSON object";
  const auto field = [](const json& object, const char* name, auto is_type, const char* type) -> std::string {
    if (!object.contains(name) || (object[name].*is_type)()) return "";
    return fmt::format("'{}' is not {}", name, type);
  };
  const auto text = &json::is_string;
  const auto number = &json::is_number;
  const auto object = &json::is_object;
  for (const char* section : {"msa", "predict", "failed", "running", "kept_search"})
    if (auto problem = field(status, section, object, "an object"); !problem.empty()) return problem;
  std::string problem = field(status, "status", text, "a text");
  for (const char* section : {"msa", "predict", "failed", "running", "kept_search"}) {
    if (!status.contains(section) || !problem.empty()) continue;
    const json& s = status[section];
    for (const char* name : {"key", "search_key", "stage", "kind", "reason", "best_model", "ranked_by", "worker",
                             "started", "sequence_sha256"})
      if (problem.empty()) problem = field(s, name, text, "a text");
    for (const char* name :
         {"depth", "neff", "chains", "seconds", "mean_plddt", "num_residue_violations", "time", "worker_deaths"})
      if (problem.empty()) problem = field(s, name, number, "a number");
    if (problem.empty() && s.contains("worker_died") && !s["worker_died"].is_boolean())
      problem = "'worker_died' is not true or false";
    for (const char* name : {"ptm", "iptm"})
      if (problem.empty() && s.contains(name) && !s[name].is_number() && !s[name].is_null())
        problem = fmt::format("'{}' is not a number", name);
    if (problem.empty() && s.contains("files") &&
        (!s["files"].is_array() ||
         !std::all_of(s["files"].begin(), s["files"].end(), [](const json& f) { return f.is_string(); })))
      problem = "'files' is not a list of texts";
    if (problem.empty() && s.contains("checksums") &&
        (!s["checksums"].is_object() ||
         !std::all_of(s["checksums"].begin(), s["checksums"].end(), [](const json& c) { return c.is_string(); })))
      problem = "'checksums' is not an object of texts";
    if (problem.empty() && s.contains("sizes") &&
        (!s["sizes"].is_object() ||
         !std::all_of(s["sizes"].begin(), s["sizes"].end(), [](const json& n) { return n.is_number_unsigned(); })))
      problem = "'sizes' is not an object of byte counts";
    if (!problem.empty()) problem = fmt::format("'{}': {}", section, problem);
  }
  return problem;
}

json read_status(const fs::path& path) {
  if (!fs::exists(path)) return json::object();
  std::string problem;
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {  // (a FIFO would block the worker for ever)
    log_warn("{}: not a plain file; the target runs again", path.string());
    return json::object();
  }
  try {
    std::ifstream in(path);
    json status = json::parse(in);
    problem = status_problem(status);
    if (problem.empty()) return status;
  } catch (const std::exception& e) {
    problem = e.what();
  }
  log_warn("{}: unreadable ({}); the target runs again", path.string(), problem);
  return json::object();
}

void write_status(const fs::path& path, const json& status) { data::write_file_atomic(path, status.dump(2) + "\n"); }

std::string key_of(const json& status, const char* stage) {
  return status.contains(stage) ? status[stage].value("key", "") : "";
}

// A failure that comes back with the same inputs: of the inputs themselves, or a stage that killed its workers.
bool permanent_failure(const json& failed) {
  const std::string kind = failed.value("kind", "");
  return kind == "input" || kind == "crash";
}

// The first 16 hex digits of the target sequence's SHA-256, kept with a failure.
std::string sequence_digest(const BatchTarget& target) { return data::sha256_hex(target.sequence).substr(0, 16); }

namespace {

// The files prediction_complete checks for the models of `ranking` (a list of texts).
std::vector<std::string> prediction_files(const json& ranking) {
  std::vector<std::string> files{"ranking_debug.json"};
  for (size_t k = 0; k < ranking.size(); ++k) {
    const auto model = ranking[k].get<std::string>();
    for (const auto& name : {fmt::format("ranked_{}.pdb", k), fmt::format("ranked_{}.cif", k),
                             "result_" + model + ".h5", "confidence_" + model + ".json"})
      files.push_back(name);
  }
  return files;
}

}  // namespace

json prediction_file_sizes(const fs::path& dir, const std::vector<std::string>& ranking) {
  json sizes = json::object();
  for (const auto& name : prediction_files(json(ranking))) {
    std::error_code error;
    const auto size = fs::file_size(dir / name, error);
    if (!error) sizes[name] = size;
  }
  return sizes;
}

bool prediction_complete(const fs::path& dir, const json& status, const std::string& id) {
  if (!status.contains("predict") || !fs::exists(dir / "done")) return false;
  const json ranking = status["predict"].value("ranking", json::array());
  if (!ranking.is_array() || ranking.empty() ||
      !std::all_of(ranking.begin(), ranking.end(), [](const json& m) { return m.is_string(); })) {
    log_warn("{}: {} has no ranking of its prediction (edited by hand?); the target is predicted again", id,
             (dir / "status.json").string());
    return false;
  }
  // Sizes as written (an earlier kfold's record has none): a file cut short (a full disk while copying the folder,
  // a file system's crash) or written over is a damaged prediction, not a finished one.
  const json sizes = status["predict"].value("sizes", json::object());
  for (const auto& name : prediction_files(ranking)) {
    std::error_code error;
    if (!fs::is_regular_file(dir / name, error)) {
      log_warn("{}: {} of its finished prediction is missing; the target is predicted again", id,
               (dir / name).string());
      return false;
    }
    if (const auto size = fs::file_size(dir / name, error); sizes.contains(name) && sizes[name] != size) {
      log_warn("{}: {} is {} bytes, its prediction wrote {} (damaged or changed); the target is predicted again", id,
               (dir / name).string(), size, sizes[name].get<uintmax_t>());
      return false;
    }
  }
  return true;
}

// Removes `done` and the records of completed stages (and of a failure: of other inputs), when there are any:
// the target's inputs changed.
void forget_completed_stages(const fs::path& dir, json& status) {
  if (status.contains("msa") || status.contains("predict") || status.contains("failed") || fs::exists(dir / "done")) {
    fs::remove(dir / "done");
    status.erase("msa");
    status.erase("predict");
    status.erase("failed");  // of other inputs: this run's outcome replaces it
    status["status"] = "pending";
    write_status(dir / "status.json", status);
  }
}

bool msa_stage_query_is(const fs::path& dir, const BatchTarget& target) {
  std::error_code error;
  if (!fs::is_regular_file(dir / "query.fasta", error)) return false;  // (a FIFO would block the worker)
  try {
    const auto queries = data::read_fasta(dir / "query.fasta");
    return queries.size() == 1 && queries.front().residues == target.sequence;
  } catch (const std::exception&) {
    return false;  // missing or damaged: the stage is not complete either
  }
}

bool count_worker_death(json& status) {
  if (!status.contains("running") || status["running"].value("worker_died", false)) return false;
  json& left = status["running"];
  left["worker_deaths"] = left.value("worker_deaths", int64_t{0}) + 1;
  left["worker_died"] = true;
  return true;
}

// One write() with O_APPEND: lines never interleave.
void append_stage_log(const fs::path& dir, const std::string& stage, const std::string& key, double seconds) {
  char when[21];
  format_utc_time(std::time(nullptr), when);
  const auto line =
      fmt::format("{}\t{}\t{}\t{}\t{:.2f}\n", when, data::LockDirectory::owner_text(), stage, key, seconds);
  // Only into a plain file: never through a link (to a file elsewhere) nor into a FIFO (which blocks).
  const int fd =
      ::open((dir / "stages.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
             0666);  // the umask decides (a group worker appends)
  if (fd < 0) {
    log_warn("{}: cannot append to it ({}); the stage's line is left out", (dir / "stages.log").string(),
             std::strerror(errno));
    return;
  }
  struct stat info {};
  if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode)) {
    [[maybe_unused]] const auto written = ::write(fd, line.data(), line.size());
  } else {
    log_warn("{}: not a plain file; the stage's line is left out", (dir / "stages.log").string());
  }
  ::close(fd);
}

json template_search_record(const TemplateSearchOptions& options) {
  std::error_code error;
  return {{"db", fs::absolute(options.db, error).lexically_normal().string()},
          {"mmcif_dir", fs::absolute(options.featurizer.mmcif_dir, error).lexically_normal().string()},
          {"max_template_date", options.featurizer.max_template_date},
          {"max_hits", options.featurizer.max_hits},
          {"evalue", options.evalue}};
}

std::optional<TemplateSearchOptions> recorded_template_search(const json& msa_record) {
  const auto found = msa_record.find("template_search");
  if (found == msa_record.end() || !found->is_object()) return std::nullopt;
  try {
    TemplateSearchOptions options;
    options.db = found->at("db").get<std::string>();
    options.featurizer.mmcif_dir = found->at("mmcif_dir").get<std::string>();
    options.featurizer.max_template_date = found->at("max_template_date").get<std::string>();
    options.featurizer.max_hits = found->at("max_hits").get<int64_t>();
    options.evalue = found->at("evalue").get<double>();
    return options;
  } catch (const json::exception&) {  // (a hand-edited record: run.json then names this stage's options)
    return std::nullopt;
  }
}

std::string file_checksum(const fs::path& path) { return StageKey().add_file_content("file", path).hex(); }

namespace {

constexpr const char* kKeptSearchFile = "kept_search.a3m";

// `file` (in `dir`) when `record` is of a search with key `search_key` and the file's checksum is `checksum_field`'s.
fs::path intact_search(const fs::path& dir, const json& record, const std::string& search_key, const fs::path& file,
                       const std::string& checksum_field) {
  if (!record.is_object() || record.value("search_key", "") != search_key) return {};
  const fs::path path = dir / file;
  std::error_code error;
  const auto checksums = record.value("checksums", json::object());
  if (!fs::is_regular_file(path, error) || !checksums.is_object() ||
      checksums.value(checksum_field, "") != file_checksum(path))
    return {};
  return path;
}

}  // namespace

fs::path earlier_search(const fs::path& dir, const json& status, const std::string& search_key) {
  if (const auto msa = status.find("msa");
      msa != status.end() && msa->is_object() && msa->value("files", json::array()) == json::array({"search.a3m"}))
    if (auto path = intact_search(dir, *msa, search_key, fs::path("msas") / "search.a3m", "msas/search.a3m");
        !path.empty())
      return path;
  const auto kept = status.find("kept_search");
  return kept == status.end() ? fs::path() : intact_search(dir, *kept, search_key, kKeptSearchFile, kKeptSearchFile);
}

void keep_search(const fs::path& dir, json& status, const std::string& search_key, const data::Msa& msa) {
  data::write_a3m(dir / kKeptSearchFile, msa);
  status["kept_search"] = {{"search_key", search_key},
                           {"checksums", {{kKeptSearchFile, file_checksum(dir / kKeptSearchFile)}}}};
  write_status(dir / "status.json", status);
}

void forget_kept_search(const fs::path& dir) {
  std::error_code error;
  fs::remove(dir / kKeptSearchFile, error);
}

}  // namespace kfold::pipelines
