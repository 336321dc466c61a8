// The shared MSA-search options of `kfold predict` and `kfold batch`.
#include "pipelines/cli/search_options.hpp"

#include "data/error.hpp"

namespace kfold::cli {

void add_search_options(CLI::App& cmd, SearchCliOptions& o) {
  auto& r = o.registered;
  r.push_back(cmd.add_option("-s,--sensitivity", o.sensitivity,
                             "Search sensitivity 1 (fastest) .. 7; sets the prefilter as kfold search -s does")
                  ->capture_default_str());
  r.push_back(
      cmd.add_option("--max-prefilter", o.max_prefilter,
                     "Search: prefilter candidates per query passed to gapped alignment (default: from -s; see kfold "
                     "search)"));
  r.push_back(cmd.add_option("-e,--evalue", o.search.evalue, "Search: report hits with E-value <= this")
                  ->capture_default_str());
  r.push_back(cmd.add_option("--max-seqs", o.search.max_seqs, "Search: hits kept per query (best E-values)")
                  ->capture_default_str());
  r.push_back(cmd.add_option("--min-cov", o.search.min_coverage, "Search: least fraction of the query a hit covers")
                  ->capture_default_str());
  r.push_back(
      cmd.add_option("--iterations", o.search.iterations, "Search rounds (a PSSM of the included hits after the first)")
          ->capture_default_str());
  r.push_back(cmd.add_option("--inclusion-evalue", o.search.inclusion_evalue,
                             "Search: hits with E-value <= this build the next round's PSSM")
                  ->capture_default_str());
}

std::string SearchCliOptions::first_given() const {
  for (const CLI::Option* option : registered)
    if (option->count() > 0) return option->get_name();
  return "";
}

msa::SearchOptions search_options(const SearchCliOptions& o, const std::string& db) {
  if (const std::string given = o.first_given(); db.empty() && !given.empty())
    fail_input("{} is an option of the MSA search: it needs --db (the database to search)", given);
  msa::SearchOptions out = o.search;
  const msa::PrefilterOptions preset = msa::prefilter_for_sensitivity(o.sensitivity);
  out.prefilter.word_threshold = preset.word_threshold;
  out.prefilter.max_candidates = o.max_prefilter.value_or(preset.max_candidates);  // checked below
  msa::SearchOptions checked = out;
  checked.threads = 1;  // set by the command later
  msa::check_search_options(checked);
  return out;
}

}  // namespace kfold::cli
