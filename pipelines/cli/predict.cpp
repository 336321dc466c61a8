// `kfold predict QUERY.fasta -o DIR`: MSAs (given or searched), features, every selected model with
// recycling, ranking and AlphaFold's output files (pipelines/predict/predict_target.hpp).
#include <fmt/format.h>

#include <memory>

#include "pipelines/cli/commands.hpp"
#include "pipelines/cli/model_options.hpp"
#include "pipelines/cli/search_options.hpp"
#include "pipelines/cli/template_options.hpp"
#include "pipelines/predict/predict_target.hpp"

namespace kfold::cli {
namespace {

struct PredictCliOptions {
  pipelines::PredictOptions predict;
  ModelCliOptions model;
  TemplateCliOptions templates;
  SearchCliOptions search;
  std::string query, features, db, output;
  std::vector<std::string> msas;
};

void run_predict(PredictCliOptions& o) {
  auto& p = o.predict;
  p.query = o.query;
  p.features = o.features;
  p.db = o.db;
  p.search = search_options(o.search, o.db);
  p.output_dir = o.output;
  p.msas.assign(o.msas.begin(), o.msas.end());
  p.templates = template_search_options(o.templates);
  apply_model_options(o.model, p);
  const auto summary = pipelines::predict_target(p);
  fmt::print("{}\t{}\n", summary.target_id, summary.target_dir.string());
}

}  // namespace

void add_predict_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("predict", "Predict a structure: MSAs, features, models, ranking, output files");
  auto o = std::make_shared<PredictCliOptions>();
  cmd->add_option("QUERY", o->query, "FASTA file with one sequence (plain or gzip); not with --features");
  cmd->add_option("--msa", o->msas, "MSA of the query, A3M or Stockholm (repeatable)");
  cmd->add_option("--db", o->db, "Search this database (kfold db create, or FASTA) for the MSA");
  add_search_options(*cmd, o->search);
  cmd->add_option("--features", o->features,
                  "Features instead of QUERY: kfold's features.h5 (kfold features, or an earlier predict's), or "
                  "AlphaFold-processed features (.h5 or .npz, leading recycling axis)");
  cmd->add_option("-o,--output", o->output, "Output directory (files go to DIR/<target id>/)")->required();
  add_template_options(*cmd, o->templates);
  add_model_options(*cmd, o->model);
  cmd->footer(
      "Examples:\n"
      "  kfold predict query.fasta --msa query.a3m --params ~/af2/params -o out\n"
      "  kfold predict query.fasta --msa query.a3m --params ~/af2/params --relax best -o out\n"
      "  kfold predict query.fasta --db dbs/uniref50 --models model_1_ptm,model_3_ptm --device cuda -o out\n"
      "  kfold predict query.fasta --db dbs/uniref50 --template-db pdb/pdb_seqres.txt \\\n"
      "      --template-mmcif-dir pdb/mmcif_files --max-template-date 2022-01-01 -o out\n"
      "  kfold predict data/examples/ubiquitin.fasta --msa data/examples/ubiquitin.a3m --random-weights \\\n"
      "      --models model_1_ptm --config data/examples/small_model.json -o out/demo\n"
      "Writes DIR/<id>/: result_<model>.h5, unrelaxed_<model>.pdb/.cif, ranked_<k>.pdb/.cif (pLDDT in the\n"
      "B-factor column), confidence_<model>.json, pae_<model>.json (pTM models), ranking_debug.json,\n"
      "timings.json, plddt.png, pae.png, msa_coverage.png, features.h5, msas/ (with pdb_hits.m8 after a\n"
      "template search),\n"
      "violations.json (AlphaFold's structural violation checks per model), with --relax also\n"
      "relaxed_<model>.pdb/.cif and relax_metrics.json, run.json (version, command line, inputs and parameters\n"
      "with their SHA-256, seeds, run options) and `done` when complete. Templates feed the presets\n"
      "that use them (model_1, model_2).");
  cmd->callback([&action, o] { action = [o] { run_predict(*o); }; });
}

}  // namespace kfold::cli
