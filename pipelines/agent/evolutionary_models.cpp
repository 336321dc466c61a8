// Building the evolutionary models of a campaign and scoring variants with them.
#include "pipelines/agent/evolutionary_models.hpp"

#include <chrono>
#include <cmath>
#include <limits>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/interrupt.hpp"
#include "data/log.hpp"
#include "data/progress.hpp"
#include "data/sha256.hpp"
#include "pipelines/agent/evolution_cache.hpp"

namespace kfold::pipelines::agent {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Offset d such that focus residue number r sits at target index r - d; checks every aligned letter.
int64_t map_focus_to_target(const FamilyAlignment& ali, const Campaign& campaign) {
  const std::string& target = campaign.target.sequence;
  auto matches = [&](int64_t offset) {
    for (int64_t c = 0; c < ali.n_col; ++c) {
      const int64_t idx = ali.column_residue[static_cast<size_t>(c)] - offset;
      if (idx < 0 || idx >= static_cast<int64_t>(target.size())) return false;
      if (target[static_cast<size_t>(idx)] != state_letter(ali.state(0, c))) return false;
    }
    return true;
  };
  if (matches(campaign.target.first_residue)) return campaign.target.first_residue;
  // Numbering differs: find the focus's residues in the target.
  const size_t at = target.find(ali.focus_residues);
  if (at != std::string::npos) {
    const int64_t offset = ali.focus_start - static_cast<int64_t>(at);
    if (matches(offset)) {
      log_warn(
          "{}: the focus '{}' numbers its residues from {}; it matches the target sequence from residue {} "
          "(target.first_residue {}), which is used",
          ali.source, ali.focus_id, ali.focus_start, campaign.target.first_residue + static_cast<int64_t>(at),
          campaign.target.first_residue);
      return offset;
    }
  }
  // A letter outside the 20 amino acids in the focus is read as a gap, so it can never match: say which.
  for (int64_t c = 0; c < ali.n_col; ++c) {
    const int64_t k = ali.column_residue[static_cast<size_t>(c)] - ali.focus_start;
    if (ali.state(0, c) == kGapState && k >= 0 && k < static_cast<int64_t>(ali.focus_residues.size()))
      fail_input(
          "{}: field 'target.msa': the first record of {} ('{}') has '{}' at residue {}: the wild type's aligned "
          "residues must be the 20 standard amino acids (write it lower case, an unaligned insertion, or fix it)",
          campaign.path.string(), ali.source, ali.focus_id, ali.focus_residues[static_cast<size_t>(k)],
          ali.column_residue[static_cast<size_t>(c)]);
  }
  fail_input(
      "{}: field 'target.msa': the first record of {} ('{}', residues {}..) is not the target sequence with its "
      "numbering; the first record must be the wild type (its aligned residues upper case, optional /START-END "
      "in the header) and target.first_residue the number of the target's first residue",
      campaign.path.string(), ali.source, ali.focus_id, ali.focus_start);
}

}  // namespace

double EvolutionaryModels::site_independent_score(const Variant& variant, int64_t first_residue) const {
  double s = 0.0;
  for (const Substitution& sub : variant.substitutions) {
    const int64_t col = column_of_index[static_cast<size_t>(sub.position - first_residue)];
    if (col < 0) return kNaN;
    s += site_independent.score(col, wild_type_states[static_cast<size_t>(col)], residue_state(sub.mutant));
  }
  return s;
}

bool EvolutionaryModels::family_holds(const Variant& variant, int64_t first_residue) const {
  return std::all_of(variant.substitutions.begin(), variant.substitutions.end(), [&](const Substitution& sub) {
    const int64_t col = column_of_index[static_cast<size_t>(sub.position - first_residue)];
    return col >= 0 && site_independent.raw_frequency(col, residue_state(sub.mutant)) > 0.0;
  });
}

double EvolutionaryModels::potts_score(const Variant& variant, int64_t first_residue) const {
  if (!potts) return kNaN;
  std::vector<std::pair<int64_t, uint8_t>> mutations;
  for (const Substitution& sub : variant.substitutions) {
    const int64_t col = column_of_index[static_cast<size_t>(sub.position - first_residue)];
    if (col < 0) return kNaN;
    mutations.emplace_back(col, residue_state(sub.mutant));
  }
  return potts->delta_energy(wild_type_states.data(), mutations);
}

std::vector<double> EvolutionaryModels::wild_type_conservation() const {
  std::vector<double> out(column_of_index.size(), kNaN);
  for (size_t k = 0; k < column_of_index.size(); ++k) {
    const int64_t col = column_of_index[k];
    if (col >= 0) out[k] = site_independent.raw_frequency(col, wild_type_states[static_cast<size_t>(col)]);
  }
  return out;
}

EvolutionaryModels build_evolutionary_models(const Campaign& campaign, const EvolutionOptions& options) {
  EvolutionaryModels m;
  m.alignment = read_family_alignment(campaign.target.msa);
  const FamilyAlignment& ali = m.alignment;
  const int64_t offset = map_focus_to_target(ali, campaign);
  m.column_of_index.assign(campaign.target.sequence.size(), -1);
  m.wild_type_states.resize(static_cast<size_t>(ali.n_col));
  for (int64_t c = 0; c < ali.n_col; ++c) {
    const int64_t idx = ali.column_residue[static_cast<size_t>(c)] - offset;
    m.column_of_index[static_cast<size_t>(idx)] = c;
    m.wild_type_states[static_cast<size_t>(c)] = ali.state(0, c);
  }
  log_info("agent: alignment {}: {} sequences, {} aligned columns (residues {}..{} of the target)", ali.source,
           ali.n_seq, ali.n_col, ali.column_residue.front() - offset + campaign.target.first_residue,
           ali.column_residue.back() - offset + campaign.target.first_residue);
  const std::string& choice = campaign.evolution.model;
  const bool fit = options.fit_potts && choice != "site_independent" && ali.n_col >= 2;
  PottsFitOptions po;
  po.max_iterations = campaign.evolution.potts_iterations;
  po.threads = options.threads;
  std::string cache_key;
  if (!options.cache_dir.empty()) {
    cache_key = evolution_cache_key(data::sha256_file(campaign.target.msa), campaign.evolution.identity, fit,
                                    po.max_iterations, po.lambda_h, po.lambda_J);
    // A killed run's temporary file of this entry (its writer gone and quiet for 10 min: another host's may live).
    data::remove_dead_temp_files(options.cache_dir, {cache_key + ".evo"}, std::chrono::minutes{10});
    if (auto cached = load_evolution_cache(options.cache_dir, cache_key, ali.n_seq, ali.n_col)) {
      m.weights = std::move(cached->weights);
      m.potts = std::move(cached->potts);
      m.from_cache = true;
      log_info("agent: evolutionary evidence from the cache {}/{}.evo", options.cache_dir.string(), cache_key);
    }
  }
  if (!m.from_cache) {
    m.weights = compute_sequence_weights(ali, campaign.evolution.identity, options.threads);
  }
  log_info("agent: sequence weights at {:.0f}% identity: Neff {:.1f}", 100.0 * campaign.evolution.identity,
           m.weights.neff);
  if (ali.n_seq < 2)
    log_warn(
        "{}: the alignment holds the target alone: its evolutionary scores (the stability term) carry no "
        "information and rank every substitution alike but for the amino acids' background frequencies; give the "
        "family's alignment (kfold search, jackhmmer or EVcouplings' A2M)",
        ali.source);
  m.site_independent = fit_site_independent_model(ali, m.weights);
  const bool deep = m.weights.neff >= static_cast<double>(ali.n_col);
  if (fit && !m.from_cache) {
    const auto start = std::chrono::steady_clock::now();
    Progress progress("Potts fit", po.max_iterations);
    po.progress = [&](int64_t iter, double f, double gnorm, int64_t evals) {
      const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      log_debug("agent: Potts fit iteration {}/{}: objective {:.3f}, |gradient| {:.3g}, {} evaluations, {:.1f} s", iter,
                po.max_iterations, f, gnorm, evals, t);
      progress.advance();
      check_interrupt();
      if (options.check_cancelled) options.check_cancelled();
    };
    log_info("agent: fitting the Potts model ({} columns, {} parameters, lambda_h {}, lambda_J {} x {} x {})",
             ali.n_col, potts_n_params(ali.n_col), po.lambda_h, po.lambda_J, kStates - 1, ali.n_col - 1);
    m.potts = fit_potts_model(ali, m.weights, po);
    m.potts_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log_info("agent: Potts fit: {} ({} iterations, objective {:.3f}, {:.1f} s)", m.potts->fit.stop_reason,
             m.potts->fit.iterations, m.potts->fit.objective, m.potts_seconds);
  }
  if (!cache_key.empty() && !m.from_cache) {
    // A cache is an optimisation: one that cannot be written costs the next run the fit, not this run its results.
    try {
      save_evolution_cache(options.cache_dir, cache_key, CachedEvolution{m.weights, m.potts});
      log_info("agent: evolutionary evidence saved to {}/{}.evo", options.cache_dir.string(), cache_key);
    } catch (const Error& e) {
      log_warn("agent: the evolutionary evidence is not cached ({}); the next run fits it again", e.what());
    }
  }
  if (choice == "potts" && m.potts) {
    m.stability_from_potts = true;
    m.model_note = "Potts model (evolution.model = potts)";
  } else if (choice == "auto" && m.potts && deep) {
    m.stability_from_potts = true;
    m.model_note = fmt::format("Potts model (auto: Neff {:.1f} >= {} columns)", m.weights.neff, ali.n_col);
  } else if (choice == "site_independent") {
    m.model_note = "site-independent model (evolution.model = site_independent)";
  } else if (!m.potts && ali.n_col < 2) {
    m.model_note = "site-independent model (a Potts model needs at least 2 aligned columns)";
  } else if (!m.potts) {
    m.model_note = "site-independent model (Potts model not fitted: --no-potts)";
  } else {
    m.model_note = fmt::format(
        "site-independent model (auto: Neff {:.1f} < {} columns is too shallow for the Potts "
        "model)",
        m.weights.neff, ali.n_col);
  }
  log_info("agent: stability term from the {}", m.model_note);
  return m;
}

}  // namespace kfold::pipelines::agent
