// report.html: the round's report for people as one self-contained page (no scripts, no network): the
// objective and evidence, the top candidates with their reasons, and inline SVG plots drawn here - the
// score components of the top candidates, a position x residue heat map of the best score of each
// substitution, when results exist the surrogate's leave-one-out calibration, and when structures were
// predicted the pLDDT of the wild type and the shortlist along the sequence and (with a PAE head) the
// PAE heat maps of the wild type and the three best shortlisted variants (pae_plot.hpp).
#pragma once

#include <optional>
#include <string>

#include "pipelines/agent/agent_outputs.hpp"
#include "pipelines/agent/structure_oracle.hpp"

namespace kfold::pipelines::agent {

std::string report_html(const ScoreTable& table, const Plate& plate, const Campaign& campaign,
                        const EvolutionaryModels& models, const RunRecord& run,
                        const std::optional<PredictedStructures>& predicted = std::nullopt);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(const std::string& text);

}  // namespace kfold::pipelines::agent
