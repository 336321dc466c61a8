// The template-search options `kfold features`, `kfold predict` and `kfold batch` share (--template-db,
// --template-mmcif-dir, --max-template-date, ...): registered on a command, turned into
// TemplateSearchOptions after parsing.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "pipelines/predict/template_search.hpp"

namespace kfold::cli {

struct TemplateCliOptions {
  std::string db, mmcif_dir, max_date;
  double evalue = 10.0;
  int64_t max_hits = 20;
};

void add_template_options(CLI::App& cmd, TemplateCliOptions& o);

// The search options (db empty: no template search), checked (InputError naming the option).
pipelines::TemplateSearchOptions template_search_options(const TemplateCliOptions& o);

}  // namespace kfold::cli
