// `kfold features QUERY.fasta --msa A.a3m [--msa B.sto] [--template-db ...] -o features.h5`:
// AlphaFold's raw feature dict (sequence, MSA and template features) for one query.
#include <fmt/format.h>

#include <filesystem>

#include <algorithm>

#include "data/atomic_output.hpp"
#include "data/cpu_count.hpp"
#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/log.hpp"
#include "data/msa_file.hpp"
#include "data/thread_limit.hpp"
#include "fold/raw_features.hpp"
#include "msa/search.hpp"
#include "pipelines/cli/commands.hpp"
#include "pipelines/cli/template_options.hpp"
#include "pipelines/predict/features_query.hpp"

namespace kfold::cli {
namespace {

struct FeaturesOptions {
  std::string query;
  std::vector<std::string> msas;
  TemplateCliOptions templates;
  std::string output;
  int64_t threads = 0;  // the template search's; 0: every core
};

void run_features(const FeaturesOptions& opt) {
  const auto queries = data::read_fasta(opt.query);
  if (queries.size() != 1)
    fail_input("{}: holds {} sequences; kfold features takes exactly one query (split the file)", opt.query,
               queries.size());
  msa::check_queries(queries, opt.query);                   // a protein of a size kfold takes
  auto templates = template_search_options(opt.templates);  // checked before any work
  templates.threads = opt.threads > 0 ? opt.threads : data::default_threads();
  if (!templates.db.empty()) data::check_threads_can_start(templates.threads);
  { const data::AtomicOutput output_check(opt.output); }  // so is the output path
  data::check_output_is_not_input(opt.output, opt.query, "-o");
  for (const auto& path : opt.msas) data::check_output_is_not_input(opt.output, path, "-o");
  if (!templates.db.empty()) data::check_output_is_not_input(opt.output, templates.db, "-o");
  // The file is HDF5 whatever its name: an .npz name would mislead numpy.load and kfold predict --features.
  if (const auto ext = std::filesystem::path(opt.output).extension(); ext != ".h5" && ext != ".hdf5")
    fail_input("-o {}: kfold features writes HDF5; name the file .h5 (e.g. -o features.h5)", opt.output);
  std::vector<data::Msa> msas;
  for (const auto& path : opt.msas) msas.push_back(data::read_msa_file(path));
  if (msas.empty()) log_warn("no --msa given: single-sequence features (predictions will be much less accurate)");
  const data::Sequence query = pipelines::utf8_features_query(queries.front(), opt.query);
  fold::RawFeatures features = fold::make_raw_features(query, msas, opt.msas);
  if (!templates.db.empty())
    features.templates = pipelines::search_templates(query, templates, &features).result.features;
  const std::filesystem::path output(opt.output);
  // A killed run's temporary file (SIGKILL, a second signal: hundreds of MB for a deep MSA), once 10 minutes old:
  // no lock keeps another host's or container's live writer out.
  data::remove_dead_temp_files(output.has_parent_path() ? output.parent_path() : ".", {output.filename().string()},
                               std::chrono::minutes(10));
  fold::write_raw_features(opt.output, features);
  log_info("{}: {} residues, {} MSA rows (after de-duplication), {} templates -> {}", query.id, features.n_res,
           features.n_seq, features.templates.n_templates, opt.output);
}

}  // namespace

void add_features_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("features", "Build AlphaFold's raw feature dict (features.h5) from a query and MSAs");
  auto opt = std::make_shared<FeaturesOptions>();
  cmd->add_option("QUERY", opt->query, "FASTA file with one query sequence (plain or gzip)")->required();
  cmd->add_option("--msa", opt->msas,
                  "MSA of the query, A3M or Stockholm (repeatable; rows seen in an earlier MSA are dropped)");
  add_template_options(*cmd, opt->templates);
  cmd->add_option("-o,--output", opt->output, "Output HDF5 file")->required();
  cmd->add_option(
         "--threads", opt->threads,
         "Threads of the template search; 0 = $OMP_NUM_THREADS or the CPUs this process may use (same output for any)")
      ->capture_default_str()
      ->check(thread_count());
  cmd->footer(
      "Example:\n  kfold features data/examples/ubiquitin.fasta --msa data/examples/ubiquitin.a3m -o "
      "ubiquitin_features.h5\n"
      "  kfold features query.fasta --msa query.a3m --template-db pdb/pdb_seqres.txt \\\n"
      "      --template-mmcif-dir pdb/mmcif_files --max-template-date 2022-01-01 -o features.h5\n"
      "Each MSA's first row must be the query. Without --msa the query alone is the MSA.");
  cmd->callback([&action, opt] { action = [opt] { run_features(*opt); }; });
}

}  // namespace kfold::cli
