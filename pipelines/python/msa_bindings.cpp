// Bindings for sequences, MSAs and homology search (`kfold search`): data::Sequence, data::Msa with
// A3M reading and writing, Neff and redundancy filters (msa/msa_filter.hpp), and one query's search
// into an Msa (msa/search.hpp, msa/search_output.hpp: the rows `kfold search` writes to its A3M).
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "data/a3m.hpp"
#include "data/cpu_count.hpp"
#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/msa_file.hpp"
#include "data/sequence.hpp"
#include "data/thread_limit.hpp"
#include "msa/msa_filter.hpp"
#include "msa/prefilter.hpp"
#include "msa/search.hpp"
#include "msa/search_output.hpp"
#include "msa/sequence_db.hpp"
#include "pipelines/python/bindings.hpp"
#include "pipelines/python/numpy_arrays.hpp"
#include "pipelines/python/python_runtime.hpp"

namespace kfold::python {

namespace {

using Release = py::call_guard<py::gil_scoped_release>;

struct SearchArgs {
  double evalue = 1e-3;
  int64_t max_seqs = 0;  // 0: not given (msa::SearchOptions' 10000, the prefilter's preset bounding it)
  double min_coverage = 0.0;
  int64_t alt_alignments = 0;
  int64_t iterations = 1;
  double inclusion_evalue = 1e-5;
  double sensitivity = msa::kDefaultSensitivity;
  int64_t max_prefilter = 0;  // 0: the sensitivity's preset
  int64_t threads = 0;        // 0: every core
  double max_seq_id = 1.0;
  int64_t diff = 0;
  bool composition_stats = true;
  bool mask = true;  // low-complexity query regions masked (--no-mask: false)
  bool composition_bias = true;
};

// One query against `db`, as `kfold search` does it (pipelines/cli/search.cpp): the sensitivity
// preset sets the prefilter, then the rows of the query's A3M (max_seq_id and diff filters included).
data::Msa search_one(const data::Sequence& query, const std::string& source, const std::filesystem::path& db_path,
                     const SearchArgs& a, const CancelToken& token) {
  const msa::MsaFilterOptions filter{a.max_seq_id, a.diff};
  msa::check_msa_filter_options(filter);
  msa::SearchOptions options;
  options.evalue = a.evalue;
  if (a.max_seqs > 0) options.max_seqs = a.max_seqs;
  options.min_coverage = a.min_coverage;
  options.alt_alignments = a.alt_alignments;
  options.iterations = a.iterations;
  options.inclusion_evalue = a.inclusion_evalue;
  options.composition_stats = a.composition_stats;
  options.composition_bias = a.composition_bias;
  options.prefilter.mask_low_complexity = a.mask;
  options.prefilter = msa::prefilter_for_search(options.prefilter, a.sensitivity, std::nullopt,
                                                a.max_prefilter != 0 ? std::optional(a.max_prefilter) : std::nullopt,
                                                a.max_seqs > 0 ? std::optional(a.max_seqs) : std::nullopt);
  options.threads = a.threads > 0 ? a.threads : data::default_threads();
  msa::check_search_options(options);
  data::check_threads_can_start(options.threads);  // (libgomp ends the process when it cannot start one)
  options.check_cancelled = [&token] { token.throw_if_cancelled(); };
  const std::vector<data::Sequence> queries{query};
  msa::check_queries(queries, source);
  const auto db = msa::SequenceDb::open(db_path);
  const auto results = msa::search(queries, db, options);
  return msa::filter_msa(msa::build_msa(query, results.front(), db), filter);
}

data::Msa make_msa(std::vector<std::string> sequences, std::vector<std::string> descriptions,
                   const py::handle& deletion_matrix, std::vector<std::string> insertions) {
  data::Msa msa;
  const auto depth = static_cast<int64_t>(sequences.size());
  const int64_t length = depth > 0 ? static_cast<int64_t>(sequences.front().size()) : 0;
  // The rows of data::Msa: one character per query column, uppercase letters or '-'.
  // (Characters first: the lengths are bytes, and a row with an 'é' or a no-break space had "4 columns" of 3.)
  for (int64_t i = 0; i < depth; ++i) {
    const std::string& row = sequences[static_cast<size_t>(i)];
    for (size_t j = 0; j < row.size(); ++j)
      if (!((row[j] >= 'A' && row[j] <= 'Z') || row[j] == '-'))
        fail_input("sequences: row {} column {}: {} is not an uppercase letter or '-'", i, j + 1,
                   data::char_for_message(row[j]));
    if (static_cast<int64_t>(row.size()) != length)
      fail_input(
          "sequences: row {} has {} columns, the query (row 0) {}; every row needs one character per query "
          "column (insertions go in `insertions` and the deletion matrix)",
          i, row.size(), length);
  }
  const auto deletions = numpy_to_vector<int32_t>(deletion_matrix, "deletion_matrix", {depth, length});
  // Counts of residues a row has between two query columns: none in the query itself (it defines the
  // columns), and no more than a protein has (a typo's 2^31 would make to_a3m() write gigabytes).
  constexpr int32_t kMaxDeleted = 100000;
  for (size_t k = 0; length > 0 && k < deletions.size(); ++k) {
    const int64_t row = static_cast<int64_t>(k) / length, column = static_cast<int64_t>(k) % length + 1;
    if (deletions[k] < 0 || deletions[k] > kMaxDeleted)
      fail_input("deletion_matrix: row {} column {}: {} deleted residues (counts are 0 to {})", row, column,
                 deletions[k], kMaxDeleted);
    if (row == 0 && deletions[k] != 0)
      fail_input(
          "deletion_matrix: row 0 (the query) column {}: {} deleted residues; the query defines the columns and has "
          "none (its row must be all 0)",
          column, deletions[k]);
  }
  if (static_cast<int64_t>(descriptions.size()) != depth)
    fail_input("descriptions: {} given for {} sequences", descriptions.size(), depth);
  if (!insertions.empty() && static_cast<int64_t>(insertions.size()) != depth)
    fail_input("insertions: {} given for {} sequences (give none or one per row)", insertions.size(), depth);
  for (int64_t i = 0; i < depth; ++i)
    msa.deletion_matrix.emplace_back(deletions.begin() + i * length, deletions.begin() + (i + 1) * length);
  msa.sequences = std::move(sequences);
  msa.descriptions = std::move(descriptions);
  msa.insertions = std::move(insertions);
  return msa;
}

py::array_t<int32_t> deletion_matrix_array(const data::Msa& msa) {
  std::vector<int32_t> values;
  values.reserve(static_cast<size_t>(msa.depth() * msa.length()));
  for (const auto& row : msa.deletion_matrix) {
    if (static_cast<int64_t>(row.size()) != msa.length())
      fail_input("deletion_matrix: a row has {} columns, the MSA {}", row.size(), msa.length());
    values.insert(values.end(), row.begin(), row.end());
  }
  return vector_to_numpy(std::move(values), {msa.depth(), msa.length()});
}

}  // namespace

void bind_msa(py::module_& m) {
  py::class_<data::Sequence>(m, "Sequence", "One named protein sequence (a FASTA record).")
      .def(py::init([](const py::object& id, const py::object& description, std::string residues) {
             return data::Sequence{text_as_bytes(id), text_as_bytes(description), std::move(residues)};
           }),
           py::arg("id"), py::arg("description"), py::arg("residues"))
      // A header's bytes as text (bytes_as_text: a Latin-1 id raised UnicodeDecodeError), set from str or bytes.
      .def_property(
          "id", [](const data::Sequence& s) { return bytes_as_text(s.id); },
          [](data::Sequence& s, const py::object& text) { s.id = text_as_bytes(text); })
      .def_property(
          "description", [](const data::Sequence& s) { return bytes_as_text(s.description); },
          [](data::Sequence& s, const py::object& text) { s.description = text_as_bytes(text); })
      .def_readwrite("residues", &data::Sequence::residues);
  m.def(
      "read_fasta", [](const std::filesystem::path& path) { return data::read_fasta(path); }, py::arg("path"),
      Release(), "FASTA records of a file (plain or gzip); InputError naming file, line and column.");
  m.def(
      "parse_fasta", [](std::string text, std::string source) { return data::parse_fasta(std::move(text), source); },
      py::arg("text"), py::arg("source_name"), Release(), "FASTA records of in-memory text.");

  // Headers are bytes (a Latin-1 header of a UniProt or PDB file passes the CLI unchanged): Python text
  // via bytes_as_text, which Msa.save writes back as the same bytes; the constructor takes bytes or such
  // text (kfold/msa.py).
  py::class_<data::Msa>(m, "Msa", "An MSA aligned to its query (row 0): data/msa.hpp.")
      .def(py::init(&make_msa), py::arg("sequences"), py::arg("descriptions"), py::arg("deletion_matrix"),
           py::arg("insertions") = std::vector<std::string>{})
      .def_readonly("sequences", &data::Msa::sequences)
      .def_readwrite("chain_lengths", &data::Msa::chain_lengths)
      .def_property_readonly("descriptions",
                             [](const data::Msa& msa) {
                               py::list out;
                               for (const auto& d : msa.descriptions) out.append(bytes_as_text(d));
                               return out;
                             })
      .def_readonly("insertions", &data::Msa::insertions)
      .def_property_readonly("deletion_matrix", &deletion_matrix_array)
      .def_property_readonly("depth", &data::Msa::depth)
      .def_property_readonly("length", &data::Msa::length)
      .def("to_a3m",
           [](const data::Msa& msa) {
             std::string a3m;
             {
               const py::gil_scoped_release release;
               a3m = data::to_a3m(msa);
             }
             return bytes_as_text(a3m);
           })
      .def(
          "neff",
          [](const data::Msa& msa, double identity, const CancelToken& token) {
            return msa::neff(
                msa, identity, [&token] { token.throw_if_cancelled(); }, 0, /*show_progress=*/true);
          },
          py::arg("identity"), py::arg("token"), Release())
      .def(
          "filter_max_seq_id",
          [](const data::Msa& msa, double max_seq_id, const CancelToken& token) {
            return msa::filter_max_seq_id(msa, max_seq_id, [&token] { token.throw_if_cancelled(); });
          },
          py::arg("max_seq_id"), py::arg("token"), Release())
      .def("filter_diverse", &msa::filter_diverse, py::arg("min_per_block"), Release())
      .def("select_rows", &msa::select_rows, py::arg("rows"), Release());
  m.def("parse_a3m", &data::parse_a3m_string, py::arg("text"), py::arg("source_name"), Release(),
        "An Msa from A3M text; InputError naming source and line.");
  m.def(
      "read_msa_file", [](const std::filesystem::path& path) { return data::read_msa_file(path); }, py::arg("path"),
      Release(), "An Msa from an A3M or Stockholm file.");
  m.def("row_identity", &msa::row_identity, py::arg("a"), py::arg("b"));

  py::class_<SearchArgs>(m, "SearchArgs", "Options of search(): those of `kfold search`.")
      .def(py::init<>())
      .def_readwrite("evalue", &SearchArgs::evalue)
      .def_readwrite("max_seqs", &SearchArgs::max_seqs)
      .def_readwrite("min_coverage", &SearchArgs::min_coverage)
      .def_readwrite("alt_alignments", &SearchArgs::alt_alignments)
      .def_readwrite("iterations", &SearchArgs::iterations)
      .def_readwrite("inclusion_evalue", &SearchArgs::inclusion_evalue)
      .def_readwrite("sensitivity", &SearchArgs::sensitivity)
      .def_readwrite("max_prefilter", &SearchArgs::max_prefilter)
      .def_readwrite("threads", &SearchArgs::threads)
      .def_readwrite("max_seq_id", &SearchArgs::max_seq_id)
      .def_readwrite("diff", &SearchArgs::diff)
      .def_readwrite("composition_stats", &SearchArgs::composition_stats)
      .def_readwrite("mask", &SearchArgs::mask)
      .def_readwrite("composition_bias", &SearchArgs::composition_bias);
  m.def("search", &search_one, py::arg("query"), py::arg("source"), py::arg("db"), py::arg("args"), py::arg("token"),
        Release(),
        "The MSA of one query against a FASTA file or a `kfold db create` directory; stops soon after "
        "`token` is cancelled.");
}

}  // namespace kfold::python
