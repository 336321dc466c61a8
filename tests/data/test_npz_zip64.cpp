// Tests for the .npz reader's ZIP64 support (tests/fixtures/npz/zip64.npz, made by scripts/make_fixture_npz.py):
// 0xFFFFFFFF sizes and offsets resolved through the ZIP64 extra field and end record; corrupt or truncated
// ZIP64 records, and any byte of the archive flipped, are InputErrors.
#include <doctest/doctest.h>

#include <cstdint>
#include <exception>
#include <fstream>
#include <string>
#include <vector>

#include "data/error.hpp"
#include "data/npz_file.hpp"
#include "test_support.hpp"

using kfold::InputError;
using kfold::data::NpzFile;

namespace {

const auto kZip64 = kfold::test::source_dir() / "tests/fixtures/npz/zip64.npz";

void write_bytes(const std::filesystem::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

uint64_t get_le(const std::string& s, size_t at, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s.at(at + static_cast<size_t>(i)));
  return v;
}

void put_le(std::string& s, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) s.at(at + static_cast<size_t>(i)) = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Where the fixture's records are: the classic end record, the ZIP64 locator and end record, and the
// ZIP64 extra field of each central-directory entry.
struct Layout {
  size_t eocd = 0;
  size_t locator = 0;
  size_t end64 = 0;
  size_t central = 0;
  std::vector<size_t> zip64_extra;  // the extra field's header (id, length), one per entry
};

Layout layout(const std::string& s) {
  Layout l;
  l.eocd = s.size() - 22;
  l.locator = l.eocd - 20;
  l.end64 = get_le(s, l.locator + 8, 8);
  l.central = get_le(s, l.end64 + 48, 8);
  for (size_t p = l.central; p < l.end64;) {
    const size_t name_len = get_le(s, p + 28, 2);
    const size_t extra_len = get_le(s, p + 30, 2);
    const size_t comment_len = get_le(s, p + 32, 2);
    l.zip64_extra.push_back(p + 46 + name_len);
    p += 46 + name_len + extra_len + comment_len;
  }
  return l;
}

// Opens the archive and reads every array; returns without throwing when all of it reads.
void open_and_read(const std::filesystem::path& path) {
  const NpzFile npz(path);
  for (const auto& a : npz.arrays()) {
    if (is_float(a.dtype)) npz.read<double>(a.name);
    if (is_integer(a.dtype)) npz.read<int64_t>(a.name);
  }
}

}  // namespace

TEST_CASE("NpzFile: ZIP64 sizes, offsets, end record and locator") {
  const std::string bytes = kfold::test::read_bytes(kZip64);
  const Layout l = layout(bytes);
  // The fixture must exercise ZIP64: placeholders in the classic end record and in every central entry's
  // sizes, in its local-header offset from the second entry on.
  REQUIRE(get_le(bytes, l.locator, 4) == 0x07064b50);
  REQUIRE(get_le(bytes, l.end64, 4) == 0x06064b50);
  CHECK(get_le(bytes, l.eocd + 10, 2) == 0xFFFF);
  CHECK(get_le(bytes, l.eocd + 12, 4) == 0xFFFFFFFF);
  CHECK(get_le(bytes, l.eocd + 16, 4) == 0xFFFFFFFF);
  REQUIRE(l.zip64_extra.size() == 3);
  CHECK(get_le(bytes, l.central + 20, 4) == 0xFFFFFFFF);
  CHECK(get_le(bytes, l.zip64_extra[1] + 2, 2) == 24);  // sizes and offset
  CHECK(get_le(bytes, l.zip64_extra[0] + 2, 2) == 16);  // sizes only (the first member sits at offset 0)

  const NpzFile npz(kZip64);
  REQUIRE(npz.arrays().size() == 3);
  CHECK(npz.arrays()[0].name == "stored_f4");
  CHECK(npz.arrays()[1].name == "deflated_i4");
  CHECK(npz.arrays()[2].name == "stored_u1");
  CHECK(npz.zero_copy(npz.get("stored_f4")));
  CHECK(npz.read<float>("stored_f4", {3}) == std::vector<float>{1.5f, -2.25f, 3.0f});  // exact
  CHECK(npz.get("deflated_i4").compressed);
  CHECK(npz.read<int32_t>("deflated_i4", {3, 4}) == std::vector<int32_t>{-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(npz.read<uint8_t>("stored_u1") == std::vector<uint8_t>{9, 8, 7});
}

TEST_CASE("NpzFile: corrupt ZIP64 records are InputErrors naming what is wrong") {
  kfold::test::ScratchDir dir("npz_zip64");
  const std::string good = kfold::test::read_bytes(kZip64);
  const Layout l = layout(good);
  const uint64_t size = good.size();
  const uint64_t negative = uint64_t{1} << 63;  // past INT64_MAX
  const size_t extra1 = l.zip64_extra[1];       // second entry: unpacked, packed, local offset
  struct Case {
    const char* name;
    size_t at;
    uint64_t value;
    int width;
    const char* message;
  };
  const std::vector<Case> cases{
      {"locator_past_end", l.locator + 8, size, 8, "truncated or corrupt zip archive"},
      {"locator_negative", l.locator + 8, negative, 8, "truncated or corrupt zip archive"},
      {"end64_signature", l.end64, 0x06064b51, 4, "the ZIP64 locator does not point at a ZIP64 end record"},
      {"entries_negative", l.end64 + 32, negative + 1, 8,
       "9223372036854775809 entries cannot fit a central directory of"},
      {"entries_too_few", l.end64 + 32, 2, 8, "its end record counts 2 entries, but they take"},
      {"entries_too_many", l.end64 + 32, 4, 8, "its central directory ends before entry 4"},
      {"directory_past_end", l.end64 + 48, size, 8, "truncated or corrupt zip archive"},
      {"directory_negative", l.end64 + 48, negative, 8, "truncated or corrupt zip archive"},
      {"directory_too_long", l.end64 + 40, size, 8, "truncated or corrupt zip archive"},
      {"directory_too_short", l.end64 + 40, l.end64 - l.central - 1, 8, "its end record counts 3 entries"},
      {"extra_short", extra1 + 2, 16, 2, "its ZIP64 extra field of 16 bytes lacks a value the entry marks 0xFFFFFFFF"},
      {"extra_past_entry", extra1 + 2, 40, 2, "extra field 0x0001 of 40 bytes runs past the entry's 28 bytes"},
      {"extra_missing", extra1, 0x0002, 2, "marks a size or offset 0xFFFFFFFF (ZIP64) but has no ZIP64 extra field"},
      {"offset_negative", extra1 + 20, negative, 8, "truncated or corrupt zip archive"},
      {"offset_past_end", extra1 + 20, size, 8, "truncated or corrupt zip archive"},
      {"packed_past_end", extra1 + 12, uint64_t{1} << 40, 8, "truncated or corrupt zip archive"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    std::string bytes = good;
    put_le(bytes, c.at, c.value, c.width);
    write_bytes(dir / "bad.npz", bytes);
    CHECK_THROWS_WITH_AS(NpzFile(dir / "bad.npz"), doctest::Contains(c.message), InputError);
  }
}

TEST_CASE("NpzFile: a ZIP64 archive cut anywhere before its end record, or with any byte flipped, is refused") {
  // No crash, no read outside the file (run under scripts/sanitize to check the latter): an InputError, or for
  // a flipped byte no field depends on (a timestamp), the archive reads.
  kfold::test::ScratchDir dir("npz_zip64_cut");
  const std::string good = kfold::test::read_bytes(kZip64);
  const size_t eocd = layout(good).eocd;
  for (size_t keep = 0; keep < eocd; ++keep) {
    CAPTURE(keep);
    write_bytes(dir / "cut.npz", good.substr(0, keep) + good.substr(eocd));
    CHECK_THROWS_AS(NpzFile(dir / "cut.npz"), InputError);
  }
  int refused = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bytes = good;
    bytes[i] = static_cast<char>(bytes[i] ^ 0xFF);
    write_bytes(dir / "flipped.npz", bytes);
    try {
      open_and_read(dir / "flipped.npz");
    } catch (const InputError&) {
      ++refused;
    } catch (const std::exception& e) {
      FAIL_CHECK("byte " << i << " flipped: " << e.what());
    }
  }
  CHECK(refused > static_cast<int>(good.size()) / 2);
}
