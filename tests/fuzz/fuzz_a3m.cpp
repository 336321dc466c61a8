// Fuzz harness: A3M (data/a3m.hpp). Parses the input as text and checks the writer's promise: reading
// to_a3m's output back gives the same sequences, deletion matrix and descriptions.
#include "a3m_round_trip.hpp"
#include "data/a3m.hpp"
#include "data/error.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kfold::data::Msa msa;
  try {
    msa = kfold::data::parse_a3m_string(kfold::fuzz::as_text(data, size), "fuzz.a3m");
  } catch (const kfold::Error&) {
    return 0;  // rejected with a message: what the parser should do with bad input
  }
  kfold::fuzz::check_a3m_round_trip(msa, "A3M written by to_a3m reads back differently");
  return 0;
}
