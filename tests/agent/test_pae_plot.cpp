// The PAE heat map of report.html: block means against a hand computation, the SVG's cells, titles
// and colours, and bad sizes.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

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
  const std::string svg = pae_heatmap_svg(pae, 100, "v1 <A23P>", {}, 10);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("aria-label=\"predicted aligned error\"") != std::string::npos);
  CHECK(count(svg, "<title>aligned on") == 100);  // 10 x 10 blocks
  CHECK(svg.find("<title>aligned on 1-10, error at 1-10: 0.0 A</title>") != std::string::npos);
  CHECK(svg.find("<title>aligned on 1-10, error at 91-100: 4.0 A</title>") != std::string::npos);
  CHECK(svg.find("fill=\"#0f5a0f\"") != std::string::npos);  // 0 Å
  CHECK(svg.find("v1 &lt;A23P&gt;") != std::string::npos);
  CHECK(svg.find("<A23P>") == std::string::npos);
}

TEST_CASE("pae_heatmap_svg: a complex's blocks stay within a chain, numbered per chain, with a line at the break") {
  // 76 + 9 residues into 32 cells: chain A gets round(32 x 76 / 85) = 29 blocks, chain B 3 (blocks of 3 residues).
  const auto edges = pae_block_edges(85, 32, 76);
  REQUIRE(edges.size() == 33u);
  CHECK(edges[29] == 76);
  CHECK(std::vector<int64_t>(edges.begin() + 29, edges.end()) == std::vector<int64_t>{76, 79, 82, 85});
  CHECK(pae_block_edges(10, 32, 9).size() == 11u);                       // 10 cells: one residue each
  CHECK(pae_block_edges(85, 2, 84) == std::vector<int64_t>{0, 84, 85});  // at least one block per chain
  // PAE 0 within the chains, 20 between: no block mixes them, so no cell shows a mean between 0 and 20.
  std::vector<double> pae(85 * 85);
  for (int64_t i = 0; i < 85; ++i)
    for (int64_t j = 0; j < 85; ++j) pae[static_cast<size_t>(i * 85 + j)] = (i < 76) == (j < 76) ? 0.0 : 20.0;
  for (const double v : pae_blocks(pae, 85, 32, 76)) CHECK((v == 0.0 || v == 20.0));
  const std::string svg = pae_heatmap_svg(pae, 85, "complex", {76, 10, 1});
  CHECK(svg.find("<title>aligned on A10-A11, error at B7-B9: 20.0 A</title>") != std::string::npos);
  CHECK(count(svg, "class=\"chain-break\"") == 2);
  CHECK(pae_heatmap_svg(pae, 85, "one chain").find("chain-break") == std::string::npos);
}
