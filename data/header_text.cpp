// portable_header_text, valid_utf8_text, escaped_utf8_text and ascii_text (data/header_text.hpp).
#include "data/header_text.hpp"

#include <algorithm>
#include <cstdint>

namespace kfold::data {

namespace {

// The length of the valid UTF-8 sequence at text[i] (its code point in `code`), 0 when there is none.
size_t utf8_sequence(std::string_view text, size_t i, uint32_t& code) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size_t n = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    n = 2;
    code = lead & 0x1fu;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    n = 3;
    code = lead & 0x0fu;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    n = 4;
    code = lead & 0x07u;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xc0) != 0x80) return 0;
    code = (code << 6) | (next & 0x3fu);
  }
  const bool overlong = (n == 3 && code < 0x800) || (n == 4 && code < 0x10000);
  const bool surrogate = code >= 0xd800 && code <= 0xdfff;
  return overlong || surrogate || code > 0x10ffff ? 0 : n;
}

}  // namespace

std::string portable_header_text(std::string_view text, char replacement) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    uint32_t code = 0;
    const size_t n = c < 0x80 ? 1 : utf8_sequence(text, i, code);
    if (c < 0x80) {
      out += (c < 0x20 && c != '\t') || c == 0x7f ? replacement : static_cast<char>(c);
    } else if (n == 0) {
      out += text[i];  // not UTF-8: kept
    } else if ((code >= 0x80 && code <= 0x9f) || code == 0x2028 || code == 0x2029) {
      out += replacement;
    } else {
      out.append(text.substr(i, n));
    }
    i += std::max<size_t>(n, 1);
  }
  return out;
}

std::string valid_utf8_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t code = 0;
    const size_t n = static_cast<unsigned char>(text[i]) < 0x80 ? 1 : utf8_sequence(text, i, code);
    if (n == 0) {
      out += '?';
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string escaped_utf8_text(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t code = 0;
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80 ? 1 : utf8_sequence(text, i, code);
    if (n == 0) {
      out += {'\\', 'x', kHex[c >> 4], kHex[c & 0xf]};
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string ascii_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    uint32_t code = 0;
    const auto c = static_cast<unsigned char>(text[i]);
    out += c < 0x80 ? static_cast<char>(c) : '?';
    i += c < 0x80 ? 1 : std::max<size_t>(utf8_sequence(text, i, code), 1);
  }
  return out;
}

}  // namespace kfold::data
