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

// How a map's residues are numbered: chain A from `first_a`; with a chain break (0 < chain_break < n_res, a
// complex) the residues from it on are chain B, numbered from `first_b`.
struct PaeAxis {
  int64_t chain_break = 0;
  int64_t first_a = 1;
  int64_t first_b = 1;
};

// The residues the blocks start at, and n_res last: cells = min(n_res, max_cells) blocks; block b covers
// residues [b * n_res / cells, (b + 1) * n_res / cells). With a chain break each chain gets blocks of its own
// (in proportion to its length, at least one), so that no block mixes the chains.
std::vector<int64_t> pae_block_edges(int64_t n_res, int64_t max_cells, int64_t chain_break = 0);

// Mean PAE of each block: [cells][cells] row-major, blocks as pae_block_edges. Throws RuntimeError unless pae
// has n_res^2 values and n_res, max_cells >= 1.
std::vector<double> pae_blocks(const std::vector<double>& pae, int64_t n_res, int64_t max_cells,
                               int64_t chain_break = 0);

// The SVG (one <rect> per block with its residues, as `axis` numbers them, and mean in a <title>; a line at the
// chain break; a caption; a colour bar), about `size` pixels square; title is HTML-escaped.
std::string pae_heatmap_svg(const std::vector<double>& pae, int64_t n_res, const std::string& title,
                            const PaeAxis& axis = {}, int64_t max_cells = 32, double size = 220.0);

}  // namespace kfold::pipelines::agent
