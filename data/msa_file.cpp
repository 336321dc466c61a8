// MSA file reader choosing the format from the first line with text (data/msa_file.hpp).
#include "data/msa_file.hpp"

#include <string_view>

#include "data/a3m.hpp"
#include "data/stockholm.hpp"
#include "data/text_input.hpp"

namespace kfold::data {

Msa read_msa_file(const std::filesystem::path& path) {
  LineReader probe(path);
  std::string_view first;
  while (probe.next(first) && first.find_first_not_of(" \t") == std::string_view::npos) {
  }  // the first line with text decides
  const size_t start = first.find_first_not_of(" \t");
  if (start != std::string_view::npos && first.substr(start).starts_with("# STOCKHOLM")) return read_stockholm(path);
  return read_a3m(path);
}

}  // namespace kfold::data
