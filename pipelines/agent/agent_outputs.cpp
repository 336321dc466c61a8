// Text of scores.tsv, plate.csv, notebook.jsonl records and report.md.
#include "pipelines/agent/agent_outputs.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <utility>

#include "data/header_text.hpp"
#include "pipelines/agent/binding_terms.hpp"
#include "pipelines/agent/report_tables.hpp"
#include "pipelines/git_revision.hpp"
#include "pipelines/version.hpp"

namespace kfold::pipelines::agent {

namespace {

// The output files' numbers: format_number with one count of decimals.
class NumberFormat {
 public:
  explicit NumberFormat(int decimals) : decimals_(decimals) {}
  std::string operator()(double v) const { return format_number(v, decimals_); }

 private:
  int decimals_;
};

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// plate.csv is read by liquid handlers and spreadsheet imports that expect ASCII: the rationale's symbols
// are spelled out (any other non-ASCII byte becomes '?').
std::string ascii_text(const std::string& s) {
  static const std::pair<std::string_view, std::string_view> kSpelled[] = {
      {"\u00c5", "A"},  {"\u03b1", "alpha"}, {"\u03b2", "beta"}, {"\u0394", "d"},
      {"\u2192", "->"}, {"\u00d7", "x"},     {"\u00b1", "+/-"}};
  std::string spelled = s;
  for (const auto& [utf8, text] : kSpelled)
    for (size_t at = spelled.find(utf8); at != std::string::npos; at = spelled.find(utf8, at + text.size()))
      spelled.replace(at, utf8.size(), text);
  return data::ascii_text(spelled);
}

std::string tsv_cell(std::string s) {
  std::replace(s.begin(), s.end(), '\t', ' ');
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

nlohmann::json json_number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

// The notebook's {"type": "llm"} record of one LLM call (invalid UTF-8 in a reply replaced, not fatal).
std::string llm_record_line(const LlmCallRecord& call, int64_t round) {
  nlohmann::json rec = {{"type", "llm"},   {"round", round},      {"purpose", call.purpose},
                        {"url", call.url}, {"model", call.model}, {"request_sha256", call.request_sha256}};
  if (!call.error.empty()) {
    rec["error"] = call.error;
  } else {
    nlohmann::json rejected = nlohmann::json::array();
    for (const auto& r : call.rejected) rejected.push_back({{"variant", r.variant}, {"reason", r.reason}});
    rec["response"] = call.response;
    rec["accepted"] = call.accepted;
    rec["rejected"] = rejected;
  }
  return rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// "- LLM (...)" evidence line of report.md: what the LLM operator contributed, or why it did not.
std::string llm_evidence(const std::vector<LlmCallRecord>& calls) {
  std::string line = fmt::format("- LLM `{}` at {}:", calls.front().model, calls.front().url);
  for (const LlmCallRecord& call : calls) {
    line += call.error.empty()
                ? fmt::format(" {} {} accepted, {} rejected;", call.purpose, call.accepted.size(), call.rejected.size())
                : fmt::format(" {} failed ({}), continued without it;", call.purpose, call.error);
  }
  line.back() = '.';
  return line +
         " Suggestions were validated and scored like every other hypothesis; critic concerns are soft "
         "`llm_concern` flags and did not change the plate.\n";
}

// report.md's "Critic notes (LLM)": the llm_concern flags of the plate's variants in rank order; "" when
// there are none.
std::string critic_notes(const std::vector<const PlateWell*>& ranked, const ScoreTable& table) {
  std::string notes;
  for (const PlateWell* w : ranked) {
    const ScoredVariant& r = table.rows[static_cast<size_t>(w->row)];
    for (const LiabilityFlag& f : r.flags) {
      if (f.name == kLlmConcernFlag)
        notes += fmt::format("- rank {}, well {}, {} {}: {}\n", w->rank, w->well, r.hypothesis->id,
                             format_variant(r.hypothesis->variant), markdown_text(f.detail));
    }
  }
  if (notes.empty()) return notes;
  return "\n## Critic notes (LLM)\n\nConcerns of the LLM critic about variants on the plate (soft `llm_concern` "
         "flags: reported, the plate is the deterministic pipeline's choice):\n\n" +
         notes;
}

}  // namespace

std::string format_number(double v, int decimals) {
  if (!std::isfinite(v)) return "NA";
  if (std::abs(v) >= 1e15) return fmt::format("{:.{}e}", v, std::max(decimals - 1, 1));  // not 100 digits
  return fmt::format("{:.{}f}", v, decimals);
}

int output_decimals(const Campaign& campaign, int base) {
  std::vector<double> magnitudes;  // of the measurements but 0: the campaign's unit is their median
  for (const Measurement& m : campaign.measurements)
    if (const double a = std::abs(m.value); std::isfinite(a) && a > 0) magnitudes.push_back(a);
  if (magnitudes.empty()) return base;
  const auto middle = magnitudes.begin() + static_cast<std::ptrdiff_t>(magnitudes.size() / 2);
  std::nth_element(magnitudes.begin(), middle, magnitudes.end());
  const double unit = *middle;
  if (unit >= 1e-3) return base;  // ordinary units (a fitness of 0.0002 among others of order 1 changes nothing)
  // Four significant digits of the typical measurement (a Kd in molar, 3.2e-9, printed 0.000000 with 6).
  return std::max(base, std::min(30, static_cast<int>(std::ceil(-std::log10(unit))) + 3));
}

std::vector<std::string> row_decisions(const ScoreTable& table, const Plate& plate) {
  std::vector<std::string> out(table.rows.size(), "not_selected");
  for (size_t k = 0; k < table.rows.size(); ++k) {
    const ScoredVariant& r = table.rows[k];
    if (r.measured)
      out[k] = "measured";
    else if (!std::isfinite(r.total))
      out[k] = "no_evidence";
    else if (has_hard_flag(r.flags))
      out[k] = "filtered";
  }
  for (const PlateWell& w : plate.wells) {
    if (w.row >= 0) out[static_cast<size_t>(w.row)] = "plate:" + w.well;
  }
  return out;
}

std::string scores_tsv(const ScoreTable& table, const Campaign& campaign) {
  const NumberFormat num(output_decimals(campaign));
  std::string out = "id\tmutations\toperator\tn_mutations\tsite_independent\tpotts\tresidue_term";
  for (const auto& [term, weight] : campaign.objective) out += "\t" + term;
  out +=
      "\ttotal\tsd\tsurrogate_mean\tsurrogate_sd\tsurrogate_ensemble_sd\tacquisition\tflags\thard_filtered\tmeasured";
  // structure terms: NA unless predicted
  out +=
      "\tdelta_plddt_site\tca_drmsd\tdelta_ptm\tburial_site\tlost_contacts\tgained_contacts\tnew_clashes"
      "\tnew_violations\tdelta_interface_pae\tlost_interface_contacts\tdelta_iptm\tstructure_confidence"
      "\tstructure_adjustment\trationale\n";
  for (const ScoredVariant& r : table.rows) {
    const Hypothesis& h = *r.hypothesis;
    out += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}", h.id, format_variant(h.variant), operator_label(h),
                       h.variant.substitutions.size(), num(r.site_independent), num(r.potts), num(r.residue_term));
    for (const auto& [term, weight] : campaign.objective) {
      const bool binding = term == "binding" && r.structure && r.structure->binding;
      out += "\t" + ((term == "stability" || term == "fitness") ? num(r.evolutionary)
                     : term == "solubility"                     ? num(r.solubility)
                     : binding                                  ? num(binding_score(*r.structure))
                                                                : std::string("NA"));
    }
    out += fmt::format("\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}", num(r.total), num(r.sd), num(r.surrogate_mean),
                       num(r.surrogate_sd), num(r.surrogate_ensemble_sd), num(r.acquisition), format_flags(r.flags),
                       has_hard_flag(r.flags) ? 1 : 0, r.measured ? num(r.measured->value) : "NA");
    if (const auto& t = r.structure) {
      out +=
          fmt::format("\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}", num(t->delta_plddt_site), num(t->ca_drmsd), num(t->delta_ptm),
                      num(t->burial_site), t->lost_contacts, t->gained_contacts, t->new_clashes, t->new_violations);
      out += t->binding ? fmt::format("\t{}\t{}\t{}", num(t->delta_interface_pae), t->lost_interface_contacts,
                                      num(t->delta_iptm))
                        : std::string("\tNA\tNA\tNA");
      out += fmt::format("\t{}\t{}", num(structure_confidence(*t)), num(r.structure_adjustment));
    } else {
      out += "\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA";
    }
    out += "\t" + tsv_cell(r.rationale) + "\n";
  }
  return out;
}

std::string plate_csv(const Plate& plate, const ScoreTable& table, const Campaign& campaign) {
  const NumberFormat num(output_decimals(campaign));
  std::string out = "well,id,mutations,sequence,score,sd,rank,operator,flags,rationale\n";
  // A target given without its start Met (a mature chain numbered from 24): every well's sequence needs one, or the
  // vector's tag, to be expressed, as a construct's does.
  const bool target_without_met = campaign.target.sequence.front() != 'M';
  const auto with_met_flag = [&](std::string flags) {
    return target_without_met ? flags + (flags.empty() ? "" : ";") + "no_initiator_met" : flags;
  };
  for (const PlateWell& w : plate.wells) {
    if (w.construct >= 0) {
      const Construct& c = table.constructs[static_cast<size_t>(w.construct)];
      std::string facts = construct_rationale(c);
      if (std::isfinite(c.predicted_plddt)) facts += fmt::format("; predicted: mean pLDDT {:.1f}", c.predicted_plddt);
      const std::string sequence = construct_sequence(c, campaign);
      // A fragment without a start Met needs one (or the vector's tag) to be expressed.
      const std::string flag = sequence.front() == 'M' ? "" : "no_initiator_met (add a start Met or the vector's tag)";
      out += fmt::format("{},{},{},{},NA,NA,,{},{},{}\n", w.well, c.id, format_construct(c), sequence, c.operator_name,
                         csv_cell(flag), csv_cell(ascii_text(facts)));
      continue;
    }
    if (w.pick == "blank") {
      out += fmt::format("{},BLANK,blank,,NA,NA,,blank,,blank well: buffer only (no protein) for the background\n",
                         w.well);
      continue;
    }
    if (w.row < 0) {
      out += fmt::format("{},WT,WT,{},NA,NA,,control,{},wild-type control well\n", w.well, campaign.target.sequence,
                         with_met_flag(""));
      continue;
    }
    const ScoredVariant& r = table.rows[static_cast<size_t>(w.row)];
    const Hypothesis& h = *r.hypothesis;
    const std::string rationale = w.pick == "explore"
                                      ? fmt::format(
                                            "explore: untested residue, explore key {:+.2f} (residue term in place of "
                                            "the evolutionary term); {}",
                                            r.explore_key, r.rationale)
                                      : r.rationale;
    out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", w.well, h.id, format_variant(h.variant),
                       apply_variant(h.variant, campaign.target.sequence, campaign.target.first_residue), num(r.total),
                       num(r.sd), w.rank, csv_cell(operator_label(h)), csv_cell(with_met_flag(format_flags(r.flags))),
                       csv_cell(ascii_text(rationale)));
  }
  return out;
}

std::string notebook_lines(const ScoreTable& table, const Plate& plate, const Campaign& campaign,
                           const EvolutionaryModels& models, const RunRecord& run, int64_t round) {
  using Json = nlohmann::json;
  Json head = {
      {"type", "run"},
      {"round", round},
      {"campaign", campaign.name},
      {"version", kVersion},
      {"git_revision", git_revision()},
      {"seed", run.seed},
      {"no_potts", run.no_potts},
      {"input_hashes", run.input_hashes},
      {"objective", campaign.objective},
      {"alignment",
       {{"sequences", models.alignment.n_seq}, {"columns", models.alignment.n_col}, {"neff", models.weights.neff}}},
      {"stability_model", models.model_note},
      {"structure_terms", table.structure_terms ? "predicted by " + run.structure_model : "not computed"},
      {"random_structure_weights", table.structure_terms && run.random_structure_weights},
      {"evolution_cache", models.from_cache},
      {"measurements", campaign.measurements.size()},
      {"better", campaign.lower_is_better ? "lower" : "higher"},
      {"acquisition", {{"type", campaign.acquisition.type}, {"beta", campaign.acquisition.beta}}},
      {"plate",
       {{"size", campaign.plate.size},
        {"variants", plate.n_variants},
        {"explore", plate.n_explore},
        {"constructs", plate.n_constructs},
        {"controls", plate.n_controls},
        {"blanks", plate.n_blanks},
        {"control_wells", reference_wells(plate, "control")},
        {"blank_wells", reference_wells(plate, "blank")},
        {"explore_fraction", campaign.plate.explore_fraction},
        {"similarity_penalty", campaign.plate.similarity_penalty}}}};
  if (table.surrogate) {
    const SurrogateSummary& s = *table.surrogate;
    head["surrogate"] = {
        {"members", s.members},
        {"measurements", campaign.measurements.size()},  // result rows
        {"variants", s.n_train},                         // the training rows: each variant's replicates as one
        {"features", s.n_features},
        {"lambda", s.lambda},
        {"loo_spearman", json_number(s.loo_spearman)},
        {"loo_rmse", json_number(s.loo_rmse)},
        // (a lower_is_better campaign's: the upper fence of its worst values, in its units)
        {"fence", s.at_lower_fence == 0 ? nlohmann::json(nullptr)
                                        : nlohmann::json(s.lower_is_better ? -s.lower_fence : s.lower_fence)},
        {"at_fence", s.at_lower_fence}};
  }
  if (models.potts) {
    head["potts"] = {{"iterations", models.potts->fit.iterations},
                     {"objective", models.potts->fit.objective},
                     {"stop", models.potts->fit.stop_reason},
                     {"lambda_J", models.potts->lambda_J_used}};
  }
  std::string out = head.dump() + "\n";
  for (const LlmCallRecord& call : run.llm_calls) out += llm_record_line(call, round);
  const std::vector<std::string> decision = row_decisions(table, plate);
  std::vector<std::string> pick(table.rows.size());
  for (const PlateWell& w : plate.wells) {
    if (w.row >= 0) pick[static_cast<size_t>(w.row)] = w.pick;
  }
  for (size_t k = 0; k < table.rows.size(); ++k) {
    const ScoredVariant& r = table.rows[k];
    const Hypothesis& h = *r.hypothesis;
    Json flags = Json::array();
    for (const auto& f : r.flags) flags.push_back({{"name", f.name}, {"hard", f.hard}, {"detail", f.detail}});
    Json rec = {{"type", "hypothesis"},
                {"round", round},
                {"id", h.id},
                {"parent", h.parent},
                {"operators", h.operators},
                {"mutations", format_variant(h.variant)},
                {"rationale", h.rationale},
                {"scores",
                 {{"site_independent", json_number(r.site_independent)},
                  {"potts", json_number(r.potts)},
                  {"stability", json_number(r.evolutionary)},
                  {"residue_term", json_number(r.residue_term)},
                  {"total", json_number(r.total)},
                  {"sd", json_number(r.sd)},
                  {"zero_shot", json_number(r.zero_shot)},
                  {"surrogate_mean", json_number(r.surrogate_mean)},
                  {"surrogate_sd", json_number(r.surrogate_sd)},
                  {"surrogate_ensemble_sd", json_number(r.surrogate_ensemble_sd)},
                  {"acquisition", json_number(r.acquisition)},
                  {"delta_plddt_site", r.structure ? json_number(r.structure->delta_plddt_site) : nullptr},
                  {"ca_drmsd", r.structure ? json_number(r.structure->ca_drmsd) : nullptr},
                  {"delta_ptm", r.structure ? json_number(r.structure->delta_ptm) : nullptr},
                  {"burial_site", r.structure ? json_number(r.structure->burial_site) : nullptr},
                  {"lost_contacts", r.structure ? Json(r.structure->lost_contacts) : nullptr},
                  {"gained_contacts", r.structure ? Json(r.structure->gained_contacts) : nullptr},
                  {"structure_confidence", r.structure ? json_number(structure_confidence(*r.structure)) : nullptr},
                  {"new_clashes", r.structure ? Json(r.structure->new_clashes) : nullptr},
                  {"new_violations", r.structure ? Json(r.structure->new_violations) : nullptr},
                  {"structure_adjustment", r.structure ? json_number(r.structure_adjustment) : nullptr},
                  {"delta_interface_pae",
                   r.structure && r.structure->binding ? json_number(r.structure->delta_interface_pae) : nullptr},
                  {"lost_interface_contacts",
                   r.structure && r.structure->binding ? Json(r.structure->lost_interface_contacts) : nullptr}}},
                {"flags", flags},
                {"decision", decision[k]}};
    if (!pick[k].empty()) rec["pick"] = pick[k];
    out += rec.dump() + "\n";
  }
  const std::vector<std::string> wells = construct_wells(table, plate);
  for (size_t k = 0; k < table.constructs.size(); ++k) {
    const Construct& c = table.constructs[k];
    out += Json({{"type", "construct"},
                 {"round", round},
                 {"id", c.id},
                 {"operators", {c.operator_name}},
                 {"construct", {{"first", c.first}, {"last", c.last}}},
                 {"rationale", c.rationale},
                 {"scores",
                  {{"wild_type_plddt", json_number(c.wild_type_plddt)},
                   {"predicted_plddt", json_number(c.predicted_plddt)},
                   {"predicted_ptm", json_number(c.predicted_ptm)},
                   {"interface_pae", json_number(c.interface_pae)}}},
                 {"decision", wells[k].empty() ? "not_selected" : "plate:" + wells[k]}})
               .dump() +
           "\n";
  }
  return out;
}

namespace {

constexpr const char* kBindingNote =
    "change of the mean PAE between the target and the partner chain in complex predictions (structure "
    "shortlist only): minus the change beyond 0.25 Å, one unit per Å, so higher is better (the model places the "
    "partner with more confidence: a confidence, not an affinity); without a PAE head, minus half the interface "
    "Cβ contacts lost";
constexpr const char* kSolubilityNote =
    "hydropathy change weighted by exposure in the predicted wild type (without one: I, V, L, F, C, M count a "
    "quarter) plus net charge away from zero";

// report.md's "Construct proposals" section ("" without proposals).
std::string constructs_md(const ScoreTable& table, const Plate& plate) {
  if (table.constructs.empty()) return "";
  return "## Construct proposals\n\nWild-type fragments from the predicted pLDDT (disordered termini) and PAE "
         "(domains); `constructs.tsv` has them all.\n\n" +
         markdown_table(constructs_table(table, plate)) + "\n";
}

}  // namespace

int64_t measured_rows(const ScoreTable& table) {
  return std::count_if(table.rows.begin(), table.rows.end(), [](const auto& row) { return row.measured.has_value(); });
}

std::string objective_term_note(const std::string& term, const ScoreTable& table, const EvolutionaryModels& models) {
  if (term == "stability" || term == "fitness") return "evolutionary term: " + models.model_note;
  if (term == "solubility") return kSolubilityNote;
  if (term == "binding")
    return std::find(table.not_computed.begin(), table.not_computed.end(), "binding") == table.not_computed.end()
               ? kBindingNote
               : "not computed (needs target.partner and structure predictions: structure_budget and parameters)";
  return "not computed in this version";
}

std::vector<std::string> reference_wells(const Plate& plate, const std::string& pick) {
  std::vector<std::string> wells;
  for (const PlateWell& w : plate.wells) {
    if (w.pick == pick) wells.push_back(w.well);
  }
  return wells;
}

std::string plate_summary(const Plate& plate, const Campaign& campaign) {
  const auto listed = [](const std::vector<std::string>& wells) {
    return wells.empty() ? std::string() : fmt::format(" ({})", fmt::join(wells, ", "));
  };
  return fmt::format(
      "Plate of {}: {} variant wells ({} exploring untested residues; at most {} variants per position), {} "
      "construct wells, {} wild-type control wells{} and {} blank wells, buffer only for the background{}{}",
      campaign.plate.size, plate.n_variants, plate.n_explore, campaign.plate.max_per_position, plate.n_constructs,
      plate.n_controls, listed(reference_wells(plate, "control")), plate.n_blanks,
      listed(reference_wells(plate, "blank")),
      plate.n_controls + plate.n_blanks > 1 ? "; the controls and blanks are spread over the plate's rows and columns."
                                            : ".");
}

std::vector<std::string> construct_wells(const ScoreTable& table, const Plate& plate) {
  std::vector<std::string> wells(table.constructs.size());
  for (const PlateWell& w : plate.wells) {
    if (w.construct >= 0) wells[static_cast<size_t>(w.construct)] = w.well;
  }
  return wells;
}

std::string constructs_tsv(const ScoreTable& table, const Plate& plate, const Campaign& campaign) {
  const NumberFormat num(6);  // pLDDT, pTM and PAE
  std::string out =
      "id\tconstruct\toperator\tfirst\tlast\tlength\twell\twild_type_plddt\tpredicted_plddt\tpredicted_ptm\t"
      "interface_pae\tsequence\trationale\n";
  const std::vector<std::string> wells = construct_wells(table, plate);
  for (size_t k = 0; k < table.constructs.size(); ++k) {
    const Construct& c = table.constructs[k];
    const std::string facts = construct_rationale(c);
    out += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n", c.id, format_construct(c),
                       c.operator_name, c.first, c.last, c.length(), wells[k].empty() ? "NA" : wells[k],
                       num(c.wild_type_plddt), num(c.predicted_plddt), num(c.predicted_ptm), num(c.interface_pae),
                       construct_sequence(c, campaign), tsv_cell(facts));
  }
  return out;
}

std::string report_md(const ScoreTable& table, const Plate& plate, const Campaign& campaign,
                      const EvolutionaryModels& models, const RunRecord& run) {
  const NumberFormat num(output_decimals(campaign));
  std::string md = fmt::format("# kfold agent: {}\n\n", campaign.name);
  md += fmt::format("Target **{}** ({} residues, numbered from {}). kfold {} ({}), seed {}.\n\n", campaign.target.id,
                    campaign.target.sequence.size(), campaign.target.first_residue, kVersion, git_revision(), run.seed);
  if (table.structure_terms && run.random_structure_weights)
    md += fmt::format("**{}**\n\n", kRandomStructureWeightsWarning);
  md += "## Objective\n\n" + markdown_table(objective_table(table, campaign, models));
  if (table.evolutionary_fallback) {
    const bool binding = table.binding_weight > 0.0 && table.structure_terms;  // complexes were predicted
    md += fmt::format(
        "\nNo weighted term is computed for every variant{}: the variants are ranked by the evolutionary term with "
        "weight 1 (a zero-shot prior){}.\n",
        binding ? " (binding is, for the predicted shortlist alone)" : "",
        binding ? ", the shortlist's binding term added" : "");
  }
  md += table.structure_terms
            ? "\nStructure terms: the wild type and the shortlist (campaign structure_budget) were predicted; "
              "ΔpLDDT near the site, Cα distance RMSD, ΔpTM and the net change of site contacts " +
                  std::string(table.structure_weight > 0.0 ? "joined the total on fixed scales"
                              : table.binding_weight > 0.0
                                  ? "are reported, not weighed (the objective has no stability term); the "
                                    "binding term joined the total"
                                  : "are reported, not weighed (the objective has no stability term)") +
                  ", weighed by the predictions' confidence (mean pLDDT) and centred on the shortlist's mean, "
                  "so that a variant not predicted stands where a predicted one does in expectation "
                  "(structure_adjustment in scores.tsv); the sites' "
                  "burial and new Cα clashes (a soft flag) are in scores.tsv too. Predicted by " +
                  run.structure_model + ".\n\n"
        : campaign.structure_budget == 0
            ? std::string("\nStructure terms: not computed (the campaign's structure_budget is 0).\n\n")
            : fmt::format(
                  "\nStructure terms: not computed: structure_budget is {} but no model was given "
                  "(kfold agent: --params/--model or --random-weights; Python: "
                  "Campaign.propose(model=kfold.Model(...))).\n\n",
                  campaign.structure_budget);
  if (const auto& partner = campaign.target.partner; table.structure_terms && partner) {
    if (partner_is_target_copy(partner->sequence, campaign.target.sequence))
      md += fmt::format(
          "The partner {} is a copy of the target (a homo-oligomer): every variant and construct was applied to "
          "both chains of its complex, each with the target's MSA.\n\n",
          partner->id);
    else
      md += fmt::format("The partner {} ({} residues, chain B) was predicted with {}.\n\n", partner->id,
                        partner->sequence.size(),
                        partner->msa.empty() ? std::string("no MSA (single sequence: target.partner.msa gives one)")
                                             : fmt::format("its MSA {} (target.partner.msa)", partner->msa.string()));
    if (table.wild_type_interface_contacts >= 0)
      md += fmt::format(
          "The wild-type complex: {}{} {} Cβ contacts (≤ 8 Å) between the chains. scores.tsv gives each predicted "
          "variant's delta_interface_pae (Å; lower is better), lost_interface_contacts and delta_iptm (reported, "
          "not scored).\n\n",
          std::isfinite(table.wild_type_interface_pae)
              ? fmt::format("mean PAE {:.2f} Å between the chains,", table.wild_type_interface_pae)
              : std::string("no PAE (the model has no PAE head: the binding term counts lost contacts),"),
          std::isfinite(table.wild_type_iptm) ? fmt::format(" ipTM {:.3f},", table.wild_type_iptm) : std::string(),
          table.wild_type_interface_contacts);
  }
  md += "## Learning from results\n\n";
  if (campaign.lower_is_better) md += measured_direction_note(campaign) + "\n\n";
  if (table.surrogate) {
    const SurrogateSummary& s = *table.surrogate;
    md += fmt::format(
        "A bootstrap ensemble of {} ridge regressions (lambda {} by leave-one-out error; {} features: site "
        "and residue terms of the evolutionary scores, one-hot positions, mutant residues and position x "
        "residue) was fitted to {} measured variants (replicates averaged{}). Leave-one-out Spearman {}, RMSE {}{}. "
        "`total` is the "
        "ensemble mean (predicted measured value) and `sd` its predictive sd (the ensemble's spread, "
        "`surrogate_ensemble_sd`, and the leave-one-out residual sd in quadrature: a new measurement falls "
        "within 1 sd about 2 times in 3); the plate ranks by {}. Measured variants are left off the plate.\n\n",
        s.members, s.lambda, s.n_features, s.n_train,
        s.at_lower_fence == 0 ? std::string()
                              : "; " + at_fence_text(s) +
                                    ": how bad a variant is says nothing of where the best ones are; the RMSE is "
                                    "of the values as fitted",
        std::isfinite(s.loo_spearman) ? fmt::format("{:.3f}", s.loo_spearman)
                                      : "NA (the leave-one-out predictions are all equal)",
        std::isfinite(s.loo_rmse) ? fmt::format("{:.3g}", s.loo_rmse) : "NA",
        std::isfinite(s.evolutionary_spearman)
            ? fmt::format(" (the evolutionary score's Spearman with {} of these measurements: {:.3f})",
                          s.evolutionary_n, s.evolutionary_spearman)
            : "",
        s.acquisition == "ucb" ? fmt::format("UCB (mean + {} surrogate_ensemble_sd)", s.beta)
                               : std::string("Thompson sampling"));
    if (!s.has_skill())
      md.insert(md.size() - 2, fmt::format(" **The surrogate has no predictive skill yet** (leave-one-out Spearman "
                                           "below {}): its ranking is close to chance and its sd is calibrated "
                                           "only for a model that is right; measure more variants.",
                                           SurrogateSummary::kMinSkill));
  } else {
    if (!table.no_surrogate_reason.empty())
      md += fmt::format(
          "No surrogate: {}, which tells nothing of their effects; the plate ranks by the zero-shot total. "
          "Measured variants are left off the plate.",
          table.no_surrogate_reason);
    else
      md += fmt::format(
          "{} measured variant(s): no surrogate (needs at least {} distinct variants); the plate ranks by the "
          "zero-shot total. Measured variants are left off the plate.",
          measured_variant_count(campaign), campaign.surrogate.min_measurements);
    md += models.stability_from_potts
              ? " Zero-shot scores have no calibrated uncertainty: `sd` is how far the Potts and site-independent "
                "models disagree (half the difference of their z-scores).\n\n"
              : " Zero-shot scores have no calibrated uncertainty (`sd` NA).\n\n";
  }
  md += "## Evidence\n\n";
  md += fmt::format(
      "- Family alignment `{}`: {} sequences, {} aligned columns, Neff {:.1f} (weights 1/n at {:.0f}% "
      "identity).\n",
      models.alignment.source, models.alignment.n_seq, models.alignment.n_col, models.weights.neff,
      100.0 * campaign.evolution.identity);
  if (models.potts) {
    md += fmt::format("- Potts model (pseudo-likelihood, lambda_h 0.01, lambda_J {:.3g}): {} after {} iterations.\n",
                      models.potts->lambda_J_used, models.potts->fit.stop_reason, models.potts->fit.iterations);
  } else {
    md += "- Potts model: not fitted.\n";
  }
  md += fmt::format(
      "- {} variants evaluated ({} of them measured before, in {} result rows), {} removed by hard liability "
      "filters, {} eligible for the plate.\n",
      table.rows.size(), measured_rows(table), campaign.measurements.size(), plate.n_filtered, plate.n_candidates);
  md += "- " + plate_summary(plate, campaign) + "\n";
  if (campaign.target.sequence.front() != 'M')
    md += fmt::format(
        "- The target starts with {}, not Met (a mature chain, numbered from {}): every well's sequence is as "
        "given, flagged no_initiator_met; add a start Met or the vector's tag to express it.\n",
        campaign.target.sequence.front(), campaign.target.first_residue);
  const std::vector<const PlateWell*> ranked = ranked_variant_wells(plate);
  const auto unseen = std::count_if(ranked.begin(), ranked.end(), [&](const PlateWell* w) {
    return !table.rows[static_cast<size_t>(w->row)].family_holds;
  });
  if (unseen > 0)
    md += fmt::format(
        "- {} of the plate's {} variants put a residue where the family alignment never shows it: for that "
        "substitution the site-independent score is the pseudocount's alone, the same for every such residue at "
        "its site (the other terms of the objective tell them apart).\n",
        unseen, ranked.size());
  md += "\n";
  if (!run.llm_calls.empty()) md.insert(md.size() - 1, llm_evidence(run.llm_calls));
  md += "## Top candidates\n\n" + markdown_table(top_candidates_table(table, plate, campaign));
  md += critic_notes(ranked, table);
  md += constructs_md(table, plate);
  md +=
      "\n## Files\n\n`scores.tsv` (every evaluated variant), `plate.csv` (the plate), `constructs.tsv` (construct "
      "proposals, when the wild type was predicted), `notebook.jsonl` (append-only record of every run), "
      "`report.md` (this file), `report.html` (the same with plots).\n";
  return md;
}

}  // namespace kfold::pipelines::agent
