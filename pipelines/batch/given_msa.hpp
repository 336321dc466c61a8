// Where `kfold batch --msa-dir D` finds a target's precomputed MSA: D/<id>.a3m (.a3m.gz, .sto, .sto.gz),
// or the name colabfold_search gives it (the whole FASTA header made safe).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/batch/batch_targets.hpp"

namespace kfold::pipelines {

// The name colabfold_search writes a query's A3M under: its whole FASTA header with every character but
// ASCII letters, digits, '_', '.' and '-' as '_' (">sp|P1|UBQ Ubiquitin" gives sp_P1_UBQ_Ubiquitin.a3m);
// "" for a target without a description (ColabFold's name is then <id>.a3m).
std::string colabfold_msa_name(const BatchTarget& target);

// The precomputed MSA of `target` in msa_dir: <id> with one of the extensions above first, then
// colabfold_msa_name; nullopt when there is none (or msa_dir is empty: no --msa-dir).
std::optional<std::filesystem::path> given_msa(const std::filesystem::path& msa_dir, const BatchTarget& target);

// The files of `target` in msa_dir that given_msa passes over for the one it takes (<id>.a3m beside <id>.sto: one
// may be stale), in its order of preference.
std::vector<std::filesystem::path> other_given_msas(const std::filesystem::path& msa_dir, const BatchTarget& target);

// Why `target` has no MSA in msa_dir, naming the file names looked for and a file whose name differs only
// in letter case: "no U4.a3m, ... in --msa-dir D (there is u4.a3m: ...)".
std::string missing_msa_message(const std::filesystem::path& msa_dir, const BatchTarget& target);

}  // namespace kfold::pipelines
