// Tests for WrittenFilesRecord: a rerun removes only the files an earlier kfold run recorded writing, and
// a damaged or planted record never names a file outside its folder.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "data/written_files_record.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using kfold::data::WrittenFilesRecord;

namespace {
void touch(const fs::path& path) { std::ofstream(path) << "x"; }
}  // namespace

TEST_CASE("WrittenFilesRecord: removes its own files not written again, keeps everything else") {
  kfold::test::ScratchDir dir("written_files_record");
  fs::create_directories(dir / "msas");
  for (const char* name : {"theirs.pdb", "msas/theirs.sto"}) touch(dir / name);
  {
    WrittenFilesRecord record(dir.path());
    CHECK(record.names().empty());
    record.add({"ranked_0.pdb", "ranked_1.pdb", "msas/a.a3m", "never_written.json"});
    for (const char* name : {"ranked_0.pdb", "ranked_1.pdb", "msas/a.a3m"}) touch(dir / name);  // then written
  }
  WrittenFilesRecord rerun(dir.path());  // read back from the folder
  CHECK(rerun.names() == std::set<std::string>{"msas/a.a3m", "never_written.json", "ranked_0.pdb", "ranked_1.pdb"});
  {
    // One warning names what went (an info line per file was hidden by -q: another model's results lost unseen).
    const kfold::test::CapturedWarnings warnings;
    rerun.remove_all_but({"ranked_0.pdb"});
    REQUIRE(warnings.lines.size() == 1u);
    CHECK(warnings.lines[0].find(": removed 2 file(s) an earlier run wrote and this one did not (msas/a.a3m, "
                                 "ranked_1.pdb): this run's outputs replace them") != std::string::npos);
  }
  CHECK(fs::exists(dir / "ranked_0.pdb"));
  CHECK(!fs::exists(dir / "ranked_1.pdb"));
  CHECK(!fs::exists(dir / "msas/a.a3m"));
  CHECK(fs::exists(dir / "theirs.pdb"));
  CHECK(fs::exists(dir / "msas/theirs.sto"));
  CHECK(WrittenFilesRecord(dir.path()).names() == std::set<std::string>{"ranked_0.pdb"});  // what exists of it
}

TEST_CASE("WrittenFilesRecord: lines naming files outside the folder, and links, are never removed") {
  kfold::test::ScratchDir dir("written_files_record_planted");
  fs::create_directories(dir / "out");
  touch(dir / "precious.txt");
  fs::create_symlink(dir / "precious.txt", dir / "out" / "link.pdb");
  std::ofstream(dir / "out" / WrittenFilesRecord::kFileName)
      << "../precious.txt\n"
      << (dir / "precious.txt").string() << "\nmsas/../../precious.txt\n./x\nlink.pdb\n";
  WrittenFilesRecord record(dir / "out");
  CHECK(record.names() == std::set<std::string>{"link.pdb"});
  record.remove_all_but({});
  CHECK(fs::exists(dir / "precious.txt"));
  CHECK(fs::is_symlink(dir / "out" / "link.pdb"));
}

TEST_CASE("WrittenFilesRecord: another's file of a planned name is recorded only once this run writes it") {
  // AlphaFold's relaxed_model_2.pdb where kfold planned it (--relax) but did not write it: it was recorded
  // at the plan and removed at the end.
  kfold::test::ScratchDir dir("written_files_record_others");
  touch(dir / "relaxed_model_2.pdb");
  touch(dir / "ranked_0.pdb");
  WrittenFilesRecord record(dir.path());
  record.add({"relaxed_model_2.pdb", "ranked_0.pdb", "ranked_1.pdb"});
  CHECK(record.names() == std::set<std::string>{"ranked_1.pdb"});
  touch(dir / "ranked_0.pdb");  // this run writes ranked_0 (over the other's) and ranked_1
  touch(dir / "ranked_1.pdb");
  record.remove_all_but({"ranked_0.pdb", "ranked_1.pdb"});
  CHECK(fs::exists(dir / "relaxed_model_2.pdb"));
  CHECK(WrittenFilesRecord(dir.path()).names() == std::set<std::string>{"ranked_0.pdb", "ranked_1.pdb"});
}

TEST_CASE("WrittenFilesRecord: nothing is removed through a linked folder") {
  kfold::test::ScratchDir dir("written_files_record_linked");
  fs::create_directories(dir / "shared");
  fs::create_directories(dir / "out");
  touch(dir / "shared/ubiquitin.a3m");
  fs::create_directory_symlink(dir / "shared", dir / "out/msas");  // msas/ a link to the user's MSA folder
  std::ofstream(dir / "out" / WrittenFilesRecord::kFileName) << "msas/ubiquitin.a3m\n";
  WrittenFilesRecord(dir / "out").remove_all_but({});
  CHECK(fs::exists(dir / "shared/ubiquitin.a3m"));
}
