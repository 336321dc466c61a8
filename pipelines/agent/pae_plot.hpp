// A predicted-aligned-error matrix as an inline SVG heat map for report.html: AlphaFold's convention
// (row i: aligned on residue i, column j: the error at residue j; dark green 0 Å to white at 30 Å and
// above), averaged into at most max_cells x max_cells blocks so that long proteins stay small (32 x 32:
// ~180 kB per map).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kfold::pipelines::agent {

inline constexpr double kPaeScaleMax = 30.0;  // Å: white and above

// Mean PAE of each block: [cells][cells] row-major with cells = min(n_res, max_cells); block b covers
// residues [b * n_res / cells, (b + 1) * n_res / cells). Throws RuntimeError unless pae has n_res^2
// values and n_res, max_cells >= 1.
std::vector<double> pae_blocks(const std::vector<double>& pae, int64_t n_res, int64_t max_cells);

// The SVG (one <rect> per block with its residue range and mean in a <title>, a caption, a colour bar),
// about `size` pixels square; title is HTML-escaped.
std::string pae_heatmap_svg(const std::vector<double>& pae, int64_t n_res, const std::string& title,
                            int64_t max_cells = 32, double size = 220.0);

}  // namespace kfold::pipelines::agent
