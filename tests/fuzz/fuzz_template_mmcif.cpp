// Fuzz harness: template mmCIF files (data/template_structure.hpp: read_template_structure, AlphaFold's
// mmcif_parsing rules on gemmi's CIF parser). The input is written to a file (.cif, or .cif.gz when it
// starts as gzip does) and read; every chain's arrays are checked against its sequence length.
#include "data/error.hpp"
#include "data/residue_constants.hpp"
#include "data/template_structure.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const auto path = kfold::fuzz::write_scratch(gzip ? "fuzz.cif.gz" : "fuzz.cif", data, size);
  try {
    const auto structure = kfold::data::read_template_structure(path);
    namespace rc = kfold::data::rc;
    for (const auto& chain : structure.chains) {
      const auto n37 = static_cast<size_t>(chain.n_res() * rc::atom_type_num);
      if (chain.atom_mask.size() != n37 || chain.atom_positions.size() != 3 * n37)
        kfold::fuzz::finding("template chain arrays do not match its sequence length");
    }
  } catch (const kfold::Error&) {
    // Rejected with a message: what the reader should do with a bad file.
  }
  return 0;
}
