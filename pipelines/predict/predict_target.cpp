// `kfold predict` for one target (pipelines/predict/predict_target.hpp): inputs -> features -> models
// -> ranking -> AlphaFold's output files, each written atomically, the `done` marker last.
#include "pipelines/predict/predict_target.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <tuple>

#include "data/a3m.hpp"
#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/hdf5_file.hpp"
#include "data/interrupt.hpp"
#include "data/lock_directory.hpp"
#include "data/log.hpp"
#include "data/msa_file.hpp"
#include "data/structure_io.hpp"
#include "data/written_files_record.hpp"
#include "fold/alphafold_model.hpp"
#include "fold/config.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/raw_features.hpp"
#include "fold/structural_violations.hpp"
#include "kernels/cuda_memory.hpp"
#include "msa/search.hpp"
#include "msa/search_output.hpp"
#include "msa/sequence_db.hpp"
#include "pipelines/predict/confidence_json.hpp"
#include "pipelines/predict/features_query.hpp"
#include "pipelines/predict/plots.hpp"
#include "pipelines/predict/prediction_protein.hpp"
#include "pipelines/predict/previous_run.hpp"
#include "pipelines/predict/relax_prediction.hpp"
#include "pipelines/predict/run_record.hpp"
#include "pipelines/predict/timings.hpp"
#include "pipelines/predict/violations_json.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;

namespace {

template <typename T>
std::vector<T> to_vector(const at::Tensor& tensor) {
  const at::Tensor t = tensor.detach().to(at::kCPU).to(c10::CppTypeToScalarType<T>::value).contiguous();
  return std::vector<T>(t.data_ptr<T>(), t.data_ptr<T>() + t.numel());
}

// Written from the tensor's own memory (a float32 CPU tensor is not copied: the logits are [n_res, n_res, 64]).
void write_tensor(data::H5Writer& h5, std::string_view name, const at::Tensor& tensor) {
  const at::Tensor t = tensor.detach().to(at::kCPU).to(at::kFloat).contiguous();
  const auto shape = t.sizes().vec();
  h5.write<float>(name, std::span<const float>(t.data_ptr<float>(), static_cast<size_t>(t.numel())), shape);
}

// result_<model>.h5: the prediction as AlphaFold's result pickle holds it, with its key names.
void write_result(const fs::path& path, const fold::ModelOutputs& out, std::optional<double> iptm,
                  const at::Tensor& aatype, const at::Tensor& residue_index, bool random_weights) {
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
  write_tensor(h5, "predicted_lddt/logits", out.predicted_lddt_logits);  // [n_res, 50]
  if (out.experimentally_resolved_logits.defined())
    write_tensor(h5, "experimentally_resolved/logits", out.experimentally_resolved_logits);  // [n_res, 37]
  if (out.masked_msa_logits.defined())
    write_tensor(h5, "masked_msa/logits", out.masked_msa_logits);  // [n_seq, n_res, 23]
  if (out.aligned_error) {
    write_tensor(h5, "predicted_aligned_error", out.predicted_aligned_error);  // [n_res, n_res]
    write_tensor(h5, "aligned_error/logits", out.aligned_error->logits);       // [n_res, n_res, 64]
    write_tensor(h5, "aligned_error/breaks", out.aligned_error->breaks);       // [63]
    h5.write_scalar<double>("max_predicted_aligned_error", out.max_predicted_aligned_error);
    h5.write_scalar<double>("ptm", out.ptm);
  }
  if (iptm) h5.write_scalar<double>("iptm", *iptm);  // a complex (ColabFold's result key)
  h5.write_scalar<int64_t>("num_recycles", out.num_iterations - 1);
  h5.commit();
}

// The model-output files of a run of `models` (in rank order), relative to the target folder; relaxed
// structures, PAE files and the random-weights warning only where `relaxed`, `with_pae`, `random_weights` say.
std::set<std::string> output_file_names(const std::vector<std::string>& models, const std::set<std::string>& relaxed,
                                        const std::set<std::string>& with_pae, bool relax_metrics,
                                        bool random_weights) {
  std::set<std::string> names{"ranking_debug.json", "violations.json", "plddt.png", "timings.json", "run.json"};
  if (relax_metrics) names.insert("relax_metrics.json");
  if (!with_pae.empty()) names.insert("pae.png");
  if (random_weights) names.insert("RANDOM_WEIGHTS.txt");
  for (size_t k = 0; k < models.size(); ++k) {
    const auto& model = models[k];
    for (const char* ext : {".pdb", ".cif"}) {
      names.insert(fmt::format("ranked_{}{}", k, ext));
      names.insert("unrelaxed_" + model + ext);
      if (relaxed.contains(model)) names.insert("relaxed_" + model + ext);
    }
    names.insert("result_" + model + ".h5");
    names.insert("confidence_" + model + ".json");
    if (with_pae.contains(model)) names.insert("pae_" + model + ".json");
  }
  return names;
}

// The target's chains: asym_id of its raw or processed features (a complex given as one input); empty: one chain.
const std::vector<int32_t>& target_asym_id(const TargetInputs& inputs) {
  return inputs.raw ? inputs.raw->asym_id : inputs.processed->asym_id;
}

int64_t target_chain_count(const TargetInputs& inputs) {
  const auto& ids = target_asym_id(inputs);
  return std::max<int64_t>(1, static_cast<int64_t>(std::set<int32_t>(ids.begin(), ids.end()).size()));
}

// The input files a run writes into the target folder: features.h5 and msas/ (MSAs, template hits).
std::set<std::string> input_file_names(const TargetInputs& inputs) {
  std::set<std::string> names;
  if (!inputs.raw) return names;
  names.insert("features.h5");
  names.insert("msa_coverage.png");
  for (const auto& [name, msa] : inputs.msas) names.insert("msas/" + name);
  if (!inputs.template_hits_m8.empty()) names.insert("msas/pdb_hits.m8");
  return names;
}

// The output id of a FASTA id or file stem `text` read from `source`; one too long to name a folder is refused.
std::string checked_target_id(const std::string& text, const fs::path& source) {
  std::string id = target_id_from(text);
  if (id.size() > kMaxTargetIdLength)
    fail_input(
        "{}: the target id '{}...' is {} characters long, at most {} (it names the folder DIR/<id>/); shorten it",
        source.string(), id.substr(0, 40), id.size(), kMaxTargetIdLength);
  return id;
}

// The structure files of a run: the target folder's record, and the .pdb files the format could not hold.
struct StructureFiles {
  data::WrittenFilesRecord& record;
  std::set<std::string> without_pdb;  // STEM.pdb names not written
  bool warned = false;                // the one warning about them
};

// Writes DIR/STEM.cif and DIR/STEM.pdb (recorded as written). A structure the PDB format cannot hold
// (residue numbers beyond -999..9999, as a chain-break gap in --features gives, or a coordinate beyond its
// columns) gets the .cif alone, with one warning per run; an earlier kfold run's .pdb then goes at the end.
void write_structure_files(const fs::path& dir, const std::string& stem, const data::Protein& protein,
                           const data::StructureHeader& header, StructureFiles& files) {
  data::write_mmcif(dir / (stem + ".cif"), protein, header);
  try {
    data::write_pdb(dir / (stem + ".pdb"), protein, header);
    files.record.add({stem + ".pdb"}, true);  // over another's file of that name too
  } catch (const InputError& e) {
    if (!std::exchange(files.warned, true))
      log_warn("no .pdb files: {} (the .cif files hold the structures)", e.what());
    files.without_pdb.insert(stem + ".pdb");
  }
}

// A predict's lock without a heartbeat for this long belongs to a run that died on another host.
constexpr std::chrono::seconds kPredictLockStaleAfter{600};

}  // namespace

TargetInputs read_target_inputs(const PredictOptions& options, const std::function<void(const std::string&)>& on_id) {
  TargetInputs in;
  in.run_inputs_json = run_inputs_json(options);  // before anything reads them
  if (!options.features.empty()) {
    in.id = checked_target_id(options.features.stem().string(), options.features);
    in.owns_input_files = true;
    // kfold's own features.h5 (kfold features, an earlier predict, Features.save): raw features, which go
    // through the input pipeline as a FASTA's would; anything else is AlphaFold-processed features.
    if (data::is_hdf5_file(options.features) &&
        data::H5Reader(options.features).attribute("kfold_format").starts_with("raw_features")) {
      in.raw = fold::read_raw_features(options.features);
      if (const auto& name = in.raw->domain_name; !name.empty())
        in.id = checked_target_id(name.substr(0, name.find(' ')), options.features);
    } else {
      in.processed = fold::read_processed_features(options.features);
    }
    if (on_id) on_id(in.id);
    return in;
  }
  const auto queries = data::read_fasta(options.query);
  if (queries.size() != 1)
    fail_input(
        "{}: holds {} sequences; kfold predict takes one query (a complex: its chains joined in one record, with "
        "a ColabFold complex A3M as --msa, or --features with asym_id). For several targets, each predicted alone: "
        "kfold batch",
        options.query.string(), queries.size());
  msa::check_queries(queries, options.query.string());  // a protein of a size kfold takes, searched or not
  const auto& query = queries.front();
  in.id = checked_target_id(query.id, options.query);
  if (on_id) on_id(in.id);  // before the MSAs are read and searched
  std::vector<data::Msa> msas;
  std::vector<std::string> names;  // the paths as given, for messages (DIR/<id>/msas/ names its copies by file name)
  for (const auto& path : options.msas) {
    msas.push_back(data::read_msa_file(path));
    names.push_back(path.string());
  }
  if (!options.db.empty()) {
    const auto db = msa::SequenceDb::open(options.db);
    msa::SearchOptions search = options.search;
    search.threads = 1;
    if (const int64_t threads = at::get_num_threads(); threads > 0) search.threads = threads;
    log_info("searching {} ({} sequences) for {}", options.db.string(), db.size(), query.id);
    const auto results = msa::search(queries, db, search);
    msas.push_back(msa::build_msa(query, results.front(), db));
    names.push_back("search.a3m");
    log_info("search: {} hits", results.front().hits.size());
  }
  if (msas.empty()) log_warn("no --msa or --db: single-sequence features (predictions will be much less accurate)");
  in.raw = fold::make_raw_features(utf8_features_query(query, options.query.string()), msas, names);
  if (!options.templates.db.empty()) {
    TemplateSearchOptions template_options = options.templates;
    template_options.threads = std::max<int64_t>(1, at::get_num_threads());
    auto templates = search_templates(query, template_options, &*in.raw);
    in.raw->templates = std::move(templates.result.features);
    in.template_hits_m8 = std::move(templates.hits_m8);
  }
  // msas/ keeps every MSA used: two inputs of one name (a/msa.a3m and b/msa.a3m, x.sto and x.a3m, an --msa
  // search.a3m and the --db search's) get numbered names instead of overwriting each other.
  std::set<std::string> taken;
  for (size_t i = 0; i < msas.size(); ++i) {
    fs::path base = fs::path(names[i]).filename();
    if (base.extension() == ".gz") base = base.stem();  // x.a3m.gz: x.a3m, not x.a3m.a3m
    base.replace_extension(".a3m");
    std::string name = base.string();
    for (int k = 2; !taken.insert(name).second; ++k) name = fmt::format("{}_{}.a3m", base.stem().string(), k);
    in.msas.emplace_back(name, std::move(msas[i]));
  }
  in.owns_input_files = true;
  return in;
}

PredictSummary predict_target(const PredictOptions& options) {
  if (options.features.empty() == options.query.empty())
    fail_input("give either a FASTA query or --features (processed features), not {}",
               options.features.empty() ? "neither" : "both");
  if (!options.features.empty() && (!options.msas.empty() || !options.db.empty() || !options.templates.db.empty()))
    fail_input("--features holds processed features already: it does not combine with --msa, --db or --template-db");
  // Everything that can be checked before hours of compute is checked first.
  if (!options.templates.db.empty()) check_template_search_options(options.templates);
  ModelSet models(options);
  const auto start = std::chrono::steady_clock::now();
  // Two runs writing one target folder would mix their files: the later one stops as soon as the id is known,
  // before its search. The lock is kfold batch's (DIR/.locks/<id>.lock), so a predict and a batch exclude each
  // other too; a killed run's lock is taken over.
  std::unique_ptr<data::LockDirectory> locks;
  std::unique_ptr<data::TargetLock> lock;
  // The folders this run creates (the output folder, its missing parents, .locks in a new output folder):
  // a run that fails before writing anything removes them again, when empty, and nothing else.
  std::vector<fs::path> made;  // outermost first
  fs::path made_record;        // the written-files record in a target folder this run made
  try {
    auto inputs = read_target_inputs(options, [&](const std::string& id) {
      // Once the query is read (its errors come first) and before the search and the models.
      if (options.random_weights) log_warn("{}", kRandomWeightsWarning);
      made = data::make_missing_directories(options.output_dir);
      data::ensure_directory(options.output_dir);  // its checks (writable, not a file) and messages
      locks = std::make_unique<data::LockDirectory>(options.output_dir / ".locks", kPredictLockStaleAfter);
      lock = locks->try_lock(id);
      if (!lock)
        fail_input("{}: another kfold run is writing it ({}); wait for it to finish, or give another -o",
                   (options.output_dir / id).string(), locks->holder_text(id));
      if (std::error_code error; !fs::exists(options.output_dir / id, error)) {  // made as the first file is written
        made.insert(made.end(), {options.output_dir / id, options.output_dir / id / "msas"});
        made_record = options.output_dir / id / data::WrittenFilesRecord::kFileName;
      }
      data::remove_temp_files(options.output_dir / id);  // of a killed run; the lock keeps others out
    });
    inputs.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return predict_target(inputs, options, models);
  } catch (...) {
    // A run that fails before writing anything leaves no trace: its lock, then the folders it made if they
    // are empty (fs::remove leaves a folder that is not), innermost first.
    lock.reset();
    locks.reset();
    std::error_code ignored;
    if (std::any_of(made.begin(), made.end(),
                    [&](const fs::path& folder) { return fs::equivalent(folder, options.output_dir, ignored); }))
      fs::remove(options.output_dir / ".locks", ignored);  // in an output folder this run made
    // The record alone (the first file failed): it goes with its folder.
    if (!made_record.empty() &&
        std::distance(fs::directory_iterator(made_record.parent_path(), ignored), fs::directory_iterator()) == 1)
      fs::remove(made_record, ignored);
    for (auto folder = made.rbegin(); folder != made.rend(); ++folder) fs::remove(*folder, ignored);
    throw;
  }
}

namespace {

// Every model's parameters (keys, shapes) and memory are checked before the target gets any file.
void prepare_models(const TargetInputs& inputs, ModelSet& models, const PredictOptions& options) {
  for (const auto& model : models.names()) {
    if (!inputs.processed) {
      models.get(model).prepare(*inputs.raw, options.check_memory);
      continue;
    }
    const auto& loaded = models.get(model);
    loaded.prepare(*inputs.processed, options.check_memory);
    try {
      loaded.check_batch_count(*inputs.processed);
    } catch (const InputError& e) {  // of the features: named by their file
      std::string_view message = e.what();
      if (message.starts_with("features: ")) message.remove_prefix(10);
      fail_input("{}: {}", options.features.empty() ? "features" : options.features.string(), message);
    }
  }
}

// The files a run may write in its target folder, recorded before they are written (an existing file no kfold
// run wrote is not: AlphaFold's output in the same folder); an earlier kfold run's files that this one does not
// write again are removed at the end. Another's file of a name this run writes is replaced, with a warning.
struct TargetFilePlan {
  std::set<std::string> surely;  // the files every run of these models writes (.pdb aside: a structure the
                                 // format cannot hold has none)
  std::set<std::string> others;  // planned names of existing files no kfold run recorded

  TargetFilePlan(const TargetInputs& inputs, const std::vector<std::string>& models, bool random_weights,
                 const fs::path& dir, data::WrittenFilesRecord& record)
      : dir_(dir) {
    const std::set<std::string> all_models(models.begin(), models.end());
    auto planned = output_file_names(models, all_models, all_models, true, random_weights);
    planned.merge(input_file_names(inputs));
    surely = output_file_names(models, {}, {}, false, random_weights);
    std::erase_if(surely, [](const std::string& name) { return name.ends_with(".pdb"); });
    surely.merge(input_file_names(inputs));
    // run.json describes a complete run, as `done` marks one: an earlier kfold run's goes now.
    if (std::error_code ignored; record.contains("run.json")) fs::remove(dir_ / "run.json", ignored);
    for (const auto& name : planned)
      if (std::error_code error; !record.contains(name) && fs::exists(dir_ / name, error)) others.insert(name);
    warn_replaced(surely, "replacing");
    record.add(planned);
    record.add(surely, true);
  }

  // One warning naming those of `names` that were another's files.
  void warn_replaced(const std::set<std::string>& names, std::string_view tense) const {
    std::vector<std::string> listed;
    std::set_intersection(others.begin(), others.end(), names.begin(), names.end(), std::back_inserter(listed));
    if (!listed.empty())
      log_warn("{}: {} {} that no kfold run had written there ({}); give another -o to keep such files", dir_.string(),
               tense, listed.size() == 1 ? "a file" : fmt::format("{} files", listed.size()), fmt::join(listed, ", "));
  }

 private:
  fs::path dir_;
};

// features.h5 and msas/ (MSAs, template hits) of raw inputs, with the log lines that describe them.
void write_target_inputs(const TargetInputs& inputs, ModelSet& models, const fs::path& target_dir) {
  const auto& raw = *inputs.raw;
  fold::write_raw_features(target_dir / "features.h5", raw);
  if (!inputs.msas.empty() || !inputs.template_hits_m8.empty()) data::ensure_directory(target_dir / "msas");
  for (const auto& [name, msa] : inputs.msas) data::write_a3m(target_dir / "msas" / name, msa);
  if (!inputs.template_hits_m8.empty())
    data::write_file_atomic(target_dir / "msas" / "pdb_hits.m8", inputs.template_hits_m8);
  if (const auto& t = raw.templates; t.n_templates > 0) {
    std::vector<std::string> with, without;
    for (const auto& model : models.names())
      (models.get(model).config().data.common.use_templates ? with : without).push_back(model);
    if (with.empty())
      log_warn("{} templates found, but none of the selected models uses templates (model_1 and model_2 do)",
               t.n_templates);
    else if (!without.empty())
      log_info("{} templates: used by {}, not by {} (AlphaFold's presets without templates)", t.n_templates,
               fmt::join(with, ", "), fmt::join(without, ", "));
  }
  log_info("{}: {} residues, MSA depth {}", inputs.id, raw.n_res, raw.n_seq);
}

// What the models' runs leave for ranking, relaxation and the target's summary files.
struct ModelRuns {
  RankBy rank_by = RankBy::plddt;  // resolved for the target
  std::vector<ModelScore> scores;
  std::vector<PlddtSeries> plddt_series;
  std::map<std::string, data::Protein> proteins;
  std::map<std::string, std::pair<std::vector<float>, double>> pae;  // model -> (PAE, max PAE)
  std::vector<std::pair<std::string, std::string>> violations;       // model -> violations.json entry
};

// Model `index` of the set on the target: its input pipeline, the network with recycling, and its files
// (result_, unrelaxed_, confidence_, pae_).
void run_model(size_t index, const TargetInputs& inputs, const PredictOptions& options, ModelSet& models,
               const std::vector<std::string>& header_remarks, Timings& timings, StructureFiles& structure_files,
               ModelRuns& runs, PredictSummary& summary) {
  const auto& names = models.names();
  const auto& model = names[index];
  const auto& network = models.get(model);
  Timings::Scope process_time(timings, "process_features_" + model);
  // AlphaFold's run_alphafold.py: model i of n samples its MSA clusters and masks with seed i + n * seed.
  const int64_t model_seed = static_cast<int64_t>(index) + static_cast<int64_t>(names.size()) * options.seed;
  // The input pipeline's shared part; each recycle's batch is made when it starts (inside predict).
  std::optional<fold::InputBatches> batches;
  if (!inputs.processed) batches.emplace(*inputs.raw, network.input_pipeline_config(), model_seed);
  process_time.stop();
  const c10::Device device = options.run.device;
  const int64_t gpu = device.is_cuda() ? (device.has_index() ? device.index() : 0) : -1;
  if (gpu >= 0) kernels::cuda_reset_peak_allocated(gpu);
  Timings::Scope predict_time(timings, "predict_and_compile_" + model);
  const auto report = [&](int64_t r, int64_t n, const fold::ModelOutputs& it) {
    log_info("{}: iteration {}/{} mean pLDDT {:.2f}{}", model, r + 1, n, it.mean_plddt,
             it.aligned_error ? fmt::format(" pTM {:.4f}", it.ptm) : "");
    check_interrupt();  // a safe point: the CLI's Ctrl-C / SIGTERM (data/interrupt.hpp)
  };
  const auto prediction = batches ? network.predict(*batches, options.check_memory, report)
                                  : network.predict(*inputs.processed, options.check_memory, report);
  const double seconds = predict_time.stop();
  const int64_t peak_gpu_bytes = gpu >= 0 ? kernels::cuda_peak_allocated_bytes(gpu) : -1;
  const auto& out = prediction.outputs;

  const auto& aatype = prediction.aatype;
  const auto& residue_index = prediction.residue_index;
  const auto& dir = summary.target_dir;
  const auto& asym_id = target_asym_id(inputs);
  const auto iptm = prediction.iptm ? prediction.iptm : interface_ptm(out, asym_id);  // processed features: made
  write_result(dir / ("result_" + model + ".h5"), out, iptm, aatype, residue_index, options.random_weights);
  const auto aatype_v = to_vector<int64_t>(aatype), residue_index_v = to_vector<int64_t>(residue_index);
  const auto positions = to_vector<float>(out.structure.final_atom_positions);
  const auto mask = to_vector<float>(out.structure.final_atom_mask);
  const auto plddt = to_vector<float>(out.plddt);
  // A complex given as one input (features with asym_id): one output chain each, numbered from 1.
  std::vector<int64_t> chain_index, numbering = residue_index_v;
  if (!asym_id.empty()) std::tie(chain_index, numbering) = chains_from_asym_id(asym_id, residue_index_v);
  auto protein = protein_from_prediction({aatype_v, numbering, positions, mask, plddt, chain_index});
  write_structure_files(dir, "unrelaxed_" + model, protein, prediction_header(model, header_remarks), structure_files);
  write_confidence_json(dir / ("confidence_" + model + ".json"), plddt);
  if (out.aligned_error) {
    auto values = to_vector<float>(out.predicted_aligned_error);
    write_pae_json(dir / ("pae_" + model + ".json"), values, aatype.size(0), out.max_predicted_aligned_error);
    runs.pae[model] = {std::move(values), out.max_predicted_aligned_error};
  }
  const auto checks =
      fold::check_structure(aatype, residue_index, out.structure.final_atom_positions, out.structure.final_atom_mask);
  runs.violations.emplace_back(model, violations_entry_json(checks, numbering, chain_index));
  const auto n_violations = static_cast<int64_t>(checks.residue_violations.size());
  runs.proteins.emplace(model, std::move(protein));
  runs.plddt_series.push_back({model, plddt});
  runs.scores.push_back({model, ranking_confidence(runs.rank_by, out.mean_plddt, out.ptm, iptm)});
  summary.models.push_back(
      {model, out.mean_plddt, out.aligned_error ? out.ptm : -1.0, seconds, peak_gpu_bytes, n_violations, iptm});
  log_info("{}: mean pLDDT {:.2f}{}{}, {} residue{} with structural violations, in {:.1f} s{}", model, out.mean_plddt,
           out.aligned_error ? fmt::format(", pTM {:.4f}", out.ptm) : "",
           iptm ? fmt::format(", ipTM {:.4f}", *iptm) : "", n_violations, n_violations == 1 ? "" : "s", seconds,
           peak_gpu_bytes >= 0 ? fmt::format(", peak GPU memory {:.2f} GiB (torch's allocator)",
                                             static_cast<double>(peak_gpu_bytes) / (1 << 30))
                               : std::string());
}

// relaxed_<model> for the models --relax selects (with relax_metrics.json), then ranked_<k>: relaxed where
// relaxed, as AlphaFold. Returns the models relaxed.
std::set<std::string> write_relaxed_and_ranked(const PredictOptions& options, const PredictSummary& summary,
                                               const ModelRuns& runs, const std::vector<std::string>& header_remarks,
                                               Timings& timings, StructureFiles& structure_files) {
  auto relaxed_remarks = header_remarks;
  relaxed_remarks.emplace_back(kRelaxRemark);
  std::map<std::string, data::Protein> relaxed_proteins;
  std::vector<std::pair<std::string, std::vector<float>>> relax_metrics;  // model -> remaining violations
  const size_t n_relax = options.relax == RelaxModels::all    ? summary.ranking.size()
                         : options.relax == RelaxModels::best ? 1
                                                              : 0;
  for (size_t k = 0; k < n_relax; ++k) {
    const auto& model = summary.ranking[k];
    Timings::Scope relax_time(timings, "relax_" + model);
    auto [relaxed, remaining] = relax_prediction(runs.proteins.at(model), model, ChainBonds::by_numbering);
    relax_time.stop();
    const auto header = prediction_header(model, relaxed_remarks);
    write_structure_files(summary.target_dir, "relaxed_" + model, relaxed, header, structure_files);
    relaxed_proteins.emplace(model, std::move(relaxed));
    relax_metrics.emplace_back(model, std::move(remaining));
    check_interrupt();
  }
  for (size_t k = 0; k < summary.ranking.size(); ++k) {
    const auto& model = summary.ranking[k];
    const auto relaxed = relaxed_proteins.find(model);
    const bool is_relaxed = relaxed != relaxed_proteins.end();
    const auto header = prediction_header(model, is_relaxed ? relaxed_remarks : header_remarks);
    const auto& protein = is_relaxed ? relaxed->second : runs.proteins.at(model);
    write_structure_files(summary.target_dir, fmt::format("ranked_{}", k), protein, header, structure_files);
  }
  if (options.relax != RelaxModels::none)
    write_relax_metrics_json(summary.target_dir / "relax_metrics.json", relax_metrics);
  std::set<std::string> relaxed_models;
  for (const auto& [model, protein] : relaxed_proteins) relaxed_models.insert(model);
  return relaxed_models;
}

// run.json, for the input files the folder keeps among `kept`: this run's (kfold predict), or a batch's MSA
// stage's (query.fasta, msas/). It never fails a finished run (an unreadable folder, a write error): a warning
// says it is missing.
void write_run_json_or_warn(const TargetInputs& inputs, const PredictOptions& options, const std::string& inputs_json,
                            const PredictSummary& summary, ModelSet& models, const std::set<std::string>& kept) {
  try {
    std::error_code error;
    std::set<std::string> folder_inputs;
    for (const auto& name : kept)
      if (name == "features.h5" || name.starts_with("msas/")) folder_inputs.insert(name);
    if (!inputs.owns_input_files) {
      folder_inputs.insert({"query.fasta", "templates.h5"});  // kfold batch's (pipelines/batch/batch_run.cpp)
      for (const auto& entry : fs::directory_iterator(summary.target_dir / "msas", error))
        folder_inputs.insert("msas/" + entry.path().filename().string());
    }
    std::erase_if(folder_inputs,
                  [&](const std::string& name) { return !fs::is_regular_file(summary.target_dir / name, error); });
    write_run_json(summary.target_dir / "run.json", options, inputs_json, summary, models, folder_inputs);
  } catch (const std::exception& e) {
    log_warn("{}: run.json not written: {}", summary.target_dir.string(), e.what());
  }
}

}  // namespace

PredictSummary predict_target(const TargetInputs& inputs, const PredictOptions& options, ModelSet& models) {
  Timings timings;
  const auto write_start = std::chrono::steady_clock::now();
  PredictSummary summary;
  summary.target_id = inputs.id;
  summary.target_dir = options.output_dir / inputs.id;
  // The inputs' record, hashed as they were read (kfold predict: before its search; a batch: now).
  const std::string inputs_json = inputs.run_inputs_json.empty() ? run_inputs_json(options) : inputs.run_inputs_json;
  ModelRuns runs;
  summary.rank_by = runs.rank_by = resolve_rank_by(options.rank_by, target_chain_count(inputs), models.have_pae());
  prepare_models(inputs, models, options);
  data::ensure_directory(summary.target_dir);
  // An earlier complete run's outputs (and its inputs unless a batch's MSA stage owns them) stay until this one
  // completes: put back when it fails.
  std::set<std::string> earlier_outputs;
  const data::WrittenFilesRecord earlier_record(summary.target_dir);
  for (const auto& name : earlier_record.names())
    if (inputs.owns_input_files || (name != "features.h5" && !name.starts_with("msas/"))) earlier_outputs.insert(name);
  PreviousRun previous(summary.target_dir, earlier_outputs);
  fs::remove(summary.target_dir / "done");  // a rerun: complete again only when this run finishes
  data::WrittenFilesRecord record(summary.target_dir);
  const TargetFilePlan plan(inputs, models.names(), options.random_weights, summary.target_dir, record);
  StructureFiles structure_files{record, {}, false};
  if (inputs.raw) {
    summary.n_res = inputs.raw->n_res;
    summary.msa_depth = inputs.raw->n_seq;
    write_target_inputs(inputs, models, summary.target_dir);
    const fold::RawFeatures& raw = *inputs.raw;
    write_msa_coverage_png(summary.target_dir / "msa_coverage.png", raw.msa, raw.n_seq, raw.n_res, raw.asym_id);
  } else {
    summary.n_res = inputs.processed->n_res();
  }
  // Features read from this folder's own features.h5 (a rerun with other models): its msas/ are still the
  // MSAs those features came from, and stay.
  std::error_code same_error;
  const bool own_features =
      !options.features.empty() && fs::equivalent(options.features, summary.target_dir / "features.h5", same_error);
  timings.add("features",
              inputs.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - write_start).count());

  const auto header_remarks =
      options.random_weights ? std::vector<std::string>{kRandomWeightsWarning} : std::vector<std::string>{};
  for (size_t index = 0; index < models.names().size(); ++index)
    run_model(index, inputs, options, models, header_remarks, timings, structure_files, runs, summary);

  // Ranking, relaxation, ranked_<k> structures, plots, timings, run.json; the done marker last.
  summary.ranking = rank_models(runs.scores);
  const auto relaxed_models =
      write_relaxed_and_ranked(options, summary, runs, header_remarks, timings, structure_files);
  write_ranking_debug_json(summary.target_dir / "ranking_debug.json", runs.scores, runs.rank_by);
  write_violations_json(summary.target_dir / "violations.json", runs.violations);
  const std::string_view plot_warning = options.random_weights ? kRandomWeightsPlotWarning : "";
  const auto chains = chain_ends(target_asym_id(inputs), summary.n_res);
  write_plddt_png(summary.target_dir / "plddt.png", runs.plddt_series, plot_warning, chains);
  for (const auto& model : summary.ranking)
    if (const auto it = runs.pae.find(model); it != runs.pae.end()) {
      write_pae_png(summary.target_dir / "pae.png", it->second.first, summary.n_res, it->second.second, model,
                    plot_warning, chains);
      break;
    }
  if (options.random_weights)
    data::write_file_atomic(summary.target_dir / "RANDOM_WEIGHTS.txt", std::string(kRandomWeightsWarning) + "\n");
  timings.write(summary.target_dir / "timings.json");
  std::set<std::string> pae_models;
  for (const auto& [model, values] : runs.pae) pae_models.insert(model);
  auto kept = output_file_names(summary.ranking, relaxed_models, pae_models, options.relax != RelaxModels::none,
                                options.random_weights);
  // Inputs: features.h5 and msas/ hold exactly this run's (kfold predict's, unless it read this folder's own
  // features.h5); a batch's stay.
  kept.merge(input_file_names(inputs));
  if (!inputs.owns_input_files || own_features)
    for (const auto& name : record.names())
      if (name == "features.h5" || name.starts_with("msas/")) kept.insert(name);
  for (const auto& name : structure_files.without_pdb) kept.erase(name);
  std::set<std::string> kept_later;  // replaced files not announced before the writing
  std::set_difference(kept.begin(), kept.end(), plan.surely.begin(), plan.surely.end(),
                      std::inserter(kept_later, kept_later.end()));
  plan.warn_replaced(kept_later, "replaced");
  write_run_json_or_warn(inputs, options, inputs_json, summary, models, kept);
  record.remove_all_but(kept);
  std::error_code error;
  if (fs::is_directory(fs::symlink_status(summary.target_dir / "msas", error)))  // not a link to a user's folder
    fs::remove(summary.target_dir / "msas", error);                              // only when empty
  data::write_file_atomic(summary.target_dir / "done", "");
  previous.discard();
  log_info("{}: ranking {} -> {}", summary.target_id, fmt::join(summary.ranking, " > "), summary.target_dir.string());
  return summary;
}

}  // namespace kfold::pipelines
