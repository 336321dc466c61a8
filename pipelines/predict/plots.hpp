// The prediction's figures as AlphaFold's and ColabFold's notebooks draw them: plddt.png (pLDDT per
// residue, one line per model, over the AlphaFold DB confidence bands), pae.png (heat map of one model's
// predicted aligned error, 0..max colour scale with a colour bar) and msa_coverage.png (ColabFold's
// "Sequence coverage": the MSA's rows by identity to the query), rasterised without a plotting library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pipelines/predict/raster.hpp"

namespace kfold::pipelines {

struct PixelBox {  // [x0, x1) x [y0, y1) in image pixels
  int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

struct PlddtSeries {
  std::string model_name;
  std::vector<float> plddt;  // [n_res] 0..100
};

// The pLDDT plot's data area (x: residue 1 at x0 .. n_res at x1 - 1; y: 100 at y0 .. 0 at y1 - 1).
// The image is wider than x1 by the legend.
PixelBox plddt_plot_area();
// Line colour of the series at `index` (matplotlib's tab10 cycle).
Rgb series_colour(size_t index);
// AlphaFold DB's colour of a pLDDT band: >= 90 dark blue, 70..90 light blue, 50..70 yellow, < 50 orange.
Rgb plddt_band_colour(double plddt);

// Where each chain ends: the residue indices at which asym_id [n_res] changes, then n_res (empty asym_id: one
// chain, {n_res}).
std::vector<int64_t> chain_ends(std::span<const int32_t> asym_id, int64_t n_res);

// Every series must have the same n_res >= 1; InputError otherwise (or when there is none). A `warning` (a
// random-weight run's) is written in red under the title. A complex's chains (`chain_ends`) are split by black
// lines, as ColabFold draws them.
RgbImage plot_plddt(const std::vector<PlddtSeries>& series, std::string_view warning = {},
                    std::span<const int64_t> chain_ends = {});
void write_plddt_png(const std::filesystem::path& path, const std::vector<PlddtSeries>& series,
                     std::string_view warning = {}, std::span<const int64_t> chain_ends = {});

// The PAE heat map's area (cell [i, j]: aligned residue i down, scored residue j across, as
// matplotlib's imshow) and its colour bar's (max_pae at the top, 0 at the bottom).
PixelBox pae_plot_area();
PixelBox pae_colour_bar_area();
// The colour of an expected error: matplotlib's Greens_r from dark green (0) to white (max_pae).
Rgb pae_colour(double value, double max_pae);

// pae [n_res, n_res] row-major; max_pae > 0 (the head's largest bin centre, 31.75 for AlphaFold).
// When n_res exceeds the heat map's pixels, each pixel shows its nearest cell. A complex's chains (`chain_ends`)
// are split by black lines across and down, as ColabFold draws them.
RgbImage plot_pae(std::span<const float> pae, int64_t n_res, double max_pae, const std::string& model_name,
                  std::string_view warning = {}, std::span<const int64_t> chain_ends = {});
void write_pae_png(const std::filesystem::path& path, std::span<const float> pae, int64_t n_res, double max_pae,
                   const std::string& model_name, std::string_view warning = {},
                   std::span<const int64_t> chain_ends = {});

// The rows of msa_coverage.png as ColabFold's plot_msa_v2 orders them. msa [n_seq, n_res] HHblits ids
// (21: gap), row 0 the query; asym_id [n_res] the chain of each residue (empty: one chain). A row's
// identity is the sum over chains of (residues equal to the query's) / (chain length), over the number of
// chains the row covers (0 when none). Rows are grouped by the chains they cover (groups in ascending
// order of that 0/1 pattern, the rows of every chain last) and, within a group, by identity (ties: MSA order).
struct CoverageRows {
  std::vector<int64_t> order;       // MSA row indices, bottom of the plot to top
  std::vector<double> identity;     // [n_seq] per MSA row index
  std::vector<int64_t> group_ends;  // position in `order` where each group ends (the last is n_seq)
  std::vector<int64_t> chain_ends;  // residue index where each chain ends (the last is n_res)
};
CoverageRows coverage_rows(std::span<const int32_t> msa, int64_t n_seq, int64_t n_res,
                           std::span<const int32_t> asym_id);
// The colour of an identity to the query: matplotlib's rainbow_r (1: violet, 0.5: green-yellow, 0: red).
Rgb identity_colour(double identity);
// The coverage plot's area (position j across, rows bottom to top; each pixel its nearest cell, white for a
// gap) with the number of residues per column as a black line, and its colour bar's (1 at the top).
PixelBox coverage_plot_area();
PixelBox coverage_colour_bar_area();
RgbImage plot_msa_coverage(std::span<const int32_t> msa, int64_t n_seq, int64_t n_res,
                           std::span<const int32_t> asym_id);
void write_msa_coverage_png(const std::filesystem::path& path, std::span<const int32_t> msa, int64_t n_seq,
                            int64_t n_res, std::span<const int32_t> asym_id);

// "Nice" axis ticks (1, 2 or 5 times a power of ten) covering [lo, hi], at most about max_ticks of them.
std::vector<double> nice_ticks(double lo, double hi, int64_t max_ticks);

}  // namespace kfold::pipelines
