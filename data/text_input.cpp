// LineReader over a file (plain, or gzip decoded with zlib's inflate, member after member) or a string.
#include "data/text_input.hpp"

#include <charconv>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "data/error.hpp"
#include "data/open_failure.hpp"

namespace kfold::data {

namespace fs = std::filesystem;

// The file and, for gzip content, zlib's inflate state. Members are decoded one after another (bgzip,
// `cat a.gz b.gz`); what follows a member must be another one: zlib's gzread would drop any other bytes
// there silently ("trailing garbage"), which a damaged member header also is.
struct LineReader::Gz {
  int fd = -1;
  bool gzip = false;       // else the bytes pass through
  bool in_member = false;  // inside a gzip member (its end not seen yet)
  bool raw_eof = false;    // read(2) has returned 0
  z_stream zs{};
  bool zs_ready = false;
  std::string raw;  // bytes read from the file, not yet inflated (gzip) or handed on (plain)
  size_t raw_pos = 0;
  int64_t raw_offset = 0;  // file offset of raw[0]

  ~Gz() {
    if (zs_ready) inflateEnd(&zs);
    if (fd >= 0) ::close(fd);
  }

  // Reads more of the file into `raw` (keeping what is unread); false at the end of the file.
  bool read_more(const std::string& source) {
    if (raw_eof) return false;
    raw_offset += static_cast<int64_t>(raw_pos);
    raw.erase(0, raw_pos);
    raw_pos = 0;
    constexpr size_t kChunk = 1 << 20;
    const size_t old = raw.size();
    raw.resize(old + kChunk);
    ssize_t n;
    do n = ::read(fd, raw.data() + old, kChunk);
    while (n < 0 && errno == EINTR);
    if (n < 0) fail_input("{}: read error: {}", source, std::strerror(errno));
    raw.resize(old + static_cast<size_t>(n));
    raw_eof = n == 0;
    return n > 0;
  }

  size_t unread() const { return raw.size() - raw_pos; }
};

void check_input_file(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  // Only a missing name is "not found": a name too long for the file system or a folder this user may not
  // enter say so (both were reported as missing).
  if (status.type() == fs::file_type::none && ec) fail_input("{}: cannot read it: {}", path.string(), ec.message());
  if (!fs::exists(status) && path == "-")  // the Unix convention for standard input, which kfold does not read
    fail_input("-: reading standard input is not supported; save the input to a file and give its path");
  if (!fs::exists(status)) fail_input("{}: file not found; check the path", path.string());
  if (fs::is_directory(status)) fail_input("{}: is a directory, expected a file", path.string());
  if (!fs::is_regular_file(status) && !fs::is_fifo(status) && !fs::is_character_file(status))
    fail_input("{}: not a regular file", path.string());
}

namespace {

bool starts_gzip_member(const std::string& bytes, size_t pos) {
  return bytes.size() >= pos + 2 && static_cast<unsigned char>(bytes[pos]) == 0x1f &&
         static_cast<unsigned char>(bytes[pos + 1]) == 0x8b;
}

}  // namespace

bool starts_with_gzip_data(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::string magic(2, '\0');
  return file.read(magic.data(), 2) && starts_gzip_member(magic, 0);
}

LineReader::LineReader(const fs::path& path) : gz_(std::make_unique<Gz>()), source_(path.string()) {
  check_input_file(path);
  gz_->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (gz_->fd < 0) fail_open(source_, "cannot open", errno);
  while (gz_->unread() < 2 && gz_->read_more(source_)) {
  }
  gz_->gzip = starts_gzip_member(gz_->raw, 0);  // gzip is told by the content, not the name
  if (gz_->gzip) {
    if (inflateInit2(&gz_->zs, 16 + MAX_WBITS) != Z_OK) fail_runtime("{}: zlib cannot start", source_);
    gz_->zs_ready = true;
    gz_->in_member = true;
  }
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
  Gz& g = *gz_;
  if (!g.gzip) {  // plain text: hand the bytes on
    if (g.unread() == 0 && !g.read_more(source_)) {
      eof_ = true;
      return false;
    }
    buffer_.append(g.raw, g.raw_pos);
    g.raw_pos = g.raw.size();
    return true;
  }
  constexpr size_t kChunk = 1 << 20;
  const size_t old = buffer_.size();
  buffer_.resize(old + kChunk);
  size_t produced = 0;
  while (produced == 0) {
    if (!g.in_member) {
      // Between members: another member, the end of the file, or bytes that are no gzip (a damaged member).
      while (g.unread() < 2 && g.read_more(source_)) {
      }
      if (g.unread() == 0) break;  // the clean end
      if (!starts_gzip_member(g.raw, g.raw_pos)) {
        const int64_t at = g.raw_offset + static_cast<int64_t>(g.raw_pos);
        bool zeros = true;  // zero padding (some tools write it) is no data, as gzip itself allows
        do {
          zeros = std::all_of(g.raw.begin() + static_cast<std::ptrdiff_t>(g.raw_pos), g.raw.end(),
                              [](char c) { return c == 0; });
          g.raw_pos = g.raw.size();
        } while (zeros && g.read_more(source_));
        if (zeros) break;
        fail_input(
            "{}: the bytes after the gzip member ending at byte {} are not gzip (a damaged member or appended "
            "data); the file is corrupt: download or copy it again (gzip -t tells)",
            source_, at);
      }
      if (inflateReset(&g.zs) != Z_OK) fail_runtime("{}: zlib cannot restart", source_);
      g.in_member = true;
    }
    if (g.unread() == 0 && !g.read_more(source_))
      fail_input(
          "{}: the gzip stream ends early or is damaged (unexpected end of file): the file is truncated or corrupt; "
          "download or copy it again",
          source_);
    g.zs.next_in = reinterpret_cast<Bytef*>(g.raw.data() + g.raw_pos);
    g.zs.avail_in = static_cast<uInt>(g.unread());
    g.zs.next_out = reinterpret_cast<Bytef*>(buffer_.data() + old + produced);
    g.zs.avail_out = static_cast<uInt>(kChunk - produced);
    const int status = inflate(&g.zs, Z_NO_FLUSH);
    g.raw_pos = g.raw.size() - g.zs.avail_in;
    produced = kChunk - g.zs.avail_out;
    if (status == Z_STREAM_END) {
      g.in_member = false;
    } else if (status != Z_OK && status != Z_BUF_ERROR) {
      fail_input(
          "{}: the gzip stream ends early or is damaged ({}): the file is truncated or corrupt; download or copy it "
          "again",
          source_, g.zs.msg != nullptr ? g.zs.msg : "invalid data");
    }
  }
  buffer_.resize(old + produced);
  if (produced == 0) eof_ = true;
  return produced > 0;
}

namespace {

// What a binary line most likely is, and what to do with it ("" when unknown).
std::string binary_hint(int64_t line_number, std::string_view line) {
  if (line_number == 1) {
    if (line.starts_with("\xFF\xFE") || line.starts_with("\xFE\xFF"))
      return ": UTF-16 text; convert it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8 IN > OUT";
    if (line.starts_with("\xFD"
                         "7zXZ"))
      return ": xz-compressed; decompress it first (xz -d; gzip is read as it is)";
    if (line.starts_with("BZh")) return ": bzip2-compressed; decompress it first (bunzip2; gzip is read as it is)";
    if (line.starts_with("\x28\xB5\x2F\xFD"))
      return ": zstd-compressed; decompress it first (zstd -d; gzip is read as it is)";
    if (line.starts_with("PK\x03\x04")) return ": a zip archive; unzip it first";
  }
  if (line_number > 1 && line.find('\0') != std::string_view::npos)
    return ": a NUL byte with text after it (if this is an A3M of ColabFold's MSA server, it joins the A3Ms of "
           "several queries with NUL bytes: split the file at them)";
  return "";
}

}  // namespace

bool LineReader::only_nul_left() {
  // A few NUL bytes end an MMseqs2 entry; megabytes of them (/dev/zero, a disk image) are binary input.
  constexpr size_t kMostTrailingBytes = size_t{1} << 16;
  for (size_t scanned = 0; scanned <= kMostTrailingBytes;) {
    for (size_t i = pos_; i < buffer_.size(); ++i)
      if (buffer_[i] != '\0' && buffer_[i] != '\n' && buffer_[i] != '\r') return false;
    scanned += buffer_.size() - pos_;
    pos_ = buffer_.size();
    if (!fill()) return true;
  }
  return false;
}

bool LineReader::next(std::string_view& line) {
  // Binary data can go on for gigabytes without a newline (/dev/zero, a disk image): reading stops at the
  // first byte that cannot be text, and the checks below name it.
  const auto binary = [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 && c != '\t' && c != '\f' && c != '\v' && c != '\r' && c != '\n';
  };
  size_t end, scanned = 0;  // bytes after pos_ searched already (fill() moves pos_ to 0)
  while ((end = buffer_.find('\n', pos_ + scanned)) == std::string::npos) {
    if (std::any_of(buffer_.begin() + static_cast<std::ptrdiff_t>(pos_ + scanned), buffer_.end(), binary)) break;
    scanned = buffer_.size() - pos_;
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
  // NUL bytes ending the file (an A3M cut from an MMseqs2 database, whose entries end with one, as ColabFold's
  // MSA server sends them): the end of the text, as ColabFold reads it. NULs with text after them stay an error.
  // A file of NULs alone is binary, not empty.
  if (const size_t nul = line_.find('\0'); nul != std::string::npos && (nul > 0 || line_number_ > 1) &&
                                           line_.find_first_not_of('\0', nul) == std::string::npos && only_nul_left()) {
    if (nul == 0) return false;
    line_.resize(nul);
    if (line_.back() == '\r') line_.pop_back();  // "...\r\n" then NULs, or "...\r" and NULs
  }
  for (const char c : line_) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\r')
      fail(
          "carriage return inside the line (old Mac line endings?); convert the file to Unix line endings, "
          "e.g. tr '\\r' '\\n' < IN > OUT");
    if (u == 0 || (u < 0x20 && c != '\t' && c != '\f' && c != '\v'))
      fail(fmt::format("binary data (byte 0x{:02x}); expected a text file{}", u, binary_hint(line_number_, line_)));
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

std::string one_line(std::string_view text) {
  std::string out;
  bool pending_break = false;
  for (const char c : text) {
    if (c == '\n' || c == '\r') {
      pending_break = true;
      while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
      continue;
    }
    if (pending_break && (c == ' ' || c == '\t')) continue;
    if (pending_break && !out.empty()) out += "; ";
    pending_break = false;
    out += c;
  }
  return out;
}

std::optional<double> parse_decimal(std::string_view text) {
  if (text.starts_with('+')) {
    text.remove_prefix(1);
    if (text.starts_with('+') || text.starts_with('-')) return std::nullopt;  // "+-1" is no number
  }
  double value = 0.0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace kfold::data
