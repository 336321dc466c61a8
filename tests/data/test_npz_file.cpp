// Tests for the .npz reader against archives written by numpy (tests/fixtures/npz, made by
// scripts/make_fixture_npz.py): every array's dtype, shape and values; stored and deflated
// members; .npy versions 1.0-3.0; every integer dtype; big-endian; float16 edge values; corrupt and
// truncated archives. ZIP64 archives: test_npz_zip64.cpp.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>

#include "data/error.hpp"
#include "data/npz_file.hpp"
#include "data/text_input.hpp"
#include "test_support.hpp"

using kfold::InputError;
using kfold::data::DType;
using kfold::data::NpzFile;

namespace {

const auto kFixtures = kfold::test::source_dir() / "tests/fixtures/npz";

using kfold::test::read_bytes;

void write_bytes(const std::filesystem::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

}  // namespace

TEST_CASE("NpzFile: every array matches numpy's values (stored and compressed)") {
  const auto expected = nlohmann::json::parse(kfold::data::read_text_file(kFixtures / "expected.json"));
  for (const char* name : {"stored.npz", "compressed.npz"}) {
    CAPTURE(name);
    const NpzFile npz(kFixtures / name);
    CHECK(npz.arrays().size() == expected.size());
    for (const auto& [key, want] : expected.items()) {
      CAPTURE(key);
      const auto& a = npz.get(key);
      CHECK(a.shape == want["shape"].get<std::vector<int64_t>>());
      const std::string descr = want["dtype"];
      const bool is_int = descr[1] == 'i' || descr[1] == 'u' || descr[1] == 'b';
      const auto values = want["values"].get<std::vector<double>>();
      if (is_int) {
        const auto got = npz.read<int64_t>(key);
        REQUIRE(got.size() == values.size());
        for (size_t i = 0; i < got.size(); ++i) CHECK(static_cast<double>(got[i]) == values[i]);
      } else {
        // Tolerance: exact; float16/float32 values widen to double without rounding.
        const auto got = npz.read<double>(key);
        REQUIRE(got.size() == values.size());
        for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == values[i]);
      }
    }
  }
}

TEST_CASE("NpzFile: AlphaFold-style keys, zero-copy views and dtype names") {
  const NpzFile npz(kFixtures / "stored.npz");
  const auto& w = npz.get("alphafold/alphafold_iteration/evoformer/preprocess_1d//weights");
  CHECK(w.dtype == kfold::data::DType::float32);
  CHECK(w.shape == std::vector<int64_t>{22, 8});
  CHECK(npz.zero_copy(w));
  const auto bytes = npz.raw_bytes(w);
  REQUIRE(bytes.size() == 22 * 8 * 4);
  const auto values = npz.read<float>(w.name, {22, -1});
  CHECK(std::memcmp(bytes.data(), values.data(), bytes.size()) == 0);
  CHECK_FALSE(npz.zero_copy(npz.get("big_endian_f4")));
  CHECK_FALSE(npz.zero_copy(npz.get("float64_fortran")));
  const NpzFile packed(kFixtures / "compressed.npz");
  CHECK(packed.raw_bytes(packed.get("int32")).empty());
}

TEST_CASE("NpzFile: wrong keys, shapes and dtypes name the key") {
  const NpzFile npz(kFixtures / "stored.npz");
  CHECK(npz.find("nope") == nullptr);
  CHECK_THROWS_WITH_AS(npz.read<float>("nope"), doctest::Contains("key 'nope' is missing"), InputError);
  CHECK_THROWS_WITH_AS(npz.read<float>("int32"), doctest::Contains("key 'int32' has dtype int32, expected float32"),
                       InputError);
  CHECK_THROWS_WITH_AS(npz.read<int32_t>("int32", {4, 3}), doctest::Contains("has shape [3, 4], expected [4, 3]"),
                       InputError);
}

TEST_CASE("NpzFile: truncated, corrupted and non-zip files are InputErrors") {
  kfold::test::ScratchDir dir("npz_bad");
  const std::string good = read_bytes(kFixtures / "stored.npz");
  write_bytes(dir / "cut.npz", good.substr(0, good.size() / 2));
  CHECK_THROWS_AS(NpzFile(dir / "cut.npz"), InputError);
  write_bytes(dir / "tail_cut.npz", good.substr(0, good.size() - 10));
  CHECK_THROWS_AS(NpzFile(dir / "tail_cut.npz"), InputError);
  write_bytes(dir / "text.npz", "hello, this is not a zip archive at all\n");
  CHECK_THROWS_WITH_AS(NpzFile(dir / "text.npz"), doctest::Contains("not an .npz file"), InputError);
  CHECK_THROWS_WITH_AS(NpzFile(dir / "missing.npz"), doctest::Contains("file not found"), InputError);
  // A FIFO under the name blocked the open for ever (until a writer came).
  REQUIRE(::mkfifo((dir / "fifo.npz").c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(NpzFile(dir / "fifo.npz"), doctest::Contains("fifo.npz: not a regular file (a FIFO or device?)"),
                       InputError);
  // Flip one byte inside the first array's data: the CRC catches it on read.
  std::string flipped = good;
  const size_t pos = flipped.find("\x93NUMPY") + 200;
  flipped[pos] = static_cast<char>(flipped[pos] ^ 0x55);
  write_bytes(dir / "flipped.npz", flipped);
  const NpzFile npz(dir / "flipped.npz");
  CHECK_THROWS_WITH_AS(npz.read<float>(npz.arrays().front().name), doctest::Contains("fails its CRC check"),
                       InputError);
  // A deflate bomb: np.savez_compressed's 256-byte array with its size patched to 0xF0000000 in both headers
  // (past deflate's 1032:1) is refused before any allocation or inflate.
  CHECK_THROWS_WITH_AS(
      NpzFile(kfold::test::source_dir() / "tests/fuzz/regressions/npz/deflate_bomb_size.npz"),
      doctest::Contains(
          "member 'x.npy': 72 compressed bytes cannot inflate to the 4026531840 bytes the archive claims"),
      InputError);
}

TEST_CASE("NpzFile: header dicts numpy would read otherwise are refused, blanks are allowed") {
  // 'fortran_order': True , (a blank before the comma) was False for kfold, True for numpy; a key given twice
  // was the first for kfold, the last for numpy: the same file gave other weights, silently.
  kfold::test::ScratchDir dir("npz_headers");
  const std::string good = read_bytes(kFixtures / "stored.npz");
  const std::string header = "'fortran_order': False, 'shape': (22, 8), }";
  REQUIRE(good.find(header) != std::string::npos);
  const auto with_header = [&](const std::string& name, const std::string& replacement) {
    REQUIRE(replacement.size() == header.size());  // the header's length stays: only its text differs
    std::string bytes = good;
    bytes.replace(bytes.find(header), header.size(), replacement);
    write_bytes(dir / name, bytes);
    return dir / name;
  };
  const auto blank = with_header("blank.npz", "'fortran_order': True , 'shape': (22, 8), }");
  CHECK(NpzFile(blank).arrays().front().fortran_order);
  CHECK_THROWS_WITH_AS(NpzFile(with_header("twice.npz", "'fortran_order':False,'fortran_order':True}")),
                       doctest::Contains("invalid .npy header: 'fortran_order' is given twice"), InputError);
  CHECK_THROWS_WITH_AS(NpzFile(with_header("odd.npz", "'fortran_order': 1,     'shape': (22, 8), }")),
                       doctest::Contains("fortran_order is '1', not True or False"), InputError);
}

TEST_CASE("NpzFile: odd item sizes are dtype other, shapes of dtype other must fit int64 too") {
  // '<i4294967300' was read as int32 (atoi wrapped the item size to 4); a '<U3' member with 2^64 elements was
  // listed, and NpyArray::numel() overflowed on it (kfold inspect sums nbytes() over every member).
  kfold::test::ScratchDir dir("npz_descr");
  const std::string good = read_bytes(kFixtures / "stored.npz");
  const auto with_dict = [&](const std::string& name, const std::string& dict) {
    std::string bytes = good;
    const size_t start = bytes.find("{'descr': '<i4'");
    REQUIRE(start != std::string::npos);
    const size_t end = bytes.find('\n', start);  // the header's padding ends with a newline
    REQUIRE(dict.size() <= end - start);
    bytes.replace(start, end - start, dict + std::string(end - start - dict.size(), ' '));
    write_bytes(dir / name, bytes);
    return dir / name;
  };
  const NpzFile wide(with_dict("wide.npz", "{'descr': '<i4294967300', 'fortran_order': False, 'shape': (3, 4), }"));
  CHECK(wide.get("int32").dtype == DType::other);
  CHECK_THROWS_WITH_AS(wide.read<int32_t>("int32"), doctest::Contains("has numpy dtype '<i4294967300'"), InputError);
  CHECK(NpzFile(with_dict("odd.npz", "{'descr': '<i4x', 'fortran_order': False, 'shape': (3, 4), }"))
            .get("int32")
            .dtype == DType::other);
  CHECK_THROWS_WITH_AS(
      NpzFile(with_dict("huge.npz", "{'descr': '<U3', 'fortran_order': False, 'shape': (4611686018427387904, 4), }")),
      doctest::Contains("member 'int32.npy': invalid .npy header: shape (4611686018427387904, 4) of <U3 holds more"),
      InputError);
}

TEST_CASE("NpzFile: .npy format versions 1.0, 2.0 and 3.0 are read alike, stored and compressed") {
  // 2.0 and 3.0 give the header length in 4 bytes, not 2 (3.0: the header is utf8; plain arrays keep it ASCII).
  for (const char* name : {"versions.npz", "versions_compressed.npz"}) {
    CAPTURE(name);
    const NpzFile npz(kFixtures / name);
    REQUIRE(npz.arrays().size() == 5);
    const std::vector<float> want{-0.5f, -0.25f, 0.0f, 0.25f, 0.5f, 0.75f};
    for (const char* key : {"v1_f4", "v2_f4", "v3_f4"}) {
      CAPTURE(key);
      const auto& a = npz.get(key);
      CHECK(a.shape == std::vector<int64_t>{2, 3});
      CHECK(a.data_offset == 128);          // numpy pads every header (prefix included) to 64 bytes
      CHECK(npz.read<float>(key) == want);  // exact
      if (!a.compressed) CHECK(std::memcmp(npz.raw_bytes(a).data(), want.data(), 24) == 0);
    }
    CHECK(npz.get("v2_i2_big").big_endian);
    CHECK(npz.read<int32_t>("v2_i2_big", {3}) == std::vector<int32_t>{-300, 7, 258});
    CHECK(npz.get("v3_f8_fortran").fortran_order);
    CHECK(npz.read<double>("v3_f8_fortran", {2, 3}) == std::vector<double>{0, 1, 2, 3, 4, 5});
  }
}

TEST_CASE("NpzFile: long .npy headers of deflated members, and byte orders numpy does not know") {
  // Only the first 4 KiB of a deflated member were inflated for its header: a 6,000-byte one (numpy reads up to
  // 10,000 by default) was "longer than the member". Up to 64 KiB are read now, and past that the message says so.
  const NpzFile npz(kFixtures / "long_header.npz");
  CHECK(npz.read<float>("pad_6000", {3}) == std::vector<float>{0, 1, 2});
  CHECK_THROWS_WITH_AS(NpzFile(kFixtures / "too_long_header.npz"),
                       doctest::Contains("member 'pad_70000.npy': invalid .npy header: a header of 70000 bytes; kfold "
                                         "reads .npy headers of up to 65524 bytes"),
                       InputError);
  // A byte order other than '<', '>', '|' and '=' was read as little-endian.
  kfold::test::ScratchDir dir("npz_order");
  std::string bytes = read_bytes(kFixtures / "versions.npz");
  const size_t descr = bytes.find("'descr': '<f4'");
  REQUIRE(descr != std::string::npos);
  bytes[descr + 10] = 'x';
  write_bytes(dir / "order.npz", bytes);
  CHECK_THROWS_WITH_AS(NpzFile(dir / "order.npz"),
                       doctest::Contains("invalid .npy header: dtype 'xf4': byte order 'x' is none of numpy's"),
                       InputError);
}

TEST_CASE("NpzFile: unsupported .npy versions and header lengths past the member name the member") {
  kfold::test::ScratchDir dir("npz_versions");
  const std::string good = read_bytes(kFixtures / "versions.npz");
  const size_t v2 = good.find(std::string("\x93NUMPY\x02\x00", 8));
  REQUIRE(v2 != std::string::npos);
  std::string bytes = good;
  bytes[v2 + 6] = 4;
  write_bytes(dir / "v4.npz", bytes);
  CHECK_THROWS_WITH_AS(
      NpzFile(dir / "v4.npz"),
      doctest::Contains("member 'v2_f4.npy': invalid .npy header: unsupported .npy format version 4.0"), InputError);
  bytes = good;
  bytes[v2 + 6] = 0;
  write_bytes(dir / "v0.npz", bytes);
  CHECK_THROWS_WITH_AS(NpzFile(dir / "v0.npz"), doctest::Contains("unsupported .npy format version 0.0"), InputError);
  bytes = good;
  bytes[v2 + 7] = 1;  // numpy refuses 2.1 too
  write_bytes(dir / "v2_1.npz", bytes);
  CHECK_THROWS_WITH_AS(NpzFile(dir / "v2_1.npz"), doctest::Contains("unsupported .npy format version 2.1"), InputError);
  // A 4-byte header length of 0xFFFFFFF0: past the member, not read past it.
  bytes = good;
  bytes.replace(v2 + 8, 4, "\xF0\xFF\xFF\xFF");
  write_bytes(dir / "long.npz", bytes);
  CHECK_THROWS_WITH_AS(NpzFile(dir / "long.npz"),
                       doctest::Contains("member 'v2_f4.npy': invalid .npy header: header longer than the member"),
                       InputError);
}

TEST_CASE("NpzFile: integer dtypes at their limits and big-endian integers") {
  const NpzFile npz(kFixtures / "dtypes.npz");
  using V = std::vector<int64_t>;
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  CHECK(npz.get("int8").dtype == DType::int8);
  CHECK(npz.read<int64_t>("int8") == V{-128, -1, 0, 127});
  CHECK(npz.get("int16").dtype == DType::int16);
  CHECK(npz.read<int64_t>("int16") == V{-32768, -1, 0, 32767});
  CHECK(npz.get("uint16").dtype == DType::uint16);
  CHECK(npz.read<int32_t>("uint16") == std::vector<int32_t>{0, 1, 65535});
  CHECK(npz.get("uint32").dtype == DType::uint32);
  CHECK(npz.read<int64_t>("uint32") == V{0, 1, int64_t{1} << 31, (int64_t{1} << 32) - 1});
  CHECK(npz.get("uint64").dtype == DType::uint64);
  CHECK(npz.read<int64_t>("uint64") == V{0, 1, kMax});
  // Big-endian: every byte order reversed, sign included.
  CHECK(npz.get("int16_big").big_endian);
  CHECK_FALSE(npz.zero_copy(npz.get("int16_big")));
  CHECK(npz.read<int64_t>("int16_big") == V{-32768, -2, 258, 32767});
  CHECK(npz.read<int64_t>("uint16_big") == V{1, 258, 65535});
  CHECK(npz.read<int32_t>("int32_big") == std::vector<int32_t>{INT32_MIN, -2, 0x01020304, INT32_MAX});
  CHECK(npz.read<int64_t>("uint32_big") == V{0x01020304, 0xFFFFFFFF});
  CHECK(npz.read<int64_t>("int64_big") == V{kMin, -2, 0x0102030405060708, kMax});
  CHECK(npz.read<int64_t>("uint64_big") == V{0x0102030405060708, kMax});
  CHECK_FALSE(npz.get("int8").big_endian);  // '|i1': no byte order
}

TEST_CASE("NpzFile: integers that do not fit the type read are refused, never wrapped") {
  // uint64 values past 2^63 do not fit int64 (read<int64_t> is kfold's widest integer read), and reading
  // integers as float (read<double>) is refused for every integer dtype: neither wraps nor rounds.
  const NpzFile npz(kFixtures / "dtypes.npz");
  CHECK_THROWS_WITH_AS(npz.read<int64_t>("uint64_high"),
                       doctest::Contains("key 'uint64_high' holds uint64 values that do not fit int64"), InputError);
  CHECK_THROWS_WITH_AS(npz.read<double>("uint64_high"),
                       doctest::Contains("key 'uint64_high' has dtype uint64, expected float64"), InputError);
  CHECK_THROWS_WITH_AS(npz.read<int32_t>("uint32"), doctest::Contains("holds uint32 values that do not fit int32"),
                       InputError);
  CHECK_THROWS_WITH_AS(npz.read<int32_t>("int64_big"), doctest::Contains("holds int64 values that do not fit int32"),
                       InputError);
  CHECK_THROWS_WITH_AS(npz.read<uint8_t>("int8"), doctest::Contains("holds int8 values that do not fit uint8"),
                       InputError);
  CHECK_THROWS_WITH_AS(npz.read<uint8_t>("uint16"), doctest::Contains("holds uint16 values that do not fit uint8"),
                       InputError);
}

TEST_CASE("NpzFile: float16 subnormals, signed zeros, infinities, NaN and max widen exactly") {
  // Tolerance: exact; every float16 value is a float. Bit patterns: 0x0001, 0x03ff, 0x0400, 0x0000, 0x8000,
  // 0x7c00, 0xfc00, 0x7e00, 0x7bff, 0xfbff, 0x8001, 0x3c00.
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> want{0x1p-24, 0x3ffp-24, 0x1p-14, 0.0,      -0.0,     inf,
                                 -inf,    nan,       65504.0, -65504.0, -0x1p-24, 1.0};
  const NpzFile npz(kFixtures / "dtypes.npz");
  for (const char* key : {"float16_special", "float16_special_big"}) {
    CAPTURE(key);
    CHECK(npz.get(key).dtype == DType::float16);
    const auto as_double = npz.read<double>(key, {12});
    const auto as_float = npz.read<float>(key, {12});
    for (size_t i = 0; i < want.size(); ++i) {
      CAPTURE(i);
      if (std::isnan(want[i])) {
        CHECK(std::isnan(as_double[i]));
        CHECK(std::isnan(as_float[i]));
        continue;
      }
      CHECK(as_double[i] == want[i]);
      CHECK(static_cast<double>(as_float[i]) == want[i]);
      CHECK(std::signbit(as_double[i]) == std::signbit(want[i]));
      CHECK(std::signbit(as_float[i]) == std::signbit(want[i]));
    }
  }
  CHECK_THROWS_WITH_AS(npz.read<int64_t>("float16_special"), doctest::Contains("has dtype float16, expected int64"),
                       InputError);
}

TEST_CASE("NpzFile: an archive without arrays (np.savez() of nothing) is a zip file with no members") {
  kfold::test::ScratchDir dir("npz_empty");
  write_bytes(dir / "empty.npz", std::string("PK\x05\x06", 4) + std::string(18, '\0'));  // numpy's 22 bytes
  CHECK(kfold::data::is_zip_file(dir / "empty.npz"));
  CHECK(NpzFile(dir / "empty.npz").arrays().empty());
}
