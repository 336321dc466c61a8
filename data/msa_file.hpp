// Reads an MSA file in either format kfold accepts: Stockholm when the first line with text says so, A3M
// otherwise (both AlphaFold's parsers' rules, data/a3m.hpp and data/stockholm.hpp).
#pragma once

#include <filesystem>

#include "data/msa.hpp"

namespace kfold::data {

Msa read_msa_file(const std::filesystem::path& path);

}  // namespace kfold::data
