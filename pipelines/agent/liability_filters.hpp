// Sequence liabilities a variant introduces, flagged per variant: a new unpaired Cys, a new
// N-glycosylation sequon (N-X-S/T, X != P), new deamidation (NG, NS) or isomerisation (DG) motifs, an
// introduced Pro, and a change at a nearly invariant position of the family. Hard flags remove a variant
// from the plate; soft flags are reported only.
#pragma once

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
  // Hook for structure-aware rules: per residue, true where the predicted wild type has a helix. Empty
  // (no structure yet): an introduced Pro is flagged soft ("pro_introduced") instead of hard
  // ("pro_in_helix"). Cys pairing likewise waits for structure: every introduced Cys counts as unpaired.
  std::vector<bool> helix;
};

// Flags in a fixed order: new_unpaired_cys, new_n_glycosylation, new_deamidation, new_isomerization,
// pro_in_helix / pro_introduced, invariant_position.
std::vector<LiabilityFlag> liability_flags(const Variant& variant, const LiabilityContext& context);

// "new_unpaired_cys;invariant_position" (names joined by ';'), "" when none.
std::string format_flags(const std::vector<LiabilityFlag>& flags);
bool has_hard_flag(const std::vector<LiabilityFlag>& flags);

}  // namespace kfold::pipelines::agent
