// Bindings for running a model (`kfold predict`'s model stage): pipelines::LoadedModel (a preset
// with its parameters loaded once) and the Prediction it returns, with numpy views of its arrays and
// PDB/mmCIF text written as the CLI writes unrelaxed_<model>.pdb/.cif.
#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <ATen/DLConvertor.h>
#include <fmt/format.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "data/error.hpp"
#include "data/log.hpp"
#include "data/structure_io.hpp"
#include "fold/config.hpp"
#include "fold/input_pipeline.hpp"
#include "fold/raw_features.hpp"
#include "fold/structural_violations.hpp"
#include "kernels/malloc_control.hpp"
#include "pipelines/predict/device_choice.hpp"
#include "pipelines/predict/loaded_model.hpp"
#include "pipelines/predict/predict_target.hpp"
#include "pipelines/predict/prediction_protein.hpp"
#include "pipelines/predict/relax_prediction.hpp"
#include "pipelines/predict/violations_json.hpp"
#include "pipelines/python/bindings.hpp"
#include "pipelines/python/numpy_arrays.hpp"
#include "pipelines/python/python_runtime.hpp"

namespace kfold::python {

namespace {

namespace fs = std::filesystem;
using pipelines::LoadedModel;
using pipelines::Prediction;
using Release = py::call_guard<py::gil_scoped_release>;

using pipelines::kRandomWeightsWarning;

std::unique_ptr<LoadedModel> load_model(const std::string& preset, const fs::path& config,
                                        std::optional<int64_t> recycles, const fs::path& params, uint64_t random_seed,
                                        const std::string& device, int64_t chunk_size, const std::string& attention,
                                        const std::string& dtype) {
  const py::gil_scoped_release release;  // loading parameters (or making random ones) takes a while
  fold::RunOptions run;
  run.device = pipelines::parse_device(device, "device", "device='cpu'");
  if (chunk_size < 0 && chunk_size != fold::RunOptions::kAutoChunk)
    fail_input("chunk_size {}: must be 0 (no chunking), more, or 'auto'", chunk_size);
  run.chunk_size = chunk_size;
  if (attention != "fused" && attention != "reference")
    fail_input("attention '{}': expected 'fused' or 'reference'", attention);
  run.attention_kernel = attention == "reference" ? fold::AttentionKernel::reference : fold::AttentionKernel::fused;
  if (dtype != "fp32" && dtype != "bf16")
    fail_input("dtype '{}': expected 'fp32' or 'bf16' (mixed precision: the Evoformer in bfloat16)", dtype);
  run.dtype = dtype == "bf16" ? c10::kBFloat16 : c10::kFloat;
  return std::make_unique<LoadedModel>(pipelines::ModelSpec{preset, config, recycles}, params, random_seed, run);
}

// Progress (one step per recycling iteration), the CLI's iteration log line, and the cancellation
// check: the model stops at the end of the iteration during which the Python side gave up.
fold::IterationCallback iteration_reporter(const LoadedModel& model, const CancelToken& token) {
  token.throw_if_cancelled();
  report_progress(model.name(), 0, model.config().model.num_recycle + 1);
  return [&model, &token](int64_t r, int64_t n, const fold::ModelOutputs& it) {
    log_info("{}: iteration {}/{} mean pLDDT {:.2f}{}", model.name(), r + 1, n, it.mean_plddt,
             it.aligned_error ? fmt::format(" pTM {:.4f}", it.ptm) : "");
    report_progress(model.name(), r + 1, n);
    token.throw_if_cancelled();
  };
}

// Calls f(name, tensor) for every output tensor slot of `p` (a Prediction, const or not) under the names
// of result_<model>.h5 (and AlphaFold's result dict); the aligned-error head's only when it has one.
template <class P, class F>
void visit_outputs(P& p, F&& f) {
  auto& o = p.outputs;
  f("final_atom_positions", o.structure.final_atom_positions);
  f("final_atom_mask", o.structure.final_atom_mask);
  f("plddt", o.plddt);
  f("aatype", p.aatype);
  f("residue_index", p.residue_index);
  f("distogram/logits", o.distogram.logits);
  f("distogram/bin_edges", o.distogram.bin_edges);
  f("predicted_aligned_error", o.predicted_aligned_error);
  if (o.aligned_error) {
    f("aligned_error/logits", o.aligned_error->logits);
    f("aligned_error/breaks", o.aligned_error->breaks);
  }
  f("predicted_lddt/logits", o.predicted_lddt_logits);
  f("experimentally_resolved/logits", o.experimentally_resolved_logits);
  f("masked_msa/logits", o.masked_msa_logits);
  f("representations/single", o.single);
  f("representations/pair", o.pair);
  f("representations/msa_first_row", o.msa_first_row);
}

// Every defined output tensor, by name.
std::vector<std::pair<std::string, at::Tensor>> named_outputs(const Prediction& p) {
  std::vector<std::pair<std::string, at::Tensor>> named;
  visit_outputs(p, [&named](const char* name, const at::Tensor& t) {
    if (t.defined()) named.emplace_back(name, t);
  });
  return named;
}

// The output tensor slot that `name` is stored in.
at::Tensor* output_field(Prediction& p, const std::string& name) {
  at::Tensor* found = nullptr;
  visit_outputs(p, [&](const char* key, at::Tensor& t) {
    if (name == key) found = &t;
  });
  if (found == nullptr) fail_input("prediction state: unknown array '{}'", name);
  return found;
}

// The outputs a prediction always has: its structure (PDB/mmCIF, violations, relaxation) needs them.
constexpr const char* kRequiredOutputs[] = {"aatype", "residue_index", "plddt", "final_atom_positions",
                                            "final_atom_mask"};

// A Prediction rebuilt from what Prediction.state() gave (pickling): the arrays (copied into CPU tensors)
// and the scores, checked for the shapes the PDB/mmCIF writers and the violation checks rely on.
Prediction prediction_from_state(const std::string& model_name, double seconds, double mean_plddt,
                                 std::optional<std::pair<double, double>> ptm_and_max_pae, int64_t num_iterations,
                                 const std::vector<std::pair<std::string, py::array>>& arrays,
                                 std::vector<int32_t> asym_id, std::optional<double> iptm) {
  Prediction p;
  p.asym_id = std::move(asym_id);
  p.iptm = iptm;
  p.model_name = model_name;
  p.seconds = seconds;
  p.outputs.mean_plddt = mean_plddt;
  p.outputs.num_iterations = num_iterations;
  if (ptm_and_max_pae) {
    p.outputs.aligned_error.emplace();
    std::tie(p.outputs.ptm, p.outputs.max_predicted_aligned_error) = *ptm_and_max_pae;
  }
  for (const auto& [name, array] : arrays) *output_field(p, name) = numpy_to_tensor(array, name);
  for (const char* name : kRequiredOutputs)
    if (!output_field(p, name)->defined()) fail_input("prediction state: array '{}' is missing", name);
  const int64_t n_res = p.aatype.numel();
  if (p.aatype.dim() != 1 || p.aatype.scalar_type() != at::kLong || p.residue_index.sizes() != p.aatype.sizes() ||
      p.residue_index.scalar_type() != at::kLong || p.outputs.plddt.sizes() != p.aatype.sizes() ||
      p.outputs.structure.final_atom_positions.sizes() != at::IntArrayRef{n_res, 37, 3} ||
      p.outputs.structure.final_atom_mask.sizes() != at::IntArrayRef{n_res, 37})
    fail_input(
        "prediction state: aatype/residue_index (int64 [n_res]), plddt [n_res], final_atom_positions "
        "[n_res, 37, 3] and final_atom_mask [n_res, 37] disagree");
  if (!p.asym_id.empty() && static_cast<int64_t>(p.asym_id.size()) != n_res)
    fail_input("prediction state: asym_id has {} values for {} residues", p.asym_id.size(), n_res);
  // A state without ipTM (an earlier kfold's pickle: 7 items) gets it from its aligned-error logits, when kept.
  if (!p.iptm && p.outputs.aligned_error && p.outputs.aligned_error->logits.defined() &&
      p.outputs.aligned_error->breaks.defined())
    p.iptm = pipelines::interface_ptm(p.outputs, p.asym_id);
  return p;
}

// Frees the outputs `names` (Model.predict(keep="confidence")); every name is checked first: all dropped or none.
void drop_arrays(Prediction& p, const std::vector<std::string>& names) {
  std::vector<at::Tensor*> fields;
  for (const auto& name : names) {
    if (std::find(std::begin(kRequiredOutputs), std::end(kRequiredOutputs), name) != std::end(kRequiredOutputs))
      fail_input("drop_arrays: '{}' is part of the structure; it cannot be dropped", name);
    fields.push_back(output_field(p, name));  // (an unknown name is an InputError)
  }
  for (at::Tensor* field : fields) *field = at::Tensor();
  // The kept arrays were allocated among the freed ones on the run's worker thread and pinned that memory (2.5 MB
  // of resident memory per keep="confidence" prediction of 70 KB under glibc): copies on this thread release it.
  std::vector<std::string> kept;
  for (const auto& entry : named_outputs(p)) kept.push_back(entry.first);
  for (const auto& name : kept)
    if (at::Tensor* field = output_field(p, name); field->defined() && field->is_cpu()) *field = field->clone();
  kernels::trim_freed_heap_memory();
}

at::Tensor named_output(const Prediction& p, const std::string& name) {
  for (auto& [key, tensor] : named_outputs(p))
    if (key == name) return tensor;
  throw py::key_error(name);
}

// A DLPack capsule of `tensor` (any device, no copy) for torch.utils.dlpack.from_dlpack.
py::capsule dlpack_capsule(const at::Tensor& tensor) {
  DLManagedTensor* managed = at::toDLPack(tensor.detach());
  return py::capsule(managed, "dltensor", [](PyObject* capsule) {
    if (PyCapsule_IsValid(capsule, "dltensor") != 0) {  // never consumed: release it here
      auto* unused = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(capsule, "dltensor"));
      if (unused->deleter != nullptr) unused->deleter(unused);
    }
  });
}

void bind_prediction(py::module_& m);

}  // namespace

void bind_model(py::module_& m) {
  m.attr("RANDOM_WEIGHTS_WARNING") = kRandomWeightsWarning;
  m.attr("AUTO_CHUNK") = fold::RunOptions::kAutoChunk;
  m.attr("MAX_RECYCLES") = pipelines::kMaxRecycles;
  m.def("model_presets", &fold::model_presets, "The model presets (model_1 ... model_5_ptm).");
  m.def(
      "find_params",
      [](const std::string& model, const fs::path& params) {
        pipelines::PredictOptions options;
        options.params = params;
        return pipelines::find_params(model, options);
      },
      py::arg("model"), py::arg("params"),
      "params_<model>.npz as `kfold predict` finds it: in `params` (a directory or one file), else "
      "$KFOLD_PARAMS, else ./data/params/; InputError naming every place looked at.");
  bind_prediction(m);  // (first: help() then names LoadedModel.predict's return type kfold._core.Prediction)

  py::class_<LoadedModel>(m, "LoadedModel", "A model preset with its parameters loaded (pipelines::LoadedModel).")
      .def(py::init(&load_model), py::arg("preset"), py::arg("config"), py::arg("recycles"), py::arg("params"),
           py::arg("random_seed"), py::arg("device"), py::arg("chunk_size"), py::arg("attention"), py::arg("dtype"))
      .def_property_readonly("name", &LoadedModel::name)
      .def_property_readonly("random_weights", &LoadedModel::random_weights)
      .def_property_readonly("num_iterations",
                             [](const LoadedModel& model) { return model.config().model.num_recycle + 1; })
      .def("config_json", [](const LoadedModel& model) { return fold::config_to_json(model.config()); })
      .def(
          "predict",
          [](const LoadedModel& model, const fold::RawFeatures& raw, int64_t seed, bool check_memory,
             const CancelToken& token) {
            const auto watched = token.watch();  // stops within an Evoformer block
            return model.predict(raw, seed, check_memory, iteration_reporter(model, token));
          },
          py::arg("raw"), py::arg("seed"), py::arg("check_memory"), py::arg("token"), Release(),
          "Raw features through the input pipeline (seed) and the network.")
      .def(
          "predict_processed",
          [](const LoadedModel& model, const fs::path& path, bool check_memory, const CancelToken& token) {
            const auto features = fold::read_processed_features(path);
            const auto watched = token.watch();
            return model.predict(features, check_memory, iteration_reporter(model, token));
          },
          py::arg("path"), py::arg("check_memory"), py::arg("token"), Release(),
          "AlphaFold-processed features (.h5 or .npz with the leading recycling axis) through the network.");
}

namespace {

void bind_prediction(py::module_& m) {
  py::class_<Prediction>(m, "Prediction", "One model's outputs (pipelines::Prediction).")
      .def_static("from_state", &prediction_from_state, py::arg("model_name"), py::arg("seconds"),
                  py::arg("mean_plddt"), py::arg("ptm_and_max_pae"), py::arg("num_iterations"), py::arg("arrays"),
                  py::arg("asym_id") = std::vector<int32_t>(), py::arg("iptm") = py::none(),
                  "A prediction rebuilt (on the CPU) from its scores and named arrays, as pickling saved them.")
      .def_readonly("asym_id", &Prediction::asym_id, "The input's chain of each residue (empty: one chain).")
      .def_readonly("model_name", &Prediction::model_name)
      .def_readonly("seconds", &Prediction::seconds)
      .def_property_readonly("mean_plddt", [](const Prediction& p) { return p.outputs.mean_plddt; })
      .def_property_readonly("has_aligned_error",
                             [](const Prediction& p) { return p.outputs.aligned_error.has_value(); })
      .def_property_readonly("ptm", [](const Prediction& p) { return p.outputs.ptm; })
      .def_readonly("iptm", &Prediction::iptm, "ipTM of a complex (several chains, an aligned-error head); else None.")
      .def_property_readonly("max_predicted_aligned_error",
                             [](const Prediction& p) { return p.outputs.max_predicted_aligned_error; })
      .def_property_readonly("num_recycles", [](const Prediction& p) { return p.outputs.num_iterations - 1; })
      .def(
          "array_names",
          [](const Prediction& p) {
            std::vector<std::string> names;
            for (const auto& entry : named_outputs(p)) names.push_back(entry.first);
            return names;
          },
          "Names (those of result_<model>.h5) of the outputs this prediction has.")
      .def(
          "array", [](const Prediction& p, const std::string& name) { return tensor_to_numpy(named_output(p, name)); },
          py::arg("name"), "One output as a numpy array (a view of the tensor when it is on the CPU).")
      .def("drop_arrays", &drop_arrays, py::arg("names"),
           "Frees these outputs (not the structure's: aatype, residue_index, plddt, final_atom_*).")
      .def(
          "dlpack", [](const Prediction& p, const std::string& name) { return dlpack_capsule(named_output(p, name)); },
          py::arg("name"), "One output as a DLPack capsule (its device, no copy).")
      .def(
          "violations_json",
          [](const Prediction& p) {
            const auto& s = p.outputs.structure;
            const auto residue_index = p.residue_index.to(at::kCPU).contiguous();
            const std::span<const int64_t> index{residue_index.data_ptr<int64_t>(),
                                                 static_cast<size_t>(residue_index.numel())};
            const auto checks =
                fold::check_structure(p.aatype, p.residue_index, s.final_atom_positions, s.final_atom_mask);
            if (p.asym_id.empty()) return pipelines::violations_entry_json(checks, index);
            const auto [chain_index, numbering] = pipelines::chains_from_asym_id(p.asym_id, index);  // as to_pdb
            return pipelines::violations_entry_json(checks, numbering, chain_index);
          },
          Release(), "The structure's entry of violations.json (AlphaFold's structural violation checks), as JSON.")
      .def(
          "relaxed_texts",
          [](const Prediction& p, std::vector<std::string> remarks, const CancelToken& token) {
            const auto relaxed = pipelines::relax_prediction(pipelines::prediction_protein(p), p.model_name,
                                                             pipelines::ChainBonds::by_numbering,
                                                             [&token] { token.throw_if_cancelled(); });
            remarks.emplace_back(pipelines::kRelaxRemark);
            const auto header = pipelines::prediction_header(p.model_name, remarks);
            return std::make_pair(data::to_pdb(relaxed.protein, header), data::to_mmcif(relaxed.protein, header));
          },
          py::arg("remarks"), py::arg("token"), Release(),
          "The structure relaxed as kfold predict --relax does, as (PDB, mmCIF) text; stops when `token` is "
          "cancelled.")
      .def(
          "to_pdb",
          [](const Prediction& p, const std::vector<std::string>& remarks) {
            return data::to_pdb(pipelines::prediction_protein(p), pipelines::prediction_header(p.model_name, remarks));
          },
          py::arg("remarks"), Release())
      .def(
          "to_mmcif",
          [](const Prediction& p, const std::vector<std::string>& remarks) {
            return data::to_mmcif(pipelines::prediction_protein(p),
                                  pipelines::prediction_header(p.model_name, remarks));
          },
          py::arg("remarks"), Release());
}

}  // namespace

}  // namespace kfold::python
