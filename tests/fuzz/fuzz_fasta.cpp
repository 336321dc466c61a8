// Fuzz harness: FASTA (data/fasta.hpp). Parses the input as text (with and without the unique-id
// check), checks that what to_fasta writes reads back the same, and reads gzip input from a file.
#include <vector>

#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/header_text.hpp"
#include "fuzz_support.hpp"

using kfold::data::Sequence;

namespace {

// The same records; with portable_headers, headers that the writer changes (data/header_text.hpp) may differ.
bool same(const std::vector<Sequence>& a, const std::vector<Sequence>& b, bool portable_headers) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const bool changed = portable_headers && (kfold::data::portable_header_text(a[i].id, '_') != a[i].id ||
                                              kfold::data::portable_header_text(a[i].description) != a[i].description);
    if (a[i].residues != b[i].residues || (!changed && (a[i].id != b[i].id || a[i].description != b[i].description)))
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = kfold::fuzz::as_text(data, size);
  try {
    (void)kfold::data::parse_fasta(text, "fuzz.fasta");
  } catch (const kfold::Error&) {
    // Rejected with a message: what the parser should do with bad input.
  }
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {  // gzip: the streaming file reader
    try {
      (void)kfold::data::read_fasta(kfold::fuzz::write_scratch("fuzz.fasta.gz", data, size));
    } catch (const kfold::Error&) {
    }
    return 0;
  }
  std::vector<Sequence> records;
  try {
    records = kfold::data::parse_fasta(text, "fuzz.fasta", {.unique_ids = false});
  } catch (const kfold::Error&) {
    return 0;
  }
  std::string written;
  try {
    written = kfold::data::to_fasta(records, 60);
  } catch (const kfold::InputError&) {
    return 0;  // a record the writer refuses (documented: ids or descriptions that would not read back)
  }
  // Reading the writer's output must succeed and give the same records, but for headers the writer makes
  // portable (control characters and line separators as spaces: data/header_text.hpp); what was read back is
  // a fixed point of writing and reading.
  const auto again = kfold::data::parse_fasta(written, "fuzz-written.fasta", {.unique_ids = false});
  const auto third =
      kfold::data::parse_fasta(kfold::data::to_fasta(again, 60), "fuzz-written-again.fasta", {.unique_ids = false});
  if (!same(records, again, /*portable_headers=*/true) || !same(again, third, /*portable_headers=*/false))
    kfold::fuzz::finding("FASTA written by to_fasta reads back differently");
  return 0;
}
