// MSA file reader choosing the format from the first line with text (data/msa_file.hpp).
#include "data/msa_file.hpp"

#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "data/a3m.hpp"
#include "data/stockholm.hpp"
#include "data/text_input.hpp"

namespace kfold::data {

namespace {
constexpr const char* kBlanks = " \t\n\r\v\f";  // what the A3M reader reads past before '>' or '#'
}  // namespace

Msa read_msa_file(const std::filesystem::path& path) {
  // A pipe (a FIFO, <(...)) cannot be opened twice: its text is read once and parsed from memory.
  if (std::error_code error; !std::filesystem::is_regular_file(path, error)) {
    std::string text = read_text_file(path);
    const size_t start = text.find_first_not_of(kBlanks);
    if (start != std::string::npos && std::string_view(text).substr(start).starts_with("# STOCKHOLM"))
      return parse_stockholm_string(std::move(text), path.string());
    return parse_a3m_string(std::move(text), path.string());
  }
  LineReader probe(path);
  std::string_view first;
  while (probe.next(first) && first.find_first_not_of(kBlanks) == std::string_view::npos) {
  }  // the first line with text decides
  const size_t start = first.find_first_not_of(kBlanks);
  if (start != std::string_view::npos && first.substr(start).starts_with("# STOCKHOLM")) return read_stockholm(path);
  return read_a3m(path);
}

}  // namespace kfold::data
