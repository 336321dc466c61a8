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
  o.max_seqs = cmd.add_option("--max-seqs", o.search.max_seqs,
                              "Search: hits kept per query (best E-values); given, it raises --max-prefilter's "
                              "default to as many")
                   ->capture_default_str();
  r.push_back(o.max_seqs);
  r.push_back(cmd.add_option("--min-cov", o.search.min_coverage, "Search: least fraction of the query a hit covers")
                  ->capture_default_str());
  r.push_back(cmd.add_option("--alt-ali", o.search.alt_alignments,
                             "Search: further non-overlapping alignments per target beyond its best (see kfold search)")
                  ->capture_default_str());
  r.push_back(
      cmd.add_option("--iterations", o.search.iterations, "Search rounds (a PSSM of the included hits after the first)")
          ->capture_default_str());
  r.push_back(cmd.add_flag("!--no-mask", o.search.prefilter.mask_low_complexity,
                           "Search: do not mask low-complexity query regions (by default they neither seed nor score, "
                           "as kfold search)"));
  r.push_back(
      cmd.add_option("--inclusion-evalue", o.search.inclusion_evalue,
                     "Search: hits with E-value <= this build the next round's PSSM (of the hits kept: within -e, "
                     "--min-cov and --max-seqs)")
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
  const bool max_seqs_given = o.max_seqs != nullptr && o.max_seqs->count() > 0;
  out.prefilter =
      msa::prefilter_for_search(o.search.prefilter, o.sensitivity, std::nullopt,  // checked below
                                o.max_prefilter, max_seqs_given ? std::optional(o.search.max_seqs) : std::nullopt);
  msa::SearchOptions checked = out;
  checked.threads = 1;  // set by the command later
  msa::check_search_options(checked);
  return out;
}

}  // namespace kfold::cli
