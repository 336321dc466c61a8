// Tests for the typed HDF5 layer: round trips, shape/dtype checks, strings, bad files.
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "data/error.hpp"
#include "data/hdf5_file.hpp"
#include "test_support.hpp"

using kfold::InputError;
using kfold::data::H5Reader;
using kfold::data::H5Writer;

TEST_CASE("HDF5: arrays, scalars and strings round-trip exactly") {
  kfold::test::ScratchDir dir("hdf5_roundtrip");
  const auto path = dir / "features.h5";
  std::vector<float> logits(2 * 3 * 4);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = 0.5f * static_cast<float>(i) - 3.25f;
  std::vector<int32_t> aatype{0, 19, 20, 7};
  {
    H5Writer w(path);
    w.write("distogram/logits", logits, {2, 3, 4});
    w.write("aatype", aatype, {4});
    w.write_scalar<int64_t>("seq_length", 4);
    w.write_string("sequence", "ARNX");
    w.write_strings("descriptions", {"query", "hit one", ""});
    // The type is UTF-8: valid UTF-8 stays, other bytes (a Windows-1252 header) become '?'.
    w.write_strings("headers", {"caf\xc3\xa9", "caf\xe9 \x93quoted\x94"});
    w.set_attribute("kfold_note", "random weights: not a prediction");
    w.set_attribute("latin1", "\xe9t\xe9");
    w.commit();
  }
  H5Reader r(path);
  const auto a = r.read<float>("distogram/logits", {2, -1, 4});
  CHECK(a.shape == std::vector<int64_t>{2, 3, 4});
  CHECK(a.values == logits);
  CHECK(r.read<int64_t>("aatype").values == std::vector<int64_t>{0, 19, 20, 7});  // int32 widens to int64
  CHECK(r.read_scalar<int32_t>("seq_length") == 4);
  CHECK(r.read_string("sequence") == "ARNX");
  CHECK(r.read_strings("descriptions") == std::vector<std::string>{"query", "hit one", ""});
  CHECK(r.read_strings("headers") == std::vector<std::string>{"caf\xc3\xa9", "caf? ?quoted?"});
  CHECK(r.attribute("kfold_note") == "random weights: not a prediction");
  CHECK(r.attribute("latin1") == "?t?");
  CHECK(r.attribute("absent").empty());
  const auto listing = r.list();
  REQUIRE(listing.size() == 6);
  CHECK(listing[0].name == "aatype");
  CHECK(listing[2].name == "distogram/logits");
  CHECK(listing[2].dtype == kfold::data::DType::float32);
}

TEST_CASE("HDF5: the same arrays written a second later make the same bytes (no modification times)") {
  kfold::test::ScratchDir dir("hdf5_reproducible");
  const auto write = [&](const char* name) {
    H5Writer w(dir / name);
    w.write<float>("distogram/logits", std::vector<float>{1.0f, 2.0f}, {2});
    w.write_strings("structure/names", {"a", "b"});
    w.write_scalar<int64_t>("seq_length", 2);
    w.commit();
  };
  write("first.h5");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // HDF5 times have 1 s resolution
  write("second.h5");
  CHECK(kfold::test::read_bytes(dir / "first.h5") == kfold::test::read_bytes(dir / "second.h5"));
}

TEST_CASE("HDF5: missing datasets, wrong shapes and wrong dtypes name the dataset") {
  kfold::test::ScratchDir dir("hdf5_errors");
  const auto path = dir / "f.h5";
  {
    H5Writer w(path);
    w.write<float>("plddt", std::vector<float>(5, 1.0f), {5});
    w.commit();
  }
  H5Reader r(path);
  CHECK_FALSE(r.contains("msa"));
  CHECK_FALSE(r.contains("group/missing"));
  CHECK_THROWS_WITH_AS(r.read<int32_t>("msa"), doctest::Contains("dataset 'msa' is missing"), InputError);
  CHECK_THROWS_WITH_AS(r.read<float>("plddt", {7}), doctest::Contains("'plddt' has shape [5], expected [7]"),
                       InputError);
  CHECK_THROWS_WITH_AS(r.read<int32_t>("plddt"), doctest::Contains("dtype float32, expected int32"), InputError);
}

TEST_CASE("HDF5: an integer read into a narrower type must fit (HDF5 clamped it without a word)") {
  kfold::test::ScratchDir dir("hdf5_narrowing");
  const auto path = dir / "f.h5";
  {
    H5Writer w(path);
    w.write<int64_t>("fits", {-5, 7, int64_t{1} << 30}, {3});
    w.write<int64_t>("too_big", {1, (int64_t{1} << 33) + 7}, {2});
    w.write<int32_t>("negative", {3, -1}, {2});
    w.commit();
  }
  H5Reader r(path);
  CHECK(r.read<int32_t>("fits").values == std::vector<int32_t>{-5, 7, 1 << 30});
  CHECK_THROWS_WITH_AS(r.read<int32_t>("too_big"),
                       doctest::Contains("'too_big' holds 8589934599 (element 1), which does not fit int32 (stored as "
                                         "int64)"),
                       InputError);
  CHECK_THROWS_WITH_AS(r.read<uint8_t>("negative"), doctest::Contains("holds -1 (element 1), which does not fit uint8"),
                       InputError);
  CHECK(r.read<int64_t>("negative").values == std::vector<int64_t>{3, -1});
}

TEST_CASE("HDF5: non-HDF5, truncated and missing files are InputErrors, uncommitted writes vanish") {
  kfold::test::ScratchDir dir("hdf5_badfiles");
  std::ofstream(dir / "text.h5") << "not hdf5\n";
  CHECK_THROWS_WITH_AS(H5Reader(dir / "text.h5"), doctest::Contains("not an HDF5 file"), InputError);
  CHECK_THROWS_WITH_AS(H5Reader(dir / "none.h5"), doctest::Contains("file not found"), InputError);
  {
    H5Writer w(dir / "good.h5");
    w.write<float>("x", std::vector<float>(1000, 2.0f), {1000});
    w.commit();
  }
  // Keep only the first 600 bytes: signature intact, content cut.
  std::ifstream in(dir / "good.h5", std::ios::binary);
  std::string head(600, '\0');
  in.read(head.data(), 600);
  std::ofstream(dir / "cut.h5", std::ios::binary) << head;
  CHECK_THROWS_AS(
      {
        H5Reader r(dir / "cut.h5");
        r.read<float>("x");
      },
      InputError);
  {
    H5Writer w(dir / "never.h5");
    w.write<float>("x", std::vector<float>(3, 1.0f), {3});
  }
  CHECK_FALSE(std::filesystem::exists(dir / "never.h5"));
}
