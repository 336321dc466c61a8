// The query against a PDB sequence database, then AlphaFold's template featurizer on the hits.
#include "pipelines/predict/template_search.hpp"

#include <fmt/ranges.h>

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

msa::ScoreProfile msa_profile(const data::Sequence& query, const fold::RawFeatures& features) {
  std::vector<std::vector<uint8_t>> rows(1);
  msa::encode_residues(query.residues, rows.front());  // the query's own letters (B, Z, U, ... included)
  for (int64_t r = 1; r < features.n_seq; ++r) {
    auto& row = rows.emplace_back(static_cast<size_t>(features.n_res));
    for (int64_t i = 0; i < features.n_res; ++i) {
      const int32_t id = features.msa[static_cast<size_t>(r * features.n_res + i)];  // HHblits ids, 21 = gap
      row[static_cast<size_t>(i)] =
          id == 21 ? msa::kGapCode : msa::residue_code(data::rc::ID_TO_HHBLITS_AA[static_cast<size_t>(id)]);
    }
  }
  return msa::make_pssm(rows);
}

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
  msa::check_search_options(search);
  const std::vector<data::Sequence> queries{query};
  const bool profile = features != nullptr && features->n_seq > 1;
  if (profile) search.first_round_profiles = {msa_profile(query, *features)};
  log_info("template search: {} ({} sequences) for {}, {}", options.db.string(), db.size(), query.id,
           profile ? fmt::format("with the profile of its {} MSA rows", features->n_seq) : "with its sequence");
  if (options.featurizer.max_template_date.empty())
    log_info(
        "template search: no max template date, so entries of every release date can be templates (for a "
        "benchmark give the target's date: --max-template-date)");
  const auto results = msa::search(queries, db, search);
  // pdb_seqres.txt also lists DNA and RNA chains (AlphaFold's download script keeps only mol:protein).
  std::vector<fold::TemplateHit> hits;
  std::vector<fold::SkippedHit> not_protein;
  for (const msa::Hit& hit : results.front().hits) {
    if (db.header(hit.target).find(" mol:na") != std::string_view::npos)
      not_protein.push_back({std::string(db.id(hit.target)), "a nucleic-acid chain (mol:na)"});
    else
      hits.push_back(template_hit(hit, db));
  }
  TemplateSearchOutput out;
  out.hits_m8 = msa::format_m8(queries, results, db);
  out.result = fold::featurize_template_hits(query.residues, std::move(hits), options.featurizer);
  out.result.skipped.insert(out.result.skipped.begin(), not_protein.begin(), not_protein.end());
  const auto& f = out.result.features;
  log_info("templates: {} of {} hits used{}{}", f.n_templates, results.front().hits.size(),
           f.n_templates > 0 ? ": " : "", fmt::join(f.domain_names, ", "));
  for (const auto& s : out.result.skipped) log_debug("template hit {} skipped: {}", s.name, s.reason);
  return out;
}

}  // namespace kfold::pipelines
