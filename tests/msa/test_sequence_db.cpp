// kfold-db packing and opening: contents equal the FASTA, errors for bad inputs leave nothing behind.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "data/atomic_output.hpp"
#include "data/error.hpp"
#include "data/fasta.hpp"
#include "data/log.hpp"
#include "data/mapped_file_guard.hpp"
#include "data/process_owner.hpp"
#include "data/text_input.hpp"
#include "msa/mapped_file.hpp"
#include "msa/sequence_db.hpp"
#include "test_support.hpp"

using namespace kfold;
namespace fs = std::filesystem;

namespace {

const char* kFasta = ">sp|P1|ONE first protein\nMKTAYIAKQR\nQISFVKSHFS\n>two\nacdefghik*\n>three  spaced  words \nW\n";

void check_db(const msa::SequenceDb& db) {
  REQUIRE(db.size() == 3);
  CHECK(db.total_residues() == 30);
  CHECK(db.max_length() == 20);
  CHECK(db.residues(0) == "MKTAYIAKQRQISFVKSHFS");
  CHECK(db.residues(1) == "ACDEFGHIK");
  CHECK(db.residues(2) == "W");
  CHECK(db.id(0) == "sp|P1|ONE");
  CHECK(db.header(0) == "sp|P1|ONE first protein");
  CHECK(db.header(1) == "two");
  CHECK(db.id(1) == "two");
  CHECK(db.header(2) == "three spaced  words");
}

}  // namespace

TEST_CASE("SequenceDb: FASTA file and packed directory give the same view") {
  test::ScratchDir dir("msa_db_roundtrip");
  data::write_file_atomic(dir / "db.fasta", kFasta);
  const auto from_fasta = msa::SequenceDb::open(dir / "db.fasta");
  CHECK(!from_fasta.memory_mapped());
  check_db(from_fasta);
  const auto stats = msa::create_db(dir / "db.fasta", dir / "db");
  CHECK(stats.sequences == 3);
  CHECK(stats.residues == 30);
  CHECK(!fs::exists(dir / "db.tmp"));
  const auto packed = msa::SequenceDb::open(dir / "db");
  CHECK(packed.memory_mapped());
  check_db(packed);
  // 64-bit FNV-1a of "MKTAYIAKQRQISFVKSHFS\nACDEFGHIK\nW\n" (Python: h = 0xcbf29ce484222325; for each byte
  // h = ((h ^ b) * 0x100000001b3) mod 2^64); a FASTA file has none.
  CHECK(packed.residues_digest() == "120c31313851ee24");
  CHECK(from_fasta.residues_digest().empty());
}

TEST_CASE("SequenceDb: create_db warns once about ids that repeat, naming the file, the id and the records") {
  test::ScratchDir dir("msa_db_duplicate_ids");
  data::write_file_atomic(dir / "db.fasta", ">a one\nMKV\n>b\nWW\n>a two\nMKL\n>c\nAC\n>b again\nWY\n");
  msa::DbStats stats;
  std::vector<std::string> warnings;
  {
    test::CapturedWarnings captured;
    stats = msa::create_db(dir / "db.fasta", dir / "db");
    data::write_file_atomic(dir / "unique.fasta", ">a\nMKV\n>b\nWW\n");
    msa::create_db(dir / "unique.fasta", dir / "db_unique");
    (void)msa::SequenceDb::open(dir / "db.fasta");  // searched as FASTA: the same warning
    (void)msa::SequenceDb::open(dir / "unique.fasta");
    warnings = captured.lines;
  }
  CHECK(stats.sequences == 5);    // both copies are kept
  REQUIRE(warnings.size() == 2);  // create_db and open of the database with duplicates, none for unique.fasta
  for (const std::string& warning : warnings)
    CHECK(warning.find("db.fasta: 2 record(s) repeat the id of an earlier record, e.g. 'a' (records 1 and 3)") !=
          std::string::npos);
  CHECK(msa::SequenceDb::open(dir / "db").header(2) == "a two");
}

TEST_CASE("SequenceDb: a '*' inside a database sequence reads as X with one warning, in a query it is an error") {
  test::ScratchDir dir("msa_db_internal_stops");
  // Translated ORFs: stops inside, one at the end (dropped as in any FASTA), one split over two lines.
  data::write_file_atomic(dir / "db.fasta", ">a\nMK*VL*\n>b\nWW*\nAC\n>c\nMKV*\n");
  test::CapturedWarnings captured;
  msa::create_db(dir / "db.fasta", dir / "db");
  const auto direct = msa::SequenceDb::open(dir / "db.fasta");  // searched as FASTA, not packed
  const std::vector<std::string> warnings = captured.lines;
  const auto packed = msa::SequenceDb::open(dir / "db");
  for (const auto& db : {std::cref(direct), std::cref(packed)}) {
    CHECK(db.get().residues(0) == "MKXVL");
    CHECK(db.get().residues(1) == "WWXAC");
    CHECK(db.get().residues(2) == "MKV");
  }
  REQUIRE(warnings.size() == 2);  // one per reading: create_db, then the FASTA opened directly
  for (const auto& w : warnings)
    CHECK(w.find("db.fasta: 2 '*' (stop codons) inside sequences read as X (unknown), the first at ") !=
          std::string::npos);
  CHECK(warnings[0].find("db.fasta:2:3") != std::string::npos);
  CHECK_THROWS_WITH_AS(data::read_fasta(dir / "db.fasta"), doctest::Contains("db.fasta:2:3: '*' (stop codon)"),
                       InputError);
}

TEST_CASE("SequenceDb: bad inputs are InputErrors naming the path, and leave no directory") {
  test::ScratchDir dir("msa_db_errors");
  data::write_file_atomic(dir / "db.fasta", kFasta);
  data::write_file_atomic(dir / "empty.fasta", "");
  data::write_file_atomic(dir / "binary.fasta", std::string("\x7f"
                                                            "ELF\x02\x01\x01\0\0\0",
                                                            10));
  data::write_file_atomic(dir / "bad.fasta", ">a\nMK1T\n");
  for (const char* name : {"empty.fasta", "binary.fasta", "bad.fasta", "missing.fasta"}) {
    CAPTURE(name);
    CHECK_THROWS_AS(msa::create_db(dir / name, dir / "out"), InputError);
    CHECK(!fs::exists(dir / "out"));
    for (const auto& entry : fs::directory_iterator(dir.path()))
      CHECK_FALSE(entry.path().filename().string().starts_with("out.tmp"));
    CHECK_THROWS_WITH_AS(msa::SequenceDb::open(dir / name), doctest::Contains(name), InputError);
  }
  // Missing parent folders are made (`kfold db create x.fasta dbs/x` in a fresh folder was refused), and
  // removed again by a run that fails.
  CHECK_THROWS_AS(msa::create_db(dir / "bad.fasta", dir / "dbs/new/db"), InputError);
  CHECK(!fs::exists(dir / "dbs"));
  msa::create_db(dir / "db.fasta", dir / "dbs/new/db");
  CHECK(msa::SequenceDb::open(dir / "dbs/new/db").size() == msa::SequenceDb::open(dir / "db.fasta").size());
  msa::create_db(dir / "db.fasta", dir / "db");
  CHECK_THROWS_WITH_AS(msa::create_db(dir / "db.fasta", dir / "db"), doctest::Contains("already exists"), InputError);
  // A DB_DIR naming no folder ("" or ".") is refused before the FASTA is read (it failed after, exit 1).
  for (const char* name : {"", ".", "sub/.."}) {
    CAPTURE(name);
    CHECK_THROWS_WITH_AS(msa::create_db(dir / "db.fasta", name), doctest::Contains("names no new folder"), InputError);
  }
  // A name that fits the file system but not with ".tmp.<pid>" after it is refused by its length, naming the fix
  // (it failed on the temporary folder's name); the longest allowed one is made.
  CHECK_THROWS_WITH_AS(msa::create_db(dir / "db.fasta", dir / std::string(241, 'd')),
                       doctest::Contains("choose a shorter name"), InputError);
  msa::create_db(dir / "db.fasta", dir / std::string(240, 'd'));  // + ".tmp.<10 digits>": 255 bytes
  CHECK(msa::SequenceDb::open(dir / std::string(240, 'd')).size() == msa::SequenceDb::open(dir / "db.fasta").size());
  // Temporary folders: a killed run's are removed; a live run's stops this one, untouched. Live: this process
  // (its pid and start time), or a folder on another host (or without an owner file) written in the last
  // 15 minutes. Dead: a pid that has exited, or an unknown owner's folder unchanged for longer.
  const auto write_owner = [](const fs::path& folder, const std::string& line) {
    fs::create_directories(folder);
    data::write_file_atomic(folder / "owner", line + "\n");
  };
  const auto make_old = [](const fs::path& folder) {
    const auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
    for (const auto& entry : fs::directory_iterator(folder)) fs::last_write_time(entry.path(), old);
    fs::last_write_time(folder, old);
  };
  auto dead = data::this_process();
  dead.pid = [] {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return static_cast<long>(child);
  }();
  write_owner(dir / "db3.tmp.5", data::owner_line(dead));  // dead, written just now
  write_owner(dir / "db3.tmp.6", "otherhost 6 100");       // another host, old
  make_old(dir / "db3.tmp.6");
  // A user's folders of such names, without kfold's owner file, are never removed (db3.tmp.2024 was, old and all).
  for (const char* name : {"db3.tmp", "db3.tmp.2024"}) {
    fs::create_directories(dir / name / "notes");
    data::write_file_atomic(dir / name / "notes" / "important.txt", "x");
    make_old(dir / name);
  }
  fs::create_directories(dir / "db3.tmpfiles");  // not a temporary folder of db3
  msa::create_db(dir / "db.fasta", dir / "db3");
  CHECK(msa::SequenceDb::open(dir / "db3").size() == 3);
  CHECK_FALSE(fs::exists(dir / "db3" / "owner"));
  for (const char* name : {"db3.tmp.5", "db3.tmp.6"}) CHECK_FALSE(fs::exists(dir / name));
  for (const char* name : {"db3.tmp", "db3.tmp.2024"}) CHECK(fs::exists(dir / name / "notes" / "important.txt"));
  CHECK(fs::exists(dir / "db3.tmpfiles"));
  const auto me = data::this_process();
  write_owner(dir / "db4.tmp.7", data::owner_line(me));
  const auto live = fmt::format("another 'kfold db create' (pid {} on {}) is creating it now", me.pid, me.host);
  CHECK_THROWS_WITH_AS(msa::create_db(dir / "db.fasta", dir / "db4"), doctest::Contains(live.c_str()), InputError);
  make_old(dir / "db4.tmp.7");  // age does not matter where the pid can be looked up
  CHECK_THROWS_AS(msa::create_db(dir / "db.fasta", dir / "db4"), InputError);
  CHECK(fs::exists(dir / "db4.tmp.7"));
  CHECK_FALSE(fs::exists(dir / "db4"));
  write_owner(dir / "db5.tmp.8", "otherhost 8 100");
  CHECK_THROWS_WITH_AS(msa::create_db(dir / "db.fasta", dir / "db5"),
                       doctest::Contains("(pid 8 on otherhost) is creating it now"), InputError);
  fs::create_directories(dir / "db6.tmp.9");  // no owner file, changed just now: not kfold's either
  msa::create_db(dir / "db.fasta", dir / "db6");
  CHECK(fs::exists(dir / "db6.tmp.9"));
  CHECK_THROWS_WITH_AS(msa::SequenceDb::open(dir / "nothing"), doctest::Contains("database not found"), InputError);
  fs::create_directory(dir / "plain_dir");
  CHECK_THROWS_WITH_AS(msa::SequenceDb::open(dir / "plain_dir"), doctest::Contains("not a kfold database"), InputError);
  // A truncated offsets file is detected at open.
  fs::resize_file(dir / "db" / "offsets.bin", 16);
  CHECK_THROWS_WITH_AS(msa::SequenceDb::open(dir / "db"), doctest::Contains("damaged"), InputError);
  // So is a manifest whose count would overflow the size check, or whose fields have the wrong type.
  msa::create_db(dir / "db.fasta", dir / "db2/");  // a trailing '/' names the folder
  CHECK(msa::SequenceDb::open(dir / "db2").size() == 3);
  fs::resize_file(dir / "db2" / "offsets.bin", 0);
  const auto manifest = dir / "db2" / "kfold_db.json";
  const std::string good = data::read_text_file(manifest);
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    REQUIRE(text.find(from) != std::string::npos);
    data::write_file_atomic(manifest, text.replace(text.find(from), from.size(), to));
  };
  with("\"sequences\": 3", "\"sequences\": 2305843009213693951");
  CHECK_THROWS_WITH_AS(msa::SequenceDb::open(dir / "db2"), doctest::Contains("damaged"), InputError);
  with("\"sequences\": 3", "\"sequences\": \"3\"");
  CHECK_THROWS_WITH_AS(msa::SequenceDb::open(dir / "db2"),
                       doctest::Contains("kfold_db.json: \"sequences\" must be an integer, not string; the database "
                                         "is damaged"),
                       InputError);
  with("\"format\": \"kfold-db\"", "\"format\": 7");
  CHECK_THROWS_WITH_AS(msa::SequenceDb::open(dir / "db2"), doctest::Contains("\"format\" is not \"kfold-db\""),
                       InputError);
  data::write_file_atomic(manifest, "{\"format\": ");
  CHECK_THROWS_WITH_AS(msa::SequenceDb::open(dir / "db2"),
                       doctest::Contains("kfold_db.json: invalid JSON (parse error at line"), InputError);
  data::write_file_atomic(manifest, "[1, 2]");
  CHECK_THROWS_WITH_AS(msa::SequenceDb::open(dir / "db2"), doctest::Contains("expected a JSON object"), InputError);
}

// Under ASan or TSan SIGBUS is the sanitizer's (kfold installs its handler only over the default): skipped there.
TEST_CASE("SequenceDb: a packed folder missing a file is damaged, a FASTA of empty records says why it holds none") {
  test::ScratchDir dir("msa_db_incomplete");
  data::write_file_atomic(dir / "db.fasta", kFasta);
  for (const char* name : {"headers.txt", "residues.bin", "offsets.bin", "header_offsets.bin"}) {
    CAPTURE(name);
    const fs::path db = dir / (std::string("db_") + name);
    msa::create_db(dir / "db.fasta", db);
    fs::remove(db / name);
    const std::string expected = (db / name).string() + ": cannot open (No such file or directory); the database " +
                                 db.string() + " is damaged or incomplete: create it again with 'kfold db create'";
    CHECK_THROWS_WITH_AS(msa::SequenceDb::open(db), expected.c_str(), InputError);
  }
  // Records without residues are skipped with a warning; a file of nothing else said only "no sequences".
  data::write_file_atomic(dir / "all_empty.fasta", ">a\n>b\n\n");
  const std::string expected = (dir / "all_empty.fasta").string() +
                               ": no sequences: its 2 records have no residues "
                               "(the first at " +
                               (dir / "all_empty.fasta").string() + ":1 'a')";
  CHECK_THROWS_WITH_AS(msa::SequenceDb::open(dir / "all_empty.fasta"), doctest::Contains(expected.c_str()), InputError);
  CHECK_THROWS_WITH_AS(msa::create_db(dir / "all_empty.fasta", dir / "out"), doctest::Contains(expected.c_str()),
                       InputError);
  CHECK_FALSE(fs::exists(dir / "out"));
  data::write_file_atomic(dir / "one_empty.fasta", ">a\n");
  CHECK_THROWS_WITH_AS(msa::SequenceDb::open(dir / "one_empty.fasta"),
                       doctest::Contains("its 1 record has no residues"), InputError);
}

TEST_CASE("MappedFile: a file truncated while mapped ends the process with a message and status 1, not SIGBUS") {
  if (test::sanitizer_handles_sigbus() || !kfold::data::MappedFileGuard::handler_installed()) {
    MESSAGE("skipped: SIGBUS is a sanitizer's here (kfold installs its handler only over the default action)");
    return;
  }
  test::ScratchDir dir("msa_mapped_truncated");
  const auto path = dir / "residues.bin";
  std::ofstream(path) << std::string(1 << 16, 'A');
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {  // the child maps the file, sees it cut to nothing (cp onto it), and reads on
    ::dup2(pipe_fds[1], STDERR_FILENO);
    const msa::MappedFile mapped(path);
    ::truncate(path.c_str(), 0);
    volatile uint8_t last = mapped.bytes()[mapped.bytes().size() - 1];
    (void)last;
    ::_exit(0);  // not reached: the read raises SIGBUS
  }
  ::close(pipe_fds[1]);
  std::string stderr_text;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    stderr_text.append(buffer, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
  const std::string expected = "kfold: error: " + path.string() + ": this memory-mapped file was truncated or replaced";
  CHECK_MESSAGE(stderr_text.find(expected) != std::string::npos, stderr_text);
}
