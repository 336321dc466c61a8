// Tests for LineReader (plain, gzip, CRLF, byte-order marks, long lines, binary and truncated input).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/text_input.hpp"
#include "test_support.hpp"

using kfold::InputError;
using kfold::data::LineReader;

namespace {

std::vector<std::string> all_lines(LineReader& reader) {
  std::vector<std::string> lines;
  std::string_view line;
  while (reader.next(line)) lines.emplace_back(line);
  return lines;
}

using kfold::test::read_bytes;

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST_CASE("LineReader: strips LF and CRLF, keeps empty lines, counts lines") {
  auto reader = LineReader::from_string("a\r\nb\n\nlast-no-newline", "mem");
  CHECK(all_lines(reader) == std::vector<std::string>{"a", "b", "", "last-no-newline"});
  CHECK(reader.line_number() == 4);
}

TEST_CASE("LineReader: reads plain and gzip files identically") {
  kfold::test::ScratchDir dir("text_input_gzip");
  std::string text;
  for (int i = 0; i < 50000; ++i) text += "line " + std::to_string(i) + "\n";
  write_bytes(dir / "plain.txt", text);
  gzFile gz = gzopen((dir / "packed.txt.gz").c_str(), "wb");
  REQUIRE(gz);
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  LineReader plain(dir / "plain.txt");
  LineReader packed(dir / "packed.txt.gz");
  const auto a = all_lines(plain);
  CHECK(a.size() == 50000);
  CHECK(a == all_lines(packed));
}

TEST_CASE("LineReader: a line longer than the read buffer arrives whole") {
  kfold::test::ScratchDir dir("text_input_long");
  const std::string line(3'000'000, 'A');
  write_bytes(dir / "long.txt", "x\n" + line + "\ny\n");
  LineReader reader(dir / "long.txt");
  const auto lines = all_lines(reader);
  REQUIRE(lines.size() == 3);
  CHECK(lines[1] == line);
}

TEST_CASE("LineReader: missing file, directory and binary input are clear InputErrors") {
  kfold::test::ScratchDir dir("text_input_errors");
  CHECK_THROWS_WITH_AS(LineReader(dir / "nope.fasta"), doctest::Contains("nope.fasta: file not found"), InputError);
  CHECK_THROWS_WITH_AS(LineReader(dir.path()), doctest::Contains("is a directory"), InputError);
  // A name too long for the file system is no missing file (it was reported as one).
  CHECK_THROWS_WITH_AS(LineReader(dir / std::string(300, 'q')),
                       doctest::Contains(": cannot read it: File name too long"), InputError);
  CHECK_THROWS_WITH_AS(LineReader(dir / "nope" / "x.fasta"), doctest::Contains("x.fasta: file not found"), InputError);
  // '-' (standard input by the Unix convention) is not read: said so, not "file not found".
  CHECK_THROWS_WITH_AS(LineReader("-"),
                       "-: reading standard input is not supported; save the input to a file and give its path",
                       InputError);
  write_bytes(dir / "binary.bin", std::string("ok\n\x7f"
                                              "ELF\x02\x01\x01\0\0\0",
                                              14));
  LineReader reader(dir / "binary.bin");
  std::string_view line;
  CHECK(reader.next(line));
  CHECK_THROWS_WITH_AS(reader.next(line), doctest::Contains("binary.bin:2: binary data"), InputError);
}

TEST_CASE("LineReader: binary data without a newline is refused at its first chunk, not read to the end") {
  // /dev/zero or a disk image have no newline for gigabytes: the reader stopped only at a newline or the end
  // of the input (memory grew with the file). A pipe that stays open after 1 MiB of zeros stands for them:
  // the old reader waited on it for ever (ctest's timeout), the reader now stops at the first NUL byte.
  kfold::test::ScratchDir dir("text_input_endless_binary");
  const auto fifo = dir / "zeros";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    // Read-write: opening never blocks, and the pipe stays open (no end of input) until the test is over.
    const int fd = open(fifo.c_str(), O_RDWR | O_NONBLOCK);
    const std::string zeros(1 << 16, '\0');
    for (size_t sent = 0; fd >= 0 && !done && sent < (size_t{1} << 20);) {
      if (const ssize_t n = write(fd, zeros.data(), zeros.size()); n > 0)
        sent += static_cast<size_t>(n);
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the pipe is full
    }
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (fd >= 0) close(fd);
  });
  std::string message;
  try {
    LineReader reader(fifo);
    std::string_view line;
    reader.next(line);
  } catch (const InputError& e) {
    message = e.what();
  }
  done = true;
  writer.join();
  CHECK(message.find("zeros:1: binary data (byte 0x00)") != std::string::npos);
}

TEST_CASE("LineReader: UTF-16, xz, bzip2, zip and NUL-joined A3Ms are named with the fix") {
  kfold::test::ScratchDir dir("text_input_binary_kinds");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string("\xFF\xFE>\0q\0\n\0", 8), "UTF-16 text; convert it to UTF-8"},
      {std::string("\xFD"
                   "7zXZ\0\0\x04",
                   8),
       "xz-compressed; decompress it first"},
      {std::string("BZh91AY&SY\0\x01", 12), "bzip2-compressed"},
      {std::string("PK\x03\x04\x14\0\0\0", 8), "a zip archive; unzip it first"},
      {std::string(">q1\nACDEF\n\0>q2\nMKV\n", 19), "ColabFold's MSA server, it joins the A3Ms"},
  };
  for (const auto& [bytes, hint] : cases) {
    CAPTURE(hint);
    write_bytes(dir / "in.a3m", bytes);
    LineReader reader(dir / "in.a3m");
    std::string_view line;
    std::string message;
    try {
      while (reader.next(line)) {
      }
    } catch (const InputError& e) {
      message = e.what();
    }
    CHECK(message.find("binary data") != std::string::npos);
    CHECK(message.find(hint) != std::string::npos);
  }
  // NUL bytes that end the file (an MMseqs2 database entry's end, one query's A3M): the end of the text.
  for (const std::string& tail :
       {std::string("\0", 1), std::string("\0\0", 2), std::string("\n\0", 2), std::string("\0\n\0\n", 4)}) {
    write_bytes(dir / "one.a3m", ">q1\nACDEF\n" + tail);
    LineReader reader(dir / "one.a3m");
    std::string_view line;
    std::vector<std::string> lines;
    while (reader.next(line)) lines.emplace_back(line);
    std::vector<std::string> expected{">q1", "ACDEF"};
    if (tail[0] == '\n') expected.emplace_back();  // the empty line before the NUL
    CHECK(lines == expected);
  }
  write_bytes(dir / "glued.a3m", std::string(">q1\nACDEF\0", 11));  // the NUL right after the last residue
  LineReader glued(dir / "glued.a3m");
  std::string_view line;
  std::vector<std::string> lines;
  while (glued.next(line)) lines.emplace_back(line);
  CHECK(lines == std::vector<std::string>{">q1", "ACDEF"});
  // Windows line ends before the NULs ("carriage return inside the line" before); NULs alone are binary.
  write_bytes(dir / "crlf.a3m", std::string(">q1\r\nACDEF\r\0\0", 14));
  LineReader crlf(dir / "crlf.a3m");
  lines.clear();
  while (crlf.next(line)) lines.emplace_back(line);
  CHECK(lines == std::vector<std::string>{">q1", "ACDEF"});
  write_bytes(dir / "zeros.a3m", std::string(100, '\0'));
  LineReader zeros(dir / "zeros.a3m");
  CHECK_THROWS_WITH_AS(zeros.next(line), doctest::Contains("binary data (byte 0x00)"), InputError);
}

TEST_CASE("LineReader: a corrupt gzip stream is an InputError, not a crash") {
  kfold::test::ScratchDir dir("text_input_corrupt_gz");
  // gzip magic followed by garbage.
  write_bytes(dir / "bad.gz", std::string("\x1f\x8b\x08\x00garbage-garbage-garbage", 27));
  LineReader reader(dir / "bad.gz");
  std::string_view line;
  CHECK_THROWS_AS(while (reader.next(line)){}, InputError);
}

TEST_CASE("LineReader: a gzip file cut short is an InputError, not a shorter input") {
  kfold::test::ScratchDir dir("text_input_truncated_gz");
  std::string text;
  for (int i = 0; i < 20000; ++i) text += ">seq" + std::to_string(i) + "\nMKVLAAGIVGLLLAQWERTYIPASDFGHKLCVNM\n";
  gzFile gz = gzopen((dir / "whole.fasta.gz").c_str(), "wb");
  REQUIRE(gz);
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  const std::string packed = read_bytes(dir / "whole.fasta.gz");
  REQUIRE(packed.size() > 1000);
  LineReader whole(dir / "whole.fasta.gz");
  CHECK(all_lines(whole).size() == 40000);
  write_bytes(dir / "cut.fasta.gz", packed.substr(0, packed.size() / 2));
  LineReader cut(dir / "cut.fasta.gz");
  std::string_view line;
  CHECK_THROWS_WITH_AS(while (cut.next(line)){}, doctest::Contains("cut.fasta.gz: the gzip stream ends early"),
                       InputError);
}

TEST_CASE("LineReader: gzip members are read one after another, bytes after them that are no gzip are an error") {
  kfold::test::ScratchDir dir("text_input_members");
  const auto gzip = [&](const std::string& text) {
    gzFile gz = gzopen((dir / "member.gz").c_str(), "wb");
    REQUIRE(gz);
    gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
    gzclose(gz);
    return read_bytes(dir / "member.gz");
  };
  const std::string first = gzip(">a\nMKV\n"), second = gzip(">b\nMQIF\n");
  write_bytes(dir / "two.gz", first + second + std::string(16, '\0'));  // (cat a.gz b.gz; zero padding)
  LineReader two(dir / "two.gz");
  CHECK(all_lines(two) == std::vector<std::string>{">a", "MKV", ">b", "MQIF"});
  std::string damaged = second;
  damaged[0] = 0;  // the second member's header: zlib's gzread would stop there silently
  write_bytes(dir / "damaged.gz", first + damaged);
  LineReader reader(dir / "damaged.gz");
  std::string_view line;
  const std::string expected =
      fmt::format("damaged.gz: the bytes after the gzip member ending at byte {} are not gzip", first.size());
  CHECK_THROWS_WITH_AS(while (reader.next(line)){}, doctest::Contains(expected.c_str()), InputError);
}

TEST_CASE("LineReader: a byte-order mark is dropped, a carriage return inside a line is an InputError") {
  auto bom = LineReader::from_string("\xEF\xBB\xBFid,sequence\r\nx,MKV\r\n", "bom.csv");
  CHECK(all_lines(bom) == std::vector<std::string>{"id,sequence", "x,MKV"});
  auto mac = LineReader::from_string(">q human\rubiquitin\nMQIF\n", "mac.fasta");
  std::string_view line;
  CHECK_THROWS_WITH_AS(mac.next(line), doctest::Contains("mac.fasta:1: carriage return inside the line"), InputError);
}
