// The query against a PDB sequence database, then AlphaFold's template featurizer on the hits.
#include "pipelines/predict/template_search.hpp"

#include <fmt/ranges.h>

#include <algorithm>

#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/log.hpp"
#include "data/residue_constants.hpp"
#include "msa/pssm.hpp"
#include "msa/search_output.hpp"
#include "msa/sequence_db.hpp"

namespace kfold::pipelines {

void check_template_search_options(const TemplateSearchOptions& options) {
  if (!std::filesystem::exists(options.db))
    fail_input(
        "--template-db {} does not exist (a FASTA of PDB chains such as the PDB's pdb_seqres.txt, "
        "or kfold db create of it)",
        options.db.string());
  if (options.featurizer.mmcif_dir.empty())
    fail_input("--template-db needs --template-mmcif-dir: the folder of the PDB's mmCIF files (<id>.cif[.gz])");
  if (!(options.evalue > 0.0)) fail_input("--template-evalue must be > 0 (got {})", options.evalue);
  fold::check_featurizer_options(options.featurizer);
  // A database of other sequences (UniRef, a FASTA of models) gives hits no mmCIF file is found for: zero
  // templates, silently. Its first record tells (read alone: a FASTA is not read whole here).
  std::string first;
  if (std::filesystem::is_directory(options.db)) {
    const auto db = msa::SequenceDb::open(options.db);
    if (db.size() > 0) first = db.id(0);
  } else {
    data::FastaReader reader(options.db);
    reader.read_as_database();
    if (data::Sequence record; reader.next(record)) first = record.id;
  }
  if (!first.empty() && !fold::pdb_id_and_chain(first))
    fail_input(
        "--template-db {}: its first record '{}' is not named <pdb id>_<chain> as the PDB's pdb_seqres.txt "
        "names them ('>101m_A mol:protein length:154  MYOGLOBIN'); templates are found by those names",
        options.db.string(), first);
  fold::check_mmcif_folder_contents(options.featurizer.mmcif_dir);
}

fold::TemplateHit template_hit(const msa::Hit& hit, const msa::SequenceDb& db) {
  const msa::Alignment& a = hit.alignment;
  fold::TemplateHit out;
  out.name = std::string(db.id(hit.target));
  out.sequence = std::string(db.residues(hit.target).substr(a.t_start, a.t_end - a.t_start + 1));  // upper case
  int64_t q = a.q_start, t = 0;
  for (const char op : a.ops) {
    if (op == 'M') {
      out.mapping.emplace_back(q, t);
      ++out.aligned_cols;
    }
    if (op != 'I') ++q;
    if (op != 'D') ++t;
  }
  out.score = hit.bits;
  return out;
}

msa::ScoreProfile msa_profile(const data::Sequence& query, const fold::RawFeatures& features, int64_t start) {
  const auto length = static_cast<int64_t>(query.residues.size());
  std::vector<std::vector<uint8_t>> rows(1);
  msa::encode_residues(query.residues, rows.front());  // the query's own letters (B, Z, U, ... included)
  for (int64_t r = 1; r < features.n_seq; ++r) {
    std::vector<uint8_t> row(static_cast<size_t>(length));
    bool any = false;
    for (int64_t i = 0; i < length; ++i) {
      const int32_t id = features.msa[static_cast<size_t>(r * features.n_res + start + i)];  // HHblits ids, 21 = gap
      row[static_cast<size_t>(i)] =
          id == 21 ? msa::kGapCode : msa::residue_code(data::rc::ID_TO_HHBLITS_AA[static_cast<size_t>(id)]);
      any = any || id != 21;
    }
    if (any) rows.push_back(std::move(row));  // (a complex's row of other chains only is none of this chain's)
  }
  return msa::make_pssm(rows);
}

namespace {

// The queries the template search runs: the query, or for a complex (features' asym_id of several chains) one
// per chain, as AlphaFold-Multimer searches each chain alone: against the joined sequence a PDB chain aligns
// to one copy of a homo-oligomer only, and a short chain's hits score lower than the long chain's. With the
// position of each in the joined query.
std::vector<std::pair<data::Sequence, int64_t>> chain_queries(const data::Sequence& query,
                                                              const fold::RawFeatures* features) {
  const auto n_res = static_cast<int64_t>(query.residues.size());
  if (features == nullptr || static_cast<int64_t>(features->asym_id.size()) != n_res) return {{query, 0}};
  std::vector<std::pair<data::Sequence, int64_t>> chains;
  for (int64_t start = 0, end = 0; start < n_res; start = end) {
    while (end < n_res && features->asym_id[static_cast<size_t>(end)] == features->asym_id[static_cast<size_t>(start)])
      ++end;
    data::Sequence chain{fmt::format("{}_chain{}", query.id, chains.size() + 1), "",
                         query.residues.substr(static_cast<size_t>(start), static_cast<size_t>(end - start))};
    chains.emplace_back(std::move(chain), start);
  }
  if (chains.size() == 1) return {{query, 0}};
  return chains;
}

}  // namespace

TemplateSearchOutput search_templates(const data::Sequence& query, const TemplateSearchOptions& options,
                                      const fold::RawFeatures* features) {
  const auto db = msa::SequenceDb::open(options.db);
  msa::SearchOptions search;
  search.evalue = options.evalue;
  // Hits handed to the featurizer, which keeps the first max_hits (20) usable ones. The PDB holds hundreds
  // of entries of some sequences: generous limits keep them from crowding out the other templates (the
  // featurizer skips a copy of a kept template without reading its file).
  search.max_seqs = 20000;
  search.prefilter.max_candidates = 20000;
  search.threads = options.threads;
  search.check_cancelled = options.featurizer.check_cancelled;
  search.unseeded_outcome = "it gets no template";
  msa::check_search_options(search);
  const auto chains = chain_queries(query, features);
  // Each distinct chain is searched once (a homo-oligomer's copies share the hits, at each copy's positions).
  std::vector<data::Sequence> queries;
  std::vector<size_t> query_of;  // [chains] its search's index
  std::vector<bool> first_copy;  // [chains] the first chain of its search (its hits' lists are said once)
  const bool profile = features != nullptr && features->n_seq > 1;
  for (const auto& [chain, start] : chains) {
    const auto same = std::find_if(queries.begin(), queries.end(),
                                   [&](const data::Sequence& q) { return q.residues == chain.residues; });
    query_of.push_back(static_cast<size_t>(same - queries.begin()));
    first_copy.push_back(same == queries.end());
    if (same != queries.end()) continue;
    queries.push_back(chain);
    if (profile) search.first_round_profiles.push_back(msa_profile(chain, *features, start));
  }
  log_info("template search: {} ({} sequences) for {}{}, {}", options.db.string(), db.size(), query.id,
           chains.size() > 1 ? fmt::format(", each of its {} chains", chains.size()) : "",
           profile ? fmt::format("with the profile of its {} MSA rows", features->n_seq) : "with its sequence");
  if (options.featurizer.max_template_date.empty())
    log_info(
        "template search: no max template date, so entries of every release date can be templates (for a "
        "benchmark give the target's date: --max-template-date)");
  const auto results = msa::search(queries, db, search);
  // pdb_seqres.txt also lists DNA and RNA chains (AlphaFold's download script keeps only mol:protein).
  std::vector<fold::TemplateHit> hits;
  std::vector<fold::SkippedHit> not_protein;
  int64_t n_hits = 0;
  for (size_t c = 0; c < chains.size(); ++c) {
    const auto& found = results[query_of[c]].hits;
    n_hits += static_cast<int64_t>(found.size());
    for (const msa::Hit& hit : found) {
      if (db.header(hit.target).find(" mol:na") != std::string_view::npos) {
        if (first_copy[c]) not_protein.push_back({std::string(db.id(hit.target)), "a nucleic-acid chain (mol:na)"});
        continue;
      }
      auto& added = hits.emplace_back(template_hit(hit, db));
      for (auto& [query_index, template_index] : added.mapping) query_index += chains[c].second;  // joined query's
    }
  }
  TemplateSearchOutput out;
  out.hits_m8 = msa::format_m8(queries, results, db);
  out.result = fold::featurize_template_hits(query.residues, std::move(hits), options.featurizer,
                                             features != nullptr ? features->asym_id : std::vector<int32_t>{});
  out.result.skipped.insert(out.result.skipped.begin(), not_protein.begin(), not_protein.end());
  const auto& f = out.result.features;
  log_info("templates: {} of {} hits used{}{}", f.n_templates, n_hits, f.n_templates > 0 ? ": " : "",
           fmt::join(f.domain_names, ", "));
  for (const auto& s : out.result.skipped) log_debug("template hit {} skipped: {}", s.name, s.reason);
  return out;
}

}  // namespace kfold::pipelines
