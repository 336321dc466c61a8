// The PAE heat map of report.html: block means against a hand computation, the SVG's cells, titles
// and colours, and bad sizes.
#include <doctest/doctest.h>

#include <string>

#include "pipelines/agent/pae_plot.hpp"

using namespace kfold::pipelines::agent;

namespace {

int64_t count(const std::string& text, const std::string& what) {
  int64_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("pae_blocks: means over residue blocks") {
  // 4 residues, PAE[i][j] = i + 10 j; into 2 x 2 blocks of 2 x 2 residues.
  std::vector<double> pae(16);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) pae[static_cast<size_t>(i * 4 + j)] = i + 10.0 * j;
  const auto b = pae_blocks(pae, 4, 2);
  REQUIRE(b.size() == 4u);
  CHECK(b[0] == doctest::Approx(0.5 + 5.0));   // rows 0-1, columns 0-1
  CHECK(b[1] == doctest::Approx(0.5 + 25.0));  // rows 0-1, columns 2-3
  CHECK(b[2] == doctest::Approx(2.5 + 5.0));
  CHECK(b[3] == doctest::Approx(2.5 + 25.0));
  CHECK(pae_blocks(pae, 4, 60) == pae);  // fewer residues than cells: unchanged
  // 5 residues into 2 blocks: [0, 2) and [2, 5).
  std::vector<double> ones(25, 1.0);
  ones[24] = 26.0;  // residue 5 with itself
  const auto uneven = pae_blocks(ones, 5, 2);
  CHECK(uneven[3] == doctest::Approx((8.0 + 26.0) / 9.0));
  CHECK_THROWS_WITH(pae_blocks(pae, 5, 2), doctest::Contains("PAE plot: 16 values for 5 residues"));
  CHECK_THROWS(pae_blocks(pae, 4, 0));
}

TEST_CASE("pae_heatmap_svg: one cell per block, titled, AlphaFold's colours, escaped caption") {
  std::vector<double> pae(100 * 100, 0.0);
  for (int i = 0; i < 100; ++i) pae[static_cast<size_t>(i * 100 + 99)] = 40.0;  // the last column: high
  const std::string svg = pae_heatmap_svg(pae, 100, "v1 <A23P>", 10);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("aria-label=\"predicted aligned error\"") != std::string::npos);
  CHECK(count(svg, "<title>aligned on") == 100);  // 10 x 10 blocks
  CHECK(svg.find("<title>aligned on 1-10, error at 1-10: 0.0 A</title>") != std::string::npos);
  CHECK(svg.find("<title>aligned on 1-10, error at 91-100: 4.0 A</title>") != std::string::npos);
  CHECK(svg.find("fill=\"#0f5a0f\"") != std::string::npos);  // 0 Å
  CHECK(svg.find("v1 &lt;A23P&gt;") != std::string::npos);
  CHECK(svg.find("<A23P>") == std::string::npos);
}
