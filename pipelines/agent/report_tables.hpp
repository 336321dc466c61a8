// The tables report.md and report.html both show (the objective, the top candidates, the construct proposals),
// built once as text cells and rendered by each report with its own escaping.
#pragma once

#include <string>
#include <vector>

#include "pipelines/agent/campaign.hpp"
#include "pipelines/agent/evolutionary_models.hpp"
#include "pipelines/agent/plate_layout.hpp"
#include "pipelines/agent/scoring.hpp"

namespace kfold::pipelines::agent {

struct ReportTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each as long as the header
};

// term, weight, what computes it.
ReportTable objective_table(const ScoreTable& table, const Campaign& campaign, const EvolutionaryModels& models);
// The plate's first 20 variants by rank: rank, well, id, mutations, score, sd, the site-independent and Potts
// scores, pick (exploit or explore), operator, rationale; numbers with 3 decimals (or as many as the campaign's values
// need).
ReportTable top_candidates_table(const ScoreTable& table, const Plate& plate, const Campaign& campaign);
// One row per construct proposal: id, construct, length, well ("-" when not on the plate), operator, the wild
// type's mean pLDDT over it, pLDDT / pTM predicted on its own, rationale.
ReportTable constructs_table(const ScoreTable& table, const Plate& plate);

// Text in a report.md table cell or list item: '|' (a cell boundary) as '/', '<' and '>' as entities, so
// that text from an LLM or a results file cannot open an HTML tag in a Markdown viewer.
std::string markdown_text(const std::string& s);

// A Markdown table, each cell through markdown_text.
std::string markdown_table(const ReportTable& table);
// An HTML <table>, each cell through html_escape.
std::string html_table(const ReportTable& table);

}  // namespace kfold::pipelines::agent
