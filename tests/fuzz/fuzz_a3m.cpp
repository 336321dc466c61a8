// Fuzz harness: A3M (data/a3m.hpp). Parses the input as text and checks the writer's promise: reading
// to_a3m's output back gives the same sequences, deletion matrix and descriptions.
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
  std::string written;
  try {
    written = kfold::data::to_a3m(msa);
  } catch (const kfold::InputError&) {
    return 0;
  }
  const auto again = kfold::data::parse_a3m_string(written, "fuzz-written.a3m");
  if (again.sequences != msa.sequences || again.deletion_matrix != msa.deletion_matrix ||
      again.descriptions != msa.descriptions)
    kfold::fuzz::finding("A3M written by to_a3m reads back differently");
  return 0;
}
