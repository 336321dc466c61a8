// Template search for one query (AlphaFold's template stage as its multimer pipeline runs it, with
// kfold's search in place of hmmsearch): the query against a PDB sequence database such as the PDB's
// pdb_seqres.txt, its hits turned into template hits, then AlphaFold's featurizer on the mmCIF files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/sequence.hpp"
#include "fold/raw_features.hpp"
#include "fold/template_features.hpp"
#include "msa/search.hpp"

namespace kfold::pipelines {

struct TemplateSearchOptions {
  std::filesystem::path db;  // FASTA (ids "<pdb id>_<chain>", as pdb_seqres.txt) or a kfold db of it
  fold::TemplateFeaturizerOptions featurizer;
  double evalue = 10.0;  // permissive, as AlphaFold's template searches: the featurizer ranks by score
  int64_t threads = 1;
};

struct TemplateSearchOutput {
  fold::TemplateSearchResult result;
  std::string hits_m8;  // every search hit, BLAST tabular (msas/pdb_hits.m8)
};

// InputError naming the option (--template-db, --template-mmcif-dir, --max-template-date) for a missing
// database or folder or a malformed date: checked before any search or model runs.
void check_template_search_options(const TemplateSearchOptions& options);

// PSI-BLAST-style PSSM of the raw features' MSA (row 0 the query; msa/pssm.hpp): the template search's
// profile when the query has homologs, as AlphaFold searches pdb_seqres with an HMM of the MSA. `query` may be
// one chain of a complex, at column `start` of the features: the MSA's columns of that chain, without the rows
// that have none of its residues.
msa::ScoreProfile msa_profile(const data::Sequence& query, const fold::RawFeatures& features, int64_t start = 0);

// One search hit as a template hit: the aligned target residues, query ↔ target indices from its
// alignment columns, aligned_cols = paired columns, score = bit score.
fold::TemplateHit template_hit(const msa::Hit& hit, const msa::SequenceDb& db);

// Searches `query` against options.db and featurizes its hits (best bit score first): with the PSSM of
// `features`' MSA when it has rows besides the query, else with the query's sequence. InputError for a
// missing database or mmCIF folder; hits that give no template are listed in result.skipped.
TemplateSearchOutput search_templates(const data::Sequence& query, const TemplateSearchOptions& options,
                                      const fold::RawFeatures* features = nullptr);

}  // namespace kfold::pipelines
