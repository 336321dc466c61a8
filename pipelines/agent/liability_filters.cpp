// Sequence-liability flags of variants (Cys, disulfides, glycosylation sequons, deamidation, isomerisation,
// oxidation, Pro, invariant positions).
#include "pipelines/agent/liability_filters.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "pipelines/agent/wild_type_structure.hpp"

namespace kfold::pipelines::agent {

namespace {

// Start indices (0-based) of motif matches in `seq`; `match(seq, k)` tests a match at k.
template <typename Match>
std::vector<int64_t> motif_starts(const std::string& seq, int64_t length, Match match) {
  std::vector<int64_t> out;
  for (int64_t k = 0; k + length <= static_cast<int64_t>(seq.size()); ++k) {
    if (match(seq, static_cast<size_t>(k))) out.push_back(k);
  }
  return out;
}

bool is_sequon(const std::string& s, size_t k) {
  return s[k] == 'N' && s[k + 1] != 'P' && (s[k + 2] == 'S' || s[k + 2] == 'T');
}
bool is_deamidation(const std::string& s, size_t k) { return s[k] == 'N' && (s[k + 1] == 'G' || s[k + 1] == 'S'); }
bool is_isomerization(const std::string& s, size_t k) { return s[k] == 'D' && s[k + 1] == 'G'; }

// Motifs present in `mutant` and not at the same place in `wild`, as "N45-G46" texts.
template <typename Match>
std::string new_motifs(const std::string& wild, const std::string& mutant, int64_t length, int64_t first, Match match) {
  std::string out;
  for (const int64_t k : motif_starts(mutant, length, match)) {
    if (match(wild, static_cast<size_t>(k))) continue;
    if (!out.empty()) out += ',';
    for (int64_t m = 0; m < length; ++m) {
      out += fmt::format("{}{}{}", m ? "-" : "", mutant[static_cast<size_t>(k + m)], first + k + m);
    }
  }
  return out;
}

// "C80 (5.6 A)" for the first confident free Cys of `mutant` at disulfide distance from residue index
// `idx` (confident too), or "" (also without structure).
std::string disulfide_partner(const LiabilityContext& context, const std::string& mutant, int64_t idx) {
  const auto n = static_cast<int64_t>(mutant.size());
  if (context.ca.size() != mutant.size() || context.plddt.size() != mutant.size()) return {};
  const auto confident = [&](int64_t k) { return context.plddt[static_cast<size_t>(k)] >= kConfidentPlddt; };
  const auto ca = [&](int64_t k) { return context.ca[static_cast<size_t>(k)]; };
  if (!confident(idx)) return {};
  const std::string_view wild = context.wild_type;
  for (int64_t j = 0; j < n; ++j) {
    if (j == idx || mutant[static_cast<size_t>(j)] != 'C' || !confident(j) || !disulfide_ca_geometry(ca(idx), ca(j)))
      continue;
    bool taken = false;  // a wild-type Cys already bonded to another wild-type Cys
    if (wild[static_cast<size_t>(j)] == 'C') {
      for (int64_t k = 0; k < n && !taken; ++k)
        taken = k != j && wild[static_cast<size_t>(k)] == 'C' && mutant[static_cast<size_t>(k)] == 'C' &&
                confident(k) && disulfide_ca_geometry(ca(j), ca(k));
    }
    if (!taken) return fmt::format("C{} ({:.1f} A)", j + context.first_residue, ca_distance(ca(idx), ca(j)));
  }
  return {};
}

// "C3-C10 (5.5 A), C10 left unpaired" for each wild-type Cys the variant replaces that is confident and at
// disulfide distance from another confident wild-type Cys (a likely disulfide of the predicted wild type);
// "" without structure.
std::string broken_disulfides(const Variant& variant, const LiabilityContext& context, const std::string& mutant) {
  const std::string_view wild = context.wild_type;
  if (context.ca.size() != wild.size() || context.plddt.size() != wild.size()) return {};
  const auto confident = [&](int64_t k) { return context.plddt[static_cast<size_t>(k)] >= kConfidentPlddt; };
  const auto ca = [&](int64_t k) { return context.ca[static_cast<size_t>(k)]; };
  std::string out;
  for (const Substitution& s : variant.substitutions) {
    const int64_t i = s.position - context.first_residue;
    if (s.wild_type != 'C' || s.mutant == 'C' || !confident(i)) continue;
    for (int64_t j = 0; j < static_cast<int64_t>(wild.size()); ++j) {
      if (j == i || wild[static_cast<size_t>(j)] != 'C' || !confident(j) || !disulfide_ca_geometry(ca(i), ca(j)))
        continue;
      const int64_t a = std::min(i, j) + context.first_residue, b = std::max(i, j) + context.first_residue;
      if (out.find(fmt::format("C{}-C{} ", a, b)) != std::string::npos) continue;  // both Cys replaced
      out += fmt::format("{}C{}-C{} ({:.1f} A)", out.empty() ? "" : ",", a, b, ca_distance(ca(i), ca(j)));
      if (mutant[static_cast<size_t>(j)] == 'C') out += fmt::format(", C{} left unpaired", j + context.first_residue);
      break;
    }
  }
  return out;
}

}  // namespace

std::vector<LiabilityFlag> liability_flags(const Variant& variant, const LiabilityContext& context) {
  std::vector<LiabilityFlag> flags;
  const std::string wild(context.wild_type);
  const std::string mutant = apply_variant(variant, wild, context.first_residue);
  const int64_t first = context.first_residue;
  std::string cys;
  std::string disulfide;
  for (const Substitution& s : variant.substitutions) {
    if (s.mutant != 'C') continue;
    const std::string partner = disulfide_partner(context, mutant, s.position - first);
    if (partner.empty()) {
      cys += fmt::format("{}C{}", cys.empty() ? "" : ",", s.position);
    } else {
      disulfide += fmt::format("{}C{}-{}", disulfide.empty() ? "" : ",", s.position, partner);
    }
  }
  if (!cys.empty()) flags.push_back({"new_unpaired_cys", true, cys});
  if (!disulfide.empty()) flags.push_back({"new_disulfide_candidate", false, disulfide});
  if (auto broken = broken_disulfides(variant, context, mutant); !broken.empty())
    flags.push_back({"breaks_disulfide", false, std::move(broken)});
  if (auto m = new_motifs(wild, mutant, 3, first, is_sequon); !m.empty())
    flags.push_back({"new_n_glycosylation", true, m});
  if (auto m = new_motifs(wild, mutant, 2, first, is_deamidation); !m.empty())
    flags.push_back({"new_deamidation", true, m});
  if (auto m = new_motifs(wild, mutant, 2, first, is_isomerization); !m.empty()) {
    flags.push_back({"new_isomerization", true, m});
  }
  std::string oxidation;
  for (const Substitution& s : variant.substitutions) {
    if (s.mutant != 'M' && s.mutant != 'W') continue;
    const auto idx = static_cast<size_t>(s.position - first);
    const bool structure = context.exposure.size() == wild.size();
    if (structure && context.exposure[idx] < kOxidationExposure) continue;
    oxidation += fmt::format("{}{}{}", oxidation.empty() ? "" : ",", s.mutant, s.position);
    if (structure) {
      const bool confident = context.plddt.size() != wild.size() || context.plddt[idx] >= kConfidentPlddt;
      oxidation += confident ? fmt::format(" (exposure {:.2f})", context.exposure[idx])
                             : fmt::format(" (pLDDT {:.0f}: taken as exposed)", context.plddt[idx]);
    }
  }
  if (!oxidation.empty()) flags.push_back({"new_oxidation", false, std::move(oxidation)});
  const std::vector<bool> interior = helix_interior(context.helix);
  std::string pro_helix;
  std::string pro;
  for (const Substitution& s : variant.substitutions) {
    if (s.mutant != 'P') continue;
    const auto idx = static_cast<size_t>(s.position - first);
    std::string& target = !interior.empty() && interior[idx] ? pro_helix : pro;
    target += fmt::format("{}P{}", target.empty() ? "" : ",", s.position);
  }
  // Residue 1 a Met: the initiator, whose codon starts translation; without it nothing is expressed.
  if (first == 1 && !wild.empty() && wild.front() == 'M') {
    for (const Substitution& s : variant.substitutions)
      if (s.position == 1) flags.push_back({"initiator_met", true, fmt::format("M1{}", s.mutant)});
  }
  if (!pro_helix.empty()) flags.push_back({"pro_in_helix", true, pro_helix});
  if (!pro.empty()) flags.push_back({"pro_introduced", false, pro});
  if (!context.wild_type_conservation.empty()) {
    std::string inv;
    for (const Substitution& s : variant.substitutions) {
      const double c = context.wild_type_conservation[static_cast<size_t>(s.position - first)];
      if (std::isfinite(c) && c >= context.invariant_threshold) {
        inv += fmt::format("{}{}{}({:.2f})", inv.empty() ? "" : ",", s.wild_type, s.position, c);
      }
    }
    if (!inv.empty()) flags.push_back({"invariant_position", true, inv});
  }
  return flags;
}

std::string format_flags(const std::vector<LiabilityFlag>& flags) {
  std::string out;
  for (const auto& f : flags) out += (out.empty() ? "" : ";") + f.name;
  return out;
}

bool has_hard_flag(const std::vector<LiabilityFlag>& flags) {
  for (const auto& f : flags) {
    if (f.hard) return true;
  }
  return false;
}

}  // namespace kfold::pipelines::agent
