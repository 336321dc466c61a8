// Searching the campaign's database for the target's family alignment, once per target and database.
#include "pipelines/agent/target_search.hpp"

#include <nlohmann/json.hpp>

#include "data/a3m.hpp"
#include "data/atomic_output.hpp"
#include "data/file_identity.hpp"
#include "data/log.hpp"
#include "data/sha256.hpp"
#include "data/text_input.hpp"
#include "msa/search.hpp"
#include "msa/search_output.hpp"

namespace kfold::pipelines::agent {

namespace fs = std::filesystem;

namespace {

// What the alignment depends on; equal records mean the stored alignment is current.
nlohmann::json search_record(const Campaign& campaign, const msa::SequenceDb& db, const msa::SearchOptions& options) {
  std::error_code error;
  const fs::path db_path = fs::weakly_canonical(campaign.target.db, error);
  return {{"target_id", campaign.target.id},
          {"target_sha256", data::sha256_hex(campaign.target.sequence)},
          {"db", (error ? campaign.target.db : db_path).string()},
          {"db_sequences", db.size()},
          {"db_residues", db.total_residues()},
          {"db_files", data::file_identity(campaign.target.db)},  // name, size and time: an edit searches again
          {"evalue", options.evalue},
          {"max_seqs", options.max_seqs},
          {"composition_stats", options.composition_stats},
          {"composition_bias", options.composition_bias}};
}

}  // namespace

fs::path searched_target_msa(const Campaign& campaign, const fs::path& out_dir, int threads,
                             const std::function<void()>& check_cancelled) {
  const fs::path a3m = out_dir / "target.a3m";
  const fs::path record_path = out_dir / "target_search.json";
  const auto db = msa::SequenceDb::open(campaign.target.db);
  msa::SearchOptions options;
  options.threads = threads;
  options.check_cancelled = check_cancelled;
  const nlohmann::json record = search_record(campaign, db, options);
  if (fs::exists(a3m) && fs::exists(record_path)) {
    const auto stored = nlohmann::json::parse(data::read_text_file(record_path), nullptr, false);
    if (stored == record) {
      log_info("agent: reusing {} (searched earlier from {})", a3m.string(), campaign.target.db.string());
      return a3m;
    }
  }
  const data::Sequence query{campaign.target.id, "", campaign.target.sequence};
  msa::check_queries({query}, campaign.path.string() + ": target.sequence");
  log_info("agent: searching {} ({} sequences) for {}", campaign.target.db.string(), db.size(), campaign.target.id);
  const auto results = msa::search({query}, db, options);
  const data::Msa msa = msa::build_msa(query, results.front(), db);
  log_info("agent: {} homologs (E <= {}) -> {}", results.front().hits.size(), options.evalue, a3m.string());
  // The record goes last: an interrupted round leaves no record that vouches for a stale alignment.
  std::error_code error;
  fs::remove(record_path, error);
  data::write_a3m(a3m, msa);
  data::write_file_atomic(record_path, record.dump(2) + "\n");
  return a3m;
}

}  // namespace kfold::pipelines::agent
