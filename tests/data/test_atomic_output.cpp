// Atomic output files (data/atomic_output.hpp): whole files or none, long names, bad directories, temporary
// files left by killed runs, and temporary names someone else planted (never written through).
#include <doctest/doctest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/hdf5_file.hpp"
#include "data/text_input.hpp"
#include "test_support.hpp"

using kfold::InputError;
namespace fs = std::filesystem;

TEST_CASE("write_file_atomic: writes whole files and leaves no temporary behind") {
  kfold::test::ScratchDir dir("atomic_output");
  kfold::data::write_file_atomic(dir / "out.txt", "hello\n");
  CHECK(kfold::data::read_text_file(dir / "out.txt") == "hello\n");
  kfold::data::write_file_atomic(dir / "out.txt", "replaced\n");
  CHECK(kfold::data::read_text_file(dir / "out.txt") == "replaced\n");
  int64_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("AtomicOutput: uncommitted output never appears, bad directories are InputErrors") {
  kfold::test::ScratchDir dir("atomic_uncommitted");
  {
    kfold::data::AtomicOutput out(dir / "partial.txt");
    std::ofstream(out.temp_path()) << "half";
    CHECK(std::filesystem::exists(out.temp_path()));
  }  // destroyed without commit: simulates an error mid-write
  CHECK(std::filesystem::is_empty(dir.path()));
  CHECK_THROWS_WITH_AS(kfold::data::AtomicOutput(dir / "missing" / "x.txt"), doctest::Contains("does not exist"),
                       InputError);
  CHECK_THROWS_WITH_AS(kfold::data::AtomicOutput(dir.path()), doctest::Contains("is a directory"), InputError);
}

TEST_CASE("AtomicOutput: names up to 255 bytes work, longer ones are refused before any work") {
  kfold::test::ScratchDir dir("atomic_long_names");
  const std::string longest(252, 'n');  // + ".h5": 255 bytes, whose ".<name>.tmp.<pid>.<n>" would not fit
  kfold::data::write_file_atomic(dir / (longest + ".h5"), "x\n");
  CHECK(kfold::data::read_text_file(dir / (longest + ".h5")) == "x\n");
  std::string utf8;  // 2-byte letters: the temporary name is cut between characters, not inside one
  for (int i = 0; i < 127; ++i) utf8 += "\xC3\xA9";
  kfold::data::write_file_atomic(dir / (utf8 + "x"), "y");
  CHECK(std::filesystem::exists(dir / (utf8 + "x")));
  CHECK_THROWS_WITH_AS(kfold::data::AtomicOutput(dir / (longest + ".h5x")),
                       doctest::Contains("the file name is 256 bytes long, file systems allow 255"), InputError);
}

TEST_CASE("check_output_is_not_input, ensure_directory on a dangling link, remove_temp_files") {
  kfold::test::ScratchDir dir("atomic_inputs");
  kfold::data::write_file_atomic(dir / "q.a3m", ">q\nMKV\n");
  std::filesystem::create_symlink("q.a3m", dir / "link.a3m");
  CHECK_THROWS_WITH_AS(kfold::data::check_output_is_not_input(dir / "link.a3m", dir / "q.a3m", "-o"),
                       doctest::Contains("is the input"), InputError);
  CHECK_NOTHROW(kfold::data::check_output_is_not_input(dir / "new.h5", dir / "q.a3m", "-o"));  // not there yet
  std::filesystem::create_directories(dir / "msas");
  for (const char* name : {".result.h5.tmp.123.0", "msas/.q.a3m.tmp.77.3"})
    kfold::data::write_file_atomic(dir / name, "half");
  std::filesystem::create_symlink("nowhere", dir / "dangling");
  CHECK_THROWS_WITH_AS(kfold::data::ensure_directory(dir / "dangling"),
                       doctest::Contains("dangling: is a symbolic link to nowhere, which does not exist"), InputError);
  CHECK_THROWS_WITH_AS(kfold::data::ensure_directory(""),  // -o '': "cannot create output directory: Invalid argument"
                       "the output directory is an empty name; give a folder, e.g. -o out", InputError);
  kfold::data::remove_temp_files(dir.path());
  CHECK_FALSE(std::filesystem::exists(dir / ".result.h5.tmp.123.0"));
  CHECK_FALSE(std::filesystem::exists(dir / "msas/.q.a3m.tmp.77.3"));
  CHECK(kfold::data::read_text_file(dir / "q.a3m") == ">q\nMKV\n");
}

TEST_CASE("remove_temp_files: a subfolder this user may not read is skipped, not an error naming no file") {
  // A filesystem_error from the recursive iterator stopped a whole kfold batch (exit 2, "kfold: error: : Permission
  // denied"). Root reads every folder: the check runs as nobody in a child.
  if (::geteuid() != 0) {
    MESSAGE("skipped: needs root to run the check as another user");
    return;
  }
  kfold::test::ScratchDir dir("atomic_unreadable");
  std::filesystem::create_directories(dir / "private");
  kfold::data::write_file_atomic(dir / "private" / "x", "x");
  std::filesystem::permissions(dir / "private", std::filesystem::perms::none);
  const int status = kfold::test::wait_status_in_child([&] {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0 || ::access(dir.path().c_str(), R_OK | X_OK) != 0) return 77;
    try {
      kfold::data::remove_temp_files(dir.path());
      return 0;
    } catch (const std::exception&) {
      return 1;
    }
  });
  std::filesystem::permissions(dir / "private", std::filesystem::perms::owner_all);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) {
    MESSAGE("skipped: the scratch folder is not readable by another user here");
    return;
  }
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("AtomicOutput: a link or file planted under the next temporary name is never written through") {
  // In a folder others can write to (a group's project folder), the temporary names are predictable: a link
  // planted under one made kfold overwrite the file it points to, then renamed the link into place.
  kfold::test::ScratchDir dir("atomic_planted");
  kfold::data::write_file_atomic(dir / "victim.txt", "keep\n");
  // The names the next outputs will try: this process's counter goes on from the probe's.
  const auto planted_after = [&](const std::string& name, int count) {
    const std::string probe = kfold::data::AtomicOutput(dir / name).temp_path().filename().string();
    const std::string prefix = probe.substr(0, probe.rfind('.') + 1);
    const unsigned next = static_cast<unsigned>(std::stoul(probe.substr(probe.rfind('.') + 1))) + 1;
    for (int k = 0; k < count; ++k) fs::create_symlink(dir / "victim.txt", dir / (prefix + std::to_string(next + k)));
  };
  planted_after("out.txt", 3);
  kfold::data::write_file_atomic(dir / "out.txt", "mine\n");
  CHECK(kfold::data::read_text_file(dir / "out.txt") == "mine\n");
  CHECK_FALSE(fs::is_symlink(dir / "out.txt"));
  planted_after("out.h5", 2);
  {
    kfold::data::H5Writer h5(dir / "out.h5");
    h5.write_string("name", "x");
    h5.commit();
  }
  CHECK(kfold::data::H5Reader(dir / "out.h5").read_string("name") == "x");
  CHECK_FALSE(fs::is_symlink(dir / "out.h5"));
  CHECK(kfold::data::read_text_file(dir / "victim.txt") == "keep\n");
  // An old temporary link is removed by the cleanup of shared folders whatever its target's age (the
  // victim's recent change kept it: the age was the target's).
  int links = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) links += entry.is_symlink() ? 1 : 0;
  CHECK(links == 5);
  kfold::data::remove_old_temp_files(dir.path(), std::chrono::seconds(600));
  for (const auto& entry : fs::directory_iterator(dir.path())) CHECK_FALSE(entry.is_symlink());
  CHECK(kfold::data::read_text_file(dir / "victim.txt") == "keep\n");
}

TEST_CASE("ensure_directory: a failed create removes only the folders it made") {
  // The path's parents are made one level at a time; when a later name fails (one past 255 bytes) the new
  // ones go again. "new/../kept/..." passes kept/ a second time: it existed, so it stays (it was removed).
  kfold::test::ScratchDir dir("ensure_directory_made");
  fs::create_directories(dir / "kept");
  const std::string too_long(300, 'x');
  CHECK_THROWS_WITH_AS(kfold::data::ensure_directory(dir / "new" / ".." / "kept" / "inner" / too_long),
                       doctest::Contains("cannot create output directory: File name too long"), kfold::InputError);
  CHECK(fs::is_directory(dir / "kept"));
  CHECK_FALSE(fs::exists(dir / "new"));
  CHECK_FALSE(fs::exists(dir / "kept" / "inner"));
  kfold::data::ensure_directory(dir / "a" / "b" / "c/");
  CHECK(fs::is_directory(dir / "a" / "b" / "c"));
}

TEST_CASE("AtomicOutput: a folder without write permission is an InputError, a read-only file system a RuntimeError") {
  // A read-only mount (remounted after errors, a snapshot) was reported as a folder to fix the permissions of:
  // exit 2, a kfold batch target recorded as bad input and never retried. Root writes everywhere and may mount:
  // both run in a child, as nobody and in a mount namespace with a read-only tmpfs.
  if (::geteuid() != 0) {
    MESSAGE("skipped: needs root to run the checks as another user and to mount");
    return;
  }
  kfold::test::ScratchDir dir("atomic_not_writable");
  std::filesystem::create_directories(dir / "locked");
  std::filesystem::permissions(dir / "locked", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
                                                   std::filesystem::perms::others_read |
                                                   std::filesystem::perms::others_exec);
  const auto error_kind = [&](bool read_only_mount) {
    return kfold::test::wait_status_in_child([&] {
      if (read_only_mount
              ? ::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
                    ::mount("tmpfs", (dir / "locked").c_str(), "tmpfs", MS_RDONLY, "size=1m") != 0
              : ::setgid(65534) != 0 || ::setuid(65534) != 0)
        return 77;
      try {
        kfold::data::AtomicOutput out(dir / "locked" / "f.txt");
        return 0;
      } catch (const InputError& e) {
        return std::string(e.what()).find("is not writable; fix its permissions") != std::string::npos ? 2 : 9;
      } catch (const kfold::RuntimeError& e) {
        return std::string(e.what()).find("is on a read-only file system") != std::string::npos ? 1 : 9;
      }
    });
  };
  for (const bool read_only_mount : {false, true}) {
    CAPTURE(read_only_mount);
    const int status = error_kind(read_only_mount);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) {
      MESSAGE("skipped: cannot switch user or mount here");
      continue;
    }
    CHECK(WEXITSTATUS(status) == (read_only_mount ? 1 : 2));
  }
  std::filesystem::permissions(dir / "locked", std::filesystem::perms::owner_all);
}
