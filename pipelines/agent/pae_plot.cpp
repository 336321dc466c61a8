// Block averaging and the SVG heat map of a PAE matrix.
#include "pipelines/agent/pae_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "data/error.hpp"
#include "pipelines/agent/report_html.hpp"

namespace kfold::pipelines::agent {
namespace {

// 0 Å: AlphaFold's dark green (#0f5a0f), kPaeScaleMax and above: white.
std::string pae_colour(double pae) {
  const double t = std::clamp(pae / kPaeScaleMax, 0.0, 1.0);
  const auto mix = [t](int from) { return static_cast<int>(std::lround(from + (255 - from) * t)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(15), mix(90), mix(15));
}

// Residues first .. last (0-based, inclusive) as the axis numbers them: "10-19", or "B1-B3" in a complex.
std::string residue_range(int64_t first, int64_t last, const PaeAxis& axis) {
  const bool complex = axis.chain_break > 0;
  const bool in_b = complex && first >= axis.chain_break;
  const int64_t offset = in_b ? axis.first_b - axis.chain_break : axis.first_a;
  const std::string chain = complex ? (in_b ? "B" : "A") : "";
  return fmt::format("{}{}-{}{}", chain, first + offset, chain, last + offset);
}

}  // namespace

std::vector<int64_t> pae_block_edges(int64_t n_res, int64_t max_cells, int64_t chain_break) {
  const int64_t cells = std::min(n_res, max_cells);
  std::vector<int64_t> edges;
  const auto add_blocks = [&edges](int64_t begin, int64_t end, int64_t n_blocks) {
    for (int64_t b = 0; b < n_blocks; ++b) edges.push_back(begin + b * (end - begin) / n_blocks);
  };
  if (chain_break > 0 && chain_break < n_res && cells >= 2) {
    const int64_t cells_a =
        std::clamp<int64_t>(std::llround(static_cast<double>(cells * chain_break) / n_res),
                            std::max<int64_t>(1, cells - (n_res - chain_break)), std::min(chain_break, cells - 1));
    add_blocks(0, chain_break, cells_a);
    add_blocks(chain_break, n_res, cells - cells_a);
  } else {
    add_blocks(0, n_res, cells);
  }
  edges.push_back(n_res);
  return edges;
}

std::vector<double> pae_blocks(const std::vector<double>& pae, int64_t n_res, int64_t max_cells, int64_t chain_break) {
  if (n_res < 1 || max_cells < 1 || static_cast<int64_t>(pae.size()) != n_res * n_res)
    fail_runtime("PAE plot: {} values for {} residues (expected {})", pae.size(), n_res, n_res * n_res);
  const auto edges = pae_block_edges(n_res, max_cells, chain_break);
  const auto cells = static_cast<int64_t>(edges.size()) - 1;
  std::vector<double> out(static_cast<size_t>(cells * cells), 0.0);
  for (int64_t bi = 0; bi < cells; ++bi) {
    for (int64_t bj = 0; bj < cells; ++bj) {
      double sum = 0.0;
      int64_t count = 0;
      for (int64_t i = edges[static_cast<size_t>(bi)]; i < edges[static_cast<size_t>(bi) + 1]; ++i)
        for (int64_t j = edges[static_cast<size_t>(bj)]; j < edges[static_cast<size_t>(bj) + 1]; ++j, ++count)
          sum += pae[static_cast<size_t>(i * n_res + j)];
      out[static_cast<size_t>(bi * cells + bj)] = sum / static_cast<double>(count);
    }
  }
  return out;
}

std::string pae_heatmap_svg(const std::vector<double>& pae, int64_t n_res, const std::string& title,
                            const PaeAxis& axis, int64_t max_cells, double size) {
  const std::vector<double> blocks = pae_blocks(pae, n_res, max_cells, axis.chain_break);
  const auto edges = pae_block_edges(n_res, max_cells, axis.chain_break);
  const auto cells = static_cast<int64_t>(edges.size()) - 1;
  const double cell = size / static_cast<double>(cells);
  const double left = 10.0, top = 22.0;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" role=\"img\" "
      "aria-label=\"predicted aligned error\">\n<text x=\"{:.1f}\" y=\"14\" font-size=\"11\">{}</text>\n",
      left + size + 10.0, top + size + 40.0, left, html_escape(title));
  const auto range = [&](int64_t b) {
    return residue_range(edges[static_cast<size_t>(b)], edges[static_cast<size_t>(b) + 1] - 1, axis);
  };
  for (int64_t bi = 0; bi < cells; ++bi) {
    for (int64_t bj = 0; bj < cells; ++bj) {
      const double v = blocks[static_cast<size_t>(bi * cells + bj)];
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>aligned on {}, "
          "error at {}: {:.1f} A</title></rect>\n",
          left + cell * static_cast<double>(bj), top + cell * static_cast<double>(bi), cell + 0.1, cell + 0.1,
          pae_colour(v), range(bi), range(bj), v);
    }
  }
  // The chain break: a line across and one down at the first block of chain B.
  if (const auto b = std::find(edges.begin(), edges.end(), axis.chain_break);
      axis.chain_break > 0 && b != edges.end() && b != edges.end() - 1) {
    const double at = cell * static_cast<double>(b - edges.begin());
    svg += fmt::format(
        "<line class=\"chain-break\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"#000\"/>"
        "<line class=\"chain-break\" x1=\"{3:.1f}\" y1=\"{4:.1f}\" x2=\"{5:.1f}\" y2=\"{4:.1f}\" stroke=\"#000\"/>\n",
        left + at, top, top + size, left, top + at, left + size);
  }
  // Colour bar: 0 .. kPaeScaleMax Å in six steps.
  const double bar_top = top + size + 8.0, step = size / 6.0;
  for (int k = 0; k < 6; ++k)
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"8\" fill=\"{}\"></rect>\n",
                       left + step * k, bar_top, step, pae_colour(kPaeScaleMax * (k + 0.5) / 6.0));
  svg += fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\">0 A</text>"
      "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\">{:.0f}+ A</text>\n",
      left, bar_top + 20.0, left + size, bar_top + 20.0, kPaeScaleMax);
  return svg + "</svg>\n";
}

}  // namespace kfold::pipelines::agent
