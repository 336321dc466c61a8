// The shared template-search options of `kfold features`, `kfold predict` and `kfold batch`.
#include "pipelines/cli/template_options.hpp"

#include "data/error.hpp"

namespace kfold::cli {

void add_template_options(CLI::App& cmd, TemplateCliOptions& o) {
  cmd.add_option("--template-db", o.db,
                 "Search this FASTA of PDB chains (the PDB's pdb_seqres.txt, ids <pdb id>_<chain>; or kfold db "
                 "create of it) for templates");
  cmd.add_option("--template-mmcif-dir", o.mmcif_dir,
                 "Folder of the PDB's mmCIF files: <id>.cif[.gz], or the PDB's divided layout ab/<id>.cif.gz");
  cmd.add_option("--max-template-date", o.max_date,
                 "Use only templates released on or before this date, YYYY-MM-DD (benchmarks: before the target)");
  cmd.add_option("--template-evalue", o.evalue, "E-value threshold of the template search")->default_val(10.0);
  cmd.add_option("--max-template-hits", o.max_hits, "Templates kept (the model uses the first 4)")->default_val(20);
}

pipelines::TemplateSearchOptions template_search_options(const TemplateCliOptions& o) {
  pipelines::TemplateSearchOptions out;
  // Checked without --template-db too: a nan or 0 given by mistake was ignored there, then failed the day the
  // database was added.
  if (!(o.evalue > 0.0)) fail_input("--template-evalue must be > 0 (got {})", o.evalue);
  if (o.max_hits < 1) fail_input("--max-template-hits must be at least 1 (is {})", o.max_hits);
  if (o.db.empty()) {
    if (!o.mmcif_dir.empty() || !o.max_date.empty())
      fail_input("--template-mmcif-dir and --max-template-date need --template-db (the sequences to search)");
    return out;
  }
  out.db = o.db;
  out.evalue = o.evalue;
  out.featurizer.mmcif_dir = o.mmcif_dir;
  out.featurizer.max_template_date = o.max_date;
  out.featurizer.max_hits = o.max_hits;
  pipelines::check_template_search_options(out);
  return out;
}

}  // namespace kfold::cli
