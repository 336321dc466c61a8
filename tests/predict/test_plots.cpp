// plddt.png, pae.png and msa_coverage.png: the raster primitives, the plots' pixels where the data puts them (series
// colours at their pLDDT, heat-map cells in the colour of their PAE, the colour bar's ends), and the
// PNG bytes decoded back by stb_image (an independent PNG decoder) to the same pixels.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "data/error.hpp"
#include "pipelines/predict/plots.hpp"
#include "pipelines/predict/raster.hpp"
#include "test_support.hpp"

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#include <stb_image.h>

namespace kp = kfold::pipelines;

namespace {

// Decodes PNG bytes with stb_image and checks they hold exactly `image`'s pixels.
void check_png_roundtrip(const std::string& png, const kp::RgbImage& image) {
  REQUIRE(png.size() > 8);
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  int w = 0, h = 0, channels = 0;
  unsigned char* decoded = stbi_load_from_memory(reinterpret_cast<const unsigned char*>(png.data()),
                                                 static_cast<int>(png.size()), &w, &h, &channels, 3);
  REQUIRE(decoded != nullptr);
  CHECK(w == image.width());
  CHECK(h == image.height());
  CHECK(channels == 3);
  CHECK(std::equal(image.pixels().begin(), image.pixels().end(), decoded));
  stbi_image_free(decoded);
}

int64_t count_colour(const kp::RgbImage& image, const kp::PixelBox& box, kp::Rgb colour) {
  int64_t n = 0;
  for (int64_t y = box.y0; y < box.y1; ++y)
    for (int64_t x = box.x0; x < box.x1; ++x) n += image.at(x, y) == colour;
  return n;
}

}  // namespace

TEST_CASE("RgbImage draws rectangles, lines and text and encodes PNG") {
  kp::RgbImage image(40, 30, {10, 20, 30});
  CHECK(image.at(39, 29) == kp::Rgb{10, 20, 30});
  image.fill_rect(-5, -5, 3, 2, {255, 0, 0});  // clipped
  CHECK(image.at(0, 0) == kp::Rgb{255, 0, 0});
  CHECK(image.at(2, 1) == kp::Rgb{255, 0, 0});
  CHECK(image.at(3, 1) == kp::Rgb{10, 20, 30});
  image.draw_line(5, 20, 35, 20, {0, 255, 0}, 1);
  for (int64_t x = 5; x <= 35; ++x) CHECK(image.at(x, 20) == kp::Rgb{0, 255, 0});
  image.draw_line(5, 5, 25, 25, {0, 0, 255}, 2);  // diagonal: both ends and the middle are covered
  CHECK(image.at(5, 5) == kp::Rgb{0, 0, 255});
  CHECK(image.at(15, 15) == kp::Rgb{0, 0, 255});
  CHECK(image.at(25, 25) == kp::Rgb{0, 0, 255});
  CHECK_THROWS_AS(image.at(40, 0), kfold::RuntimeError);
  CHECK(kp::mix({0, 0, 0}, {255, 100, 10}, 0.5) == kp::Rgb{128, 50, 5});

  // Text: "1" at scale 1 lies inside its measured box; scale 2 doubles the box.
  CHECK(kp::text_width("10", 2) == 2 * kp::text_width("10", 1));
  CHECK(kp::text_width("100") > kp::text_width("10"));
  kp::RgbImage text(60, 20);
  text.draw_text(5, 5, "10", {0, 0, 0}, 1);
  const kp::PixelBox inside{5, 5, 5 + kp::text_width("10"), 5 + kp::text_height()};
  const int64_t drawn = count_colour(text, inside, {0, 0, 0});
  CHECK(drawn > 8);
  CHECK(count_colour(text, {0, 0, 60, 20}, {0, 0, 0}) == drawn);  // nothing outside the box
  kp::RgbImage vertical(20, 60);
  vertical.draw_text(5, 50, "10", {0, 0, 0}, 1, kp::TextAnchor::left, /*vertical=*/true);
  CHECK(count_colour(vertical, {5, 50 - kp::text_width("10"), 5 + kp::text_height(), 50}, {0, 0, 0}) == drawn);

  check_png_roundtrip(kp::encode_png(image), image);
  CHECK_THROWS_AS(kp::RgbImage(0, 10), kfold::RuntimeError);
}

TEST_CASE("plot_plddt draws each model's pLDDT over the confidence bands") {
  const int64_t n_res = 60;
  std::vector<kp::PlddtSeries> series = {{"model_1_ptm", std::vector<float>(n_res, 95.0f)},
                                         {"model_2_ptm", std::vector<float>(n_res, 30.0f)}};
  const auto image = kp::plot_plddt(series);
  const auto area = kp::plddt_plot_area();
  const double h = static_cast<double>(area.y1 - area.y0 - 1);
  const auto y_of = [&](double v) { return area.y0 + static_cast<int64_t>(std::lround((100.0 - v) / 100.0 * h)); };
  const int64_t x_mid = (area.x0 + area.x1) / 2;
  CHECK(image.at(x_mid, y_of(95)) == kp::series_colour(0));
  CHECK(image.at(x_mid, y_of(30)) == kp::series_colour(1));
  // Bands: light tints of AlphaFold DB's colours, away from lines and dashes.
  const auto tint = [](double v) { return kp::mix({255, 255, 255}, kp::plddt_band_colour(v), 0.18); };
  CHECK(image.at(x_mid, y_of(80)) == tint(80));
  CHECK(image.at(x_mid, y_of(60)) == tint(60));
  CHECK(image.at(x_mid, y_of(10)) == tint(10));
  CHECK(kp::plddt_band_colour(90) == kp::Rgb{0, 83, 214});
  CHECK(kp::plddt_band_colour(49.9) == kp::Rgb{255, 125, 69});
  // The legend (right of the plot area) holds both series colours.
  const kp::PixelBox legend{area.x1 + 1, area.y0, image.width(), area.y1};
  CHECK(count_colour(image, legend, kp::series_colour(0)) > 30);
  CHECK(count_colour(image, legend, kp::series_colour(1)) > 30);
  // A sloped line: residue 1 at 0, residue n_res at 100, sampled at both ends.
  std::vector<float> ramp(n_res);
  for (int64_t i = 0; i < n_res; ++i) ramp[static_cast<size_t>(i)] = 100.0f * static_cast<float>(i) / (n_res - 1);
  const auto ramp_image = kp::plot_plddt({{"m", ramp}});
  CHECK(ramp_image.at(area.x0 + 1, y_of(0) - 1) == kp::series_colour(0));
  CHECK(ramp_image.at(area.x1 - 2, y_of(100) + 1) == kp::series_colour(0));
  // One residue: a square marker in the middle of the plot (a line of no length on the frame showed nothing).
  const auto single = kp::plot_plddt({{"single residue", {77.0f}}});
  const kp::PixelBox plot{area.x0 + 1, area.y0 + 1, area.x1 - 1, area.y1 - 1};
  CHECK(count_colour(single, plot, kp::series_colour(0)) >= 64);
  CHECK(single.at((area.x0 + area.x1 - 1) / 2, y_of(77)) == kp::series_colour(0));

  CHECK_THROWS_AS(kp::plot_plddt({}), kfold::RuntimeError);
  CHECK_THROWS_AS(kp::plot_plddt({{"a", {1.0f, 2.0f}}, {"b", {1.0f}}}), kfold::InputError);
  CHECK_THROWS_AS(kp::plot_plddt({{"a", {NAN}}}), kfold::RuntimeError);

  kfold::test::ScratchDir dir("plots_plddt");
  kp::write_plddt_png(dir / "plddt.png", series);
  std::ifstream in(dir / "plddt.png", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  check_png_roundtrip(bytes.str(), image);
}

TEST_CASE("plot_pae colours every cell by its expected error with a 0..max colour bar") {
  const int64_t n_res = 20;
  const double max_pae = 31.75;
  std::vector<float> pae(n_res * n_res);
  for (int64_t i = 0; i < n_res; ++i)
    for (int64_t j = 0; j < n_res; ++j)
      pae[static_cast<size_t>(i * n_res + j)] = static_cast<float>(std::abs(i - j) * 1.5 + 0.1 * i);
  const auto image = kp::plot_pae(pae, n_res, max_pae, "model_1_ptm");
  const auto area = kp::pae_plot_area();
  const int64_t cell = (area.x1 - area.x0) / n_res;  // 25 pixels
  for (const auto& [i, j] : std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {0, 19}, {7, 3}, {19, 19}, {12, 18}})
    CHECK(image.at(area.x0 + j * cell + cell / 2, area.y0 + i * cell + cell / 2) ==
          kp::pae_colour(pae[static_cast<size_t>(i * n_res + j)], max_pae));
  const auto bar = kp::pae_colour_bar_area();
  CHECK(image.at((bar.x0 + bar.x1) / 2, bar.y0) == kp::pae_colour(max_pae, max_pae));
  CHECK(image.at((bar.x0 + bar.x1) / 2, bar.y1 - 1) == kp::pae_colour(0.0, max_pae));
  CHECK(kp::pae_colour(0.0, max_pae) == kp::Rgb{0, 68, 27});
  CHECK(kp::pae_colour(max_pae, max_pae) == kp::Rgb{247, 252, 245});
  CHECK(kp::pae_colour(100.0, max_pae) == kp::Rgb{247, 252, 245});  // clipped at max
  // Darker (smaller sum of channels) as the error falls.
  const auto sum = [](kp::Rgb c) { return c.r + c.g + c.b; };
  for (double v = 1.0; v <= max_pae; v += 1.0)
    CHECK(sum(kp::pae_colour(v, max_pae)) > sum(kp::pae_colour(v - 1.0, max_pae)));

  // More residues than pixels: nearest cell per pixel.
  const int64_t n_big = 700;
  std::vector<float> big(n_big * n_big, 5.0f);
  big[static_cast<size_t>(n_big * n_big - 1)] = 30.0f;
  const auto big_image = kp::plot_pae(big, n_big, max_pae, "big");
  CHECK(big_image.at(area.x0, area.y0) == kp::pae_colour(5.0, max_pae));
  CHECK(big_image.at(area.x1 - 1, area.y1 - 1) == kp::pae_colour(30.0, max_pae));

  CHECK_THROWS_AS(kp::plot_pae(pae, n_res - 1, max_pae, "m"), kfold::InputError);
  CHECK_THROWS_AS(kp::plot_pae(pae, n_res, 0.0, "m"), kfold::InputError);
  kfold::test::ScratchDir dir("plots_pae");
  kp::write_pae_png(dir / "pae.png", pae, n_res, max_pae, "model_1_ptm");
  std::ifstream in(dir / "pae.png", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  check_png_roundtrip(bytes.str(), image);
}

TEST_CASE("A complex's chains are split by black lines in plddt.png and pae.png, as ColabFold draws them") {
  const std::vector<int32_t> asym_id = {1, 1, 1, 1, 1, 1, 2, 2, 2, 2};
  const auto ends = kp::chain_ends(asym_id, 10);
  CHECK(ends == std::vector<int64_t>{6, 10});
  CHECK(kp::chain_ends({}, 10) == std::vector<int64_t>{10});
  const kp::Rgb black{0, 0, 0};
  std::vector<float> pae(100, 5.0f);
  const auto area = kp::pae_plot_area();
  const int64_t edge = area.x0 + 6 * (area.x1 - area.x0) / 10, middle_y = (area.y0 + area.y1) / 2;
  CHECK(kp::plot_pae(pae, 10, 31.75, "m", {}, ends).at(edge, middle_y) == black);  // down
  CHECK(kp::plot_pae(pae, 10, 31.75, "m", {}, ends)
            .at(middle_y - area.y0 + area.x0, area.y0 + 6 * (area.y1 - area.y0) / 10) == black);  // across
  CHECK(kp::plot_pae(pae, 10, 31.75, "m").at(edge, middle_y) == kp::pae_colour(5.0, 31.75));      // one chain
  const std::vector<kp::PlddtSeries> series = {{"m", std::vector<float>(10, 95.0f)}};
  const auto plddt_area = kp::plddt_plot_area();
  // Residue 6.5 (between the chains) on the x axis of residues 1..10, at a height the pLDDT line leaves alone.
  const auto x = static_cast<int64_t>(
      std::floor(plddt_area.x0 + 5.5 / 9.0 * static_cast<double>(plddt_area.x1 - plddt_area.x0 - 1)));
  const int64_t y = plddt_area.y0 + 3 * (plddt_area.y1 - plddt_area.y0) / 4;
  CHECK(kp::plot_plddt(series, {}, ends).at(x, y) == black);
  CHECK(kp::plot_plddt(series).at(x, y) != black);
}

TEST_CASE("nice_ticks picks 1, 2 or 5 times a power of ten") {
  CHECK(kp::nice_ticks(0.0, 100.0, 11) == std::vector<double>{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100});
  CHECK(kp::nice_ticks(0.0, 31.75, 7) == std::vector<double>{0, 10, 20, 30});
  CHECK(kp::nice_ticks(1.0, 76.0, 8) == std::vector<double>{20, 40, 60});
  CHECK(kp::nice_ticks(1.0, 1.0, 8) == std::vector<double>{1});
}

TEST_CASE("msa_coverage.png: rows grouped by the chains they cover, then by identity, with ColabFold's identity") {
  // Two chains of 3 and 2 residues. HHblits ids: 0 A, 1 C, ..., 21 gap.
  const int32_t gap = 21;
  const std::vector<int32_t> msa = {
      0,   1,   2,   3,   4,    // the query
      0,   1,   5,   gap, gap,  // chain 1 only: 2/3
      gap, gap, gap, 3,   5,    // chain 2 only: 1/2
      0,   5,   5,   3,   4,    // both: (1/3 + 2/2) / 2
      gap, gap, gap, gap, gap,  // none: 0
      5,   5,   2,   6,   6,    // both: (1/3 + 0) / 2
  };
  const std::vector<int32_t> asym_id = {1, 1, 1, 2, 2};
  const auto rows = kp::coverage_rows(msa, 6, 5, asym_id);
  CHECK(rows.chain_ends == std::vector<int64_t>{3, 5});
  CHECK(rows.identity[0] == doctest::Approx(1.0));
  CHECK(rows.identity[1] == doctest::Approx(2.0 / 3));
  CHECK(rows.identity[2] == doctest::Approx(0.5));
  CHECK(rows.identity[3] == doctest::Approx((1.0 / 3 + 1.0) / 2));
  CHECK(rows.identity[4] == 0.0);
  CHECK(rows.identity[5] == doctest::Approx(1.0 / 6));
  // Patterns (none), (chain 2), (chain 1), (both), bottom to top; by identity within "both".
  CHECK(rows.order == std::vector<int64_t>{4, 2, 1, 5, 3, 0});
  CHECK(rows.group_ends == std::vector<int64_t>{1, 2, 3, 6});
  // One chain without asym_id: the identity over all residues.
  const auto one = kp::coverage_rows(msa, 6, 5, {});
  CHECK(one.chain_ends == std::vector<int64_t>{5});
  CHECK(one.identity[1] == doctest::Approx(2.0 / 5));
  CHECK(one.group_ends.size() == 2);  // rows with a residue, and the all-gap row

  // matplotlib 3.10's rainbow_r(v)[:3] * 255 (its red channel is always k + 0.5 of a byte): within 1 per channel.
  const auto near = [](kp::Rgb got, double r, double g, double b) {
    return std::abs(got.r - r) <= 1 && std::abs(got.g - g) <= 1 && std::abs(got.b - b) <= 1;
  };
  CHECK(near(kp::identity_colour(1.0), 127.5, 0.0, 255.0));
  CHECK(near(kp::identity_colour(0.0), 255.0, 0.0, 0.0));
  CHECK(near(kp::identity_colour(0.5), 126.5, 254.995, 180.867));
  CHECK(near(kp::identity_colour(0.25), 254.5, 180.867, 97.947));
  CHECK(near(kp::identity_colour(0.8), 25.5, 149.885, 242.519));
  const auto image = kp::plot_msa_coverage(msa, 6, 5, asym_id);
  const kp::PixelBox area = kp::coverage_plot_area();
  CHECK(image.at(area.x0 + 5, area.y0 + 5) == kp::identity_colour(1.0));        // the query on top
  CHECK(image.at(area.x0 + 5, area.y1 - 5) == kp::Rgb{255, 255, 255});          // the all-gap row
  CHECK(image.at(area.x1 - 5, area.y0 + 100) == kp::identity_colour(2.0 / 3));  // second from the top: row 3
  CHECK_THROWS_AS(kp::coverage_rows(msa, 5, 5, asym_id), kfold::InputError);
  CHECK_THROWS_AS(kp::coverage_rows(msa, 6, 5, std::vector<int32_t>{1, 2}), kfold::InputError);
}
