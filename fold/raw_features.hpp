// AlphaFold's raw feature dict for one chain (alphafold/data/pipeline.py: make_sequence_features
// and make_msa_features), built from a query sequence and its MSAs, and its features.h5 file form.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "data/msa.hpp"
#include "data/sequence.hpp"
#include "fold/template_features.hpp"

namespace kfold::fold {

struct RawFeatures {
  int64_t n_res = 0;
  int64_t n_seq = 0;
  // Sequence features.
  std::vector<int32_t> aatype;                    // [n_res, 21] one-hot, restypes + X (unknown letters → X)
  std::vector<int32_t> between_segment_residues;  // [n_res] zeros
  std::string domain_name;                        // the FASTA header line (id and description)
  std::vector<int32_t> residue_index;             // [n_res] 0, 1, ..., n_res-1
  std::vector<int32_t> seq_length;                // [n_res] n_res repeated
  // [n_res] the chain of each residue, 1, 2, ... as AlphaFold-Multimer's asym_id, for several chains given as one
  // input (fold/complex_features.hpp); the output structures have one chain per id. Empty: one chain.
  std::vector<int32_t> asym_id;
  std::string sequence;  // query letters as given (upper case)
  // MSA features (row 0 is the query).
  std::vector<int32_t> msa;                          // [n_seq, n_res] HHblits ids (gap = 21)
  std::vector<int32_t> deletion_matrix_int;          // [n_seq, n_res]
  std::vector<int32_t> num_alignments;               // [n_res] n_seq repeated
  std::vector<std::string> msa_species_identifiers;  // [n_seq] UniProt species code or ""
  // Template features (template_*; n_templates 0: none, as for a template-free run).
  TemplateFeatures templates;
};

// Species mnemonic of an MSA row description, as AlphaFold's msa_identifiers.get_identifiers:
// "tr|A0A146SKV9|A0A146SKV9_FUNHE/1-76 ..." → "FUNHE"; "" when the header is not UniProt-style.
std::string species_identifier(const std::string& description);

// Builds the raw features. `msas` are used in order; a row whose aligned sequence was already seen
// (in any earlier MSA) is dropped, as DeepMind's AlphaFold does. Each MSA's first row must equal the
// query (case-insensitive); `msa_sources` names each MSA in error messages. With no MSA the query
// alone forms the MSA (single-sequence mode). A ColabFold complex A3M's chains (Msa::chain_lengths) become
// asym_id and residue_index jumps (mark_colabfold_complex). Stops every 4096 rows where Ctrl-C was pressed
// (data/interrupt.hpp) or `check_cancelled` throws (Python's cancel token).
RawFeatures make_raw_features(const data::Sequence& query, const std::vector<data::Msa>& msas,
                              const std::vector<std::string>& msa_sources,
                              const std::function<void()>& check_cancelled = {});

// InputError naming `source` unless the MSA's first row is `query` (upper case; X on either side matches
// anything) and the MSA has its number of columns; says what the MSA likely is instead (an aligned FASTA, a complex
// A3M of other chains). make_raw_features checks each MSA so; kfold batch checks a given MSA early with it.
void check_msa_matches_query(const data::Msa& msa, const std::string& query, const std::string& source);

// features.h5 with AlphaFold's key names (atomic write) and its reader (shapes and dtypes checked);
// the template_* arrays are written when there are templates and read when present.
void write_raw_features(const std::filesystem::path& path, const RawFeatures& features);
RawFeatures read_raw_features(const std::filesystem::path& path);
// The values of features that come from outside (a file, Python arrays): InputError naming `source` and the
// array unless every aatype row is one-hot over the 21 types and agrees with `sequence` (letters outside
// the 20 are X, as AlphaFold maps them), residue_index increases, msa ids are in [0, 21], msa's row 0 is the
// query (X on either side matches anything) and deletion counts are not negative; an asym_id, when given, has n_res
// values and each chain's residues together (residue_index increases over the whole input, chains included).
void check_raw_feature_values(const RawFeatures& features, const std::string& source);
// InputError naming `source` unless residue_index[i] > residue_index[i - 1] and within ±(2^23 - 1) (the
// residue numbers structure files can hold; duplicates would give two
// residues one number in the output structures, which no reader accepts).
void check_residue_index(const int32_t* residue_index, int64_t n_res, const std::string& source);
// InputError naming `source` unless asym_id (a complex's chain of each residue) has n_res values and each chain's
// residues together.
void check_asym_id(std::span<const int32_t> asym_id, int64_t n_res, const std::string& source);
// The template_* arrays alone (kfold batch keeps a target's templates beside its MSAs); at least one.
void write_template_features(const std::filesystem::path& path, const TemplateFeatures& templates);
TemplateFeatures read_template_features(const std::filesystem::path& path);

}  // namespace kfold::fold
