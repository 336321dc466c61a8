// The pieces of the kfold._core Python module, one binding file per domain (as gemmi splits its
// bindings): errors, MSAs and search, raw features, models and predictions, the agent loop.
#pragma once

#include <pybind11/pybind11.h>

namespace kfold::python {

namespace py = pybind11;

void bind_errors(py::module_& m);    // error_bindings.cpp: kfold errors as Python exceptions
void bind_runtime(py::module_& m);   // module.cpp: progress, log records, cancellation, threads, version
void bind_msa(py::module_& m);       // msa_bindings.cpp: Msa, A3M/FASTA, search, Neff, filters
void bind_templates(py::module_& m);  // features_bindings.cpp: template search and features
void bind_features(py::module_& m);  // features_bindings.cpp: AlphaFold's raw features
void bind_model(py::module_& m);     // model_bindings.cpp: LoadedModel, Prediction, parameters
void bind_agent(py::module_& m);     // agent_bindings.cpp: one round of a campaign

}  // namespace kfold::python
