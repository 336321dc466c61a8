// A folder of fitted evolutionary models (`--evolution-cache DIR`), so that the costly parts of a
// campaign's evidence - sequence weights (O(n_seq^2 n_col)) and the Potts fit - are computed once per
// alignment and reused by later rounds and other campaigns. One binary file per key, `<key>.evo`; the
// key hashes the alignment file's SHA-256 and every option that changes the result. Files are written
// atomically and end with a SHA-256 of their content; an unreadable, damaged (checksum mismatch) or
// mismatched file is ignored with a warning, and the evidence is recomputed and the file rewritten.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "pipelines/agent/potts_model.hpp"
#include "pipelines/agent/sequence_weights.hpp"

namespace kfold::pipelines::agent {

struct CachedEvolution {
  SequenceWeights weights;
  std::optional<PottsModel> potts;
};

// The key (hex SHA-256) of an alignment's evidence under the options.
std::string evolution_cache_key(const std::string& alignment_sha256, double identity, bool potts,
                                int64_t potts_iterations, double lambda_h, double lambda_J);

// Nullopt when absent, unreadable, damaged (checksum) or when its sizes disagree with n_seq / n_col.
std::optional<CachedEvolution> load_evolution_cache(const std::filesystem::path& dir, const std::string& key,
                                                    int64_t n_seq, int64_t n_col);
void save_evolution_cache(const std::filesystem::path& dir, const std::string& key, const CachedEvolution& entry);

}  // namespace kfold::pipelines::agent
