// The family alignment of a campaign that gives `target.db` instead of `target.msa`: the target is
// searched against the database (kfold search's defaults) and the A3M is kept in the output folder,
// DIR/target.a3m, beside DIR/target_search.json (what it was searched with: the sequence's SHA-256, the
// database's path and size, the E-value and depth limits). A later round whose record matches reuses
// the alignment instead of searching again; any difference searches anew.
#pragma once

#include <filesystem>
#include <functional>

#include "pipelines/agent/campaign.hpp"

namespace kfold::pipelines::agent {

// Returns the A3M path (existing and current, or freshly searched and written atomically).
// Throws InputError naming the database when it cannot be opened.
std::filesystem::path searched_target_msa(const Campaign& campaign, const std::filesystem::path& out_dir, int threads,
                                          const std::function<void()>& check_cancelled);

}  // namespace kfold::pipelines::agent
