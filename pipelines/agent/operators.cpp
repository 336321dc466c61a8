// Proposal operators: singles, consensus, coevolution pairs, combinations of measured beneficial singles,
// and the library restriction.
#include "pipelines/agent/operators.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "data/log.hpp"

namespace kfold::pipelines::agent {

void propose_single_substitutions(const Campaign& campaign, HypothesisSet& out) {
  const std::string& wt = campaign.target.sequence;
  for (size_t k = 0; k < wt.size(); ++k) {
    const int64_t residue = campaign.target.first_residue + static_cast<int64_t>(k);
    if (is_frozen(campaign, residue)) continue;
    for (const char aa : kAminoAcids) {
      if (aa == wt[k]) continue;
      Variant v;
      v.substitutions.push_back({residue, wt[k], aa});
      out.add("single_substitution", v, {});
    }
  }
}

void propose_consensus(const Campaign& campaign, const EvolutionaryModels& models, HypothesisSet& out,
                       double min_frequency) {
  struct Candidate {
    Substitution sub;
    double gain;
  };
  std::vector<Candidate> candidates;
  const std::string& wt = campaign.target.sequence;
  for (size_t k = 0; k < wt.size(); ++k) {
    const int64_t col = models.column_of_index[k];
    const int64_t residue = campaign.target.first_residue + static_cast<int64_t>(k);
    if (col < 0 || is_frozen(campaign, residue)) continue;
    const uint8_t cons = models.site_independent.consensus(col);
    const uint8_t wt_state = models.wild_type_states[static_cast<size_t>(col)];
    const double f_cons = models.site_independent.raw_frequency(col, cons);
    if (cons == wt_state || f_cons < min_frequency) continue;
    const double f_wt = models.site_independent.raw_frequency(col, wt_state);
    Variant v;
    v.substitutions.push_back({residue, wt[k], state_letter(cons)});
    out.add("consensus", v,
            {fmt::format("back to consensus: {} is {:.0f}% of the family at {}, wild-type {} {:.0f}%",
                         state_letter(cons), 100.0 * f_cons, residue, wt[k], 100.0 * f_wt)});
    candidates.push_back({v.substitutions.front(), f_cons - f_wt});
  }
  if (campaign.max_mutations >= 2 && candidates.size() >= 2) {
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const Candidate& a, const Candidate& b) { return a.gain > b.gain; });
    const size_t n = std::min(candidates.size(), static_cast<size_t>(campaign.max_mutations));
    Variant v;
    for (size_t k = 0; k < n; ++k) v.substitutions.push_back(candidates[k].sub);
    std::sort(v.substitutions.begin(), v.substitutions.end(),
              [](const Substitution& a, const Substitution& b) { return a.position < b.position; });
    out.add("consensus_combination", v,
            {fmt::format("the {} consensus substitutions with the largest frequency gain combined", n)});
  }
}

void propose_coevolution_pairs(const Campaign& campaign, const EvolutionaryModels& models, HypothesisSet& out,
                               int64_t n_pairs, int64_t per_pair, int64_t min_separation) {
  if (campaign.max_mutations < 2 || !models.potts) return;
  if (!models.stability_from_potts) {  // couplings of a model too shallow for the stability term are noise
    log_info("agent: no coevolution-pair proposals: {}", models.model_note);
    return;
  }
  const PottsModel& potts = *models.potts;
  const std::vector<CouplingScore> scores = coupling_scores(potts);
  const std::vector<int64_t>& residue_of_column = models.alignment.column_residue;
  // Column -> target index (inverse of column_of_index).
  std::vector<int64_t> index_of_column(static_cast<size_t>(potts.n_col), -1);
  for (size_t k = 0; k < models.column_of_index.size(); ++k) {
    if (models.column_of_index[k] >= 0)
      index_of_column[static_cast<size_t>(models.column_of_index[k])] = static_cast<int64_t>(k);
  }
  const std::string& wt = campaign.target.sequence;
  int64_t used = 0;
  for (size_t rank = 0; rank < scores.size() && used < n_pairs; ++rank) {
    const CouplingScore& cs = scores[rank];
    const int64_t ii = index_of_column[static_cast<size_t>(cs.i)];
    const int64_t jj = index_of_column[static_cast<size_t>(cs.j)];
    if (ii < 0 || jj < 0 ||
        std::llabs(residue_of_column[static_cast<size_t>(cs.j)] - residue_of_column[static_cast<size_t>(cs.i)]) <
            min_separation)
      continue;
    const int64_t ri = campaign.target.first_residue + ii;
    const int64_t rj = campaign.target.first_residue + jj;
    if (is_frozen(campaign, ri) || is_frozen(campaign, rj)) continue;
    ++used;
    const uint8_t wi = models.wild_type_states[static_cast<size_t>(cs.i)];
    const uint8_t wj = models.wild_type_states[static_cast<size_t>(cs.j)];
    struct Double {
      uint8_t a, b;
      double epistasis, delta;
    };
    std::vector<Double> doubles;
    for (uint8_t a = 0; a < 20; ++a) {
      if (a == wi) continue;
      for (uint8_t b = 0; b < 20; ++b) {
        if (b == wj) continue;
        const double eps = static_cast<double>(potts.J(cs.i, cs.j, a, b)) - potts.J(cs.i, cs.j, a, wj) -
                           potts.J(cs.i, cs.j, wi, b) + potts.J(cs.i, cs.j, wi, wj);
        if (eps <= 0.0) continue;
        const double delta = potts.delta_energy(models.wild_type_states.data(), {{cs.i, a}, {cs.j, b}});
        doubles.push_back({a, b, eps, delta});
      }
    }
    // Best ΔE first; ties by (a, b) so the order never depends on the sort.
    std::stable_sort(doubles.begin(), doubles.end(),
                     [](const Double& x, const Double& y) { return x.delta > y.delta; });
    for (size_t k = 0; k < doubles.size() && static_cast<int64_t>(k) < per_pair; ++k) {
      Variant v;
      v.substitutions.push_back({ri, wt[static_cast<size_t>(ii)], state_letter(doubles[k].a)});
      v.substitutions.push_back({rj, wt[static_cast<size_t>(jj)], state_letter(doubles[k].b)});
      out.add("coevolution_pair", v,
              {fmt::format("coevolving pair {}-{} (APC {:.3f}, rank {} of {} pairs): coupling epistasis {:+.2f}, "
                           "Potts ΔE {:+.2f}",
                           ri, rj, cs.apc, rank + 1, scores.size(), doubles[k].epistasis, doubles[k].delta)});
    }
  }
}

void propose_beneficial_combinations(const Campaign& campaign, HypothesisSet& out, int64_t top) {
  if (campaign.max_mutations < 2 || campaign.measurements.empty()) return;
  // Each variant's measured value as the scores and the surrogate read it: its replicates' inverse-variance
  // weighted mean (a plain mean let a noisy replicate put a better-than-wild-type single below the reference).
  const std::vector<Measurement> means = replicate_means(campaign.measurements);
  double reference = 0.0;
  std::string reference_name;  // what the singles were better than, for the rationale
  if (const auto wt =
          std::find_if(means.begin(), means.end(), [](const Measurement& m) { return m.variant.is_wild_type(); });
      wt != means.end()) {
    reference = wt->value;
    reference_name = fmt::format("the wild type's measured {:+.3g}", reference);
  } else {
    // Without wild-type wells "better than the wild type" is unknown: better than most measured variants
    // stands in, and says so (a set of only destabilising singles has a better half too).
    std::vector<double> all;
    for (const Measurement& m : means) all.push_back(m.value);
    std::sort(all.begin(), all.end());
    const size_t half = all.size() / 2;
    reference = all.size() % 2 == 1 ? all[half] : 0.5 * (all[half - 1] + all[half]);
    reference_name = fmt::format("the median measured value {:+.3g}, no wild-type wells measured", reference);
  }
  struct Single {
    Substitution sub;
    double value;
    std::string name;
  };
  std::vector<Single> good;
  for (const Measurement& m : means) {
    if (m.variant.substitutions.size() != 1 || m.value <= reference) continue;
    if (is_frozen(campaign, m.variant.substitutions.front().position)) continue;
    good.push_back({m.variant.substitutions.front(), m.value, format_variant(m.variant)});
  }
  std::stable_sort(good.begin(), good.end(), [](const Single& a, const Single& b) { return a.value > b.value; });
  std::vector<Single> picked;
  std::set<int64_t> positions;
  for (const Single& s : good) {
    if (static_cast<int64_t>(picked.size()) >= top) break;
    if (positions.insert(s.sub.position).second) picked.push_back(s);
  }
  if (picked.size() < 2) return;
  auto sorted = [](Variant v) {
    std::sort(v.substitutions.begin(), v.substitutions.end(),
              [](const Substitution& a, const Substitution& b) { return a.position < b.position; });
    return v;
  };
  for (size_t a = 0; a < picked.size(); ++a) {
    for (size_t b = a + 1; b < picked.size(); ++b) {
      Variant v;
      v.substitutions = {picked[a].sub, picked[b].sub};
      out.add("combine_beneficial", sorted(v),
              {fmt::format("combines measured {} ({:+.3g}) and {} ({:+.3g}), each above {}", picked[a].name,
                           picked[a].value, picked[b].name, picked[b].value, reference_name)});
    }
  }
  const size_t n = std::min(picked.size(), static_cast<size_t>(campaign.max_mutations));
  if (n >= 3) {
    Variant v;
    std::string names;
    for (size_t k = 0; k < n; ++k) {
      v.substitutions.push_back(picked[k].sub);
      names += (k ? ", " : "") + picked[k].name;
    }
    out.add("combine_beneficial", sorted(v),
            {fmt::format("combines the {} best measured singles: {}, each above {}", n, names, reference_name)});
  }
}

HypothesisSet restrict_to_library(const Campaign& campaign, const HypothesisSet& in) {
  if (campaign.library_variants.empty()) return in;
  std::set<std::string> library;
  for (const Variant& v : campaign.library_variants) library.insert(format_variant(v));
  HypothesisSet out(in.id_prefix());
  std::set<std::string> kept;
  for (const Hypothesis& h : in.items()) {
    const std::string key = format_variant(h.variant);
    if (!library.count(key)) continue;
    kept.insert(key);
    for (const std::string& op : h.operators) out.add(op, h.variant, h.rationale);
  }
  for (const Variant& v : campaign.library_variants) {
    if (!kept.count(format_variant(v))) out.add("library", v, {"in the campaign's library"});
  }
  return out;
}

}  // namespace kfold::pipelines::agent
