// A prediction as a data::Protein (AlphaFold's protein.from_prediction).
#include "pipelines/predict/prediction_protein.hpp"

#include <algorithm>

#include "data/error.hpp"
#include "data/residue_constants.hpp"
#include "pipelines/predict/random_weights_warning.hpp"
#include "pipelines/version.hpp"

namespace kfold::pipelines {

namespace rc = data::rc;

data::Protein protein_from_prediction(const PredictionArrays& prediction) {
  const size_t n_res = prediction.aatype.size();
  const size_t n37 = n_res * static_cast<size_t>(rc::atom_type_num);
  const auto check = [&](size_t have, size_t want, const char* name, const char* shape) {
    if (have != want)
      fail_input("prediction {} has {} values, expected {} for {} residues ({})", name, have, want, n_res, shape);
  };
  check(prediction.residue_index.size(), n_res, "residue_index", "[n_res]");
  check(prediction.final_atom_positions.size(), 3 * n37, "final_atom_positions", "[n_res, 37, 3]");
  check(prediction.final_atom_mask.size(), n37, "final_atom_mask", "[n_res, 37]");
  check(prediction.plddt.size(), n_res, "plddt", "[n_res]");
  if (!prediction.chain_index.empty()) check(prediction.chain_index.size(), n_res, "chain_index", "[n_res]");

  data::Protein p;
  p.aatype.assign(prediction.aatype.begin(), prediction.aatype.end());
  for (size_t i = 0; i < n_res; ++i)
    if (p.aatype[i] < 0 || p.aatype[i] > rc::unk_restype_index)
      fail_input("prediction aatype {} at residue {} is out of range [0, {}]", p.aatype[i], i, rc::unk_restype_index);
  p.atom_positions.assign(prediction.final_atom_positions.begin(), prediction.final_atom_positions.end());
  p.atom_mask.assign(prediction.final_atom_mask.begin(), prediction.final_atom_mask.end());
  p.residue_index.reserve(n_res);
  for (const int64_t r : prediction.residue_index) p.residue_index.push_back(r + 1);
  if (prediction.chain_index.empty())
    p.chain_index.assign(n_res, 0);
  else
    p.chain_index.assign(prediction.chain_index.begin(), prediction.chain_index.end());
  p.b_factors.reserve(n37);
  for (const float v : prediction.plddt) p.b_factors.insert(p.b_factors.end(), rc::atom_type_num, v);
  p.check_shapes();
  return p;
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> chains_from_asym_id(std::span<const int32_t> asym_id,
                                                                          std::span<const int64_t> residue_index) {
  if (asym_id.size() != residue_index.size())
    fail_input("asym_id has {} values for {} residues", asym_id.size(), residue_index.size());
  std::vector<int64_t> chain(asym_id.size()), index(asym_id.size());
  int64_t chain_number = 0;
  size_t start = 0;  // the current chain's first residue
  for (size_t i = 0; i < asym_id.size(); ++i) {
    if (i > 0 && asym_id[i] != asym_id[i - 1]) {
      ++chain_number;
      start = i;
    }
    chain[i] = chain_number;
    index[i] = residue_index[i] - residue_index[start];
  }
  return {std::move(chain), std::move(index)};
}

data::StructureHeader prediction_header(const std::string& model_name, const std::vector<std::string>& remarks) {
  // A random-weight structure says so in its title too (mmCIF's _struct.title, the PDB's TITLE), which every
  // reader keeps, unlike comments.
  const bool random = std::find(remarks.begin(), remarks.end(), kRandomWeightsWarning) != remarks.end();
  return data::StructureHeader{
      (random ? "kfold random-weight demo, not a prediction: " : "kfold prediction: ") + model_name, remarks,
      /*b_factors_are_plddt=*/true, std::string("kfold ") + kVersion, model_name};
}

}  // namespace kfold::pipelines
