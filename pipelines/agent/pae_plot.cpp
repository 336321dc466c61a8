// Block averaging and the SVG heat map of a PAE matrix.
#include "pipelines/agent/pae_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "data/error.hpp"
#include "pipelines/agent/report_html.hpp"

namespace kfold::pipelines::agent {
namespace {

int64_t block_begin(int64_t b, int64_t n_res, int64_t cells) { return b * n_res / cells; }

// 0 Å: AlphaFold's dark green (#0f5a0f), kPaeScaleMax and above: white.
std::string pae_colour(double pae) {
  const double t = std::clamp(pae / kPaeScaleMax, 0.0, 1.0);
  const auto mix = [t](int from) { return static_cast<int>(std::lround(from + (255 - from) * t)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(15), mix(90), mix(15));
}

}  // namespace

std::vector<double> pae_blocks(const std::vector<double>& pae, int64_t n_res, int64_t max_cells) {
  if (n_res < 1 || max_cells < 1 || static_cast<int64_t>(pae.size()) != n_res * n_res)
    fail_runtime("PAE plot: {} values for {} residues (expected {})", pae.size(), n_res, n_res * n_res);
  const int64_t cells = std::min(n_res, max_cells);
  std::vector<double> out(static_cast<size_t>(cells * cells), 0.0);
  for (int64_t bi = 0; bi < cells; ++bi) {
    for (int64_t bj = 0; bj < cells; ++bj) {
      double sum = 0.0;
      int64_t count = 0;
      for (int64_t i = block_begin(bi, n_res, cells); i < block_begin(bi + 1, n_res, cells); ++i)
        for (int64_t j = block_begin(bj, n_res, cells); j < block_begin(bj + 1, n_res, cells); ++j, ++count)
          sum += pae[static_cast<size_t>(i * n_res + j)];
      out[static_cast<size_t>(bi * cells + bj)] = sum / static_cast<double>(count);
    }
  }
  return out;
}

std::string pae_heatmap_svg(const std::vector<double>& pae, int64_t n_res, const std::string& title, int64_t max_cells,
                            double size) {
  const std::vector<double> blocks = pae_blocks(pae, n_res, max_cells);
  const int64_t cells = std::min(n_res, max_cells);
  const double cell = size / static_cast<double>(cells);
  const double left = 10.0, top = 22.0;
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" role=\"img\" "
      "aria-label=\"predicted aligned error\">\n<text x=\"{:.1f}\" y=\"14\" font-size=\"11\">{}</text>\n",
      left + size + 10.0, top + size + 40.0, left, html_escape(title));
  for (int64_t bi = 0; bi < cells; ++bi) {
    for (int64_t bj = 0; bj < cells; ++bj) {
      const double v = blocks[static_cast<size_t>(bi * cells + bj)];
      svg += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>aligned on {}-{}, "
          "error at {}-{}: {:.1f} A</title></rect>\n",
          left + cell * static_cast<double>(bj), top + cell * static_cast<double>(bi), cell + 0.1, cell + 0.1,
          pae_colour(v), block_begin(bi, n_res, cells) + 1, block_begin(bi + 1, n_res, cells),
          block_begin(bj, n_res, cells) + 1, block_begin(bj + 1, n_res, cells), v);
    }
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
