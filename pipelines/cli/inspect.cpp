// `kfold inspect FILE`: names, dtypes and shapes of the arrays in an HDF5 file (features, results)
// or an .npz archive (AlphaFold parameters); for a PDB/mmCIF structure, its size and AlphaFold's
// structural violation checks (fold/structural_violations.hpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "data/error.hpp"
#include "data/hdf5_file.hpp"
#include "data/npz_file.hpp"
#include "data/residue_constants.hpp"
#include "data/structure_io.hpp"
#include "data/text_input.hpp"
#include "pipelines/cli/commands.hpp"
#include "pipelines/predict/structure_checks.hpp"

namespace kfold::cli {
namespace {

void inspect_npz(const std::string& path) {
  const data::NpzFile npz(path);
  size_t width = 4;
  int64_t total = 0;
  for (const auto& a : npz.arrays()) {
    width = std::max(width, a.name.size());
    total += a.nbytes();
  }
  fmt::print("{}: npz, {} arrays, {:.1f} MiB of data\n", path, npz.arrays().size(),
             static_cast<double>(total) / (1 << 20));
  for (const auto& a : npz.arrays())
    fmt::print("  {:<{}}  {:<8} {}{}{}\n", a.name, width, a.dtype_text(), data::shape_string(a.shape),
               a.compressed ? " (compressed)" : "", a.dtype == data::DType::other ? " (not read by kfold)" : "");
}

void inspect_structure(const std::string& path) {
  const auto protein = data::read_structure(path);
  const int64_t n = protein.n_res();
  std::vector<std::string> breaks;
  const auto m = pipelines::structure_violations_of(protein, pipelines::ChainBonds::by_numbering_and_geometry, &breaks);
  std::set<std::string> chains;  // by name: the parts of a chain that another chain splits are one chain
  for (const int64_t c : protein.chain_index)
    chains.insert(protein.chain_names.empty() ? std::to_string(c) : protein.chain_names.at(static_cast<size_t>(c)));
  const auto atoms = std::count(protein.atom_mask.begin(), protein.atom_mask.end(), 1.0f);
  fmt::print("{}: structure, {} chain{}, {} residues, {} atoms\n", path, chains.size(), chains.size() == 1 ? "" : "s",
             n, atoms);
  fmt::print("structural violations (AlphaFold's checks): {} of {} residues\n", m.residue_violations.size(), n);
  fmt::print(
      "  residues with a peptide bond/angle violation {:.3f}, a clash {:.3f}, a within-residue violation {:.3f}; "
      "consecutive CA pairs too far apart {:.3f}\n",
      m.between_residue_bond, m.between_residue_clash, m.within_residue, m.extreme_ca_ca_distance);
  if (!breaks.empty())
    fmt::print("chain breaks between residues of successive numbers (not checked as peptide bonds): {}\n",
               pipelines::breaks_text(breaks));
  if (const auto across = pipelines::peptide_bonds_across_chains(protein); !across.empty())
    fmt::print(
        "peptide bonds between residues of different chains (checked as clashes: give each chain one name "
        "if they are one): {}\n",
        fmt::join(across, ", "));
  if (m.residue_violations.empty()) return;
  std::vector<std::string> names;
  for (const int64_t i : m.residue_violations) {
    const auto k = static_cast<size_t>(i);
    const auto chain =
        chains.size() > 1 ? protein.chain_names.at(static_cast<size_t>(protein.chain_index[k])) + ":" : std::string();
    const char icode = protein.insertion_code.at(k);
    names.push_back(fmt::format("{}{}{}{}", chain, data::rc::resnames[static_cast<size_t>(protein.aatype[k])],
                                protein.residue_index[k], icode == ' ' ? std::string() : std::string(1, icode)));
  }
  fmt::print("  {}\n", fmt::join(names, " "));  // e.g. LYS10 (one chain), B:GLY37A (several)
}

void inspect_file(const std::string& path) {
  data::check_input_file(path);
  if (data::is_zip_file(path)) return inspect_npz(path);
  if (data::structure_format_of(path)) return inspect_structure(path);
  if (!data::is_hdf5_file(path)) {
    try {  // a structure under another name (model.txt, a download without extension): read by content
      return inspect_structure(path);
    } catch (const InputError&) {
    }
    fail_input(
        "{}: not a file kfold can inspect (expected HDF5 such as features.h5, an .npz such as params_model_1.npz, or "
        "a .pdb/.cif structure)",
        path);
  }
  const data::H5Reader reader(path);
  const auto datasets = reader.list();
  size_t width = 4;
  for (const auto& d : datasets) width = std::max(width, d.name.size());
  fmt::print("{}: HDF5, {} datasets\n", path, datasets.size());
  // What kfold wrote (the format) and what it warns of (random weights: the structure is not a prediction).
  for (const char* name : {"kfold_format", "warning"})
    if (const auto value = reader.attribute(name); !value.empty()) fmt::print("  @{}: {}\n", name, value);
  for (const auto& d : datasets)
    fmt::print("  {:<{}}  {:<8} {}\n", d.name, width, data::dtype_name(d.dtype), data::shape_string(d.shape));
}

}  // namespace

void add_inspect_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("inspect",
                                 "List the arrays (name, dtype, shape) of an HDF5 file or an .npz archive, or check a "
                                 "structure (PDB/mmCIF) with AlphaFold's structural violation checks");
  auto path = std::make_shared<std::string>();
  cmd->add_option("FILE", *path, "features.h5, result_<model>.h5, params_<model>.npz, or a .pdb/.cif[.gz] structure")
      ->required();
  cmd->footer(
      "Examples:\n  kfold inspect ubiquitin_features.h5\n  kfold inspect data/params/params_model_1_ptm.npz\n"
      "  kfold inspect out/ubiquitin/ranked_0.pdb     # residues with bond, angle or clash violations");
  cmd->callback([&action, path] { action = [path] { inspect_file(*path); }; });
}

}  // namespace kfold::cli
