// Greedy, position-capped plate selection with control and blank wells and a seeded layout.
#include "pipelines/agent/plate_layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "data/error.hpp"
#include "data/log.hpp"
#include "pipelines/agent/acquisition.hpp"

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
  if (index < 0 || index >= rows * cols) fail_input("well index {} is not on a plate of {} wells", index, size);
  return fmt::format("{}{:02d}", static_cast<char>('A' + index / cols), index % cols + 1);
}

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// Greedy selection state: per-position counts and the substitutions already on the plate.
struct Picker {
  const ScoreTable& table;
  int64_t cap = 2;
  double penalty = 0.0;
  std::map<int64_t, int64_t> per_position;
  std::map<std::pair<int64_t, char>, int64_t> substitutions;
  std::vector<char> taken;  // per row

  bool fits(int64_t row) const {
    for (const Substitution& s : table.rows[static_cast<size_t>(row)].hypothesis->variant.substitutions) {
      const auto it = per_position.find(s.position);
      if (it != per_position.end() && it->second >= cap) return false;
    }
    return true;
  }
  int64_t shared(int64_t row) const {
    int64_t n = 0;
    for (const Substitution& s : table.rows[static_cast<size_t>(row)].hypothesis->variant.substitutions) {
      const auto it = substitutions.find({s.position, s.mutant});
      if (it != substitutions.end()) n += it->second;
    }
    return n;
  }
  void take(int64_t row) {
    taken[static_cast<size_t>(row)] = 1;
    for (const Substitution& s : table.rows[static_cast<size_t>(row)].hypothesis->variant.substitutions) {
      ++per_position[s.position];
      ++substitutions[{s.position, s.mutant}];
    }
  }
  // The best candidate by key - penalty x spread x shared substitutions; ties: the earlier row. -1: none.
  int64_t best(const std::vector<int64_t>& candidates, const std::vector<double>& key, double spread) const {
    int64_t best_row = -1;
    double best_value = kNegInf;
    for (const int64_t k : candidates) {
      const double v = key[static_cast<size_t>(k)];
      if (taken[static_cast<size_t>(k)] || !std::isfinite(v) || !fits(k)) continue;
      const int64_t overlap = shared(k);  // never penalty x spread x 0: inf x 0 is NaN when the product overflows
      const double adjusted = overlap == 0 ? v : v - penalty * spread * static_cast<double>(overlap);
      if (best_row < 0 || adjusted > best_value) {
        best_row = k;
        best_value = adjusted;
      }
    }
    return best_row;
  }
};

// The reference wells (controls and blanks) of one seeded draw over the first `rows` rows of a plate with
// `cols` columns: row-major well indices, ascending, and per well whether it is a blank.
struct References {
  std::vector<int64_t> wells;
  std::vector<char> blank;
};

References draw_references(int64_t n_controls, int64_t n_blanks, int64_t rows, int64_t cols, SplitMix64& rng) {
  References refs;
  const int64_t m = n_controls + n_blanks;
  if (m == 0) return refs;
  // Of n rows (or columns), reference k (k = 0 .. m-1) in floor((k n + t) / m), seeded t in [0, n): evenly
  // spaced, at most one per row while m <= n, else floor(m / n) or ceil(m / n) per row.
  const auto spaced = [&](int64_t n) {
    const auto t = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
    std::vector<int64_t> count(static_cast<size_t>(n), 0);
    for (int64_t k = 0; k < m; ++k) ++count[static_cast<size_t>((k * n + t) / m)];
    return count;
  };
  const std::vector<int64_t> per_row = spaced(rows);
  std::vector<int64_t> owed = spaced(cols);  // references each column still takes
  std::vector<int64_t> column_order(static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c) column_order[static_cast<size_t>(c)] = c;
  for (size_t k = column_order.size(); k > 1; --k)
    std::swap(column_order[k - 1], column_order[static_cast<size_t>(rng.below(k))]);
  // Row by row, the columns owed the most (ties: the seeded order). The owed counts never differ by more
  // than one, so a row always finds as many owed columns as it has references, and every column ends with
  // its count: distinct wells (per_row <= cols, as m <= rows x cols).
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int64_t> order = column_order;
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return owed[static_cast<size_t>(a)] > owed[static_cast<size_t>(b)]; });
    for (int64_t j = 0; j < per_row[static_cast<size_t>(r)]; ++j) {
      const int64_t c = order[static_cast<size_t>(j)];
      --owed[static_cast<size_t>(c)];
      refs.wells.push_back(r * cols + c);
    }
  }
  std::sort(refs.wells.begin(), refs.wells.end());
  // The blanks interleaved evenly among the controls in well order, from a seeded offset.
  const auto offset = static_cast<int64_t>(rng.below(static_cast<uint64_t>(m)));
  for (int64_t k = 0; k < m; ++k) {
    const int64_t j = (k + offset) % m;
    refs.blank.push_back((j + 1) * n_blanks / m > j * n_blanks / m ? 1 : 0);
  }
  return refs;
}

// True when the controls and the blanks each have a well off the plate's edge, or when the first `rows`
// rows of the plate hold no such well.
bool references_off_edge(const References& refs, int64_t rows, int64_t plate_rows, int64_t cols) {
  const auto interior = [&](int64_t well) {
    const int64_t r = well / cols;
    const int64_t c = well % cols;
    return r > 0 && r < plate_rows - 1 && c > 0 && c < cols - 1;
  };
  if (rows < 2 || cols < 3) return true;
  for (const char kind : {0, 1}) {
    bool any = false;
    bool inside = false;
    for (size_t k = 0; k < refs.wells.size(); ++k) {
      if (refs.blank[k] != kind) continue;
      any = true;
      inside = inside || interior(refs.wells[k]);
    }
    if (any && !inside) return false;
  }
  return true;
}

double spread_of(const std::vector<int64_t>& rows, const std::vector<double>& key) {
  double sum = 0.0;
  double n = 0.0;
  for (const int64_t k : rows) {
    if (std::isfinite(key[static_cast<size_t>(k)])) {
      sum += key[static_cast<size_t>(k)];
      n += 1.0;
    }
  }
  if (n < 2.0) return 1.0;
  double ss = 0.0;
  for (const int64_t k : rows) {
    const double v = key[static_cast<size_t>(k)];
    if (std::isfinite(v)) ss += (v - sum / n) * (v - sum / n);
  }
  return ss > 0.0 ? std::sqrt(ss / (n - 1.0)) : 1.0;
}

// The rows that may go on a plate (finite total, not measured, not the wild type, no hard flag), in
// table order; `n_filtered` counts those a hard flag alone keeps off.
std::vector<int64_t> plate_candidates(const ScoreTable& table, int64_t* n_filtered = nullptr) {
  std::vector<int64_t> eligible;
  for (size_t k = 0; k < table.rows.size(); ++k) {
    const ScoredVariant& r = table.rows[k];
    if (!std::isfinite(r.total) || r.measured || r.hypothesis->variant.is_wild_type()) continue;
    if (has_hard_flag(r.flags)) {
      if (n_filtered) ++*n_filtered;
      continue;
    }
    eligible.push_back(static_cast<int64_t>(k));
  }
  return eligible;
}

// The key the plate exploits: the acquisition value under a surrogate, else the total score.
std::vector<double> exploit_key_of(const ScoreTable& table) {
  std::vector<double> key(table.rows.size());
  for (size_t k = 0; k < table.rows.size(); ++k)
    key[k] = table.surrogate ? table.rows[k].acquisition : table.rows[k].total;
  return key;
}

// The rows of `eligible` whose residues the family holds, at sites with nothing measured.
std::vector<int64_t> untested_family_rows(const ScoreTable& table, const Campaign& campaign,
                                          const std::vector<int64_t>& eligible) {
  std::set<int64_t> tested;
  for (const Measurement& m : campaign.measurements) {
    for (const Substitution& s : m.variant.substitutions) tested.insert(s.position);
  }
  std::vector<int64_t> untested;
  for (const int64_t k : eligible) {
    if (!table.rows[static_cast<size_t>(k)].family_holds) continue;
    const auto& subs = table.rows[static_cast<size_t>(k)].hypothesis->variant.substitutions;
    if (std::none_of(subs.begin(), subs.end(), [&](const Substitution& s) { return tested.count(s.position); })) {
      untested.push_back(k);
    }
  }
  return untested;
}

// The variant wells' rows in rank order, each with its pick ("exploit" or "explore"): `capacity` at most,
// `n_explore` of them meant for exploring.
std::vector<std::pair<int64_t, std::string>> choose_variants(const ScoreTable& table, const Campaign& campaign,
                                                             const std::vector<int64_t>& eligible, int64_t capacity,
                                                             int64_t n_explore, uint64_t seed) {
  const size_t n_rows = table.rows.size();
  std::vector<double> mean(n_rows);
  std::vector<double> explore_key(n_rows);
  for (size_t k = 0; k < n_rows; ++k) {
    mean[k] = table.rows[k].total;
    explore_key[k] = table.rows[k].explore_key;
  }
  const std::vector<double> exploit_key = exploit_key_of(table);
  const bool thompson =
      table.surrogate && table.surrogate->acquisition == "thompson" && !table.member_predictions.empty();

  Picker picker{table, campaign.plate.max_per_position, campaign.plate.similarity_penalty, {},
                {},    std::vector<char>(n_rows, 0)};
  std::vector<std::pair<int64_t, std::string>> chosen;  // (row, pick) in rank order
  // Exploit (until `wells` are chosen): the best by the key, or by one ensemble member per pick (Thompson).
  const double exploit_spread = spread_of(eligible, thompson ? mean : exploit_key);
  ThompsonSampler sampler(thompson ? static_cast<int64_t>(table.member_predictions.size()) : 1, seed);
  const auto exploit_until = [&](int64_t wells) {
    while (static_cast<int64_t>(chosen.size()) < wells) {
      const std::vector<double>& key =
          thompson ? table.member_predictions[static_cast<size_t>(sampler.next_member())] : exploit_key;
      const int64_t k = picker.best(eligible, key, exploit_spread);
      if (k < 0) break;
      picker.take(k);
      chosen.emplace_back(k, "exploit");
    }
  };
  exploit_until(capacity - n_explore);
  // Explore: the best residue (explore_key) at a site with nothing measured and nothing yet on the plate,
  // one well per site: evidence where the surrogate has none, for residues the family prefers whether or
  // not their site is tolerant (site_decomposition.hpp). Only residues the family holds there: at a fully
  // conserved site every residue term is the same and the solubility term alone would pick (charged
  // residues into the core).
  if (n_explore > 0) {
    const std::vector<int64_t> untested = untested_family_rows(table, campaign, eligible);
    Picker one_per_site = picker;
    one_per_site.cap = 1;
    const double explore_spread = spread_of(untested, explore_key);
    while (static_cast<int64_t>(chosen.size()) < capacity) {
      const int64_t k = one_per_site.best(untested, explore_key, explore_spread);
      if (k < 0) break;
      picker.take(k);
      one_per_site.take(k);
      chosen.emplace_back(k, "explore");
    }
  }
  exploit_until(capacity);  // wells the explore quota could not fill
  return chosen;
}

// The control and blank wells over the first `rows` rows of a plate of `plate_rows` x `cols`: a seeded draw
// with each kind off the plate's edge where one of kMaxDraws finds it, else spread over the rows and
// columns off the edge.
References place_references(int64_t n_controls, int64_t n_blanks, int64_t rows, int64_t plate_rows, int64_t cols,
                            SplitMix64& rng) {
  constexpr int kMaxDraws = 64;
  References refs;
  bool off_edge = false;
  for (int draw = 0; draw < kMaxDraws && !off_edge; ++draw) {
    References d = draw_references(n_controls, n_blanks, rows, cols, rng);
    off_edge = references_off_edge(d, rows, plate_rows, cols);
    if (draw == 0 || off_edge) refs = std::move(d);
  }
  // Few references over few rows (1 control and 1 blank over 4 rows: always two rows apart, one on the
  // edge) find no such draw: then they are spread over the rows and columns off the edge instead.
  const int64_t inner_rows = std::min(rows, plate_rows - 1) - 1;
  if (!off_edge && inner_rows > 0 && cols > 2 && n_controls + n_blanks <= inner_rows * (cols - 2)) {
    refs = draw_references(n_controls, n_blanks, inner_rows, cols - 2, rng);
    for (int64_t& well : refs.wells) well = (well / (cols - 2) + 1) * cols + well % (cols - 2) + 1;
  }
  return refs;
}

}  // namespace

std::vector<size_t> structure_shortlist(const ScoreTable& table, const Campaign& campaign, int64_t budget) {
  const std::vector<int64_t> eligible = plate_candidates(table);
  const std::vector<double> key = exploit_key_of(table);
  Picker picker{table, campaign.plate.max_per_position,        campaign.plate.similarity_penalty, {},
                {},    std::vector<char>(table.rows.size(), 0)};
  const double spread = spread_of(eligible, key);
  std::vector<size_t> out;
  while (static_cast<int64_t>(out.size()) < budget) {
    const int64_t k = picker.best(eligible, key, spread);
    if (k < 0) break;
    picker.take(k);
    out.push_back(static_cast<size_t>(k));
  }
  return out;
}

std::vector<const PlateWell*> ranked_variant_wells(const Plate& plate) {
  std::vector<const PlateWell*> ranked;
  for (const PlateWell& w : plate.wells) {
    if (w.row >= 0) ranked.push_back(&w);
  }
  std::sort(ranked.begin(), ranked.end(), [](const PlateWell* a, const PlateWell* b) { return a->rank < b->rank; });
  return ranked;
}

Plate select_plate(const ScoreTable& table, const Campaign& campaign, uint64_t seed, int64_t round) {
  Plate plate;
  const std::vector<int64_t> eligible = plate_candidates(table, &plate.n_filtered);
  plate.n_candidates = static_cast<int64_t>(eligible.size());
  const int64_t n_construct_wells =
      std::min<int64_t>(campaign.plate.constructs, static_cast<int64_t>(table.constructs.size()));
  const int64_t n_references = campaign.plate.controls + campaign.plate.blanks;
  const int64_t capacity = campaign.plate.size - n_references - n_construct_wells;
  if (campaign.plate.controls < 0 || campaign.plate.blanks < 0 || capacity < 1) {
    fail_input("agent: {} control, {} blank and {} construct wells leave no well of {} for variants",
               campaign.plate.controls, campaign.plate.blanks, n_construct_wells, campaign.plate.size);
  }
  const int64_t n_explore =
      static_cast<int64_t>(std::llround(campaign.plate.explore_fraction * static_cast<double>(capacity)));
  const auto chosen = choose_variants(table, campaign, eligible, capacity, n_explore, seed);
  plate.n_explore = std::count_if(chosen.begin(), chosen.end(), [](const auto& c) { return c.second == "explore"; });
  if (chosen.empty() && n_construct_wells == 0) {  // a plate of wild-type controls alone tests nothing
    fail_input(
        "agent: no variant qualifies for the plate ({} candidates; hard liability filters, frozen residues, "
        "measured variants and the position cap {} leave none); free residues (frozen), add a library, or "
        "raise plate.max_per_position",
        plate.n_candidates, campaign.plate.max_per_position);
  }
  if (static_cast<int64_t>(chosen.size()) < capacity) {
    log_warn(
        "agent: only {} variants qualify for {} variant wells (hard filters, position cap {}, measured "
        "variants); the remaining wells stay empty",
        chosen.size(), capacity, campaign.plate.max_per_position);
  }
  // Layout (plate_layout.hpp): the references spread over the rows used, then the variants and constructs in
  // a seeded order over the free wells in well order.
  std::vector<PlateWell> items;
  for (size_t r = 0; r < chosen.size(); ++r) {
    items.push_back({"", chosen[r].first, static_cast<int64_t>(r) + 1, chosen[r].second});
  }
  for (int64_t c = 0; c < n_construct_wells; ++c) items.push_back({"", -1, 0, "construct", c});
  // Round 1 keeps the plain seed; later rounds mix the round in.
  SplitMix64 rng(round <= 1 ? seed : SplitMix64(seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(round))).next());
  for (size_t k = items.size(); k > 1; --k) std::swap(items[k - 1], items[static_cast<size_t>(rng.below(k))]);
  const auto [plate_rows, cols] = plate_shape(campaign.plate.size);
  const int64_t rows = (static_cast<int64_t>(items.size()) + n_references + cols - 1) / cols;
  const References refs = place_references(campaign.plate.controls, campaign.plate.blanks, rows, plate_rows, cols, rng);
  size_t next_ref = 0;
  size_t next_item = 0;
  for (int64_t w = 0; w < rows * cols; ++w) {
    PlateWell well;
    if (next_ref < refs.wells.size() && refs.wells[next_ref] == w) {
      well = {"", -1, 0, refs.blank[next_ref] ? "blank" : "control"};
      ++next_ref;
    } else if (next_item < items.size()) {
      well = std::move(items[next_item++]);
    } else {
      continue;
    }
    well.well = well_name(w, campaign.plate.size);
    plate.wells.push_back(std::move(well));
  }
  plate.n_variants = static_cast<int64_t>(chosen.size());
  plate.n_controls = campaign.plate.controls;
  plate.n_blanks = campaign.plate.blanks;
  plate.n_constructs = n_construct_wells;
  return plate;
}

}  // namespace kfold::pipelines::agent
