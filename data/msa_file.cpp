// MSA file reader choosing the format from the first line (data/msa_file.hpp).
#include "data/msa_file.hpp"

#include <string_view>

#include "data/a3m.hpp"
#include "data/stockholm.hpp"
#include "data/text_input.hpp"

namespace kfold::data {

Msa read_msa_file(const std::filesystem::path& path) {
  LineReader probe(path);
  std::string_view first;
  if (probe.next(first) && first.rfind("# STOCKHOLM", 0) == 0) return read_stockholm(path);
  return read_a3m(path);
}

}  // namespace kfold::data
