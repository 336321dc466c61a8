// Sequence liabilities a variant introduces, flagged per variant: a new unpaired Cys (paired ones are
// disulfide candidates, judged on the predicted wild type), a new N-glycosylation sequon (N-X-S/T,
// X != P), new deamidation (NG, NS) or isomerisation (DG) motifs, an introduced Met or Trp on the surface
// (oxidation), an introduced Pro, and a change at a nearly invariant position of the family. Hard flags
// remove a variant from the plate; soft flags are reported only. Two soft flags come from elsewhere:
// "predicted_clash" (structure terms, scoring.hpp) and "llm_concern" (the optional LLM critic,
// llm_operator.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pipelines/agent/variant.hpp"

namespace kfold::pipelines::agent {

struct LiabilityFlag {
  std::string name;  // e.g. "new_n_glycosylation"
  bool hard = true;
  std::string detail;  // e.g. "N45-G46-S47"
};

struct LiabilityContext {
  std::string_view wild_type;
  int64_t first_residue = 1;
  // Weighted frequency of the wild-type residue in the family at each residue (NaN where the residue is
  // not an aligned column) [wild_type.size()]. Empty: no conservation check.
  std::vector<double> wild_type_conservation;
  double invariant_threshold = 0.95;  // conservation >= this: "invariant_position" (hard)
  // Structure-aware rules, from the predicted wild type (msa-free: wild_type_structure.hpp), all empty
  // when there is no structure yet. helix: per residue, in an α-helix; an introduced Pro past a helix's
  // first turn is flagged hard ("pro_in_helix"), elsewhere (or without structure) soft
  // ("pro_introduced"). ca and plddt: an introduced Cys whose Cα lies at disulfide distance
  // (disulfide_ca_geometry) from a confident free Cys (one of the wild type's without such a partner,
  // or another introduced one) is a soft "new_disulfide_candidate"; any other introduced Cys, or every
  // one without structure, is a hard "new_unpaired_cys". A replaced wild-type Cys at disulfide distance
  // from another wild-type Cys, both confident, is a soft "breaks_disulfide" (the partner left unpaired).
  // exposure: per residue, solvent exposure in [0, 1] (exposure_from_neighbours; analyse_wild_type gives
  // 1 to residues of pLDDT < kConfidentPlddt, whose burial is not trusted); an introduced Met or Trp is a
  // soft "new_oxidation" where exposure >= kOxidationExposure, or anywhere without structure.
  std::vector<bool> helix;
  std::vector<std::array<double, 3>> ca;
  std::vector<double> plddt;
  std::vector<double> exposure;
};

// Exposure from which an introduced Met or Trp counts as an oxidation liability (buried side chains
// are shielded from solvent oxidants).
inline constexpr double kOxidationExposure = 0.5;

// Flags in a fixed order: new_unpaired_cys, new_disulfide_candidate, breaks_disulfide, new_n_glycosylation,
// new_deamidation, new_isomerization, new_oxidation, initiator_met (hard: a substitution of Met 1, the start
// codon's residue, when the numbering starts at 1), pro_in_helix, pro_introduced, invariant_position. After plate
// selection the optional LLM critic (llm_operator.hpp) may append a soft "llm_concern" to plate variants.
std::vector<LiabilityFlag> liability_flags(const Variant& variant, const LiabilityContext& context);

// "new_unpaired_cys;invariant_position" (names joined by ';'), "" when none.
std::string format_flags(const std::vector<LiabilityFlag>& flags);
bool has_hard_flag(const std::vector<LiabilityFlag>& flags);

}  // namespace kfold::pipelines::agent
