// AlphaFold DB confidence files (confidence_<model>.json, pae_<model>.json).
#include "pipelines/predict/confidence_json.hpp"

#include <cmath>
#include <cstdlib>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "pipelines/predict/json_text.hpp"

namespace kfold::pipelines {

namespace {

// `value` rounded to `decimals` decimals and written as Python's repr of the rounded double.
// AlphaFold rounds pLDDT with Python's round(x, 2) (correctly rounded, ties to even) and PAE with
// numpy.round(x, 1) (rint(x * 10) / 10). For float32 inputs both are exactly rint(x * 10^d) / 10^d:
// x * 10^d is exact in double (24 + 7 significant bits), so rint sees the exact value. The text is
// then the decimal k / 10^d itself, which is the shortest repr of the nearest double.
std::string rounded(float value, int decimals, const char* what) {
  if (!std::isfinite(value)) fail_runtime("{}: cannot write the non-finite value {}", what, value);
  const double scale = decimals == 1 ? 10.0 : 100.0;
  const double k = std::nearbyint(static_cast<double>(value) * scale);  // ties to even
  const auto units = static_cast<long long>(std::fabs(k));
  const long long whole = units / static_cast<long long>(scale);
  long long fraction = units % static_cast<long long>(scale);
  std::string text = std::signbit(k) ? "-" : "";
  text += std::to_string(whole) + ".";
  if (fraction == 0) return text + "0";
  if (decimals == 2 && fraction < 10) text += "0";
  if (decimals == 2 && fraction % 10 == 0) fraction /= 10;
  return text + std::to_string(fraction);
}

}  // namespace

char confidence_category(double plddt) {
  if (plddt >= 0 && plddt < 50) return 'D';
  if (plddt >= 50 && plddt < 70) return 'L';
  if (plddt >= 70 && plddt < 90) return 'M';
  if (plddt >= 90 && plddt <= 100) return 'H';
  fail_runtime("invalid pLDDT score {} (expected 0..100)", plddt);
}

std::string confidence_json(std::span<const float> plddt) {
  std::string numbers, scores, categories;
  for (size_t i = 0; i < plddt.size(); ++i) {
    const char* sep = i ? "," : "";
    numbers += sep + std::to_string(i + 1);
    scores += sep + rounded(plddt[i], 2, "confidence JSON");
    categories += std::string(sep) + '"' + confidence_category(plddt[i]) + '"';
  }
  return "{\"residueNumber\":[" + numbers + "],\"confidenceScore\":[" + scores + "],\"confidenceCategory\":[" +
         categories + "]}";
}

std::string pae_json(std::span<const float> pae, int64_t n_res, double max_pae) {
  if (n_res < 0 || static_cast<int64_t>(pae.size()) != n_res * n_res)
    fail_input("PAE must be a square matrix: {} values for {} residues", pae.size(), n_res);
  std::string out = "[{\"predicted_aligned_error\":[";
  out.reserve(out.size() + pae.size() * 5 + 64);
  for (int64_t i = 0; i < n_res; ++i) {
    out += i ? ",[" : "[";
    for (int64_t j = 0; j < n_res; ++j) {
      if (j) out += ',';
      out += rounded(pae[static_cast<size_t>(i * n_res + j)], 1, "PAE JSON");
    }
    out += ']';
  }
  return out + "],\"max_predicted_aligned_error\":" + python_float(max_pae) + "}]";
}

void write_confidence_json(const std::filesystem::path& path, std::span<const float> plddt) {
  data::write_file_atomic(path, confidence_json(plddt));
}

void write_pae_json(const std::filesystem::path& path, std::span<const float> pae, int64_t n_res, double max_pae) {
  data::write_file_atomic(path, pae_json(pae, n_res, max_pae));
}

}  // namespace kfold::pipelines
