// Fuzz harness: PDB and mmCIF structure files (data/structure_io.hpp: read_structure, parse_structure
// through gemmi, as `kfold relax`, `kfold inspect` and the agent read them). Parses the input as text
// (format told by content), reads gzip input from a file, and writes what was read as mmCIF and PDB.
#include "data/error.hpp"
#include "data/log.hpp"
#include "data/structure_io.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = (kfold::set_log_level(kfold::LogLevel::quiet), true);  // the reader's warnings
  (void)quiet;
  kfold::data::Protein protein;
  try {
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)  // gzip: the file reader
      protein = kfold::data::read_structure(kfold::fuzz::write_scratch("fuzz.pdb.gz", data, size));
    else
      protein = kfold::data::parse_structure(kfold::fuzz::as_text(data, size), "fuzz.pdb");
  } catch (const kfold::Error&) {
    return 0;  // rejected with a message: what the reader should do with a bad file
  }
  // What was read goes to the writers, as `kfold relax` writes it back.
  try {
    (void)kfold::data::to_mmcif(protein);
  } catch (const kfold::Error&) {
  }
  try {
    (void)kfold::data::to_pdb(protein);
  } catch (const kfold::Error&) {
    // check_fits_pdb refuses what the PDB format cannot hold (long chain names, large coordinates)
  }
  return 0;
}
