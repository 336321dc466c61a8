// Greedy, position-capped plate selection with control wells and a seeded layout.
#include "pipelines/agent/plate_layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "data/error.hpp"
#include "data/log.hpp"

namespace kfold::pipelines::agent {

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::below(uint64_t n) {
  // Rejection sampling: no modulo bias.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t v = next();
  while (v >= limit) v = next();
  return v % n;
}

std::pair<int64_t, int64_t> plate_shape(int64_t size) {
  switch (size) {
    case 24:
      return {4, 6};
    case 48:
      return {6, 8};
    case 96:
      return {8, 12};
    case 384:
      return {16, 24};
    default:
      fail_input("plate.size {} is not a plate format; use 24, 48, 96 or 384", size);
  }
}

std::string well_name(int64_t index, int64_t size) {
  const auto [rows, cols] = plate_shape(size);
  (void)rows;
  return fmt::format("{}{}", static_cast<char>('A' + index / cols), index % cols + 1);
}

Plate select_plate(const ScoreTable& table, const Campaign& campaign, uint64_t seed) {
  Plate plate;
  std::vector<int64_t> order;
  for (size_t k = 0; k < table.rows.size(); ++k) {
    const ScoredVariant& r = table.rows[k];
    if (!std::isfinite(r.total) || r.measured || r.hypothesis->variant.is_wild_type()) continue;
    if (has_hard_flag(r.flags)) {
      ++plate.n_filtered;
      continue;
    }
    order.push_back(static_cast<int64_t>(k));
  }
  plate.n_candidates = static_cast<int64_t>(order.size());
  // Best total first; ties by hypothesis order (ids), so the ranking never depends on sort internals.
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return table.rows[static_cast<size_t>(a)].total > table.rows[static_cast<size_t>(b)].total;
  });
  const int64_t capacity = campaign.plate.size - campaign.plate.controls;
  std::map<int64_t, int64_t> per_position;
  std::vector<int64_t> chosen;
  for (const int64_t k : order) {
    if (static_cast<int64_t>(chosen.size()) == capacity) break;
    const Variant& v = table.rows[static_cast<size_t>(k)].hypothesis->variant;
    const bool full = std::any_of(v.substitutions.begin(), v.substitutions.end(), [&](const Substitution& s) {
      return per_position[s.position] >= campaign.plate.max_per_position;
    });
    if (full) continue;
    for (const Substitution& s : v.substitutions) ++per_position[s.position];
    chosen.push_back(k);
  }
  if (static_cast<int64_t>(chosen.size()) < capacity) {
    log_warn(
        "agent: only {} variants qualify for {} variant wells (hard filters, position cap {}, measured "
        "variants); the remaining wells stay empty",
        chosen.size(), capacity, campaign.plate.max_per_position);
  }
  // Layout: variants (by rank) then controls, shuffled over the first n wells with a seeded Fisher-Yates.
  std::vector<PlateWell> items;
  for (size_t r = 0; r < chosen.size(); ++r) items.push_back({"", chosen[r], static_cast<int64_t>(r) + 1});
  for (int64_t c = 0; c < campaign.plate.controls; ++c) items.push_back({"", -1, 0});
  SplitMix64 rng(seed);
  for (size_t k = items.size(); k > 1; --k) std::swap(items[k - 1], items[static_cast<size_t>(rng.below(k))]);
  for (size_t k = 0; k < items.size(); ++k) items[k].well = well_name(static_cast<int64_t>(k), campaign.plate.size);
  plate.wells = std::move(items);
  plate.n_variants = static_cast<int64_t>(chosen.size());
  plate.n_controls = campaign.plate.controls;
  return plate;
}

}  // namespace kfold::pipelines::agent
