// Line-by-line reading of text inputs (plain or gzip-compressed) with line numbers, CRLF and
// byte-order-mark handling and a clear error for missing, binary, truncated (gzip) or unreadable
// files. Used by every parser.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace kfold::data {

// Throws InputError naming `path` when it does not exist, is a directory or cannot be read.
void check_input_file(const std::filesystem::path& path);

// True when the file's first bytes are gzip's magic number (whatever its name).
bool starts_with_gzip_data(const std::filesystem::path& path);

class LineReader {
 public:
  // Opens a file; gzip is detected from the content, not the name.
  explicit LineReader(const std::filesystem::path& path);
  // Reads from memory; `source_name` stands in for the file name in messages.
  static LineReader from_string(std::string text, std::string source_name);
  ~LineReader();
  LineReader(LineReader&&) noexcept;
  LineReader& operator=(LineReader&&) noexcept;

  // Next line without its "\n" / "\r\n" (and the first without a UTF-8 byte-order mark). The view
  // stays valid until the next call. Returns false at end of input. Throws InputError on binary
  // content (NUL or control bytes), a carriage return inside a line, or a gzip stream cut short.
  bool next(std::string_view& line);

  // 1-based number of the line last returned by next() (0 before the first call).
  int64_t line_number() const { return line_number_; }
  const std::string& source() const { return source_; }

  // Throws InputError "<source>:<line>: <message>".
  [[noreturn]] void fail(std::string_view message) const;

 private:
  LineReader() = default;
  bool fill();
  // Whether the rest of the input is NUL bytes and line breaks only, at most 64 KiB (read to its end when so).
  bool only_nul_left();

  struct Gz;
  std::unique_ptr<Gz> gz_;  // null when reading from memory
  std::string source_;
  std::string buffer_;  // unread bytes
  size_t pos_ = 0;      // read position in buffer_
  bool eof_ = false;
  std::string line_;  // current line
  int64_t line_number_ = 0;
};

// Whole content of a (possibly gzip) text file, with the same checks as LineReader.
std::string read_text_file(const std::filesystem::path& path);

// A decimal number written in the C locale ("1.00", "-2.5e-3", "+7"; also "inf" and "nan"), the whole of `text`;
// nullopt otherwise.
// Not strtod, which reads the process's LC_NUMERIC: after Python's locale.setlocale(LC_ALL, "") in a German
// locale it read "1.00" as 1 and stopped at the '.', so every mmCIF occupancy was "not a number".
std::optional<double> parse_decimal(std::string_view text);

// `text` on one line: each run of line breaks (and the blanks around it) as "; ", trailing ones dropped. For a
// library's multi-line message (gemmi's) inside kfold's one-line error.
std::string one_line(std::string_view text);

}  // namespace kfold::data
