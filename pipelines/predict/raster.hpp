// A small RGB raster for the prediction plots: filled rectangles, thick lines, text from stb's
// built-in bitmap font (stb_easy_font, ASCII), and PNG encoding through stb_image_write.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kfold::pipelines {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

// `a` * (1 - t) + `b` * t per channel, t in [0, 1].
Rgb mix(Rgb a, Rgb b, double t);

enum class TextAnchor { left, center, right };

class RgbImage {
 public:
  RgbImage(int64_t width, int64_t height, Rgb background = {255, 255, 255});

  int64_t width() const { return width_; }
  int64_t height() const { return height_; }
  const std::vector<uint8_t>& pixels() const { return pixels_; }  // [height, width, 3] row-major
  Rgb at(int64_t x, int64_t y) const;                             // InputError outside the image

  void set(int64_t x, int64_t y, Rgb colour);  // pixels outside the image are ignored
  // Fills [x0, x1) x [y0, y1), clipped to the image.
  void fill_rect(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb colour);
  // A segment with a square brush `thickness` pixels wide (centred on the ideal line).
  void draw_line(double x0, double y0, double x1, double y1, Rgb colour, int64_t thickness = 1);
  // A horizontal dashed line at row y from x0 to x1.
  void draw_dashed_hline(int64_t y, int64_t x0, int64_t x1, Rgb colour, int64_t dash = 6, int64_t gap = 4);
  // Text in stb_easy_font's glyphs, each font pixel drawn as a `scale` x `scale` block. (x, y) is the
  // anchor point on the text's top edge. vertical: rotated 90 degrees counter-clockwise (reads upward),
  // (x, y) then is the anchor on the text's left edge and `anchor` runs along the y axis.
  void draw_text(int64_t x, int64_t y, std::string_view text, Rgb colour, int64_t scale = 1,
                 TextAnchor anchor = TextAnchor::left, bool vertical = false);

 private:
  int64_t width_;
  int64_t height_;
  std::vector<uint8_t> pixels_;
};

// Size of `text` drawn at `scale` (one line): width and height in pixels.
int64_t text_width(std::string_view text, int64_t scale = 1);
int64_t text_height(int64_t scale = 1);

// The image as a PNG file's bytes (8-bit RGB, no interlace).
std::string encode_png(const RgbImage& image);
// Atomic write (temp name, then rename) of encode_png(image).
void write_png(const std::filesystem::path& path, const RgbImage& image);

}  // namespace kfold::pipelines
