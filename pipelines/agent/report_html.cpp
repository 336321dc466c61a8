// The HTML report and its SVG plots.
#include "pipelines/agent/report_html.hpp"
#include "pipelines/agent/report_tables.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "pipelines/agent/agent_outputs.hpp"
#include "pipelines/agent/binding_terms.hpp"
#include "pipelines/agent/pae_plot.hpp"
#include "pipelines/git_revision.hpp"
#include "pipelines/version.hpp"

namespace kfold::pipelines::agent {

namespace {

template <typename Get>
Moments stats_of(const std::vector<ScoredVariant>& rows, Get get) {
  std::vector<double> values;
  for (const auto& r : rows) values.push_back(get(r));
  return finite_moments(values);
}

std::string fmt_or_na(double v, const char* spec = "{:.3f}") {
  return std::isfinite(v) ? fmt::format(fmt::runtime(spec), v) : std::string("NA");
}

// Diverging colour for t in [0, 1]: blue (low) - white - red (high).
std::string diverging(double t) {
  t = std::clamp(t, 0.0, 1.0);
  int r, g, b;
  if (t < 0.5) {
    const double u = t / 0.5;
    r = static_cast<int>(49 + u * (255 - 49));
    g = static_cast<int>(54 + u * (255 - 54));
    b = static_cast<int>(149 + u * (255 - 149));
  } else {
    const double u = (t - 0.5) / 0.5;
    r = static_cast<int>(255 - u * (255 - 165));
    g = static_cast<int>(255 - u * 255);
    b = static_cast<int>(255 - u * (255 - 38));
  }
  return fmt::format("#{:02x}{:02x}{:02x}", r, g, b);
}

// Grouped horizontal bars (z units) of the components of the top candidates.
std::string components_svg(const ScoreTable& table, const std::vector<const PlateWell*>& ranked) {
  const size_t n = std::min<size_t>(ranked.size(), 20);
  if (n == 0) return "<p>No candidates on the plate.</p>\n";
  const Moments si = stats_of(table.rows, [](const ScoredVariant& r) { return r.site_independent; });
  const Moments po = stats_of(table.rows, [](const ScoredVariant& r) { return r.potts; });
  const Moments sm = stats_of(table.rows, [](const ScoredVariant& r) { return r.surrogate_mean; });
  struct Series {
    const char* name;
    const char* colour;
  };
  std::vector<Series> series = {{"site-independent (z)", "#4e79a7"}, {"Potts (z)", "#f28e2b"}};
  if (table.surrogate) series.push_back({"surrogate mean (z)", "#59a14f"});
  const double bar = 6.0;
  const double group = bar * static_cast<double>(series.size()) + 6.0;
  const double left = 150.0;
  const double width = 420.0;
  const double top = 30.0;
  const double height = top + group * static_cast<double>(n) + 20.0;
  const double zmax = 4.0;
  const double x0 = left + width / 2.0;
  auto xpos = [&](double z) { return x0 + std::clamp(z, -zmax, zmax) / zmax * (width / 2.0); };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" role=\"img\" "
      "aria-label=\"score components of the top candidates\">\n",
      left + width + 20.0, height);
  for (size_t s = 0; s < series.size(); ++s) {
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"8\" width=\"10\" height=\"10\" fill=\"{}\"></rect>",
                       left + 140.0 * static_cast<double>(s), series[s].colour);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"17\" font-size=\"11\">{}</text>\n",
                       left + 14.0 + 140.0 * static_cast<double>(s), series[s].name);
  }
  for (int z = -4; z <= 4; z += 2) {
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#ccc\"></line>"
        "<text x=\"{0:.1f}\" y=\"{3:.1f}\" font-size=\"10\" text-anchor=\"middle\">{4}</text>\n",
        xpos(z), top, height - 20.0, height - 6.0, z);
  }
  for (size_t k = 0; k < n; ++k) {
    const ScoredVariant& r = table.rows[static_cast<size_t>(ranked[k]->row)];
    const double y = top + group * static_cast<double>(k);
    svg +=
        fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{} {}</text>\n", left - 6.0,
                    y + group / 2.0 + 2.0, ranked[k]->rank, html_escape(format_variant(r.hypothesis->variant)));
    const double values[3] = {(r.site_independent - si.mean) / si.sd, (r.potts - po.mean) / po.sd,
                              (r.surrogate_mean - sm.mean) / sm.sd};
    for (size_t s = 0; s < series.size(); ++s) {
      const double z = values[s];
      if (!std::isfinite(z)) continue;
      const double xa = std::min(xpos(0.0), xpos(z));
      const double w = std::fabs(xpos(z) - xpos(0.0));
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>{}: {:+.2f}</title>"
          "</rect>\n",
          xa, y + 3.0 + bar * static_cast<double>(s), std::max(w, 0.5), bar - 1.0, series[s].colour, series[s].name, z);
    }
  }
  svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#333\"></line>\n", x0,
                     top, height - 20.0);
  return svg + "</svg>\n";
}

// Position x residue heat map of the best total of any candidate carrying the substitution.
std::string heatmap_svg(const ScoreTable& table, const Campaign& campaign) {
  const std::string& wt = campaign.target.sequence;
  const int64_t n_res = static_cast<int64_t>(wt.size());
  std::map<std::pair<int64_t, char>, double> best;
  std::vector<double> values;
  for (const ScoredVariant& r : table.rows) {
    if (!std::isfinite(r.total)) continue;
    for (const Substitution& s : r.hypothesis->variant.substitutions) {
      auto [it, inserted] = best.emplace(std::make_pair(s.position, s.mutant), r.total);
      if (!inserted) it->second = std::max(it->second, r.total);
    }
  }
  if (best.empty()) return "<p>No scored substitutions.</p>\n";
  for (const auto& [k, v] : best) values.push_back(v);
  std::sort(values.begin(), values.end());
  // Colour by rank (quantile), so a few extreme values do not wash out the map.
  auto quantile = [&](double v) {
    const auto lo = std::lower_bound(values.begin(), values.end(), v);
    const auto hi = std::upper_bound(values.begin(), values.end(), v);
    const double mid = 0.5 * static_cast<double>((lo - values.begin()) + (hi - values.begin()) - 1);
    return values.size() > 1 ? mid / static_cast<double>(values.size() - 1) : 0.5;
  };
  const double cell_w = n_res > 300 ? 3.0 : (n_res > 150 ? 4.0 : 8.0);
  const double cell_h = 10.0;
  const double left = 24.0;
  const double top = 8.0;
  const double width = left + cell_w * static_cast<double>(n_res) + 10.0;
  const double height = top + cell_h * 20.0 + 40.0;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" role=\"img\" "
      "aria-label=\"best score per position and residue\">\n",
      width, height);
  for (size_t a = 0; a < kAminoAcids.size(); ++a) {
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\" text-anchor=\"end\">{}</text>\n", left - 4.0,
                       top + cell_h * static_cast<double>(a) + 8.0, kAminoAcids[a]);
  }
  for (int64_t k = 0; k < n_res; ++k) {
    const int64_t position = campaign.target.first_residue + k;
    const double x = left + cell_w * static_cast<double>(k);
    for (size_t a = 0; a < kAminoAcids.size(); ++a) {
      const char aa = kAminoAcids[a];
      const double y = top + cell_h * static_cast<double>(a);
      std::string fill;
      std::string title;
      if (aa == wt[static_cast<size_t>(k)]) {
        fill = "#444";
        title = fmt::format("{}{} wild type", aa, position);
      } else if (const auto it = best.find({position, aa}); it != best.end()) {
        fill = diverging(quantile(it->second));
        title = fmt::format("{}{}{}: {:+.3f}", wt[static_cast<size_t>(k)], position, aa, it->second);
      } else {
        continue;  // not scored: background
      }
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>{}</title></rect>\n",
          x, y, cell_w, cell_h, fill, title);
    }
    if ((position % 10) == 0) {
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"9\" text-anchor=\"middle\">{}</text>\n",
                         x + cell_w / 2.0, top + cell_h * 20.0 + 12.0, position);
    }
  }
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\">residue number; colour: rank of the best total (blue low, "
      "red high); dark: wild type; blank: not scored</text>\n",
      left, top + cell_h * 20.0 + 30.0);
  return svg + "</svg>\n";
}

// Leave-one-out predicted vs measured values of the surrogate.
std::string calibration_svg(const SurrogateSummary& s) {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -lo;
  for (size_t k = 0; k < s.fitted.size(); ++k) {
    for (const double v : {s.fitted[k], s.loo_predicted[k]}) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!(hi > lo)) hi = lo + 1.0;
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const double size = 320.0;
  const double left = 50.0;
  const double top = 10.0;
  auto px = [&](double v) { return left + (v - lo) / (hi - lo) * size; };
  auto py = [&](double v) { return top + size - (v - lo) / (hi - lo) * size; };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" role=\"img\" "
      "aria-label=\"surrogate calibration\">\n",
      left + size + 20.0, top + size + 45.0);
  svg += fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" stroke=\"#333\">"
      "</rect>\n",
      left, top, size, size);
  svg += fmt::format(
      "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#aaa\" "
      "stroke-dasharray=\"4 3\"></line>\n",
      px(lo), py(lo), px(hi), py(hi));
  for (size_t k = 0; k < s.fitted.size(); ++k) {
    if (!std::isfinite(s.loo_predicted[k])) continue;
    const bool at_fence = s.fitted[k] != s.measured[k];
    svg += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\" fill-opacity=\"0.7\"><title>{}: measured {:.3g}{}, "
        "predicted {:.3g}</title></circle>\n",
        px(s.fitted[k]), py(s.loo_predicted[k]), at_fence ? "#e15759" : "#4e79a7", html_escape(s.train_variants[k]),
        s.measured[k], at_fence ? fmt::format(" (fitted at the fence, {:.3g})", s.fitted[k]) : "", s.loo_predicted[k]);
  }
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\">measured{} ({:.3g} .. "
      "{:.3g})</text>\n",
      left + size / 2.0, top + size + 18.0, s.at_lower_fence > 0 ? ", as fitted (red: at the fence)" : "", lo, hi);
  svg += fmt::format(
      "<text x=\"12\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 12 {:.1f})\">leave-one-out prediction</text>\n",
      top + size / 2.0, top + size / 2.0);
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\">Spearman {} , RMSE "
      "{}</text>\n",
      left + size / 2.0, top + size + 36.0, fmt_or_na(s.loo_spearman), fmt_or_na(s.loo_rmse, "{:.3g}"));
  return svg + "</svg>\n";
}

// pLDDT along the sequence: the wild type in black, the shortlisted variants (best total first, at most
// eight) in colour, their mutated positions marked below the axis.
std::string plddt_svg(const ScoreTable& table, const Campaign& campaign, const PredictedStructures& predicted) {
  const auto& wt = predicted.wild_type.plddt;
  if (wt.empty()) return "<p>No pLDDT in the predictions.</p>\n";
  std::vector<const std::pair<size_t, StructurePrediction>*> shown;
  for (const auto& v : predicted.variants)
    if (v.second.plddt.size() == wt.size()) shown.push_back(&v);
  std::stable_sort(shown.begin(), shown.end(), [&](const auto* a, const auto* b) {
    return table.rows[a->first].total > table.rows[b->first].total;
  });
  if (shown.size() > 8) shown.resize(8);
  static constexpr const char* kColours[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                             "#59a14f", "#edc948", "#b07aa1", "#ff9da7"};
  const double width = std::max(400.0, 6.0 * static_cast<double>(wt.size()));
  const double height = 200.0;
  const double left = 45.0;
  const double top = 10.0;
  const auto n = static_cast<double>(wt.size());
  auto px = [&](double i) { return left + (n > 1 ? i / (n - 1) : 0.5) * width; };
  auto py = [&](double v) { return top + height - std::clamp(v, 0.0, 100.0) / 100.0 * height; };
  auto polyline = [&](const std::vector<double>& values, const char* colour, double stroke, const std::string& label) {
    std::string points;
    for (size_t i = 0; i < values.size(); ++i)
      points += fmt::format("{:.1f},{:.1f} ", px(static_cast<double>(i)), py(values[i]));
    return fmt::format(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"><title>{}</title>"
        "</polyline>\n",
        points, colour, stroke, html_escape(label));
  };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" role=\"img\" "
      "aria-label=\"predicted pLDDT\">\n",
      left + width + 20.0, top + height + 60.0 + 14.0 * static_cast<double>(shown.size()));
  svg += fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"none\" "
      "stroke=\"#333\"></rect>\n",
      left, top, width, height);
  for (const double v : {50.0, 70.0, 90.0}) {  // AlphaFold's confidence bands
    svg += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#ddd\"></line>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\">{:.0f}</text>\n",
        left, py(v), left + width, py(v), left - 4.0, py(v) + 3.0, v);
  }
  svg += polyline(wt, "#000", 2.0, "wild type");
  for (size_t k = 0; k < shown.size(); ++k) {
    const Hypothesis& h = *table.rows[shown[k]->first].hypothesis;
    const std::string label = h.id + " " + format_variant(h.variant);
    svg += polyline(shown[k]->second.plddt, kColours[k], 1.0, label);
    for (const Substitution& s : h.variant.substitutions) {
      const double x = px(static_cast<double>(s.position - campaign.target.first_residue));
      svg += fmt::format(
          "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\" "
          "stroke-width=\"2\"></line>\n",
          x, top + height + 2.0, top + height + 10.0, kColours[k]);
    }
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" fill=\"{}\">{}</text>\n", left,
                       top + height + 50.0 + 14.0 * static_cast<double>(k), kColours[k], html_escape(label));
  }
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\">residue ({} .. {})"
      "</text>\n",
      left + width / 2.0, top + height + 26.0, campaign.target.first_residue,
      campaign.target.first_residue + static_cast<int64_t>(wt.size()) - 1);
  svg += fmt::format(
      "<text x=\"12\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 12 {:.1f})\">pLDDT</text>\n",
      top + height / 2.0, top + height / 2.0);
  return svg + "</svg>\n";
}

// PAE heat maps of the wild type and the three best shortlisted variants (those with a PAE of the
// wild type's size); "" when the model has no PAE head.
std::string pae_section(const ScoreTable& table, const PredictedStructures& predicted, const Campaign& campaign) {
  const auto n = static_cast<int64_t>(predicted.wild_type.plddt.size());
  const auto has_pae = [n](const StructurePrediction& p) {
    return n > 0 && static_cast<int64_t>(p.pae.size()) == n * n;
  };
  if (!has_pae(predicted.wild_type)) return {};
  std::vector<const std::pair<size_t, StructurePrediction>*> shown;
  for (const auto& v : predicted.variants)
    if (has_pae(v.second)) shown.push_back(&v);
  std::stable_sort(shown.begin(), shown.end(), [&](const auto* a, const auto* b) {
    return table.rows[a->first].total > table.rows[b->first].total;
  });
  if (shown.size() > 3) shown.resize(3);
  std::string h =
      "<h2>Predicted aligned error: wild type and the best shortlisted variants</h2>\n<div class=\"plot\">\n";
  // The structures' numbering: the target from first_residue, a partner from 1 (a copy of the target as it).
  const bool copy =
      campaign.target.partner && partner_is_target_copy(campaign.target.partner->sequence, campaign.target.sequence);
  const auto axis = [&](const StructurePrediction& p) {
    return PaeAxis{p.chain_break, campaign.target.first_residue, copy ? campaign.target.first_residue : 1};
  };
  h += pae_heatmap_svg(predicted.wild_type.pae, n, "wild type", axis(predicted.wild_type));
  for (const auto* v : shown) {
    const Hypothesis& hyp = *table.rows[v->first].hypothesis;
    h += pae_heatmap_svg(v->second.pae, n, hyp.id + " " + format_variant(hyp.variant), axis(v->second));
  }
  return h + "</div>\n";
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string report_html(const ScoreTable& table, const Plate& plate, const Campaign& campaign,
                        const EvolutionaryModels& models, const RunRecord& run,
                        const std::optional<PredictedStructures>& predicted) {
  const std::string title = "kfold agent: " + campaign.name;
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>" + html_escape(title) + "</title>\n";
  h += "<style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:"
       "13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}th{background:#f3f3f3}"
       ".plot{overflow-x:auto;margin:1em 0}</style>\n</head>\n<body>\n";
  h += "<h1>" + html_escape(title) + "</h1>\n";
  h += fmt::format("<p>Target <b>{}</b> ({} residues, numbered from {}). kfold {} ({}), seed {}.</p>\n",
                   html_escape(campaign.target.id), campaign.target.sequence.size(), campaign.target.first_residue,
                   html_escape(kVersion), html_escape(git_revision()), run.seed);
  if (table.structure_terms && run.random_structure_weights)
    h += fmt::format("<p style=\"color:#b00;font-weight:bold\">{}</p>\n", html_escape(kRandomStructureWeightsWarning));
  h += "<h2>Objective</h2>\n" + html_table(objective_table(table, campaign, models));
  h += "<h2>Evidence</h2>\n<ul>\n";
  h += fmt::format("<li>Family alignment <code>{}</code>: {} sequences, {} aligned columns, Neff {:.1f}.</li>\n",
                   html_escape(models.alignment.source), models.alignment.n_seq, models.alignment.n_col,
                   models.weights.neff);
  h += models.potts ? fmt::format("<li>Potts model: {} after {} iterations{}.</li>\n",
                                  html_escape(models.potts->fit.stop_reason), models.potts->fit.iterations,
                                  models.from_cache ? " (from the evolution cache)" : "")
                    : std::string("<li>Potts model: not fitted.</li>\n");
  h += fmt::format(
      "<li>{} variants evaluated ({} of them measured before, in {} result rows), {} removed by hard liability "
      "filters, {} eligible.</li>\n",
      table.rows.size(), measured_rows(table), campaign.measurements.size(), plate.n_filtered, plate.n_candidates);
  if (campaign.lower_is_better) h += "<li>" + html_escape(measured_direction_note(campaign)) + "</li>\n";
  h += "<li>" + html_escape(plate_summary(plate, campaign)) + "</li>\n";
  if (table.surrogate) {
    const SurrogateSummary& s = *table.surrogate;
    h += fmt::format(
        "<li>Surrogate: {} bootstrap ridge members on {} measured variants ({} features, lambda {}{}); "
        "leave-one-out Spearman {} (the evolutionary score's: {}){}; acquisition {}.</li>\n",
        s.members, s.n_train, s.n_features, s.lambda,
        s.at_lower_fence == 0 ? std::string() : "; " + html_escape(at_fence_text(s)), fmt_or_na(s.loo_spearman),
        fmt_or_na(s.evolutionary_spearman),
        s.has_skill() ? "" : ": <strong>no predictive skill yet</strong>, its ranking is close to chance",
        s.acquisition == "ucb" ? fmt::format("UCB, beta {}", s.beta) : std::string("Thompson sampling"));
  } else if (!table.no_surrogate_reason.empty()) {
    h += "<li>Surrogate: none (" + html_escape(table.no_surrogate_reason) + "): zero-shot ranking.</li>\n";
  } else {
    h += "<li>Surrogate: none (no or too few measured results): zero-shot ranking.</li>\n";
  }
  h += table.structure_terms ? "<li>Structure terms: from predicted structures of the wild type and the shortlist "
                               "(dpLDDT near the site, C-alpha distance RMSD, dpTM, site contacts lost; burial and "
                               "new clashes in scores.tsv), predicted by " +
                                   html_escape(run.structure_model) + ".</li>\n</ul>\n"
       : campaign.structure_budget == 0
           ? "<li>Structure terms: not computed (the campaign's structure_budget is 0).</li>\n</ul>\n"
           : "<li>Structure terms: not computed (structure_budget > 0 but no model was given).</li>\n"
             "</ul>\n";

  h += "<h2>Top candidates</h2>\n" + html_table(top_candidates_table(table, plate, campaign));
  if (!table.constructs.empty()) h += "<h2>Construct proposals</h2>\n" + html_table(constructs_table(table, plate));
  const std::vector<const PlateWell*> ranked = ranked_variant_wells(plate);
  h += "<h2>Score components of the top candidates</h2>\n<div class=\"plot\">\n" + components_svg(table, ranked) +
       "</div>\n";
  h += "<h2>Best score per position and residue</h2>\n<div class=\"plot\">\n" + heatmap_svg(table, campaign) +
       "</div>\n";
  if (table.surrogate) {
    h += "<h2>Surrogate calibration (leave-one-out)</h2>\n<div class=\"plot\">\n" + calibration_svg(*table.surrogate) +
         "</div>\n";
  }
  if (predicted) {
    h += "<h2>Predicted pLDDT: wild type and shortlist</h2>\n<div class=\"plot\">\n" +
         plddt_svg(table, campaign, *predicted) + "</div>\n";
    h += pae_section(table, *predicted, campaign);
  }
  h += "<p>Files: scores.tsv, plate.csv, ";
  if (!table.constructs.empty()) h += "constructs.tsv, ";
  h += "notebook.jsonl, report.md, report.html";
  h += predicted && !predicted->wild_type.pdb.empty()
           ? ", structures/ (WT.pdb and one PDB per shortlisted variant, pLDDT in the B-factors).</p>\n"
           : ".</p>\n";
  h += "</body>\n</html>\n";
  return h;
}

}  // namespace kfold::pipelines::agent
