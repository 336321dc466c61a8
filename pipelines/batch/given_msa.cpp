// given_msa (pipelines/batch/given_msa.hpp): the file names a target's precomputed MSA may have.
#include "pipelines/batch/given_msa.hpp"

#include <fmt/format.h>

#include <vector>

#include "data/sequence.hpp"
#include "pipelines/predict/target_id.hpp"

namespace kfold::pipelines {

namespace fs = std::filesystem;

namespace {

constexpr const char* kMsaExtensions[] = {".a3m", ".a3m.gz", ".sto", ".sto.gz"};

std::string ascii_lower(std::string text) {
  for (char& c : text) c = data::to_ascii_lower(c);
  return text;
}

}  // namespace

std::string colabfold_msa_name(const BatchTarget& target) {
  if (target.description.empty()) return "";
  // The id is the header's first word made safe alike, and the blank after it becomes '_'.
  return target.id + "_" + target_id_from(target.description) + ".a3m";
}

namespace {

// Every file of `target` in msa_dir, in given_msa's order of preference.
std::vector<fs::path> given_msas(const fs::path& msa_dir, const BatchTarget& target) {
  std::vector<fs::path> found;
  if (msa_dir.empty()) return found;
  std::error_code error;  // (a name longer than the file system allows is no file)
  for (const char* ext : kMsaExtensions)
    if (fs::is_regular_file(msa_dir / (target.id + ext), error)) found.push_back(msa_dir / (target.id + ext));
  if (const auto name = colabfold_msa_name(target); !name.empty() && fs::is_regular_file(msa_dir / name, error))
    found.push_back(msa_dir / name);
  return found;
}

}  // namespace

std::optional<fs::path> given_msa(const fs::path& msa_dir, const BatchTarget& target) {
  auto found = given_msas(msa_dir, target);
  if (found.empty()) return std::nullopt;
  return std::move(found.front());
}

std::vector<fs::path> other_given_msas(const fs::path& msa_dir, const BatchTarget& target) {
  auto found = given_msas(msa_dir, target);
  if (!found.empty()) found.erase(found.begin());
  return found;
}

std::string missing_msa_message(const fs::path& msa_dir, const BatchTarget& target) {
  const std::string colabfold = colabfold_msa_name(target);
  std::vector<std::string> names;
  for (const char* ext : kMsaExtensions) names.push_back(target.id + ext);
  if (!colabfold.empty()) names.push_back(colabfold);
  std::string hint;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(msa_dir, error)) {
    const std::string name = entry.path().filename().string();
    for (const auto& wanted : names)
      if (hint.empty() && name != wanted && ascii_lower(name) == ascii_lower(wanted))
        hint = fmt::format(" (there is {}: the file name must be the id, letter case included)", name);
  }
  return fmt::format("no {}.a3m, .a3m.gz, .sto or .sto.gz{} in --msa-dir {}{}", target.id,
                     colabfold.empty() ? "" : fmt::format(" (or {}, colabfold_search's name)", colabfold),
                     msa_dir.string(), hint);
}

}  // namespace kfold::pipelines
