// Precomputed MSAs of kfold batch --msa-dir (pipelines/batch/given_msa.hpp): <id>.a3m and its kin first,
// then the name colabfold_search writes (its whole FASTA header made safe), and a message naming both.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "pipelines/batch/batch_targets.hpp"
#include "pipelines/batch/given_msa.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using kfold::pipelines::BatchTarget;

TEST_CASE("given_msa: the id's files first, then colabfold_search's name of the whole header") {
  kfold::test::ScratchDir tmp("given_msa");
  const auto write = [&](const std::string& name) { std::ofstream(tmp.path() / name) << ">q\nMKV\n"; };
  std::ofstream(tmp.path() / "targets.fasta") << ">sp|P1|UBQ Ubiquitin OS=Homo (x)\nMKV\n>plain\nMKV\n";
  const auto targets = kfold::pipelines::read_batch_targets(tmp.path() / "targets.fasta");
  REQUIRE(targets.size() == 2);
  const BatchTarget& ubq = targets[0];
  // ColabFold's safe_filename: every character but letters, digits, '_', '.', '-' becomes '_'.
  CHECK(kfold::pipelines::colabfold_msa_name(ubq) == "sp_P1_UBQ_Ubiquitin_OS_Homo__x_.a3m");
  CHECK(kfold::pipelines::colabfold_msa_name(targets[1]).empty());  // no description: <id>.a3m is its name

  CHECK_FALSE(kfold::pipelines::given_msa("", ubq));  // no --msa-dir
  CHECK_FALSE(kfold::pipelines::given_msa(tmp.path(), ubq));
  const std::string missing = kfold::pipelines::missing_msa_message(tmp.path(), ubq);
  CHECK(missing.find("no sp_P1_UBQ.a3m, .a3m.gz, .sto or .sto.gz (or sp_P1_UBQ_Ubiquitin_OS_Homo__x_.a3m, "
                     "colabfold_search's name) in --msa-dir") == 0);
  write("SP_P1_UBQ_UBIQUITIN_OS_HOMO__X_.a3m");  // letter case differs: named in the message, not taken
  CHECK_FALSE(kfold::pipelines::given_msa(tmp.path(), ubq));
  CHECK(kfold::pipelines::missing_msa_message(tmp.path(), ubq)
            .find("(there is SP_P1_UBQ_UBIQUITIN_OS_HOMO__X_.a3m: the file name must be") != std::string::npos);
  write("sp_P1_UBQ_Ubiquitin_OS_Homo__x_.a3m");
  CHECK(kfold::pipelines::given_msa(tmp.path(), ubq) == tmp.path() / "sp_P1_UBQ_Ubiquitin_OS_Homo__x_.a3m");
  write("sp_P1_UBQ.sto");  // the id's own name wins
  CHECK(kfold::pipelines::given_msa(tmp.path(), ubq) == tmp.path() / "sp_P1_UBQ.sto");
  write("plain.a3m.gz");
  CHECK(kfold::pipelines::given_msa(tmp.path(), targets[1]) == tmp.path() / "plain.a3m.gz");
  CHECK(kfold::pipelines::missing_msa_message(tmp.path(), BatchTarget{"other", "MKV", "", "", ""}) ==
        "no other.a3m, .a3m.gz, .sto or .sto.gz in --msa-dir " + tmp.path().string());
}
