// `kfold predict` for one target (pipelines/predict/predict_target.hpp): inputs -> features -> models
// -> ranking -> AlphaFold's output files, each written atomically, the `done` marker last.
#include "pipelines/predict/predict_target.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <cstdlib>
#include <map>

#include "data/a3m.hpp"
#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/hdf5_file.hpp"
#include "data/log.hpp"
#include "data/msa_file.hpp"
#include "data/structure_io.hpp"
#include "fold/alphafold_model.hpp"
#include "fold/config.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/memory_estimate.hpp"
#include "fold/raw_features.hpp"
#include "fold/weights.hpp"
#include "msa/search.hpp"
#include "msa/search_output.hpp"
#include "msa/sequence_db.hpp"
#include "pipelines/predict/confidence_json.hpp"
#include "pipelines/predict/plots.hpp"
#include "pipelines/predict/prediction_protein.hpp"
#include "pipelines/predict/timings.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;

namespace {

constexpr const char* kRandomWeightsWarning =
    "WARNING: random weights, not a prediction (kfold predict --random-weights: a demo of the pipeline)";

// Letters, digits, '-', '_' and '.' of a FASTA id or file stem; anything else becomes '_'.
std::string target_id_from(const std::string& text) {
  std::string id;
  for (const char c : text) id += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  if (id.empty() || id == "." || id == "..") id = "target";
  return id;
}

template <typename T>
std::vector<T> to_vector(const at::Tensor& tensor) {
  const at::Tensor t = tensor.detach().to(at::kCPU).to(c10::CppTypeToScalarType<T>::value).contiguous();
  return std::vector<T>(t.data_ptr<T>(), t.data_ptr<T>() + t.numel());
}

void write_tensor(data::H5Writer& h5, std::string_view name, const at::Tensor& tensor) {
  const auto shape = tensor.sizes().vec();
  h5.write<float>(name, to_vector<float>(tensor), shape);
}

// result_<model>.h5: the prediction as AlphaFold's result pickle holds it (DESIGN.md names).
void write_result(const fs::path& path, const fold::ModelOutputs& out, const at::Tensor& aatype,
                  const at::Tensor& residue_index, bool random_weights) {
  data::H5Writer h5(path);
  if (random_weights) h5.set_attribute("warning", kRandomWeightsWarning);
  write_tensor(h5, "final_atom_positions", out.structure.final_atom_positions);  // [n_res, 37, 3]
  write_tensor(h5, "final_atom_mask", out.structure.final_atom_mask);            // [n_res, 37]
  write_tensor(h5, "plddt", out.plddt);                                          // [n_res]
  h5.write_scalar<double>("mean_plddt", out.mean_plddt);
  h5.write<int64_t>("aatype", to_vector<int64_t>(aatype), {aatype.size(0)});
  h5.write<int64_t>("residue_index", to_vector<int64_t>(residue_index), {residue_index.size(0)});
  if (out.distogram.logits.defined()) {
    write_tensor(h5, "distogram/logits", out.distogram.logits);  // [n_res, n_res, 64]
    write_tensor(h5, "distogram/bin_edges", out.distogram.bin_edges);
  }
  if (out.aligned_error) {
    write_tensor(h5, "predicted_aligned_error", out.predicted_aligned_error);  // [n_res, n_res]
    h5.write_scalar<double>("max_predicted_aligned_error", out.max_predicted_aligned_error);
    h5.write_scalar<double>("ptm", out.ptm);
  }
  h5.write_scalar<int64_t>("num_recycles", out.num_iterations - 1);
  h5.commit();
}

// The input features of every model: raw features from FASTA + MSAs (+ search), or processed ones.
struct TargetInputs {
  std::string id;
  std::optional<fold::RawFeatures> raw;
  std::optional<fold::ProcessedFeatures> processed;
  std::vector<std::pair<std::string, data::Msa>> msas;  // (file name, MSA) to copy into msas/
};

TargetInputs read_inputs(const PredictOptions& options) {
  TargetInputs in;
  if (!options.features.empty()) {
    in.id = target_id_from(options.features.stem().string());
    in.processed = fold::read_processed_features(options.features);
    return in;
  }
  const auto queries = data::read_fasta(options.query);
  if (queries.size() != 1)
    fail_input("{}: holds {} sequences; kfold predict takes one target (use kfold batch for several)",
               options.query.string(), queries.size());
  const auto& query = queries.front();
  in.id = target_id_from(query.id);
  std::vector<data::Msa> msas;
  std::vector<std::string> names;
  for (const auto& path : options.msas) {
    msas.push_back(data::read_msa_file(path));
    names.push_back(path.filename().string());
  }
  if (!options.db.empty()) {
    msa::check_queries(queries, options.query.string());
    const auto db = msa::SequenceDb::open(options.db);
    msa::SearchOptions search;
    search.threads = 1;
    if (const int64_t threads = at::get_num_threads(); threads > 0) search.threads = threads;
    log_info("searching {} ({} sequences) for {}", options.db.string(), db.size(), query.id);
    const auto results = msa::search(queries, db, search);
    msas.push_back(msa::build_msa(query, results.front(), db));
    names.push_back("search.a3m");
    log_info("search: {} hits", results.front().hits.size());
  }
  if (msas.empty()) log_warn("no --msa or --db: single-sequence features (predictions will be much less accurate)");
  in.raw = fold::make_raw_features(query, msas, names);
  for (size_t i = 0; i < msas.size(); ++i) {
    auto name = fs::path(names[i]).replace_extension(".a3m").string();
    in.msas.emplace_back(name, std::move(msas[i]));
  }
  return in;
}

// Templates: kfold does not search them; processed features may carry them (AlphaFold's own).
void match_templates(fold::ModelConfig& config, const std::string& model, bool features_have_templates) {
  auto& templates = config.model.embeddings_and_evoformer.template_;
  if (!templates.enabled || features_have_templates) return;
  // With no template found AlphaFold's template embedding adds nothing (its output is zeroed and
  // the torsion rows are masked), so a template-free run is that case exactly.
  log_info("{}: no template features (kfold does not search templates yet); the template embedding is off", model);
  templates.enabled = false;
  templates.embed_torsion_angles = false;
}

fold::ModelConfig model_config_for(const std::string& model, const PredictOptions& options) {
  auto config = fold::model_config(model);
  if (!options.config.empty()) fold::apply_config_file(config, options.config);
  if (options.recycles) {
    if (*options.recycles < 0) fail_input("--recycles {}: must be 0 or more", *options.recycles);
    config.model.num_recycle = *options.recycles;
    config.data.common.num_recycle = *options.recycles;
  }
  return config;
}

}  // namespace

fs::path find_params(const std::string& model, const PredictOptions& options) {
  const auto file_name = "params_" + model + ".npz";
  std::vector<fs::path> places;
  if (!options.params.empty()) {
    if (fs::is_regular_file(options.params)) return options.params;
    places.push_back(options.params);
  } else {
    if (const char* env = std::getenv("KFOLD_PARAMS"); env != nullptr && *env != '\0') places.emplace_back(env);
    places.emplace_back("data/params");
  }
  std::string looked;
  for (const auto& dir : places) {
    if (fs::is_regular_file(dir / file_name)) return dir / file_name;
    looked += (looked.empty() ? "" : ", ") + (dir / file_name).string();
  }
  fail_input(
      "no parameters for {}: looked for {}. Download AlphaFold's parameters with scripts/download-params "
      "(then --params DIR or KFOLD_PARAMS=DIR), or pass --random-weights for a demo that predicts nothing",
      model, looked);
}

PredictSummary predict_target(const PredictOptions& options) {
  if (options.features.empty() == options.query.empty())
    fail_input("give either a FASTA query or --features (processed features), not {}",
               options.features.empty() ? "neither" : "both");
  if (!options.features.empty() && (!options.msas.empty() || !options.db.empty()))
    fail_input("--features holds processed features already: it does not combine with --msa or --db");
  if (options.models.empty()) fail_input("--models: no model given");

  // Everything that can be checked before hours of compute is checked first.
  std::vector<std::pair<std::string, fold::ModelConfig>> configs;
  std::map<std::string, fs::path> params;
  for (const auto& model : options.models) {
    configs.emplace_back(model, model_config_for(model, options));
    if (!options.random_weights) params[model] = find_params(model, options);
    const bool has_pae = configs.back().second.model.heads.predicted_aligned_error.weight != 0;
    if (options.rank_by == RankBy::ptm && !has_pae)
      fail_input("--rank ptm: {} has no aligned-error head (use the _ptm presets or --rank plddt)", model);
  }
  if (options.random_weights) log_warn("{}", kRandomWeightsWarning);

  Timings timings;
  Timings::Scope features_time(timings, "features");
  auto inputs = read_inputs(options);
  PredictSummary summary;
  summary.target_id = inputs.id;
  summary.target_dir = options.output_dir / inputs.id;
  data::ensure_directory(summary.target_dir);
  fs::remove(summary.target_dir / "done");  // a rerun: complete again only when this run finishes
  if (inputs.raw) {
    summary.n_res = inputs.raw->n_res;
    summary.msa_depth = inputs.raw->n_seq;
    fold::write_raw_features(summary.target_dir / "features.h5", *inputs.raw);
    if (!inputs.msas.empty()) data::ensure_directory(summary.target_dir / "msas");
    for (const auto& [name, msa] : inputs.msas) data::write_a3m(summary.target_dir / "msas" / name, msa);
    log_info("{}: {} residues, MSA depth {}", inputs.id, summary.n_res, summary.msa_depth);
  } else {
    summary.n_res = inputs.processed->n_res();
  }
  features_time.stop();

  const auto header_remarks =
      options.random_weights ? std::vector<std::string>{kRandomWeightsWarning} : std::vector<std::string>{};
  std::vector<ModelScore> scores;
  std::vector<PlddtSeries> plddt_series;
  std::map<std::string, data::Protein> proteins;
  std::map<std::string, std::pair<std::vector<float>, double>> pae;  // model -> (PAE, max PAE)
  const bool features_have_templates = inputs.processed && inputs.processed->template_aatype.defined();
  for (auto& [model, config] : configs) {
    match_templates(config, model, features_have_templates);
    Timings::Scope process_time(timings, "process_features_" + model);
    const auto features = inputs.processed
                              ? *inputs.processed
                              : fold::make_model_inputs(*inputs.raw, fold::input_pipeline_config(config), options.seed);
    process_time.stop();
    // Rows the model keeps (AlphaFoldModel drops the trailing padded rows of both MSAs).
    const auto rows_used = [](const at::Tensor& mask) {
      return mask.defined() ? mask[0].amax(-1).gt(0).sum().item<int64_t>() : int64_t{0};
    };
    const fold::ProblemSize size{features.n_res(), rows_used(features.msa_mask), rows_used(features.extra_msa_mask)};
    if (options.check_memory) fold::check_memory(config, size, options.run);

    Timings::Scope predict_time(timings, "predict_and_compile_" + model);
    const auto tensor_options = at::TensorOptions().dtype(options.run.dtype).device(options.run.device);
    auto store = options.random_weights
                     ? fold::ParameterStore::random(static_cast<uint64_t>(options.seed), tensor_options, model)
                     : std::make_unique<fold::ParameterStore>(params.at(model), tensor_options);
    const fold::AlphaFoldModel network(store->root(), config);
    log_info("{}: {:.1f} M parameters{}", model, static_cast<double>(store->used_value_count()) / 1e6,
             options.random_weights ? " (random)" : "");
    if (const auto unused = store->unused_keys(); !unused.empty())
      log_info("{}: {} parameters unused by this config (e.g. {})", model, unused.size(), unused.front());
    const auto out = network.predict(features, options.run, [&](int64_t r, int64_t n, const fold::ModelOutputs& it) {
      log_info("{}: iteration {}/{} mean pLDDT {:.2f}{}", model, r + 1, n, it.mean_plddt,
               it.aligned_error ? fmt::format(" pTM {:.4f}", it.ptm) : "");
    });
    const double seconds = predict_time.stop();

    const auto aatype = features.aatype[0].to(at::kLong), residue_index = features.residue_index[0].to(at::kLong);
    write_result(summary.target_dir / ("result_" + model + ".h5"), out, aatype, residue_index, options.random_weights);
    const auto aatype_v = to_vector<int64_t>(aatype), residue_index_v = to_vector<int64_t>(residue_index);
    const auto positions = to_vector<float>(out.structure.final_atom_positions);
    const auto mask = to_vector<float>(out.structure.final_atom_mask);
    const auto plddt = to_vector<float>(out.plddt);
    auto protein = protein_from_prediction({aatype_v, residue_index_v, positions, mask, plddt});
    const auto header = prediction_header(model, header_remarks);
    data::write_pdb(summary.target_dir / ("unrelaxed_" + model + ".pdb"), protein, header);
    data::write_mmcif(summary.target_dir / ("unrelaxed_" + model + ".cif"), protein, header);
    write_confidence_json(summary.target_dir / ("confidence_" + model + ".json"), plddt);
    if (out.aligned_error) {
      auto values = to_vector<float>(out.predicted_aligned_error);
      write_pae_json(summary.target_dir / ("pae_" + model + ".json"), values, features.n_res(),
                     out.max_predicted_aligned_error);
      pae[model] = {std::move(values), out.max_predicted_aligned_error};
    }
    proteins.emplace(model, std::move(protein));
    plddt_series.push_back({model, plddt});
    summary.models.push_back({model, out.mean_plddt, out.aligned_error ? out.ptm : -1.0, seconds});
    scores.push_back({model, options.rank_by == RankBy::ptm ? out.ptm : out.mean_plddt});
    log_info("{}: mean pLDDT {:.2f}{} in {:.1f} s", model, out.mean_plddt,
             out.aligned_error ? fmt::format(", pTM {:.4f}", out.ptm) : "", seconds);
  }

  // Ranking, ranked_<k> structures, plots, timings; the done marker last.
  summary.ranking = rank_models(scores);
  for (size_t k = 0; k < summary.ranking.size(); ++k) {
    const auto& model = summary.ranking[k];
    const auto header = prediction_header(model, header_remarks);
    data::write_pdb(summary.target_dir / fmt::format("ranked_{}.pdb", k), proteins.at(model), header);
    data::write_mmcif(summary.target_dir / fmt::format("ranked_{}.cif", k), proteins.at(model), header);
  }
  write_ranking_debug_json(summary.target_dir / "ranking_debug.json", scores, options.rank_by);
  write_plddt_png(summary.target_dir / "plddt.png", plddt_series);
  for (const auto& model : summary.ranking)
    if (const auto it = pae.find(model); it != pae.end()) {
      write_pae_png(summary.target_dir / "pae.png", it->second.first, summary.n_res, it->second.second, model);
      break;
    }
  if (options.random_weights)
    data::write_file_atomic(summary.target_dir / "RANDOM_WEIGHTS.txt", std::string(kRandomWeightsWarning) + "\n");
  timings.write(summary.target_dir / "timings.json");
  data::write_file_atomic(summary.target_dir / "done", "");
  log_info("{}: ranking {} -> {}", summary.target_id, fmt::join(summary.ranking, " > "), summary.target_dir.string());
  return summary;
}

}  // namespace kfold::pipelines
