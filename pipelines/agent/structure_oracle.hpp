// The seam between the agent (torch-free) and structure prediction: an abstract StructureOracle that
// predicts one sequence (pipelines/predict/model_structure_oracle.hpp implements it with the model, outside this
// library), and the
// structure terms of a variant against the wild type's prediction: ΔpLDDT near the mutated sites, the
// superposition-free Cα distance-matrix RMSD, the pTM change, the sites' burial, the site contacts lost
// and gained, new Cα clashes, new residues failing AlphaFold's structural violation checks, and the two
// predictions' mean pLDDT (how far the comparison can be trusted: scoring.hpp's structure_confidence).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "pipelines/agent/variant.hpp"

namespace kfold::pipelines::agent {

struct StructurePrediction {
  std::vector<double> plddt;                               // [n_res], 0..100
  std::vector<double> pae;                                 // [n_res, n_res] row-major, Å (may be empty)
  double ptm = 0.0;                                        // NaN when the model has no pTM head
  double iptm = std::numeric_limits<double>::quiet_NaN();  // a complex's ipTM (NaN: one chain or no pTM head)
  std::vector<std::array<double, 3>> ca;                   // [n_res] Cα positions, Å
  std::vector<std::array<double, 3>> cb;                   // [n_res] Cβ positions (virtual for Gly), Å; empty: use ca
  std::string pdb;                  // the structure as PDB text, pLDDT in the B-factors (may be empty)
  int64_t violating_residues = -1;  // residues failing AlphaFold's structural violation checks; -1: unknown
  // A complex (the campaign's partner chain): the target's residues come first, chain_break of them,
  // then the partner's; every array above covers both. 0: the target alone.
  int64_t chain_break = 0;
};

// The predictions behind a round's structure terms: the wild type, each shortlisted variant (by its row
// in the score table) and each construct predicted alone. The agent writes them to DIR/structures/ and
// plots the pLDDT of the wild type and the variants.
struct PredictedStructures {
  StructurePrediction wild_type;
  std::vector<std::pair<size_t, StructurePrediction>> variants;
  std::vector<std::pair<size_t, StructurePrediction>> constructs;  // by index into ScoreTable::constructs
};

class StructureOracle {
 public:
  virtual ~StructureOracle() = default;
  // Predicts one full-length sequence (the 20 standard amino acids). Throws on failure.
  virtual StructurePrediction predict(const std::string& sequence) = 0;
  // Predicts a fragment of the wild type (a construct): `sequence` is the target's residues from 0-based
  // index `offset` on. By default like any sequence; an oracle with the family MSA uses its columns. An
  // oracle with a partner chain predicts the fragment in complex with it, as it does full-length sequences.
  virtual StructurePrediction predict_fragment(const std::string& sequence, int64_t /*offset*/) {
    return predict(sequence);
  }
  // The family alignment of a campaign that searched a database for it (target.db), once found; an
  // oracle that predicts with the family MSA takes it from here. Default: ignored.
  virtual void family_alignment_found(const std::filesystem::path& /*a3m*/, const std::string& /*target_sequence*/) {}
  // What predicts, for the notebook and the report (a model with its parameter file and SHA-256, say).
  virtual std::string description() const { return "a structure oracle"; }
  // Predictions of random weights (a demo): the report and the notebook say the structure terms measure nothing.
  virtual bool random_weights() const { return false; }
};

inline constexpr double kBurialRadius = 10.0;        // Å, Cβ neighbours counted for burial
inline constexpr double kContactDistance = 8.0;      // Å, Cβ-Cβ contact
inline constexpr int64_t kContactMinSeparation = 3;  // residues apart, for a contact
inline constexpr double kClashCaDistance = 3.0;      // Å, non-adjacent Cα closer than this clash

struct StructureTerms {
  double delta_plddt_site = 0.0;  // mean pLDDT within `window` residues of any site: mutant - wild type
  double ca_drmsd = 0.0;          // RMS difference of all Cα-Cα distances, mutant vs wild type (Å)
  double delta_ptm = 0.0;         // mutant - wild type (NaN without pTM)
  double burial_site = 0.0;       // Cβ neighbours within 10 Å of the sites in the wild type (mean per site)
  int64_t lost_contacts = 0;      // site Cβ contacts (<= 8 Å, >= 3 apart) of the wild type absent in the mutant
  int64_t gained_contacts = 0;    // site Cβ contacts of the mutant absent in the wild type
  int64_t new_clashes = 0;        // non-adjacent Cα pairs < 3 Å in the mutant beyond the wild type's count
  int64_t new_violations = 0;     // residues failing AlphaFold's structural checks beyond the wild type's (0: unknown)
  double wild_type_plddt = std::numeric_limits<double>::quiet_NaN();  // mean pLDDT of the wild type's prediction
  double mutant_plddt = std::numeric_limits<double>::quiet_NaN();     // mean pLDDT of the mutant's prediction
  // With a partner chain (complex predictions; binding_terms.hpp), else binding is false.
  bool binding = false;
  double delta_interface_pae = std::numeric_limits<double>::quiet_NaN();  // Å, mutant - wild type
  int64_t lost_interface_contacts = 0;  // target-partner Cβ contacts of the wild type absent in the mutant
  double delta_iptm = std::numeric_limits<double>::quiet_NaN();  // mutant - wild type (reported, not scored)
};

// Throws RuntimeError when the two predictions differ in length or a site lies outside them.
StructureTerms structure_terms(const StructurePrediction& wild_type, const StructurePrediction& mutant,
                               const Variant& variant, int64_t first_residue, int64_t window = 4);

}  // namespace kfold::pipelines::agent
