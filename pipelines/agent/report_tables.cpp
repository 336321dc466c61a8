// The tables of report.md and report.html (report_tables.hpp).
#include "pipelines/agent/report_tables.hpp"

#include <fmt/format.h>

#include "pipelines/agent/agent_outputs.hpp"
#include "pipelines/agent/construct_boundaries.hpp"
#include "pipelines/agent/hypothesis.hpp"
#include "pipelines/agent/report_html.hpp"

namespace kfold::pipelines::agent {

ReportTable objective_table(const ScoreTable& table, const Campaign& campaign, const EvolutionaryModels& models) {
  ReportTable out{{"term", "weight", "computed by"}, {}};
  for (const auto& [term, weight] : campaign.objective)
    out.rows.push_back({term, fmt::format("{}", weight), objective_term_note(term, table, models)});
  return out;
}

ReportTable top_candidates_table(const ScoreTable& table, const Plate& plate, const Campaign& campaign) {
  ReportTable out{
      {"rank", "well", "id", "mutations", "score", "sd", "site-indep.", "Potts", "pick", "operator", "rationale"}, {}};
  const int decimals = output_decimals(campaign, 3);
  const std::vector<const PlateWell*> ranked = ranked_variant_wells(plate);
  for (size_t k = 0; k < ranked.size() && k < 20; ++k) {
    const ScoredVariant& r = table.rows[static_cast<size_t>(ranked[k]->row)];
    out.rows.push_back({std::to_string(ranked[k]->rank), ranked[k]->well, r.hypothesis->id,
                        format_variant(r.hypothesis->variant), format_number(r.total, decimals),
                        format_number(r.sd, decimals), format_number(r.site_independent, decimals),
                        format_number(r.potts, decimals), ranked[k]->pick, operator_label(*r.hypothesis), r.rationale});
  }
  return out;
}

ReportTable constructs_table(const ScoreTable& table, const Plate& plate) {
  ReportTable out{{"id", "construct", "length", "well", "operator", "mean pLDDT (full length)",
                   "predicted on its own: pLDDT / pTM", "rationale"},
                  {}};
  const std::vector<std::string> wells = construct_wells(table, plate);
  for (size_t k = 0; k < table.constructs.size(); ++k) {
    const Construct& c = table.constructs[k];
    out.rows.push_back({c.id, fmt::format("{}-{}", c.first, c.last), std::to_string(c.length()),
                        wells[k].empty() ? "-" : wells[k], c.operator_name, fmt::format("{:.1f}", c.wild_type_plddt),
                        format_number(c.predicted_plddt, 3) + " / " + format_number(c.predicted_ptm, 3),
                        construct_rationale(c)});
  }
  return out;
}

std::string markdown_text(const std::string& s) {
  std::string out;
  for (const char c : s) out += c == '|' ? "/" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : std::string(1, c);
  return out;
}

std::string markdown_table(const ReportTable& table) {
  const auto line = [](const std::vector<std::string>& cells) {
    std::string text = "|";
    for (const auto& cell : cells) text += " " + markdown_text(cell) + " |";
    return text + "\n";
  };
  std::string md = line(table.header) + "|";
  for (size_t k = 0; k < table.header.size(); ++k) md += "---|";
  md += "\n";
  for (const auto& row : table.rows) md += line(row);
  return md;
}

std::string html_table(const ReportTable& table) {
  const auto line = [](const std::vector<std::string>& cells, const char* tag) {
    std::string text = "<tr>";
    for (const auto& cell : cells) text += fmt::format("<{}>{}</{}>", tag, html_escape(cell), tag);
    return text + "</tr>\n";
  };
  std::string html = "<table>\n" + line(table.header, "th");
  for (const auto& row : table.rows) html += line(row, "td");
  return html + "</table>\n";
}

}  // namespace kfold::pipelines::agent
