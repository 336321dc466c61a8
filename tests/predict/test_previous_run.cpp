// PreviousRun (pipelines/predict/previous_run.hpp): an earlier complete run kept while a rerun writes, put back when
// the rerun fails, dropped when it completes; a snapshot a killed rerun left (whole, or partly put back) goes back
// without losing an earlier file. Files are written as kfold writes them: a temp name renamed over the old.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "data/atomic_output.hpp"
#include "data/written_files_record.hpp"
#include "pipelines/predict/previous_run.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using kfold::pipelines::PreviousRun;

namespace {

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// A complete run: a.txt and msas/m.a3m recorded, `done`; a user's u.txt that no run recorded.
void complete_run(const fs::path& dir) {
  kfold::data::write_file_atomic(dir / "u.txt", "user");
  kfold::data::WrittenFilesRecord(dir).add({"a.txt", "msas/m.a3m"});  // (recorded before they are written)
  kfold::data::write_file_atomic(dir / "a.txt", "earlier a");
  fs::create_directories(dir / "msas");
  kfold::data::write_file_atomic(dir / "msas" / "m.a3m", "earlier m");
  kfold::data::write_file_atomic(dir / "done", "");
}

// A rerun's writes before it fails: a.txt replaced, b.txt new, done removed.
void rerun_writes(const fs::path& dir) {
  fs::remove(dir / "done");
  kfold::data::WrittenFilesRecord(dir).add({"a.txt", "b.txt"});
  kfold::data::write_file_atomic(dir / "a.txt", "rerun a");
  kfold::data::write_file_atomic(dir / "b.txt", "rerun b");
}

}  // namespace

TEST_CASE("PreviousRun: a failed rerun gets the earlier run back, a completed one drops it") {
  kfold::test::ScratchDir dir("previous_run");
  complete_run(dir.path());
  {
    PreviousRun previous(dir.path(), {"a.txt", "msas/m.a3m"});
    rerun_writes(dir.path());
  }  // (an exception leaving the run)
  CHECK(read(dir.path() / "a.txt") == "earlier a");
  CHECK(read(dir.path() / "msas" / "m.a3m") == "earlier m");
  CHECK(read(dir.path() / "u.txt") == "user");
  CHECK_FALSE(fs::exists(dir.path() / "b.txt"));
  CHECK(fs::exists(dir.path() / "done"));
  CHECK_FALSE(fs::exists(dir.path() / ".previous-run"));
  {
    PreviousRun previous(dir.path(), {"a.txt", "msas/m.a3m"});
    rerun_writes(dir.path());
    kfold::data::write_file_atomic(dir.path() / "done", "");
    previous.discard();
  }
  CHECK(read(dir.path() / "a.txt") == "rerun a");
  CHECK(read(dir.path() / "b.txt") == "rerun b");
  CHECK_FALSE(fs::exists(dir.path() / ".previous-run"));
  // Without `done` (no complete run) nothing is kept.
  fs::remove(dir.path() / "done");
  {
    PreviousRun previous(dir.path(), {"a.txt"});
    CHECK_FALSE(fs::exists(dir.path() / ".previous-run"));
  }
}

TEST_CASE("PreviousRun: a killed rerun's snapshot, whole or partly put back, goes back with no earlier file lost") {
  kfold::test::ScratchDir dir("previous_run_killed");
  complete_run(dir.path());
  // Killed while it ran: the snapshot is whole.
  {
    PreviousRun previous(dir.path(), {"a.txt", "msas/m.a3m"});
    rerun_writes(dir.path());
    fs::copy(dir.path() / ".previous-run", dir.path() / "kept", fs::copy_options::recursive);
  }
  rerun_writes(dir.path());
  fs::rename(dir.path() / "kept", dir.path() / ".previous-run");
  { PreviousRun next(dir.path(), {"a.txt", "msas/m.a3m"}); }  // puts it back, then keeps it again while it runs
  CHECK(read(dir.path() / "a.txt") == "earlier a");
  CHECK_FALSE(fs::exists(dir.path() / "b.txt"));
  CHECK(fs::exists(dir.path() / "done"));
  // Killed while it put the files back: a.txt and the record already back, done and m.a3m not yet. Nothing that is
  // back may go (the record in the folder is the earlier run's now); the rest comes back.
  fs::create_directories(dir.path() / ".previous-run" / "msas");
  fs::rename(dir.path() / "msas" / "m.a3m", dir.path() / ".previous-run" / "msas" / "m.a3m");
  fs::rename(dir.path() / "done", dir.path() / ".previous-run" / "done");
  { PreviousRun next(dir.path(), {"a.txt", "msas/m.a3m"}); }
  CHECK(read(dir.path() / "a.txt") == "earlier a");
  CHECK(read(dir.path() / "msas" / "m.a3m") == "earlier m");
  CHECK(fs::exists(dir.path() / "done"));
  CHECK_FALSE(fs::exists(dir.path() / ".previous-run"));
  // Killed while it made the snapshot: the partial one is dropped, the folder was untouched.
  fs::create_directories(dir.path() / ".previous-run.partial");
  { PreviousRun next(dir.path(), {"a.txt"}); }
  CHECK_FALSE(fs::exists(dir.path() / ".previous-run.partial"));
  CHECK(read(dir.path() / "a.txt") == "earlier a");
}
