// AlphaFold's raw template features (alphafold/data/templates.py, TemplateHitFeaturizer): template
// hits (a PDB chain aligned to the query) → the chain's atoms placed on the query's residues, with
// AlphaFold's hit filters (release date, alignment ratio, duplicates, length) and its rules for
// finding the hit's sequence in the mmCIF file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/error.hpp"
#include "data/template_structure.hpp"

namespace kfold::fold {

inline constexpr int64_t kTemplateAatypeChannels = 22;  // HHblits ids 0..20, 21 = gap

// Stacked raw template features, AlphaFold's names and layouts; n_templates = 0: none.
struct TemplateFeatures {
  int64_t n_templates = 0;
  int64_t n_res = 0;
  std::vector<float> aatype;              // template_aatype [n_templ, n_res, 22] one-hot, HHblits ids (21: gap)
  std::vector<float> all_atom_masks;      // template_all_atom_masks [n_templ, n_res, 37]
  std::vector<float> all_atom_positions;  // template_all_atom_positions [n_templ, n_res, 37, 3] Å
  std::vector<std::string> domain_names;  // template_domain_names [n_templ] "1abc_A"
  std::vector<std::string> sequence;      // template_sequence [n_templ] letter per query residue, '-' none
  std::vector<float> sum_probs;           // template_sum_probs [n_templ, 1]: 0, as AlphaFold for hmmsearch hits
};

// One hit of a template search, as AlphaFold's parsers.TemplateHit carries it.
struct TemplateHit {
  std::string name;      // "<pdb id>_<author chain>[ ...]", e.g. "1abc_A" (pdb_seqres.txt's ids)
  std::string sequence;  // the template residues of the aligned region, gaps removed
  // (query index, index into `sequence`) for every aligned column, query indices 0-based.
  std::vector<std::pair<int64_t, int64_t>> mapping;
  int64_t aligned_cols = 0;  // aligned columns (AlphaFold's align ratio = aligned_cols / query length)
  double score = 0.0;        // ranks the hits, best first (HHsearch's sum_probs; kfold search: bits)
};

struct TemplateFeaturizerOptions {
  std::filesystem::path mmcif_dir;  // <id>.cif[.gz] or the PDB's divided layout <id[1:3]>/<id>.cif[.gz]
  std::string max_template_date;    // YYYY-MM-DD: later releases are skipped; "" = no limit
  int64_t max_hits = 20;            // AlphaFold's monomer preset; the model uses the first max_templates
  // Called before each hit; throws to stop (the Python module's Ctrl-C). The CLI's Ctrl-C / SIGTERM
  // stops there too (data/interrupt.hpp). Empty: only the CLI's.
  std::function<void()> check_cancelled;
};

// The mmCIF folder, not one target's hits, is wrong: it holds no mmCIF file, none of the hits' files, or none
// that can be read. An InputError (exit 2) that kfold batch records as a runtime failure: a rerun retries the
// target once the folder is fixed, and a batch of them stops after --max-consecutive-failures.
struct TemplateFolderError : InputError {
  using InputError::InputError;
};

// Why a hit gave no template (AlphaFold's prefilter and feature errors), for the log.
struct SkippedHit {
  std::string name;
  std::string reason;
};

struct TemplateSearchResult {
  TemplateFeatures features;
  std::vector<SkippedHit> skipped;
};

// Features of one hit from its structure (templates._extract_template_features): the hit's sequence is
// looked up in chain `chain_id`, else in any chain, else with X as a wildcard; failing that the chain's
// SEQRES is realigned to the hit's sequence (global alignment; >= 90 % identical over the shorter).
// Throws TemplateError with the reason when the hit cannot be used.
struct TemplateError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
TemplateFeatures extract_template_features(const data::TemplateStructure& structure, const std::string& pdb_id,
                                           const std::string& chain_id, const TemplateHit& hit,
                                           const std::string& query_sequence);

// AlphaFold's prefilter (templates._assess_hhsearch_hit) without the date: "" when the hit passes,
// else the reason (align ratio <= 0.1, the query's own sequence, shorter than 10 residues), naming the
// sequence judged as `what` (a complex's chain: "chain 2 of the query").
std::string prefilter_template_hit(const TemplateHit& hit, std::string_view query_sequence,
                                   std::string_view what = "the query");

// "1abc_A ..." → ("1abc", "A"), as AlphaFold's templates._get_pdb_id_and_chain; nullopt for names that
// are no PDB chain's (a hit needs one to find its mmCIF file).
std::optional<std::pair<std::string, std::string>> pdb_id_and_chain(const std::string& name);

// InputError for a mmcif_dir that is not a folder, a max_template_date that is not YYYY-MM-DD or max_hits < 1.
void check_featurizer_options(const TemplateFeaturizerOptions& options);
// TemplateFolderError unless `mmcif_dir` (or a two-letter subfolder of it) holds a *.cif or *.cif.gz file: an
// empty or wrong folder is said before any search (stops at the first file found).
void check_mmcif_folder_contents(const std::filesystem::path& mmcif_dir);

// HmmsearchHitFeaturizer.get_templates (AlphaFold's featurizer for pdb_seqres search hits): hits by
// score (best first, stable), prefilter, the mmCIF file (read once per entry), its release date against
// max_template_date (a file without any release date is skipped then), features, and a hit whose template
// letters equal an earlier template's dropped (a hit with a kept template's sequence and alignment, another
// entry of the same protein, without reading its file); stops at max_hits templates. No usable hit gives
// n_templates 0 (the model then runs template-free); `skipped` says why each dropped hit was dropped.
// A complex (asym_id of several chains, each contiguous; empty: one chain): each hit is prefiltered against
// the chain holding most of its aligned query residues, as AlphaFold-Multimer's per-chain search would, and
// the chains take turns (best first within each) so that every chain's best hits come before max_hits.
// Throws InputError as check_featurizer_options; TemplateFolderError when not one hit's file is in the folder,
// and when the files of two or more entries were looked up and none could be read; otherwise a hit whose file
// is missing or unreadable is skipped.
TemplateSearchResult featurize_template_hits(const std::string& query_sequence, std::vector<TemplateHit> hits,
                                             const TemplateFeaturizerOptions& options,
                                             const std::vector<int32_t>& asym_id = {});

// Appends `more`'s templates after `into`'s (same n_res).
void append_templates(TemplateFeatures& into, const TemplateFeatures& more);

}  // namespace kfold::fold
