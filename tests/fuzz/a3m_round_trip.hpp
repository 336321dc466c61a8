// The A3M writer's round trip, checked by the harnesses of the alignment parsers (A3M, Stockholm).
#pragma once

#include <sstream>
#include <string>
#include <string_view>

#include "data/a3m.hpp"
#include "data/error.hpp"
#include "data/header_text.hpp"
#include "fuzz_support.hpp"

namespace kfold::fuzz {

// The A3M writer's promise for an alignment a parser accepted: reading to_a3m's output back gives the same
// sequences and deletion matrix, and the same descriptions except where the writer makes a header portable
// (control characters and line separators as spaces, blanks in the id as '_': data/header_text.hpp); what was
// read back is a fixed point of writing and reading (`what` names the parser in the finding).
inline void check_a3m_round_trip(const data::Msa& msa, const char* what) {
  std::string written;
  try {
    written = data::to_a3m(msa);
  } catch (const InputError&) {
    return;  // an alignment the writer refuses with a message
  }
  // A row whose written name is one of HH-suite's annotation records (ss_pred, <name>_consensus: a Stockholm
  // row so named, or a name the portable header turns into one) is left out by the reader, as by HH-suite.
  std::istringstream lines(written);
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with('>') && data::is_hhsuite_annotation(std::string_view(line).substr(1))) return;
  const auto again = data::parse_a3m_string(written, "fuzz-written.a3m");
  if (again.sequences != msa.sequences || again.deletion_matrix != msa.deletion_matrix ||
      again.descriptions.size() != msa.descriptions.size())
    finding(what);
  for (size_t i = 0; i < msa.descriptions.size(); ++i)
    if (data::portable_header_text(msa.descriptions[i], '_') == msa.descriptions[i] &&
        again.descriptions[i] != msa.descriptions[i])
      finding(what);  // a header with nothing to make portable must come back as it was
  const auto third = data::parse_a3m_string(data::to_a3m(again), "fuzz-written-again.a3m");
  if (third.sequences != again.sequences || third.deletion_matrix != again.deletion_matrix ||
      third.descriptions != again.descriptions)
    finding(what);
}

}  // namespace kfold::fuzz
