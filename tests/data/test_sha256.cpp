// SHA-256 (data/sha256.hpp) against FIPS 180-4 known answers and coreutils' sha256sum.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "data/sha256.hpp"
#include "test_support.hpp"

using kfold::data::sha256_file;
using kfold::data::sha256_hex;

TEST_CASE("sha256_hex: FIPS 180-4 examples") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Lengths around the 55/56/64-byte padding boundaries agree with a second route (the file reader).
  kfold::test::ScratchDir tmp("sha256");
  for (const size_t n : {55, 56, 63, 64, 65, 119, 120, 128}) {
    const std::string text(n, 'x');
    std::ofstream(tmp / "f", std::ios::binary) << text;
    CHECK(sha256_file(tmp / "f") == sha256_hex(text));
  }
}

TEST_CASE("sha256_file equals sha256sum") {
  const auto file = kfold::test::source_dir() / "data/examples/ubiquitin.a3m";
  kfold::test::ScratchDir tmp("sha256sum");
  const auto out = tmp / "sum.txt";
  const std::string command = "sha256sum '" + file.string() + "' > '" + out.string() + "'";
  REQUIRE(std::system(command.c_str()) == 0);
  std::ifstream in(out);
  std::string expected;
  in >> expected;
  CHECK(sha256_file(file) == expected);
}
