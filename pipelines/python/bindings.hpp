// The pieces of the kfold._core Python module, one binding file per domain (as gemmi splits its
// bindings): errors, MSAs and search, raw features, models and predictions, the agent loop.
#pragma once

#include <pybind11/pybind11.h>

#include <string>

namespace kfold::python {

namespace py = pybind11;

void bind_errors(py::module_& m);           // error_bindings.cpp: kfold errors as Python exceptions
void bind_runtime(py::module_& m);          // module.cpp: progress, log records, cancellation, threads, version
void bind_msa(py::module_& m);              // msa_bindings.cpp: Msa, A3M/FASTA, search, Neff, filters
void bind_templates(py::module_& m);        // features_bindings.cpp: template features
void bind_features(py::module_& m);         // features_bindings.cpp: AlphaFold's raw features
void bind_template_search(py::module_& m);  // features_bindings.cpp: template search, features with templates
void bind_model(py::module_& m);            // model_bindings.cpp: LoadedModel, Prediction, parameters
void bind_agent(py::module_& m);            // agent_bindings.cpp: one round of a campaign

// Bytes read from a user's file (a FASTA or A3M header, a species id) as Python text: bytes that are not
// UTF-8 become surrogates ("surrogateescape", as os.fsdecode does), so a Latin-1 header reads instead of
// raising UnicodeDecodeError, and text.encode("utf-8", "surrogateescape") gives the same bytes back.
inline py::str bytes_as_text(const std::string& bytes) {
  PyObject* o = PyUnicode_DecodeUTF8(bytes.data(), static_cast<Py_ssize_t>(bytes.size()), "surrogateescape");
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

// Text made of such bytes (a log line, a progress label naming a query id or a path) for display: bytes that are not
// UTF-8 become backslash escapes (\xe9), never a UnicodeDecodeError (which lost a call's pending log lines and
// its result).
inline py::str display_text(const std::string& bytes) {
  PyObject* o = PyUnicode_DecodeUTF8(bytes.data(), static_cast<Py_ssize_t>(bytes.size()), "backslashreplace");
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(o);
}

// The bytes of `text` for a C++ string: bytes as they are, str as UTF-8 with its surrogates (bytes_as_text's) back
// as the bytes they stood for.
inline std::string text_as_bytes(const py::handle& text) {
  if (py::isinstance<py::bytes>(text)) return text.cast<std::string>();
  PyObject* o = PyUnicode_AsEncodedString(text.ptr(), "utf-8", "surrogateescape");
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::bytes>(o).cast<std::string>();
}

}  // namespace kfold::python
