// Test tool: writes the example protein as example.pdb, example.cif and example.json (the
// expected values), and example.h5 (typed arrays), for the independent-reader checks in tests/python.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>

#include "data/atomic_output.hpp"
#include "data/hdf5_file.hpp"
#include "data/residue_constants.hpp"
#include "data/structure_io.hpp"
#include "example_protein.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_examples OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const kfold::data::Protein p = kfold::test::example_protein();
  const kfold::data::StructureHeader header{"kfold test structure", {"WARNING: random weights, not a prediction"}};
  kfold::data::write_pdb(dir / "example.pdb", p, header);
  kfold::data::write_mmcif(dir / "example.cif", p, header);
  nlohmann::json expected;
  for (int64_t i = 0; i < p.n_res(); ++i) {
    for (int64_t a = 0; a < kfold::data::rc::atom_type_num; ++a) {
      const auto k = static_cast<size_t>(i * kfold::data::rc::atom_type_num + a);
      if (p.atom_mask[k] < 0.5f) continue;
      expected["atoms"].push_back({
          {"chain", std::string(1, "AB"[p.chain_index[static_cast<size_t>(i)]])},
          {"res_id", p.residue_index[static_cast<size_t>(i)]},
          {"res_name", kfold::data::rc::resnames[static_cast<size_t>(p.aatype[static_cast<size_t>(i)])]},
          {"atom_name", kfold::data::rc::atom_types[static_cast<size_t>(a)]},
          {"xyz", {p.atom_positions[3 * k], p.atom_positions[3 * k + 1], p.atom_positions[3 * k + 2]}},
          {"b_factor", p.b_factors[k]},
      });
    }
  }
  kfold::data::write_file_atomic(dir / "example.json", expected.dump(1));

  kfold::data::H5Writer h5(dir / "example.h5");
  h5.write("final_atom_positions", p.atom_positions, {p.n_res(), kfold::data::rc::atom_type_num, 3});
  h5.write("aatype", std::vector<int32_t>(p.aatype.begin(), p.aatype.end()), {p.n_res()});
  h5.write_scalar<float>("ptm", 0.75f);
  h5.write_string("sequence", "MKTAYIAKQRWG");
  h5.set_attribute("kfold_warning", "random weights, not a prediction");
  h5.commit();
  return 0;
}
