// The MSA-search options `kfold predict --db` and `kfold batch --db` share (-s, --max-prefilter, -e,
// --max-seqs, --min-cov, --iterations, --no-mask, --inclusion-evalue, --alt-ali): registered on a command, turned into
// msa::SearchOptions after parsing. `kfold search` has these and more (pipelines/cli/search.cpp).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "msa/prefilter.hpp"
#include "msa/search.hpp"

namespace kfold::cli {

struct SearchCliOptions {
  msa::SearchOptions search;
  double sensitivity = msa::kDefaultSensitivity;
  std::optional<int64_t> max_prefilter;  // unset: the sensitivity's preset
  std::vector<CLI::Option*> registered;  // the options above, to tell whether any was given
  CLI::Option* max_seqs = nullptr;       // given: raises the prefilter (msa::prefilter_candidates)

  // The first of these options given on the command line ("" when none).
  std::string first_given() const;
};

void add_search_options(CLI::App& cmd, SearchCliOptions& o);

// The search options (InputError when one is given without a database to search: `db` empty) with the sensitivity's
// prefilter preset applied (an explicit --max-prefilter wins), checked (InputError naming the option). `threads` is
// left as parsed (the command sets it).
msa::SearchOptions search_options(const SearchCliOptions& o, const std::string& db);

}  // namespace kfold::cli
