// A small RGB raster with stb's bitmap font and PNG writer (this file holds stb_image_write's
// implementation, compiled with internal linkage).
#include "pipelines/predict/raster.hpp"

#include <algorithm>
#include <cmath>

#include "data/atomic_output.hpp"
#include "data/error.hpp"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb_easy_font.h>
#include <stb_image_write.h>

namespace kfold::pipelines {

Rgb mix(Rgb a, Rgb b, double t) {
  t = std::clamp(t, 0.0, 1.0);
  const auto channel = [t](uint8_t u, uint8_t v) {
    return static_cast<uint8_t>(std::lround(static_cast<double>(u) * (1.0 - t) + static_cast<double>(v) * t));
  };
  return {channel(a.r, b.r), channel(a.g, b.g), channel(a.b, b.b)};
}

RgbImage::RgbImage(int64_t width, int64_t height, Rgb background) : width_(width), height_(height) {
  if (width <= 0 || height <= 0 || width > 1 << 15 || height > 1 << 15)
    fail_internal("image size {} x {} is out of range (1..32768)", width, height);
  pixels_.resize(static_cast<size_t>(width * height * 3));
  for (size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = background.r;
    pixels_[i + 1] = background.g;
    pixels_[i + 2] = background.b;
  }
}

Rgb RgbImage::at(int64_t x, int64_t y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_)
    fail_internal("pixel ({}, {}) is outside the {} x {} image", x, y, width_, height_);
  const auto k = static_cast<size_t>((y * width_ + x) * 3);
  return {pixels_[k], pixels_[k + 1], pixels_[k + 2]};
}

void RgbImage::set(int64_t x, int64_t y, Rgb colour) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  const auto k = static_cast<size_t>((y * width_ + x) * 3);
  pixels_[k] = colour.r;
  pixels_[k + 1] = colour.g;
  pixels_[k + 2] = colour.b;
}

void RgbImage::fill_rect(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb colour) {
  x0 = std::max<int64_t>(x0, 0);
  y0 = std::max<int64_t>(y0, 0);
  x1 = std::min(x1, width_);
  y1 = std::min(y1, height_);
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) set(x, y, colour);
}

void RgbImage::draw_line(double x0, double y0, double x1, double y1, Rgb colour, int64_t thickness) {
  // Stamp the brush every quarter pixel along the segment: simple, gap-free, no anti-aliasing.
  const double length = std::hypot(x1 - x0, y1 - y0);
  const auto steps = static_cast<int64_t>(std::ceil(length * 4.0)) + 1;
  const double half = static_cast<double>(thickness) / 2.0;
  for (int64_t s = 0; s <= steps; ++s) {
    const double t = static_cast<double>(s) / static_cast<double>(steps);
    const double x = x0 + (x1 - x0) * t;
    const double y = y0 + (y1 - y0) * t;
    const auto bx = static_cast<int64_t>(std::floor(x - half + 0.5));
    const auto by = static_cast<int64_t>(std::floor(y - half + 0.5));
    fill_rect(bx, by, bx + thickness, by + thickness, colour);
  }
}

void RgbImage::draw_dashed_hline(int64_t y, int64_t x0, int64_t x1, Rgb colour, int64_t dash, int64_t gap) {
  for (int64_t x = x0; x < x1; x += dash + gap) fill_rect(x, y, std::min(x + dash, x1), y + 1, colour);
}

namespace {

struct FontQuad {
  float x0, y0, x1, y1;  // font pixels, y down
};

// stb_easy_font's quads for one line of text (non-ASCII and control characters are dropped).
std::vector<FontQuad> font_quads(std::string_view text) {
  std::string line;
  for (const char c : text)
    if (c >= 32 && c < 127) line += c;
  struct Vertex {
    float x, y, z;
    unsigned char colour[4];
  };
  static_assert(sizeof(Vertex) == 16);
  std::vector<Vertex> buffer(line.size() * 64 + 64);  // ~270 bytes per character in stb's estimate
  const int n_quad = stb_easy_font_print(0.0f, 0.0f, line.data(), nullptr, buffer.data(),
                                         static_cast<int>(buffer.size() * sizeof(Vertex)));
  std::vector<FontQuad> quads;
  for (int q = 0; q < n_quad; ++q) {
    const Vertex* v = &buffer[static_cast<size_t>(q) * 4];
    quads.push_back(
        {std::min(v[0].x, v[2].x), std::min(v[0].y, v[2].y), std::max(v[0].x, v[2].x), std::max(v[0].y, v[2].y)});
  }
  return quads;
}

}  // namespace

int64_t text_width(std::string_view text, int64_t scale) {
  std::string line;
  for (const char c : text)
    if (c >= 32 && c < 127) line += c;
  // stb's width includes one pixel of advance after the last glyph.
  return std::max<int64_t>(0, stb_easy_font_width(line.data()) - 1) * scale;
}

int64_t text_height(int64_t scale) { return 8 * scale; }  // cap height 7 plus descent for ',' 'p' 'g'

void RgbImage::draw_text(int64_t x, int64_t y, std::string_view text, Rgb colour, int64_t scale, TextAnchor anchor,
                         bool vertical) {
  const int64_t width = text_width(text, scale);
  const int64_t shift = anchor == TextAnchor::left ? 0 : anchor == TextAnchor::center ? width / 2 : width;
  for (const auto& q : font_quads(text)) {
    // Font pixels (u right, v down) -> image pixels; quads are whole font pixels.
    const auto u0 = static_cast<int64_t>(std::lround(q.x0)) * scale - shift;
    const auto u1 = static_cast<int64_t>(std::lround(q.x1)) * scale - shift;
    const auto v0 = static_cast<int64_t>(std::lround(q.y0)) * scale;
    const auto v1 = static_cast<int64_t>(std::lround(q.y1)) * scale;
    if (vertical)  // rotated counter-clockwise: u runs up, v runs right
      fill_rect(x + v0, y - u1, x + v1, y - u0, colour);
    else
      fill_rect(x + u0, y + v0, x + u1, y + v1, colour);
  }
}

std::string encode_png(const RgbImage& image) {
  std::string bytes;
  const auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  const int w = static_cast<int>(image.width());
  const int h = static_cast<int>(image.height());
  if (w < 1 || h < 1) fail_internal("a PNG of {} x {} pixels: an image has at least one", w, h);
  if (!stbi_write_png_to_func(append, &bytes, w, h, 3, image.pixels().data(), w * 3))
    fail_runtime("PNG encoding of a {} x {} image failed", w, h);
  return bytes;
}

void write_png(const std::filesystem::path& path, const RgbImage& image) {
  data::write_file_atomic(path, encode_png(image));
}

}  // namespace kfold::pipelines
