// kfold batch's stage keys (stage_key.hpp): every field and file counts, a folder's key ignores a trailing slash.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "pipelines/batch/stage_key.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

TEST_CASE("StageKey: every field and file counts") {
  using kfold::pipelines::StageKey;
  kfold::test::ScratchDir tmp("stage_key");
  const auto base = StageKey().add("a", std::string_view("bc")).hex();
  CHECK(base.size() == 16);
  CHECK(base == StageKey().add("a", std::string_view("bc")).hex());
  CHECK(base != StageKey().add("ab", std::string_view("c")).hex());
  CHECK(StageKey().add("x", int64_t{1}).hex() != StageKey().add("x", int64_t{2}).hex());
  CHECK(StageKey().add("x", 0.1).hex() != StageKey().add("x", 0.1000001).hex());
  std::ofstream(tmp / "f") << "one";
  const auto one = StageKey().add_file_content("f", tmp / "f").hex();
  std::ofstream(tmp / "f") << "two";
  CHECK(StageKey().add_file_content("f", tmp / "f").hex() != one);
  CHECK(StageKey().add_file_content("f", tmp / "missing").hex() != one);
  const auto identity = StageKey().add_file_identity("db", tmp.path()).hex();
  std::ofstream(tmp / "g") << "new file";
  CHECK(StageKey().add_file_identity("db", tmp.path()).hex() != identity);
  // A copy staged elsewhere with its size and mtime (cp -p) keeps the key; another name or mtime does not.
  std::filesystem::create_directories(tmp / "scratch");
  std::filesystem::copy_file(tmp / "f", tmp / "scratch" / "f");
  const auto original = StageKey().add_file_identity("db", tmp / "f").hex();
  std::filesystem::last_write_time(tmp / "scratch" / "f", std::filesystem::last_write_time(tmp / "f"));
  CHECK(StageKey().add_file_identity("db", tmp / "scratch" / "f").hex() == original);
  std::filesystem::copy_file(tmp / "f", tmp / "scratch" / "g");
  std::filesystem::last_write_time(tmp / "scratch" / "g", std::filesystem::last_write_time(tmp / "f"));
  CHECK(StageKey().add_file_identity("db", tmp / "scratch" / "g").hex() != original);
  std::filesystem::last_write_time(tmp / "scratch" / "f",
                                   std::filesystem::last_write_time(tmp / "f") + std::chrono::seconds(1));
  CHECK(StageKey().add_file_identity("db", tmp / "scratch" / "f").hex() != original);
}

TEST_CASE("StageKey: a folder given with a trailing slash has the key of the same folder without it") {
  using kfold::pipelines::StageKey;
  kfold::test::ScratchDir tmp("stage_key_slash");
  fs::create_directories(tmp / "uniref50");
  std::ofstream(tmp / "uniref50" / "db.fasta") << ">a\nMKV\n";
  CHECK(kfold::pipelines::staged_name(tmp / "uniref50" / "") == "uniref50");
  CHECK(StageKey().add_file_identity("db", tmp / "uniref50" / "").hex() ==
        StageKey().add_file_identity("db", tmp / "uniref50").hex());
  // Another folder's name with the same files (size, mtime): another key.
  fs::create_directories(tmp / "uniref90");
  fs::copy_file(tmp / "uniref50" / "db.fasta", tmp / "uniref90" / "db.fasta");
  fs::last_write_time(tmp / "uniref90" / "db.fasta", fs::last_write_time(tmp / "uniref50" / "db.fasta"));
  CHECK(StageKey().add_file_identity("db", tmp / "uniref90").hex() !=
        StageKey().add_file_identity("db", tmp / "uniref50").hex());
}
