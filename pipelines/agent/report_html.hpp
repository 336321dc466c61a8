// report.html: the round's report for people as one self-contained page (no scripts, no network): the
// objective and evidence, the top candidates with their reasons, and inline SVG plots drawn here - the
// score components of the top candidates, a position x residue heat map of the best score of each
// substitution, and, when results exist, the surrogate's leave-one-out calibration.
#pragma once

#include <string>

#include "pipelines/agent/agent_outputs.hpp"

namespace kfold::pipelines::agent {

std::string report_html(const ScoreTable& table, const Plate& plate, const Campaign& campaign,
                        const EvolutionaryModels& models, const RunRecord& run);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(const std::string& text);

}  // namespace kfold::pipelines::agent
