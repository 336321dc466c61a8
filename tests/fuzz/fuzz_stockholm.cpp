// Fuzz harness: Stockholm (data/stockholm.hpp). Parses the input as text; an alignment it accepts must
// also survive the A3M writer (reading to_a3m's output back gives the same rows and deletions).
#include "a3m_round_trip.hpp"
#include "data/a3m.hpp"
#include "data/error.hpp"
#include "data/stockholm.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kfold::data::Msa msa;
  try {
    msa = kfold::data::parse_stockholm_string(kfold::fuzz::as_text(data, size), "fuzz.sto");
  } catch (const kfold::Error&) {
    return 0;  // rejected with a message: what the parser should do with bad input
  }
  kfold::fuzz::check_a3m_round_trip(msa, "Stockholm alignment written as A3M reads back differently");
  return 0;
}
