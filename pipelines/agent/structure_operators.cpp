// Structure-rule proposal operators on the predicted wild type.
#include "pipelines/agent/structure_operators.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>

namespace kfold::pipelines::agent {

namespace {

int64_t residue_number(const Campaign& campaign, size_t index) {
  return campaign.target.first_residue + static_cast<int64_t>(index);
}

// A confident residue that may be mutated.
bool mutable_site(const Campaign& campaign, const WildTypeStructure& wt, size_t index) {
  return wt.confident(index) && !is_frozen(campaign, residue_number(campaign, index));
}

Variant single(const Campaign& campaign, size_t index, char mutant) {
  Variant v;
  v.substitutions.push_back({residue_number(campaign, index), campaign.target.sequence[index], mutant});
  return v;
}

}  // namespace

void propose_disulfides(const Campaign& campaign, const WildTypeStructure& wt, HypothesisSet& out) {
  if (campaign.max_mutations < 2) return;
  const std::string& seq = campaign.target.sequence;
  for (size_t i = 0; i < seq.size(); ++i) {
    if (seq[i] == 'C' || !mutable_site(campaign, wt, i)) continue;
    for (size_t j = i + 3; j < seq.size(); ++j) {
      if (seq[j] == 'C' || !mutable_site(campaign, wt, j)) continue;
      const double d_cb = ca_distance(wt.cb[i], wt.cb[j]);
      if (d_cb < kDisulfideCbMin || d_cb > kDisulfideCbMax || !disulfide_ca_geometry(wt.ca[i], wt.ca[j])) continue;
      Variant v = single(campaign, i, 'C');
      v.substitutions.push_back({residue_number(campaign, j), seq[j], 'C'});
      out.add("disulfide_design", v,
              {fmt::format("disulfide geometry: Cβ-Cβ {:.2f} Å, Cα-Cα {:.2f} Å, pLDDT {:.0f}/{:.0f}", d_cb,
                           ca_distance(wt.ca[i], wt.ca[j]), wt.plddt[i], wt.plddt[j])});
    }
  }
}

void propose_surface_polar(const Campaign& campaign, const EvolutionaryModels& models, const WildTypeStructure& wt,
                           HypothesisSet& out) {
  constexpr std::string_view kHydrophobic = "VILMFWY";
  constexpr std::string_view kPolar = "KEQRDNST";
  const std::string& seq = campaign.target.sequence;
  for (size_t i = 0; i < seq.size(); ++i) {
    if (kHydrophobic.find(seq[i]) == std::string_view::npos || !mutable_site(campaign, wt, i)) continue;
    if (wt.exposure[i] < kSurfaceExposure) continue;
    // The two polar residues of best family score (ties and unaligned columns: K, then E, ...).
    std::vector<std::pair<double, char>> ranked;
    for (const char aa : kPolar) {
      const double score = models.site_independent_score(single(campaign, i, aa), campaign.target.first_residue);
      ranked.emplace_back(std::isfinite(score) ? score : -1e300, aa);
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t k = 0; k < 2; ++k) {
      out.add("surface_hydrophobic_to_polar", single(campaign, i, ranked[k].second),
              {fmt::format("exposed hydrophobic {}{} ({} Cβ within 10 Å)", seq[i], residue_number(campaign, i),
                           wt.neighbours[i])});
    }
  }
}

void propose_surface_entropy_reduction(const Campaign& campaign, const WildTypeStructure& wt, HypothesisSet& out) {
  const std::string& seq = campaign.target.sequence;
  std::vector<size_t> sites;
  for (size_t i = 0; i < seq.size(); ++i) {
    const bool high_entropy = seq[i] == 'K' || seq[i] == 'E' || seq[i] == 'Q';
    if (!high_entropy || !mutable_site(campaign, wt, i) || wt.exposure[i] < kSurfaceExposure) continue;
    sites.push_back(i);
    out.add("surface_entropy_reduction", single(campaign, i, 'A'),
            {fmt::format("exposed high-entropy {}{} to Ala", seq[i], residue_number(campaign, i))});
  }
  if (campaign.max_mutations < 2) return;
  // Clusters: consecutive sites spanning at most 4 residues, up to 3 sites (and max_mutations).
  const size_t max_size = static_cast<size_t>(std::min<int64_t>(3, campaign.max_mutations));
  for (size_t a = 0; a < sites.size(); ++a) {
    Variant v = single(campaign, sites[a], 'A');
    for (size_t b = a + 1; b < sites.size() && v.substitutions.size() < max_size && sites[b] - sites[a] <= 4; ++b) {
      v.substitutions.push_back(single(campaign, sites[b], 'A').substitutions.front());
      out.add("surface_entropy_reduction", v,
              {fmt::format("surface cluster of {} high-entropy residues to Ala", v.substitutions.size())});
    }
  }
}

void propose_helix_rules(const Campaign& campaign, const WildTypeStructure& wt, HypothesisSet& out) {
  const std::string& seq = campaign.target.sequence;
  const std::vector<bool> interior = helix_interior(wt.helix);
  for (size_t i = 0; i < seq.size(); ++i) {
    if (!mutable_site(campaign, wt, i)) continue;
    if (interior[i] && seq[i] == 'G') {
      out.add("helix_gly_to_ala", single(campaign, i, 'A'),
              {fmt::format("Gly{} inside a helix: Ala has the higher helix propensity", residue_number(campaign, i))});
    }
    const bool n_cap = i + 1 < seq.size() && !wt.helix[i] && wt.helix[i + 1];
    if (n_cap && seq[i] != 'S' && seq[i] != 'T' && seq[i] != 'D') {
      for (const char aa : {'S', 'T', 'D'}) {
        out.add("helix_n_cap", single(campaign, i, aa),
                {fmt::format("N-cap of the helix from {}: Ser/Thr/Asp cap its free NH groups",
                             residue_number(campaign, i + 1))});
      }
    }
  }
}

void propose_structure_rules(const Campaign& campaign, const EvolutionaryModels& models, const WildTypeStructure& wt,
                             HypothesisSet& out) {
  propose_disulfides(campaign, wt, out);
  propose_surface_polar(campaign, models, wt, out);
  propose_surface_entropy_reduction(campaign, wt, out);
  propose_helix_rules(campaign, wt, out);
}

}  // namespace kfold::pipelines::agent
