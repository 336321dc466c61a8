// Test tool: writes the example protein as example.pdb, example.cif and example.json (the
// expected values), and example.h5 (typed arrays), for the independent-reader checks in tests/python.
// `write_examples --predict OUT_DIR` writes the files of a prediction instead (confidence and PAE JSON,
// ranking_debug.json, timings.json, plddt.png, pae.png, unrelaxed structures) and predict_inputs.json
// (the values they were made from).
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "data/atomic_output.hpp"
#include "data/hdf5_file.hpp"
#include "data/residue_constants.hpp"
#include "data/structure_io.hpp"
#include "example_protein.hpp"
#include "pipelines/predict/confidence_json.hpp"
#include "pipelines/predict/plots.hpp"
#include "pipelines/predict/prediction_protein.hpp"
#include "pipelines/predict/random_weights_warning.hpp"
#include "pipelines/predict/ranking.hpp"
#include "pipelines/predict/timings.hpp"

namespace {

// A two-model prediction of the example protein with pLDDT across all four confidence bands
// (rounding ties included) and an asymmetric PAE matrix.
void write_prediction_examples(const std::filesystem::path& dir) {
  namespace kp = kfold::pipelines;
  const kfold::data::Protein p = kfold::test::example_protein();
  const int64_t n = p.n_res();
  const std::vector<std::string> models = {"model_1_ptm", "model_2_ptm"};
  std::vector<std::vector<float>> plddt(2), pae(2);
  for (int64_t i = 0; i < n; ++i) {
    plddt[0].push_back(static_cast<float>(20.0 + 7.2 * static_cast<double>(i)));
    plddt[1].push_back(i == 0 ? 0.125f : static_cast<float>(95.0 - 3.14159 * static_cast<double>(i)));
  }
  for (size_t m = 0; m < 2; ++m)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        pae[m].push_back(static_cast<float>(0.25 + 2.35 * std::abs(static_cast<double>(i - j)) +
                                            0.05 * static_cast<double>(j) + 3.0 * static_cast<double>(m)));
  const double max_pae = 31.75;
  std::vector<kp::ModelScore> scores;
  kp::Timings timings;
  timings.add("features", 0.5);
  std::vector<kp::PlddtSeries> series;
  for (size_t m = 0; m < 2; ++m) {
    kp::write_confidence_json(dir / ("confidence_" + models[m] + ".json"), plddt[m]);
    kp::write_pae_json(dir / ("pae_" + models[m] + ".json"), pae[m], n, max_pae);
    double mean = 0;
    for (const float v : plddt[m]) mean += v;
    scores.push_back({models[m], mean / static_cast<double>(n)});
    timings.add("predict_and_compile_" + models[m], 1.25 + static_cast<double>(m));
    series.push_back({models[m], plddt[m]});
  }
  kp::write_ranking_debug_json(dir / "ranking_debug.json", scores, kp::RankBy::plddt);
  timings.write(dir / "timings.json");
  kp::write_plddt_png(dir / "plddt.png", series, kp::kRandomWeightsPlotWarning);
  const auto best = kp::rank_models(scores).front() == models[0] ? size_t{0} : size_t{1};
  kp::write_pae_png(dir / "pae.png", pae[best], n, max_pae, models[best], kp::kRandomWeightsPlotWarning);

  std::vector<int64_t> residue_index;
  for (const int64_t r : p.residue_index) residue_index.push_back(r - 1);
  const auto protein =
      kp::protein_from_prediction({p.aatype, residue_index, p.atom_positions, p.atom_mask, plddt[0], p.chain_index});
  const auto header = kp::prediction_header(models[0], {kp::kRandomWeightsWarning});
  kfold::data::write_pdb(dir / ("unrelaxed_" + models[0] + ".pdb"), protein, header);
  kfold::data::write_mmcif(dir / ("unrelaxed_" + models[0] + ".cif"), protein, header);

  const auto box = [](const kp::PixelBox& b) { return nlohmann::json::array({b.x0, b.y0, b.x1, b.y1}); };
  nlohmann::json inputs = {{"models", models},
                           {"plddt", plddt},
                           {"pae", pae},
                           {"n_res", n},
                           {"max_pae", max_pae},
                           {"mean_plddt", {scores[0].ranking_confidence, scores[1].ranking_confidence}},
                           {"pae_model", models[best]},
                           {"pae_plot_area", box(kp::pae_plot_area())},
                           {"pae_colour_bar_area", box(kp::pae_colour_bar_area())},
                           {"plddt_plot_area", box(kp::plddt_plot_area())}};
  kfold::data::write_file_atomic(dir / "predict_inputs.json", inputs.dump(1));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--predict") {
    write_prediction_examples(argv[2]);
    return 0;
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_examples OUT_DIR | write_examples --predict OUT_DIR\n");
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
