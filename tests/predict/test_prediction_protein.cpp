// protein_from_prediction: AlphaFold's protein.from_prediction layout (1-based residue numbers,
// pLDDT as every atom's B-factor) and its round trip through data/structure_io's PDB and mmCIF writers.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "data/error.hpp"
#include "data/residue_constants.hpp"
#include "data/structure_io.hpp"
#include "example_protein.hpp"
#include "pipelines/predict/prediction_protein.hpp"
#include "pipelines/predict/random_weights_warning.hpp"
#include "test_support.hpp"

namespace kp = kfold::pipelines;
namespace rc = kfold::data::rc;

TEST_CASE("A prediction becomes a Protein with pLDDT B-factors and writes as PDB and mmCIF") {
  const auto example = kfold::test::example_protein();  // 12 residues, two chains
  std::vector<int64_t> residue_index;
  for (const int64_t r : example.residue_index) residue_index.push_back(r - 1);  // features are 0-based
  std::vector<float> plddt;
  for (int64_t i = 0; i < example.n_res(); ++i) plddt.push_back(30.0f + 5.5f * static_cast<float>(i));

  kp::PredictionArrays prediction{example.aatype,    residue_index, example.atom_positions,
                                  example.atom_mask, plddt,         example.chain_index};
  const auto protein = kp::protein_from_prediction(prediction);
  CHECK(protein.residue_index == example.residue_index);
  CHECK(protein.chain_index == example.chain_index);
  CHECK(protein.atom_positions == example.atom_positions);
  REQUIRE(protein.b_factors.size() == plddt.size() * rc::atom_type_num);
  for (size_t i = 0; i < plddt.size(); ++i)
    for (size_t a = 0; a < rc::atom_type_num; ++a) CHECK(protein.b_factors[i * rc::atom_type_num + a] == plddt[i]);

  // Without chain_index: one chain A.
  prediction.chain_index = {};
  CHECK(kp::protein_from_prediction(prediction).chain_index == std::vector<int64_t>(plddt.size(), 0));

  kfold::test::ScratchDir dir("prediction_protein");
  const auto header = kp::prediction_header("model_1_ptm", {"WARNING: random weights, not a prediction"});
  CHECK(header.title == "kfold prediction: model_1_ptm");
  // A random-weight structure's title says so (readers keep titles, not comments), and its mmCIF has the remark
  // as data.
  const auto demo = kp::prediction_header("model_1_ptm", {kp::kRandomWeightsWarning});
  CHECK(demo.title == "kfold random-weight demo, not a prediction: model_1_ptm");
  CHECK(kfold::data::to_mmcif(protein, demo).find("_database_PDB_remark.text") != std::string::npos);
  // The data block and _entry.id are the model's name (AlphaFold's file_id), not one name for every file.
  CHECK(kfold::data::to_mmcif(protein, demo).find("data_model_1_ptm\n") != std::string::npos);
  CHECK(kfold::data::to_mmcif(protein, demo).find("_entry.id 'model_1_ptm'\n") != std::string::npos);
  CHECK(header.b_factors_are_plddt);
  // pLDDT as ModelCIF quality metrics only where the B-factors are pLDDTs (not for any structure relaxed).
  CHECK(kfold::data::to_mmcif(protein, header).find("_ma_qa_metric_local.metric_value") != std::string::npos);
  CHECK(kfold::data::to_mmcif(protein, {}).find("_ma_qa_metric") == std::string::npos);
  {
    // The global pLDDT is the mean over every residue, as ranking_debug.json has it, also over residues
    // without atoms (an X in the query), which have no local row.
    auto atomless = protein;
    for (size_t k = 0; k < rc::atom_type_num; ++k) atomless.atom_mask[k] = 0.0f;  // residue 0 (pLDDT 30)
    double mean = 0.0;
    for (const float v : plddt) mean += v / static_cast<double>(plddt.size());
    const std::string cif = kfold::data::to_mmcif(atomless, header);
    CHECK(cif.find(fmt::format("_ma_qa_metric_global.metric_value\n1 1 1 {:.2f}\n", mean)) != std::string::npos);
    CHECK(cif.find("_ma_model_list.model_type\n1 1 1 'kfold prediction: model_1_ptm'") != std::string::npos);
    CHECK(cif.find("_audit_conform.dict_name mmcif_ma.dic") != std::string::npos);
  }
  kfold::data::write_pdb(dir / "unrelaxed_model_1_ptm.pdb", protein, header);
  kfold::data::write_mmcif(dir / "unrelaxed_model_1_ptm.cif", protein, header);
  for (const char* name : {"unrelaxed_model_1_ptm.pdb", "unrelaxed_model_1_ptm.cif"}) {
    const auto back = kfold::data::read_structure(dir / name);
    CHECK(back.residue_index == protein.residue_index);
    CHECK(back.aatype == protein.aatype);
    REQUIRE(back.b_factors.size() == protein.b_factors.size());
    for (size_t k = 0; k < back.b_factors.size(); ++k)
      if (back.atom_mask[k] > 0.5f) CHECK(back.b_factors[k] == doctest::Approx(protein.b_factors[k]).epsilon(1e-4));
  }
}

TEST_CASE("protein_from_prediction rejects inconsistent arrays") {
  const std::vector<int64_t> aatype = {0, 21};
  const std::vector<int64_t> residue_index = {0, 1};
  const std::vector<float> positions(2 * 37 * 3, 0.0f), mask(2 * 37, 1.0f), plddt = {50.0f, 60.0f};
  CHECK_THROWS_AS(kp::protein_from_prediction({aatype, residue_index, positions, mask, plddt}), kfold::InputError);
  const std::vector<int64_t> ok = {0, 20};
  CHECK_NOTHROW(kp::protein_from_prediction({ok, residue_index, positions, mask, plddt}));
  const std::vector<float> short_plddt = {50.0f};
  CHECK_THROWS_AS(kp::protein_from_prediction({ok, residue_index, positions, mask, short_plddt}), kfold::InputError);
  CHECK_THROWS_AS(kp::protein_from_prediction({ok, residue_index, std::span(positions).first(10), mask, plddt}),
                  kfold::InputError);
}

TEST_CASE("chains_from_asym_id: one chain per id in order, each numbered from its first residue") {
  // ColabFold's complex of the monomer models: chain B's residue_index jumps by 200 (a gap inside it kept).
  const std::vector<int32_t> asym_id{3, 3, 3, 1, 1, 1};
  const std::vector<int64_t> residue_index{0, 1, 2, 203, 204, 206};
  const auto [chain, index] = kp::chains_from_asym_id(asym_id, residue_index);
  CHECK(chain == std::vector<int64_t>{0, 0, 0, 1, 1, 1});
  CHECK(index == std::vector<int64_t>{0, 1, 2, 0, 1, 3});
  CHECK_THROWS_AS(kp::chains_from_asym_id(asym_id, std::vector<int64_t>{0, 1}), kfold::InputError);
}
