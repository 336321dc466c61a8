// confidence_<model>.json and pae_<model>.json: byte-identical to AlphaFold's confidence.confidence_json
// and confidence.pae_json (expected strings made by those functions on the same float32 inputs,
// including rounding ties and values just below a category edge); JSON text helpers against json.dumps.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "data/error.hpp"
#include "pipelines/predict/confidence_json.hpp"
#include "pipelines/predict/json_text.hpp"
#include "test_support.hpp"

namespace kp = kfold::pipelines;

namespace {
std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TEST_CASE("confidence_json matches AlphaFold's confidence.confidence_json") {
  const std::vector<float> plddt = {0.0f,     12.345f, 49.999f, 50.0f,  69.995f, 70.004f,
                                    89.9951f, 90.0f,   99.0f,   0.125f, 0.375f,  33.333f};
  // Made by AlphaFold v2.3's confidence_json(np.array(plddt, np.float32)): 49.999 rounds to 50.0 but stays
  // 'D' (the category uses the unrounded score); 0.125 -> 0.12 and 0.375 -> 0.38 (ties to even).
  CHECK(kp::confidence_json(plddt) ==
        "{\"residueNumber\":[1,2,3,4,5,6,7,8,9,10,11,12],"
        "\"confidenceScore\":[0.0,12.35,50.0,50.0,70.0,70.0,90.0,90.0,99.0,0.12,0.38,33.33],"
        "\"confidenceCategory\":[\"D\",\"D\",\"D\",\"L\",\"L\",\"M\",\"M\",\"H\",\"H\",\"D\",\"D\",\"D\"]}");
  CHECK(kp::confidence_json({}) == "{\"residueNumber\":[],\"confidenceScore\":[],\"confidenceCategory\":[]}");
  CHECK(kp::confidence_category(100.0) == 'H');
  CHECK_THROWS_AS(kp::confidence_category(100.5), kfold::RuntimeError);
  CHECK_THROWS_AS(kp::confidence_category(-0.1), kfold::RuntimeError);
  const std::vector<float> nan = {std::numeric_limits<float>::quiet_NaN()};
  CHECK_THROWS_AS(kp::confidence_json(nan), kfold::RuntimeError);
}

TEST_CASE("pae_json matches AlphaFold's confidence.pae_json") {
  // AlphaFold's own test case (notebook_utils_test / confidence_test).
  const std::vector<float> pae = {0.01f, 13.12345f, 20.0987f, 0.0f};
  CHECK(kp::pae_json(pae, 2, 31.75) ==
        "[{\"predicted_aligned_error\":[[0.0,13.1],[20.1,0.0]],\"max_predicted_aligned_error\":31.75}]");
  // numpy.round ties to even (0.25 -> 0.2, 2.5 stays, 0.75 -> 0.8) and float32 inputs (0.35f < 0.35).
  const std::vector<float> pae3 = {0.25f, 0.35f, 0.05f, 1.45f, 31.74f, 2.5f, 0.75f, 0.15f, 7.0f};
  CHECK(kp::pae_json(pae3, 3, 31.0) ==
        "[{\"predicted_aligned_error\":[[0.2,0.3,0.1],[1.5,31.7,2.5],[0.8,0.2,7.0]],"
        "\"max_predicted_aligned_error\":31.0}]");
  CHECK_THROWS_AS(kp::pae_json(pae3, 2, 31.0), kfold::InputError);
}

TEST_CASE("Confidence JSON files are written atomically") {
  kfold::test::ScratchDir dir("confidence_json");
  const std::vector<float> plddt = {91.5f, 42.0f};
  kp::write_confidence_json(dir / "confidence_model_1.json", plddt);
  kp::write_pae_json(dir / "pae_model_1.json", std::vector<float>{0.5f, 3.0f, 4.0f, 0.5f}, 2, 31.75);
  CHECK(read_text(dir / "confidence_model_1.json") == kp::confidence_json(plddt));
  CHECK(read_text(dir / "pae_model_1.json") ==
        "[{\"predicted_aligned_error\":[[0.5,3.0],[4.0,0.5]],\"max_predicted_aligned_error\":31.75}]");
  size_t n_files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) ++n_files;
  CHECK(n_files == 2);  // no temporary files left
  CHECK_THROWS_AS(kp::write_confidence_json(dir / "missing/confidence.json", plddt), kfold::InputError);
}

TEST_CASE("python_float and json_string write what json.dumps writes") {
  CHECK(kp::python_float(50.0) == "50.0");
  CHECK(kp::python_float(31.75) == "31.75");
  CHECK(kp::python_float(0.1) == "0.1");
  CHECK(kp::python_float(1e-05) == "1e-05");
  CHECK(kp::python_float(1e16) == "1e+16");
  CHECK(kp::python_float(123456.789) == "123456.789");
  CHECK(kp::python_float(-2.5) == "-2.5");
  CHECK_THROWS_AS(kp::python_float(std::numeric_limits<double>::infinity()), kfold::RuntimeError);
  // json.dumps("a\"b\\c\n\u00e9\U0001F600\x7f\x01")
  CHECK(kp::json_string("a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80\x7f\x01") ==
        "\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\\u007f\\u0001\"");
  CHECK(kp::json_string("model_1_ptm") == "\"model_1_ptm\"");
}
