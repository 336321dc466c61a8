// `kfold inspect FILE`: names, dtypes and shapes of the arrays in an HDF5 file (features, results)
// or an .npz archive (AlphaFold parameters).
#include <fmt/format.h>

#include "data/error.hpp"
#include "data/hdf5_file.hpp"
#include "data/npz_file.hpp"
#include "data/text_input.hpp"
#include "pipelines/cli/commands.hpp"

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
    fmt::print("  {:<{}}  {:<8} {}{}\n", a.name, width, data::dtype_name(a.dtype), data::shape_string(a.shape),
               a.compressed ? " (compressed)" : "");
}

void inspect_file(const std::string& path) {
  data::check_input_file(path);
  if (data::is_zip_file(path)) return inspect_npz(path);
  if (!data::is_hdf5_file(path))
    fail_input(
        "{}: not a file kfold can inspect (expected HDF5 such as features.h5, or an .npz such as params_model_1.npz)",
        path);
  const data::H5Reader reader(path);
  const auto datasets = reader.list();
  size_t width = 4;
  for (const auto& d : datasets) width = std::max(width, d.name.size());
  fmt::print("{}: HDF5, {} datasets\n", path, datasets.size());
  for (const auto& d : datasets)
    fmt::print("  {:<{}}  {:<8} {}\n", d.name, width, data::dtype_name(d.dtype), data::shape_string(d.shape));
}

}  // namespace

void add_inspect_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("inspect", "List the arrays (name, dtype, shape) of an HDF5 file or an .npz archive");
  auto path = std::make_shared<std::string>();
  cmd->add_option("FILE", *path, "features.h5, result_<model>.h5 or params_<model>.npz")->required();
  cmd->footer("Examples:\n  kfold inspect out/features.h5\n  kfold inspect data/params/params_model_1_ptm.npz");
  cmd->callback([&action, path] { action = [path] { inspect_file(*path); }; });
}

}  // namespace kfold::cli
