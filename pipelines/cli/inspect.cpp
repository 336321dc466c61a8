// `kfold inspect FILE`: names, shapes and dtypes of the arrays in an HDF5 file.
#include <fmt/format.h>

#include "data/error.hpp"
#include "data/hdf5_file.hpp"
#include "data/text_input.hpp"
#include "pipelines/cli/commands.hpp"

namespace kfold::cli {
namespace {

void inspect_file(const std::string& path) {
  data::check_input_file(path);
  if (!data::is_hdf5_file(path))
    fail_input("{}: not a file kfold can inspect (expected HDF5: features.h5 or result_<model>.h5)", path);
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
  auto* cmd = app.add_subcommand("inspect", "List the arrays (name, dtype, shape) of an HDF5 file");
  auto path = std::make_shared<std::string>();
  cmd->add_option("FILE", *path, "features.h5 or result_<model>.h5")->required();
  cmd->footer("Example:\n  kfold inspect out/features.h5");
  cmd->callback([&action, path] { action = [path] { inspect_file(*path); }; });
}

}  // namespace kfold::cli
