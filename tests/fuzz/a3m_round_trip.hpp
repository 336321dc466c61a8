// The A3M writer's round trip, checked by the harnesses of the alignment parsers (A3M, Stockholm).
#pragma once

#include <string>

#include "data/a3m.hpp"
#include "data/error.hpp"
#include "data/header_text.hpp"
#include "fuzz_support.hpp"

namespace kfold::fuzz {

// The A3M writer's promise for an alignment a parser accepted: reading to_a3m's output back gives the same
// sequences and deletion matrix, and the same descriptions except where the writer makes a header portable
// (control characters and line separators as spaces, blanks in the id as '_': data/header_text.hpp); writing
// what was read back gives the same text (`what` names the parser in the finding).
inline void check_a3m_round_trip(const data::Msa& msa, const char* what) {
  std::string written;
  try {
    written = data::to_a3m(msa);
  } catch (const InputError&) {
    return;  // an alignment the writer refuses with a message
  }
  const auto again = data::parse_a3m_string(written, "fuzz-written.a3m");
  if (again.sequences != msa.sequences || again.deletion_matrix != msa.deletion_matrix ||
      again.descriptions.size() != msa.descriptions.size() || data::to_a3m(again) != written)
    finding(what);
  for (size_t i = 0; i < msa.descriptions.size(); ++i)
    if (data::portable_header_text(msa.descriptions[i], '_') == msa.descriptions[i] &&
        again.descriptions[i] != msa.descriptions[i])
      finding(what);  // a header with nothing to make portable must come back as it was
}

}  // namespace kfold::fuzz
