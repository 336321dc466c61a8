// LineReader over zlib's gzFile (which reads plain files unchanged) or an in-memory string.
#include "data/text_input.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "data/error.hpp"

namespace kfold::data {

namespace fs = std::filesystem;

struct LineReader::Gz {
  gzFile file = nullptr;
  ~Gz() {
    if (file) gzclose(file);
  }
};

void check_input_file(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) fail_input("{}: file not found; check the path", path.string());
  if (fs::is_directory(status)) fail_input("{}: is a directory, expected a file", path.string());
  if (!fs::is_regular_file(status) && !fs::is_fifo(status) && !fs::is_character_file(status))
    fail_input("{}: not a regular file", path.string());
}

LineReader::LineReader(const fs::path& path) : gz_(std::make_unique<Gz>()), source_(path.string()) {
  check_input_file(path);
  gz_->file = gzopen(path.c_str(), "rb");
  if (!gz_->file) fail_input("{}: cannot open: {}", source_, std::strerror(errno));
  gzbuffer(gz_->file, 1 << 20);
}

LineReader LineReader::from_string(std::string text, std::string source_name) {
  LineReader reader;
  reader.source_ = std::move(source_name);
  reader.buffer_ = std::move(text);
  reader.eof_ = true;
  return reader;
}

LineReader::~LineReader() = default;
LineReader::LineReader(LineReader&&) noexcept = default;
LineReader& LineReader::operator=(LineReader&&) noexcept = default;

void LineReader::fail(std::string_view message) const { fail_input("{}:{}: {}", source_, line_number_, message); }

bool LineReader::fill() {
  if (eof_ || !gz_) return false;
  buffer_.erase(0, pos_);
  pos_ = 0;
  constexpr size_t kChunk = 1 << 20;
  const size_t old = buffer_.size();
  buffer_.resize(old + kChunk);
  const int n = gzread(gz_->file, buffer_.data() + old, static_cast<unsigned>(kChunk));
  if (n < 0) {
    int code = 0;
    const char* msg = gzerror(gz_->file, &code);
    fail_input("{}: read error (corrupt gzip stream?): {}", source_, msg ? msg : "unknown");
  }
  buffer_.resize(old + static_cast<size_t>(n));
  if (n == 0) {
    // gzread() returns 0 both at a clean end and at a gzip stream cut short; only gzerror() tells.
    int code = Z_OK;
    const char* msg = gzerror(gz_->file, &code);
    if (code != Z_OK)
      fail_input(
          "{}: the gzip stream ends early or is damaged ({}): the file is truncated or corrupt; download or "
          "copy it again",
          source_, msg ? msg : "unknown");
    eof_ = true;
  }
  return n > 0;
}

bool LineReader::next(std::string_view& line) {
  size_t end;
  while ((end = buffer_.find('\n', pos_)) == std::string::npos) {
    if (!fill()) break;
  }
  if (pos_ >= buffer_.size()) return false;
  const size_t stop = end == std::string::npos ? buffer_.size() : end;
  line_.assign(buffer_, pos_, stop - pos_);
  pos_ = end == std::string::npos ? buffer_.size() : end + 1;
  ++line_number_;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first line's text.
  if (line_number_ == 1 && line_.starts_with("\xEF\xBB\xBF")) line_.erase(0, 3);
  for (const char c : line_) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r')
      fail(
          "carriage return inside the line (old Mac line endings?); convert the file to Unix line endings, "
          "e.g. tr '\\r' '\\n' < IN > OUT");
    if (u == 0 || (u < 0x20 && c != '\t' && c != '\f' && c != '\v'))
      fail(fmt::format("binary data (byte 0x{:02x}); expected a text file", u));
  }
  line = line_;
  return true;
}

std::string read_text_file(const fs::path& path) {
  LineReader reader(path);
  std::string text;
  std::string_view line;
  while (reader.next(line)) {
    text.append(line);
    text.push_back('\n');
  }
  return text;
}

}  // namespace kfold::data
