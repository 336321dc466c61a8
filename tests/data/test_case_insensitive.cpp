// Names that differ in letter case only, and the probe of a folder's file system.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "data/case_insensitive.hpp"
#include "test_support.hpp"

TEST_CASE("case_insensitive: the first pair of names that differ in letter case only") {
  using kfold::data::first_case_only_pair;
  CHECK_FALSE(first_case_only_pair({"a", "b", "c"}));
  CHECK_FALSE(first_case_only_pair({"a", "b", "a"}));  // the same name twice is another error (duplicates)
  const auto pair = first_case_only_pair({"SOX2", "b", "x", "Sox2.a3m", "Sox2", "sox2"});
  REQUIRE(pair);
  CHECK(pair->first == 0);
  CHECK(pair->second == 4);
  CHECK_FALSE(first_case_only_pair({}));
}

TEST_CASE("case_insensitive: the build tree's file system tells case apart, probed without a trace") {
  // (This machine's; a case-insensitive one, macOS's or an SMB share's, says true.)
  const kfold::test::ScratchDir dir("case_probe");
  CHECK_FALSE(kfold::data::folder_ignores_case(dir.path()));
  CHECK_FALSE(kfold::data::folder_ignores_case(dir / "not/made/yet"));  // its nearest existing parent is probed
  CHECK(std::filesystem::is_empty(dir.path()));                         // the probe file is gone
  CHECK_FALSE(std::filesystem::exists(dir / "not"));
}
