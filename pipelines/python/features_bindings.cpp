// Bindings for AlphaFold's raw feature dict (`kfold features`; fold/raw_features.hpp): built from a
// query and its MSAs (and templates: pipelines/predict/template_search.hpp), read from and written to
// features.h5, its arrays as numpy views.
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>

#include "data/atomic_output.hpp"
#include "data/cpu_count.hpp"
#include "data/error.hpp"
#include "data/header_text.hpp"
#include "data/residue_constants.hpp"
#include "data/thread_limit.hpp"
#include "fold/raw_features.hpp"
#include "msa/search.hpp"
#include "pipelines/predict/template_search.hpp"
#include "pipelines/python/bindings.hpp"
#include "pipelines/python/numpy_arrays.hpp"
#include "pipelines/python/python_runtime.hpp"

namespace kfold::python {

namespace {

using Release = py::call_guard<py::gil_scoped_release>;
using fold::RawFeatures;
namespace rc = data::rc;

// RawFeatures from arrays with AlphaFold's names and shapes (strings already decoded).
RawFeatures raw_features_from_arrays(const py::handle& aatype, const py::handle& between_segment_residues,
                                     std::string domain_name, const py::handle& residue_index,
                                     const py::handle& seq_length, std::string sequence, const py::handle& msa,
                                     const py::handle& deletion_matrix_int, const py::handle& num_alignments,
                                     std::vector<std::string> msa_species_identifiers, const py::handle& asym_id) {
  RawFeatures f;
  f.aatype = numpy_to_vector<int32_t>(aatype, "aatype", {-1, rc::restype_num_with_x});
  f.n_res = static_cast<int64_t>(f.aatype.size()) / rc::restype_num_with_x;
  f.between_segment_residues =
      numpy_to_vector<int32_t>(between_segment_residues, "between_segment_residues", {f.n_res});
  f.domain_name = std::move(domain_name);
  f.residue_index = numpy_to_vector<int32_t>(residue_index, "residue_index", {f.n_res});
  f.seq_length = numpy_to_vector<int32_t>(seq_length, "seq_length", {f.n_res});
  f.sequence = std::move(sequence);
  f.msa = numpy_to_vector<int32_t>(msa, "msa", {-1, f.n_res});
  f.n_seq = f.n_res > 0 ? static_cast<int64_t>(f.msa.size()) / f.n_res : 0;
  f.deletion_matrix_int = numpy_to_vector<int32_t>(deletion_matrix_int, "deletion_matrix_int", {f.n_seq, f.n_res});
  f.num_alignments = numpy_to_vector<int32_t>(num_alignments, "num_alignments", {f.n_res});
  f.msa_species_identifiers = std::move(msa_species_identifiers);
  if (!asym_id.is_none()) f.asym_id = numpy_to_vector<int32_t>(asym_id, "asym_id", {f.n_res});
  if (static_cast<int64_t>(f.sequence.size()) != f.n_res)
    fail_input("sequence: {} letters, but aatype has {} rows", f.sequence.size(), f.n_res);
  if (!f.msa_species_identifiers.empty() && static_cast<int64_t>(f.msa_species_identifiers.size()) != f.n_seq)
    fail_input("msa_species_identifiers: {} given for {} MSA rows", f.msa_species_identifiers.size(), f.n_seq);
  fold::check_raw_feature_values(f, "features");
  return f;
}

fold::TemplateFeatures template_features_from_arrays(const py::handle& aatype, const py::handle& all_atom_masks,
                                                     const py::handle& all_atom_positions, const py::handle& sum_probs,
                                                     std::vector<std::string> domain_names,
                                                     std::vector<std::string> sequence) {
  fold::TemplateFeatures t;
  t.aatype = numpy_to_vector<float>(aatype, "template_aatype", {-1, -1, fold::kTemplateAatypeChannels});
  const auto shape = py::array::ensure(aatype);
  t.n_templates = shape.shape(0);
  t.n_res = shape.shape(1);
  t.all_atom_masks =
      numpy_to_vector<float>(all_atom_masks, "template_all_atom_masks", {t.n_templates, t.n_res, rc::atom_type_num});
  t.all_atom_positions = numpy_to_vector<float>(all_atom_positions, "template_all_atom_positions",
                                                {t.n_templates, t.n_res, rc::atom_type_num, 3});
  t.sum_probs = numpy_to_vector<float>(sum_probs, "template_sum_probs", {t.n_templates, 1});
  if (static_cast<int64_t>(domain_names.size()) != t.n_templates ||
      static_cast<int64_t>(sequence.size()) != t.n_templates)
    fail_input("template_domain_names and template_sequence: {} entries each expected (template_aatype's)",
               t.n_templates);
  t.domain_names = std::move(domain_names);
  t.sequence = std::move(sequence);
  return t;
}

}  // namespace

void bind_templates(py::module_& m) {
  using fold::TemplateFeatures;
  py::class_<TemplateFeatures>(m, "TemplateFeatures",
                               "AlphaFold's raw template features of one query (fold/template_features.hpp).")
      .def(py::init(&template_features_from_arrays), py::arg("aatype"), py::arg("all_atom_masks"),
           py::arg("all_atom_positions"), py::arg("sum_probs"), py::arg("domain_names"), py::arg("sequence"))
      .def_readonly("n_templates", &TemplateFeatures::n_templates)
      .def_readonly("n_res", &TemplateFeatures::n_res)
      .def_readonly("domain_names", &TemplateFeatures::domain_names)
      .def_readonly("sequence", &TemplateFeatures::sequence)
      .def_property_readonly(
          "aatype",
          [](py::object self) {
            const auto& t = self.cast<const TemplateFeatures&>();
            return view_as_numpy(t.aatype, {t.n_templates, t.n_res, fold::kTemplateAatypeChannels}, self);
          })
      .def_property_readonly(
          "all_atom_masks",
          [](py::object self) {
            const auto& t = self.cast<const TemplateFeatures&>();
            return view_as_numpy(t.all_atom_masks, {t.n_templates, t.n_res, rc::atom_type_num}, self);
          })
      .def_property_readonly(
          "all_atom_positions",
          [](py::object self) {
            const auto& t = self.cast<const TemplateFeatures&>();
            return view_as_numpy(t.all_atom_positions, {t.n_templates, t.n_res, rc::atom_type_num, 3}, self);
          })
      .def_property_readonly("sum_probs", [](py::object self) {
        const auto& t = self.cast<const TemplateFeatures&>();
        return view_as_numpy(t.sum_probs, {t.n_templates, 1}, self);
      });
}

void bind_template_search(py::module_& m) {
  using fold::TemplateFeatures;
  m.def(
      "search_templates",
      [](const data::Sequence& query, const std::filesystem::path& db, const std::filesystem::path& mmcif_dir,
         const std::string& max_template_date, double evalue, int64_t max_hits, int64_t threads,
         const fold::RawFeatures* features, const CancelToken& token) {
        pipelines::TemplateSearchOptions options;
        options.featurizer.check_cancelled = [&token] { token.throw_if_cancelled(); };
        options.db = db;
        options.featurizer.mmcif_dir = mmcif_dir;
        options.featurizer.max_template_date = max_template_date;
        options.featurizer.max_hits = max_hits;
        options.evalue = evalue;
        options.threads = threads > 0 ? threads : data::default_threads();
        pipelines::check_template_search_options(options);
        data::check_threads_can_start(options.threads);
        auto out = pipelines::search_templates(query, options, features);
        std::vector<std::pair<std::string, std::string>> skipped;
        // Template names and hit lines come from the database's headers: UTF-8 text ('?' for other bytes).
        for (auto& s : out.result.skipped)
          skipped.emplace_back(data::valid_utf8_text(s.name), data::valid_utf8_text(s.reason));
        return std::make_tuple(std::move(out.result.features), std::move(skipped), data::valid_utf8_text(out.hits_m8));
      },
      py::arg("query"), py::arg("db"), py::arg("mmcif_dir"), py::arg("max_template_date"), py::arg("evalue"),
      py::arg("max_hits"), py::arg("threads"), py::arg("features"), py::arg("token"), Release(),
      "The template search of `kfold predict --template-db` (with the PSSM of `features`' MSA when it has one): "
      "(features, [(hit, why skipped)], hits as m8 text).");
  m.def(
      "with_templates",
      [](const fold::RawFeatures& raw, const TemplateFeatures& templates) {
        if (templates.n_templates > 0 && templates.n_res != raw.n_res)
          fail_input("templates: {} residues, but the features have {}", templates.n_res, raw.n_res);
        fold::RawFeatures out = raw;
        out.templates = templates;
        return out;
      },
      py::arg("features"), py::arg("templates"), Release(), "A copy of the raw features with these templates.");
}

void bind_features(py::module_& m) {
  py::class_<RawFeatures>(m, "RawFeatures", "AlphaFold's raw feature dict of one chain (fold/raw_features.hpp).")
      .def(py::init(&raw_features_from_arrays), py::arg("aatype"), py::arg("between_segment_residues"),
           py::arg("domain_name"), py::arg("residue_index"), py::arg("seq_length"), py::arg("sequence"), py::arg("msa"),
           py::arg("deletion_matrix_int"), py::arg("num_alignments"), py::arg("msa_species_identifiers"),
           py::arg("asym_id") = py::none())
      .def_readonly("n_res", &RawFeatures::n_res)
      .def_readonly("n_seq", &RawFeatures::n_seq)
      // The query's FASTA header and the MSA's species ids are the bytes of the user's files: bytes_as_text.
      .def_property_readonly("domain_name", [](const RawFeatures& f) { return bytes_as_text(f.domain_name); })
      .def_readonly("sequence", &RawFeatures::sequence)
      .def_property_readonly("msa_species_identifiers",
                             [](const RawFeatures& f) {
                               py::list out;
                               for (const auto& id : f.msa_species_identifiers) out.append(bytes_as_text(id));
                               return out;
                             })
      .def_readonly("templates", &RawFeatures::templates)
      .def_property_readonly("aatype",
                             [](py::object self) {
                               const auto& f = self.cast<const RawFeatures&>();
                               return view_as_numpy(f.aatype, {f.n_res, rc::restype_num_with_x}, self);
                             })
      .def_property_readonly("between_segment_residues",
                             [](py::object self) {
                               const auto& f = self.cast<const RawFeatures&>();
                               return view_as_numpy(f.between_segment_residues, {f.n_res}, self);
                             })
      .def_property_readonly("residue_index",
                             [](py::object self) {
                               const auto& f = self.cast<const RawFeatures&>();
                               return view_as_numpy(f.residue_index, {f.n_res}, self);
                             })
      .def_property_readonly("seq_length",
                             [](py::object self) {
                               const auto& f = self.cast<const RawFeatures&>();
                               return view_as_numpy(f.seq_length, {f.n_res}, self);
                             })
      .def_property_readonly("msa",
                             [](py::object self) {
                               const auto& f = self.cast<const RawFeatures&>();
                               return view_as_numpy(f.msa, {f.n_seq, f.n_res}, self);
                             })
      .def_property_readonly("deletion_matrix_int",
                             [](py::object self) {
                               const auto& f = self.cast<const RawFeatures&>();
                               return view_as_numpy(f.deletion_matrix_int, {f.n_seq, f.n_res}, self);
                             })
      .def_property_readonly("num_alignments",
                             [](py::object self) {
                               const auto& f = self.cast<const RawFeatures&>();
                               return view_as_numpy(f.num_alignments, {f.n_res}, self);
                             })
      .def_property_readonly("asym_id", [](py::object self) -> py::object {
        const auto& f = self.cast<const RawFeatures&>();
        if (f.asym_id.empty()) return py::none();
        return view_as_numpy(f.asym_id, {f.n_res}, self);
      });
  m.def(
      "make_raw_features",
      [](const data::Sequence& query, const std::vector<data::Msa>& msas, const std::vector<std::string>& sources,
         const CancelToken& token) {
        msa::check_queries({query}, "kfold.features");  // a protein of a size kfold takes
        return fold::make_raw_features(query, msas, sources, [&token] { token.throw_if_cancelled(); });
      },
      py::arg("query"), py::arg("msas"), py::arg("msa_sources"), py::arg("cancel"), Release(),
      "AlphaFold's make_sequence_features + make_msa_features (rows seen before are dropped); stops when `cancel` "
      "is cancelled.");
  m.def(
      "read_raw_features", [](const std::filesystem::path& path) { return fold::read_raw_features(path); },
      py::arg("path"), Release(), "A features.h5 file (as `kfold features` writes it).");
  m.def(
      "write_raw_features",
      [](const std::filesystem::path& path, const RawFeatures& f) { fold::write_raw_features(path, f); },
      py::arg("path"), py::arg("features"), Release(), "Writes features.h5 atomically.");
  m.def(
      "write_file_atomic",
      [](const std::filesystem::path& path, const py::bytes& content) {
        const std::string bytes = content;  // (copied with the GIL held)
        py::gil_scoped_release release;
        data::write_file_atomic(path, bytes);
      },
      py::arg("path"), py::arg("content"),
      "Writes `content` to `path` as kfold writes its files: the output checks, a temporary file beside it, fsync, "
      "rename.");
}

}  // namespace kfold::python
