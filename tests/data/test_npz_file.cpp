// Tests for the .npz reader against archives written by numpy (tests/fixtures/npz, made by
// scripts/make_fixture_npz.py): every array's dtype, shape and values; stored and deflated
// members; Fortran order; big-endian; float16; corrupt and truncated archives.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "data/error.hpp"
#include "data/npz_file.hpp"
#include "data/text_input.hpp"
#include "test_support.hpp"

using kfold::InputError;
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
