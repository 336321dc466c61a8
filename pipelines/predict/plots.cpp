// plddt.png, pae.png and msa_coverage.png: the prediction's figures, rasterised into an RGB image.
#include "pipelines/predict/plots.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <numbers>

#include "data/error.hpp"

namespace kfold::pipelines {

namespace {

constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kBlack{0, 0, 0};
constexpr Rgb kGrey{110, 110, 110};
constexpr Rgb kWarningRed{200, 0, 0};
constexpr int64_t kFont = 2;  // font pixel size for labels and ticks
constexpr int64_t kTickLength = 5;

// The title's top: 16, or 8 with a warning (random weights: not a prediction), which goes in red between the
// title and the plot (at y 50), in upper case, whose letters have no descent.
int64_t title_y(std::string_view warning) { return warning.empty() ? 16 : 8; }
void draw_warning(RgbImage& image, const PixelBox& area, std::string_view warning) {
  if (!warning.empty()) image.draw_text((area.x0 + area.x1) / 2, 30, warning, kWarningRed, kFont, TextAnchor::center);
}

// A one-pixel black frame just outside `area`.
void draw_frame(RgbImage& image, const PixelBox& area) {
  image.fill_rect(area.x0 - 1, area.y0 - 1, area.x1 + 1, area.y0, kBlack);
  image.fill_rect(area.x0 - 1, area.y1, area.x1 + 1, area.y1 + 1, kBlack);
  image.fill_rect(area.x0 - 1, area.y0 - 1, area.x0, area.y1 + 1, kBlack);
  image.fill_rect(area.x1, area.y0 - 1, area.x1 + 1, area.y1 + 1, kBlack);
}

void draw_x_tick(RgbImage& image, const PixelBox& area, int64_t x, const std::string& label) {
  image.fill_rect(x, area.y1 + 1, x + 1, area.y1 + 1 + kTickLength, kBlack);
  image.draw_text(x, area.y1 + kTickLength + 4, label, kBlack, kFont, TextAnchor::center);
}

void draw_y_tick(RgbImage& image, int64_t x_axis, int64_t y, const std::string& label) {
  image.fill_rect(x_axis - 1 - kTickLength, y, x_axis - 1, y + 1, kBlack);
  image.draw_text(x_axis - kTickLength - 5 - text_width(label, kFont), y - text_height(kFont) / 2 + 1, label, kBlack,
                  kFont);
}

std::string tick_label(double value) {
  return std::abs(value - std::round(value)) < 1e-9 ? fmt::format("{}", std::llround(value))
                                                    : fmt::format("{:g}", value);
}

// Residue ticks (1-based numbers) for an axis over n_res residues: residue 1, then nice numbers
// unless the first would crowd it (closer than a third of a step).
std::vector<int64_t> residue_ticks(int64_t n_res) {
  const auto nice = nice_ticks(1.0, static_cast<double>(n_res), 8);
  const double step = nice.size() > 1 ? nice[1] - nice[0] : 1.0;
  std::vector<int64_t> ticks = {1};
  for (const double t : nice) {
    const auto r = static_cast<int64_t>(std::llround(t));
    if (r > 1 && r <= n_res && (static_cast<double>(r - 1) >= step / 3.0 || ticks.size() > 1)) ticks.push_back(r);
  }
  return ticks;
}

// A vertical colour bar of `colour_of(value)` from max at its top row to 0 at its bottom, framed, with ticks
// on its right and `label` beside them.
template <typename ColourOf>
void draw_colour_bar(RgbImage& image, const PixelBox& bar, double max, const ColourOf& colour_of,
                     const std::string& label) {
  const int64_t bar_h = bar.y1 - bar.y0;
  for (int64_t y = 0; y < bar_h; ++y) {
    const double value = max * static_cast<double>(bar_h - 1 - y) / static_cast<double>(bar_h - 1);
    image.fill_rect(bar.x0, bar.y0 + y, bar.x1, bar.y0 + y + 1, colour_of(value));
  }
  draw_frame(image, bar);
  for (const double v : nice_ticks(0.0, max, 7)) {
    const auto y = bar.y0 + static_cast<int64_t>(std::lround(static_cast<double>(bar_h - 1) * (1.0 - v / max)));
    image.fill_rect(bar.x1 + 1, y, bar.x1 + 1 + kTickLength, y + 1, kBlack);
    image.draw_text(bar.x1 + kTickLength + 5, y - text_height(kFont) / 2 + 1, tick_label(v), kBlack, kFont);
  }
  image.draw_text(bar.x1 + 75, (bar.y0 + bar.y1) / 2, label, kBlack, kFont, TextAnchor::center, true);
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int64_t max_ticks) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / static_cast<double>(std::max<int64_t>(max_ticks - 1, 1));
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (const double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  std::vector<double> ticks;
  const double first = std::ceil(lo / step - 1e-9);
  for (double k = first; k * step <= hi + 1e-9 * step; k += 1.0) ticks.push_back(k == 0 ? 0.0 : k * step);
  return ticks;
}

PixelBox plddt_plot_area() { return {90, 50, 730, 410}; }

Rgb series_colour(size_t index) {
  static constexpr std::array<Rgb, 10> tab10 = {{{31, 119, 180},
                                                 {255, 127, 14},
                                                 {44, 160, 44},
                                                 {214, 39, 40},
                                                 {148, 103, 189},
                                                 {140, 86, 75},
                                                 {227, 119, 194},
                                                 {127, 127, 127},
                                                 {188, 189, 34},
                                                 {23, 190, 207}}};
  return tab10[index % tab10.size()];
}

Rgb plddt_band_colour(double plddt) {
  if (plddt >= 90) return {0, 83, 214};     // very high #0053D6
  if (plddt >= 70) return {101, 203, 243};  // confident #65CBF3
  if (plddt >= 50) return {255, 219, 19};   // low #FFDB13
  return {255, 125, 69};                    // very low #FF7D45
}

RgbImage plot_plddt(const std::vector<PlddtSeries>& series, std::string_view warning,
                    std::span<const int64_t> chain_ends) {
  if (series.empty()) fail_internal("plddt.png needs at least one model's pLDDT");
  const auto n_res = static_cast<int64_t>(series.front().plddt.size());
  if (n_res < 1) fail_input("plddt.png: model {} has no residues", series.front().model_name);
  for (const auto& s : series) {
    if (static_cast<int64_t>(s.plddt.size()) != n_res)
      fail_input("plddt.png: model {} has {} residues, model {} has {}", s.model_name, s.plddt.size(),
                 series.front().model_name, n_res);
    for (const float v : s.plddt)
      if (!std::isfinite(v)) fail_runtime("plddt.png: model {} has a non-finite pLDDT", s.model_name);
  }

  const PixelBox area = plddt_plot_area();
  int64_t legend_width = 0;
  for (const auto& s : series) legend_width = std::max(legend_width, text_width(s.model_name, kFont));
  RgbImage image(area.x1 + 20 + 40 + legend_width + 20, area.y1 + 80);
  const double w = static_cast<double>(area.x1 - area.x0 - 1);
  const double h = static_cast<double>(area.y1 - area.y0 - 1);
  const auto x_of = [&](double residue) {  // residue 1..n_res; a single residue in the middle
    return static_cast<double>(area.x0) + (n_res > 1 ? (residue - 1.0) / static_cast<double>(n_res - 1) * w : w / 2);
  };
  const auto y_of = [&](double plddt) {
    return static_cast<double>(area.y0) + (100.0 - std::clamp(plddt, 0.0, 100.0)) / 100.0 * h;
  };

  // AlphaFold DB bands, lightly tinted, with dashed lines at 50, 70 and 90.
  const std::array<double, 5> edges = {0.0, 50.0, 70.0, 90.0, 100.0};
  for (size_t b = 0; b + 1 < edges.size(); ++b) {
    const auto top = static_cast<int64_t>(std::lround(y_of(edges[b + 1])));
    const auto bottom = static_cast<int64_t>(std::lround(y_of(edges[b]))) + 1;
    image.fill_rect(area.x0, top, area.x1, bottom, mix(kWhite, plddt_band_colour(edges[b]), 0.18));
  }
  for (const double level : {50.0, 70.0, 90.0})
    image.draw_dashed_hline(static_cast<int64_t>(std::lround(y_of(level))), area.x0, area.x1, kGrey);
  for (size_t c = 0; c + 1 < chain_ends.size(); ++c) {  // between the chain's last residue and the next's first
    const double x = x_of(static_cast<double>(chain_ends[c]) + 0.5);
    image.draw_line(x, area.y0, x, area.y1 - 1, kBlack);
  }

  for (size_t k = 0; k < series.size(); ++k) {
    const auto& p = series[k].plddt;
    const Rgb colour = series_colour(k);
    if (n_res == 1) {  // a point: a square marker (a line of no length draws next to nothing)
      const auto x = static_cast<int64_t>(std::lround(x_of(1))), y = static_cast<int64_t>(std::lround(y_of(p[0])));
      image.fill_rect(x - 4, y - 4, x + 5, y + 5, colour);
    }
    for (int64_t i = 1; i < n_res; ++i)
      image.draw_line(x_of(static_cast<double>(i)), y_of(p[static_cast<size_t>(i - 1)]),
                      x_of(static_cast<double>(i + 1)), y_of(p[static_cast<size_t>(i)]), colour, 2);
  }

  draw_frame(image, area);
  for (const int64_t r : residue_ticks(n_res))
    draw_x_tick(image, area, static_cast<int64_t>(std::lround(x_of(static_cast<double>(r)))), std::to_string(r));
  for (int64_t v = 0; v <= 100; v += 10)
    draw_y_tick(image, area.x0, static_cast<int64_t>(std::lround(y_of(static_cast<double>(v)))), std::to_string(v));
  image.draw_text((area.x0 + area.x1) / 2, title_y(warning), "Predicted LDDT per position", kBlack, kFont,
                  TextAnchor::center);
  image.draw_text((area.x0 + area.x1) / 2, area.y1 + 40, "Residue", kBlack, kFont, TextAnchor::center);
  image.draw_text(18, (area.y0 + area.y1) / 2, "pLDDT", kBlack, kFont, TextAnchor::center, /*vertical=*/true);
  draw_warning(image, area, warning);

  // Legend: a short line in the series colour, then the model name.
  for (size_t k = 0; k < series.size(); ++k) {
    const int64_t y = area.y0 + 10 + static_cast<int64_t>(k) * (text_height(kFont) + 12);
    const int64_t x = area.x1 + 20;
    image.fill_rect(x, y + text_height(kFont) / 2 - 1, x + 30, y + text_height(kFont) / 2 + 2, series_colour(k));
    image.draw_text(x + 40, y, series[k].model_name, kBlack, kFont);
  }
  return image;
}

void write_plddt_png(const std::filesystem::path& path, const std::vector<PlddtSeries>& series,
                     std::string_view warning, std::span<const int64_t> chain_ends) {
  write_png(path, plot_plddt(series, warning, chain_ends));
}

PixelBox pae_plot_area() { return {100, 50, 600, 550}; }
PixelBox pae_colour_bar_area() { return {630, 50, 655, 550}; }

Rgb pae_colour(double value, double max_pae) {
  // matplotlib's Greens (ColorBrewer 9-class) reversed: index 0 is the colour of 0 Angstrom.
  static constexpr std::array<Rgb, 9> greens_r = {{{0, 68, 27},
                                                   {0, 109, 44},
                                                   {35, 139, 69},
                                                   {65, 171, 93},
                                                   {116, 196, 118},
                                                   {161, 217, 155},
                                                   {199, 233, 192},
                                                   {229, 245, 224},
                                                   {247, 252, 245}}};
  const double t = max_pae > 0 ? std::clamp(value / max_pae, 0.0, 1.0) : 0.0;
  const double x = t * static_cast<double>(greens_r.size() - 1);
  const auto k = std::min<size_t>(static_cast<size_t>(x), greens_r.size() - 2);
  return mix(greens_r[k], greens_r[k + 1], x - static_cast<double>(k));
}

RgbImage plot_pae(std::span<const float> pae, int64_t n_res, double max_pae, const std::string& model_name,
                  std::string_view warning, std::span<const int64_t> chain_ends) {
  if (n_res < 1 || static_cast<int64_t>(pae.size()) != n_res * n_res)
    fail_input("pae.png: PAE must be a square matrix: {} values for {} residues", pae.size(), n_res);
  if (!(max_pae > 0) || !std::isfinite(max_pae))
    fail_input("pae.png: max_predicted_aligned_error must be positive, got {}", max_pae);
  for (const float v : pae)
    if (!std::isfinite(v)) fail_runtime("pae.png: model {} has a non-finite predicted aligned error", model_name);

  const PixelBox area = pae_plot_area();
  const PixelBox bar = pae_colour_bar_area();
  RgbImage image(bar.x1 + 110, area.y1 + 80);
  const int64_t size = area.x1 - area.x0;  // square
  for (int64_t py = 0; py < size; ++py) {
    const int64_t i = (2 * py + 1) * n_res / (2 * size);  // the cell under the pixel's centre
    for (int64_t px = 0; px < size; ++px) {
      const int64_t j = (2 * px + 1) * n_res / (2 * size);
      image.set(area.x0 + px, area.y0 + py, pae_colour(pae[static_cast<size_t>(i * n_res + j)], max_pae));
    }
  }
  for (size_t c = 0; c + 1 < chain_ends.size(); ++c) {  // the edge between two chains' cells
    const int64_t edge = area.x0 + chain_ends[c] * size / n_res;
    image.draw_line(static_cast<double>(edge), area.y0, static_cast<double>(edge), area.y1 - 1, kBlack);
    const int64_t edge_y = area.y0 + chain_ends[c] * size / n_res;
    image.draw_line(area.x0, static_cast<double>(edge_y), area.x1 - 1, static_cast<double>(edge_y), kBlack);
  }
  draw_frame(image, area);
  // Residue r sits at the centre of its cell.
  const auto cell_centre = [&](int64_t r) {
    return static_cast<int64_t>(
        std::floor((static_cast<double>(r) - 0.5) / static_cast<double>(n_res) * static_cast<double>(size)));
  };
  for (const int64_t r : residue_ticks(n_res)) {
    draw_x_tick(image, area, area.x0 + cell_centre(r), std::to_string(r));
    draw_y_tick(image, area.x0, area.y0 + cell_centre(r), std::to_string(r));
  }
  image.draw_text((area.x0 + area.x1) / 2, title_y(warning), "Predicted aligned error: " + model_name, kBlack, kFont,
                  TextAnchor::center);
  image.draw_text((area.x0 + area.x1) / 2, area.y1 + 40, "Scored residue", kBlack, kFont, TextAnchor::center);
  image.draw_text(18, (area.y0 + area.y1) / 2, "Aligned residue", kBlack, kFont, TextAnchor::center, true);
  draw_warning(image, area, warning);

  draw_colour_bar(
      image, bar, max_pae, [&](double v) { return pae_colour(v, max_pae); }, "Expected position error (A)");
  return image;
}

void write_pae_png(const std::filesystem::path& path, std::span<const float> pae, int64_t n_res, double max_pae,
                   const std::string& model_name, std::string_view warning, std::span<const int64_t> chain_ends) {
  write_png(path, plot_pae(pae, n_res, max_pae, model_name, warning, chain_ends));
}

std::vector<int64_t> chain_ends(std::span<const int32_t> asym_id, int64_t n_res) {
  std::vector<int64_t> ends;
  for (int64_t j = 1; j <= n_res; ++j)  // chains are runs of one asym_id
    if (j == n_res || (!asym_id.empty() && asym_id[static_cast<size_t>(j)] != asym_id[static_cast<size_t>(j - 1)]))
      ends.push_back(j);
  return ends;
}

}  // namespace kfold::pipelines

namespace kfold::pipelines {

CoverageRows coverage_rows(std::span<const int32_t> msa, int64_t n_seq, int64_t n_res,
                           std::span<const int32_t> asym_id) {
  constexpr int32_t kGap = 21;
  if (n_seq < 1 || n_res < 1 || static_cast<int64_t>(msa.size()) != n_seq * n_res)
    fail_input("msa_coverage.png: the MSA must be [n_seq >= 1, n_res >= 1]: {} values for {} x {}", msa.size(), n_seq,
               n_res);
  if (!asym_id.empty() && static_cast<int64_t>(asym_id.size()) != n_res)
    fail_input("msa_coverage.png: asym_id has {} values for {} residues", asym_id.size(), n_res);
  CoverageRows rows;
  rows.chain_ends = chain_ends(asym_id, n_res);
  const size_t n_chain = rows.chain_ends.size();
  rows.identity.assign(static_cast<size_t>(n_seq), 0.0);
  std::map<std::vector<bool>, std::vector<int64_t>> groups;  // covered chains -> rows (ascending pattern)
  for (int64_t r = 0; r < n_seq; ++r) {
    const int32_t* row = msa.data() + r * n_res;
    std::vector<bool> covered(n_chain, false);
    double sum = 0.0;
    int64_t begin = 0;
    for (size_t c = 0; c < n_chain; ++c) {
      int64_t same = 0;
      for (int64_t j = begin; j < rows.chain_ends[c]; ++j) {
        covered[c] = covered[c] || row[j] != kGap;
        same += row[j] == msa[static_cast<size_t>(j)];  // the query has no gaps
      }
      sum += static_cast<double>(same) / static_cast<double>(rows.chain_ends[c] - begin);
      begin = rows.chain_ends[c];
    }
    const auto n_covered = std::count(covered.begin(), covered.end(), true);
    rows.identity[static_cast<size_t>(r)] = n_covered > 0 ? sum / static_cast<double>(n_covered) : 0.0;
    groups[covered].push_back(r);
  }
  for (auto& [pattern, members] : groups) {
    std::stable_sort(members.begin(), members.end(), [&](int64_t a, int64_t b) {
      return rows.identity[static_cast<size_t>(a)] < rows.identity[static_cast<size_t>(b)];
    });
    rows.order.insert(rows.order.end(), members.begin(), members.end());
    rows.group_ends.push_back(static_cast<int64_t>(rows.order.size()));
  }
  return rows;
}

Rgb identity_colour(double identity) {
  // matplotlib's rainbow (gnuplot's functions 33, 13, 10 for red, green, blue) in its 256-entry table, reversed.
  const auto entry = std::min<int64_t>(static_cast<int64_t>(std::clamp(identity, 0.0, 1.0) * 256.0), 255);
  const double x = static_cast<double>(255 - entry) / 255.0;
  const auto byte = [](double v) { return static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0)); };
  return {byte(std::abs(2.0 * x - 0.5)), byte(std::sin(x * std::numbers::pi)),
          byte(std::cos(x * std::numbers::pi / 2))};
}

PixelBox coverage_plot_area() { return {90, 50, 730, 450}; }
PixelBox coverage_colour_bar_area() { return {760, 50, 785, 450}; }

RgbImage plot_msa_coverage(std::span<const int32_t> msa, int64_t n_seq, int64_t n_res,
                           std::span<const int32_t> asym_id) {
  const CoverageRows rows = coverage_rows(msa, n_seq, n_res, asym_id);
  const PixelBox area = coverage_plot_area();
  const PixelBox bar = coverage_colour_bar_area();
  RgbImage image(bar.x1 + 110, area.y1 + 80);
  const int64_t width = area.x1 - area.x0;
  const int64_t height = area.y1 - area.y0;
  for (int64_t py = 0; py < height; ++py) {
    const int64_t line = (2 * (height - 1 - py) + 1) * n_seq / (2 * height);  // from the bottom
    const int64_t r = rows.order[static_cast<size_t>(line)];
    const Rgb colour = identity_colour(rows.identity[static_cast<size_t>(r)]);
    for (int64_t px = 0; px < width; ++px) {
      const int64_t j = (2 * px + 1) * n_res / (2 * width);
      if (msa[static_cast<size_t>(r * n_res + j)] != 21) image.set(area.x0 + px, area.y0 + py, colour);
    }
  }
  const auto x_of = [&](double column) {  // column j spans [j, j + 1)
    return static_cast<double>(area.x0) + column / static_cast<double>(n_res) * static_cast<double>(width);
  };
  const auto y_of = [&](double count) {
    return static_cast<double>(area.y1) - count / static_cast<double>(n_seq) * static_cast<double>(height);
  };
  // Chain boundaries and row groups as black lines (a complex), then the residues per column.
  for (size_t c = 0; c + 1 < rows.chain_ends.size(); ++c)
    image.draw_line(x_of(static_cast<double>(rows.chain_ends[c])), area.y0,
                    x_of(static_cast<double>(rows.chain_ends[c])), area.y1 - 1, kBlack);
  for (size_t g = 0; g + 1 < rows.group_ends.size(); ++g)
    image.draw_line(area.x0, y_of(static_cast<double>(rows.group_ends[g])), area.x1 - 1,
                    y_of(static_cast<double>(rows.group_ends[g])), kBlack);
  std::vector<int64_t> residues(static_cast<size_t>(n_res), 0);
  for (int64_t r = 0; r < n_seq; ++r)
    for (int64_t j = 0; j < n_res; ++j)
      residues[static_cast<size_t>(j)] += msa[static_cast<size_t>(r * n_res + j)] != 21;
  for (int64_t j = 0; j < n_res; ++j) {
    const double y = y_of(static_cast<double>(residues[static_cast<size_t>(j)]));
    const double next = j + 1 < n_res ? y_of(static_cast<double>(residues[static_cast<size_t>(j + 1)])) : y;
    // As matplotlib's plot(counts) on the image's extent (0, n_res): column j's count at x = j, its left edge.
    image.draw_line(x_of(static_cast<double>(j)), y, x_of(static_cast<double>(j + 1 < n_res ? j + 1 : j)), next, kBlack,
                    2);
  }
  draw_frame(image, area);
  for (const int64_t r : residue_ticks(n_res))
    draw_x_tick(image, area, static_cast<int64_t>(std::lround(x_of(static_cast<double>(r) - 0.5))), std::to_string(r));
  for (const double v : nice_ticks(0.0, static_cast<double>(n_seq), 6))
    draw_y_tick(image, area.x0, std::min(static_cast<int64_t>(std::lround(y_of(v))), area.y1 - 1), tick_label(v));
  image.draw_text((area.x0 + area.x1) / 2, 16, "Sequence coverage", kBlack, kFont, TextAnchor::center);
  image.draw_text((area.x0 + area.x1) / 2, area.y1 + 40, "Positions", kBlack, kFont, TextAnchor::center);
  image.draw_text(18, (area.y0 + area.y1) / 2, "Sequences", kBlack, kFont, TextAnchor::center, true);
  draw_colour_bar(image, bar, 1.0, identity_colour, "Sequence identity to query");
  return image;
}

void write_msa_coverage_png(const std::filesystem::path& path, std::span<const int32_t> msa, int64_t n_seq,
                            int64_t n_res, std::span<const int32_t> asym_id) {
  write_png(path, plot_msa_coverage(msa, n_seq, n_res, asym_id));
}

}  // namespace kfold::pipelines
