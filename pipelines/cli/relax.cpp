// `kfold relax IN.pdb|cif -o OUT.pdb|cif`: any protein structure (a prediction of another tool, a model)
// relaxed as `kfold predict --relax` relaxes predictions (pipelines/predict/relax_prediction.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string_view>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/sequence.hpp"
#include "data/structure_io.hpp"
#include "data/text_input.hpp"
#include "pipelines/cli/commands.hpp"
#include "pipelines/predict/predict_target.hpp"
#include "pipelines/predict/relax_prediction.hpp"

namespace kfold::cli {
namespace {

struct RelaxCliOptions {
  std::string input, output;
};

// Words of `text` joined by single spaces.
std::string words(std::string_view text) {
  std::string out;
  for (size_t k = 0; k < text.size();) {
    while (k < text.size() && data::is_space(text[k])) ++k;
    const size_t start = k;
    while (k < text.size() && !data::is_space(text[k])) ++k;
    if (k > start) out.append(out.empty() ? "" : " ").append(text.substr(start, k - start));
  }
  return out;
}

// True when the header remarks hold the random-weights warning: kfold wraps it over REMARK 250 lines in
// PDB files ("# " comment lines in mmCIF), so the lines are joined before the search.
bool marked_random_weights(const std::string& text) {
  std::string remarks;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line(text.data() + start, end - start);
    if (line.starts_with("ATOM") || line.starts_with("HETATM")) break;  // past the header
    if (line.starts_with("REMARK 250 ")) remarks.append(line.substr(11)).push_back(' ');
    if (line.starts_with("# ")) remarks.append(line.substr(2)).push_back(' ');
    start = end + 1;
  }
  return words(remarks).find(words(pipelines::kRandomWeightsWarning)) != std::string::npos;
}

void run_relax(const RelaxCliOptions& o) {
  data::check_input_file(o.input);
  const auto format = data::structure_format_of(o.output);
  if (!format || o.output.ends_with(".gz"))
    fail_input("-o {}: the output must end in .pdb or .cif (its format){}", o.output,
               o.output.ends_with(".gz") ? "; gzip is not written" : "");
  data::check_output_is_not_input(o.output, o.input, "-o");
  { const data::AtomicOutput output_check(o.output); }     // a bad -o is told before the relax, not after
  const std::string text = data::read_text_file(o.input);  // once: a pipe (<(...), a FIFO) cannot be read twice
  const auto protein = data::parse_structure(text, o.input);
  if (*format == data::StructureFormat::pdb) try {
      data::check_fits_pdb(protein);
    } catch (const InputError& e) {
      fail_input("-o {}: {}", o.output, e.what());
    }
  const auto relaxed = pipelines::relax_prediction(protein, o.input, pipelines::ChainBonds::by_numbering_and_geometry);
  data::StructureHeader header;  // any structure: its B-factors are not taken for pLDDTs
  header.title = "kfold relax: " + std::filesystem::path(o.input).filename().string();
  header.remarks = {pipelines::kRelaxRemark};
  // A random-weight run's structure stays marked as no prediction once relaxed.
  if (marked_random_weights(text)) header.remarks.insert(header.remarks.begin(), pipelines::kRandomWeightsWarning);
  // A killed run's temporary file, once 10 minutes old (no lock keeps another host's live writer out).
  const std::filesystem::path output(o.output);
  data::remove_dead_temp_files(output.has_parent_path() ? output.parent_path() : ".", {output.filename().string()},
                               std::chrono::minutes(10));
  if (*format == data::StructureFormat::mmcif)
    data::write_mmcif(o.output, relaxed.protein, header);
  else
    data::write_pdb(o.output, relaxed.protein, header);
  const auto remaining = std::count(relaxed.remaining_violations.begin(), relaxed.remaining_violations.end(), 1.0f);
  fmt::print("{}: {} residues, {} still with structural violations; wrote {}\n", o.input, protein.n_res(), remaining,
             o.output);
}

}  // namespace

void add_relax_command(CLI::App& app, Action& action) {
  auto o = std::make_shared<RelaxCliOptions>();
  auto* cmd = app.add_subcommand(
      "relax",
      "Relax a protein structure against AlphaFold's structural violation checks (restrained minimisation of the "
      "violation terms, not Amber), the minimisation kfold predict --relax runs; unlike a prediction's sequence "
      "neighbours, residues of a file more than 4 A apart (C to N) are a chain break, never closed");
  cmd->add_option("STRUCTURE", o->input, "A PDB or mmCIF file (gzip allowed); its first model is relaxed")->required();
  cmd->add_option("-o,--output", o->output, "The relaxed structure: .pdb or .cif (written atomically)")->required();
  cmd->footer(
      "Examples:\n"
      "  kfold relax ranked_0.pdb -o ranked_0_relaxed.pdb\n"
      "  kfold relax model.cif.gz -o model_relaxed.cif\n"
      "Removes what the checks report (peptide bonds and angles beyond 12 standard deviations, clashes beyond\n"
      "1.5 A of overlap, within-residue bounds; kfold inspect lists them) and, while at it, brings every bond and\n"
      "angle within 3 standard deviations; a structure without violations comes back unchanged. In at most 5\n"
      "rounds: what still violates then is reported, not hidden. Peptide bonds come from the residue numbers and\n"
      "the atoms: a C-N under 2 A is a bond whatever the numbering, successive numbers with a C-N over 4 A a chain\n"
      "break (logged), which is never closed. Chains, residue numbers, insertion codes, atom names and B-factors are "
      "kept (atoms\n"
      "in AlphaFold's order; occupancies written as 1.00); each residue's most occupied alternative location is\n"
      "read; hydrogens, waters, ligands, nucleotides, caps and modified residues are not written (selenomethionine\n"
      "is written as methionine, force-field names such as HIE or CYX as their amino acid). Chains are relaxed\n"
      "together. Ctrl-C stops it (exit 130), writing nothing.");
  cmd->callback([&action, o] { action = [o] { run_relax(*o); }; });
}

}  // namespace kfold::cli
