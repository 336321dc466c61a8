// Run-time ISA choice, striped profile layout and the 8 → 16 → 32-bit lane chain.
#include "msa/striped_sw.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "data/cpu_capability.hpp"
#include "data/log.hpp"
#include "msa/gotoh.hpp"
#include "msa/local_traceback.hpp"

namespace kfold::msa {
namespace {

int64_t lanes_u8(SimdLevel level) { return level == SimdLevel::avx512 ? 64 : level == SimdLevel::avx2 ? 32 : 16; }
int64_t lanes_i16(SimdLevel level) { return lanes_u8(level) / 2; }
int64_t lanes_i32(SimdLevel level) { return lanes_u8(level) / 4; }

// The kernels of one instruction set (striped_sw_<isa>.cpp).
struct Kernels {
  int32_t (*score_u8)(const detail::StripedInput&, bool&);
  int32_t (*score_i16)(const detail::StripedInput&, bool&);
  int64_t (*store_u8)(const detail::StripedInput&, void*, int32_t);
  int64_t (*store_i16)(const detail::StripedInput&, void*, int32_t);
  int32_t (*score_i32)(const detail::StripedInput&, bool&);
  int64_t (*store_i32)(const detail::StripedInput&, void*, int32_t);
};

#if defined(__x86_64__) || defined(_M_X64)
const Kernels& kernels(SimdLevel level) {
  static constexpr Kernels kSse2{detail::striped_u8_sse2,       detail::striped_i16_sse2,
                                 detail::striped_store_u8_sse2, detail::striped_store_i16_sse2,
                                 detail::striped_i32_sse2,      detail::striped_store_i32_sse2};
  static constexpr Kernels kAvx2{detail::striped_u8_avx2,       detail::striped_i16_avx2,
                                 detail::striped_store_u8_avx2, detail::striped_store_i16_avx2,
                                 detail::striped_i32_avx2,      detail::striped_store_i32_avx2};
  static constexpr Kernels kAvx512{detail::striped_u8_avx512,       detail::striped_i16_avx512,
                                   detail::striped_store_u8_avx512, detail::striped_store_i16_avx512,
                                   detail::striped_i32_avx512,      detail::striped_store_i32_avx512};
  return level == SimdLevel::avx512 ? kAvx512 : level == SimdLevel::avx2 ? kAvx2 : kSse2;
}
#else
// Not x86-64: simd_level_supported() admits only the scalar level, so no kernel is ever called.
const Kernels& kernels(SimdLevel) {
  static constexpr Kernels kNone{};
  return kNone;
}
#endif

constexpr int16_t kPaddingI16 = -16384;  // score of the striped layout's cells past the query end
constexpr int32_t kPaddingI32 = -(1 << 24);
// A 32-bit lane above this may be wrong: H grows by at most the best profile score (< 2^15) per query residue,
// so a query within kfold's length limit stays far below it; the check guards the arithmetic all the same.
constexpr int32_t kLimitI32 = (1 << 30);

// The striped profile [kAlphabetSize][seg][lanes] of scores + offset: query position q sits in segment
// q % seg, lane q / seg; cells past the query end hold `padding`.
template <class T>
void fill_striped_profile(const ScoreProfile& query, int64_t seg, int64_t lanes, int32_t offset, T padding,
                          T* out_all) {
  for (int64_t code = 0; code < kAlphabetSize; ++code) {
    T* out = out_all + code * seg * lanes;
    for (int64_t i = 0; i < seg; ++i)
      for (int64_t k = 0; k < lanes; ++k) {
        const int64_t q = k * seg + i;
        out[i * lanes + k] =
            q < query.n_res ? static_cast<T>(query.score(q, static_cast<uint8_t>(code)) + offset) : padding;
      }
  }
}

}  // namespace

bool simd_level_supported(SimdLevel level) {
#if defined(__x86_64__) || defined(_M_X64)
  switch (level) {
    case SimdLevel::scalar:
    case SimdLevel::sse2:
      return true;
    case SimdLevel::avx2:
      return __builtin_cpu_supports("avx2");
    case SimdLevel::avx512:
      return __builtin_cpu_supports("avx512bw");
  }
  return false;
#else
  return level == SimdLevel::scalar;
#endif
}

namespace {

// Seconds to score `targets` with `level`'s kernels.
double kernel_seconds(SimdLevel level, const ScoreProfile& query, const std::vector<std::vector<uint8_t>>& targets) {
  StripedAligner aligner(query, GapPenalties{}, level);
  const auto start = std::chrono::steady_clock::now();
  int64_t checksum = 0;
  for (const auto& target : targets) checksum += aligner.score(target);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return checksum >= 0 ? took.count() : 0.0;  // (the checksum keeps the scoring from being optimised away)
}

SimdLevel fastest_simd_level() {
  // Of the levels KFOLD_CPU_CAPABILITY allows (data/cpu_capability.hpp: every kfold CPU kernel's ceiling).
  const data::CpuCapability ceiling = data::cpu_capability_requested();
  std::vector<SimdLevel> vector_levels;
  if (simd_level_supported(SimdLevel::avx2) && ceiling >= data::CpuCapability::avx2)
    vector_levels.push_back(SimdLevel::avx2);
  if (simd_level_supported(SimdLevel::avx512) && ceiling >= data::CpuCapability::avx512)
    vector_levels.push_back(SimdLevel::avx512);
  if (vector_levels.size() < 2)
    return vector_levels.empty() ? (simd_level_supported(SimdLevel::sse2) ? SimdLevel::sse2 : SimdLevel::scalar)
                                 : vector_levels.front();
  // A fixed workload of random residues (fixed seed): a 300-residue query against 48 targets of 300,
  // about 1-3 ms per pass; the best of 5 alternating passes per level.
  std::mt19937_64 rng(20261203);
  std::uniform_int_distribution<int> residue(0, 19);
  std::string query_residues;
  for (int i = 0; i < 300; ++i) query_residues.push_back(code_letter(static_cast<uint8_t>(residue(rng))));
  const ScoreProfile query = make_sequence_profile(query_residues, blosum62());
  std::vector<std::vector<uint8_t>> targets(48, std::vector<uint8_t>(300));
  for (auto& target : targets)
    for (auto& code : target) code = static_cast<uint8_t>(residue(rng));
  std::vector<double> best(vector_levels.size(), 1e30);
  for (int pass = 0; pass < 5; ++pass)
    for (size_t k = 0; k < vector_levels.size(); ++k)
      best[k] = std::min(best[k], kernel_seconds(vector_levels[k], query, targets));
  return vector_levels[static_cast<size_t>(std::min_element(best.begin(), best.end()) - best.begin())];
}

}  // namespace

SimdLevel detect_simd_level() {
  static const SimdLevel fastest = fastest_simd_level();  // timed once per process
  if (const char* env = std::getenv("KFOLD_SIMD"); env != nullptr && *env != '\0') {
    for (const SimdLevel level : {SimdLevel::scalar, SimdLevel::sse2, SimdLevel::avx2, SimdLevel::avx512})
      if (simd_level_name(level) == env && simd_level_supported(level)) return level;
    static const bool warned = [env] {  // once per process, not once per search
      log_warn("KFOLD_SIMD={}: not one of avx512, avx2, sse2, scalar that this CPU runs; using {}", env,
               simd_level_name(fastest));
      return true;
    }();
    (void)warned;
  }
  return fastest;
}

std::string_view simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::scalar:
      return "scalar";
    case SimdLevel::sse2:
      return "sse2";
    case SimdLevel::avx2:
      return "avx2";
    case SimdLevel::avx512:
      return "avx512";
  }
  return "?";
}

void StripedAligner::AlignedBytes::resize(size_t bytes) {
  grow_to(bytes);
  std::memset(data, 0, bytes);
}

void StripedAligner::AlignedBytes::grow_to(size_t bytes) {
  if (data != nullptr && capacity >= bytes + 64) return;
  storage.reset();  // the old buffer goes before the new one comes: one at a time in memory
  storage = std::make_unique_for_overwrite<uint8_t[]>(bytes + 64);
  capacity = bytes + 64;
  const auto address = reinterpret_cast<uintptr_t>(storage.get());
  data = storage.get() + ((64 - address % 64) % 64);
}

StripedAligner::StripedAligner(const ScoreProfile& query, const GapPenalties& gaps, SimdLevel level)
    : query_(query), gaps_(gaps), level_(simd_level_supported(level) ? level : SimdLevel::scalar) {
  if (level_ == SimdLevel::scalar || query.n_res == 0) return;
  const int64_t n_res = query.n_res;
  const int64_t lanes = lanes_u8(level_);
  seg_u8_ = (n_res + lanes - 1) / lanes;
  const int64_t lanes16 = lanes_i16(level_);
  seg_i16_ = (n_res + lanes16 - 1) / lanes16;
  const int64_t lanes32 = lanes_i32(level_);
  seg_i32_ = (n_res + lanes32 - 1) / lanes32;
  bias_ = query.min_score < 0 ? -query.min_score : 0;
  use_u8_ = query.max_score + bias_ <= 255 && gaps.open + gaps.extend <= 255;
  if (use_u8_) {
    profile_u8_.resize(static_cast<size_t>(kAlphabetSize * seg_u8_ * lanes));
    // Past the query end: 0, i.e. a score of -bias, which can never start or extend a best cell.
    fill_striped_profile<uint8_t>(query, seg_u8_, lanes, bias_, 0, profile_u8_.data);
  }
  work_.resize(static_cast<size_t>(3 * std::max({seg_u8_ * lanes, seg_i16_ * lanes16 * 2, seg_i32_ * lanes32 * 4})));
}

void StripedAligner::build_i16() {
  if (built_i16_) return;
  profile_i16_.resize(static_cast<size_t>(kAlphabetSize * seg_i16_ * lanes_i16(level_)) * sizeof(int16_t));
  fill_striped_profile(query_, seg_i16_, lanes_i16(level_), 0, kPaddingI16,
                       reinterpret_cast<int16_t*>(profile_i16_.data));
  built_i16_ = true;
}

void StripedAligner::build_i32() {
  if (built_i32_) return;
  profile_i32_.resize(static_cast<size_t>(kAlphabetSize * seg_i32_ * lanes_i32(level_)) * sizeof(int32_t));
  fill_striped_profile(query_, seg_i32_, lanes_i32(level_), 0, kPaddingI32,
                       reinterpret_cast<int32_t*>(profile_i32_.data));
  built_i32_ = true;
}

int32_t StripedAligner::score(std::span<const uint8_t> target) {
  if (target.empty() || query_.n_res == 0) {
    last_precision_ = ScorePrecision::u8;
    return 0;
  }
  if (level_ == SimdLevel::scalar) {
    last_precision_ = ScorePrecision::i32;
    return gotoh_local_score(query_, target, gaps_).score;
  }
  const Kernels& k = kernels(level_);
  detail::StripedInput in;
  in.target = target.data();
  in.t_len = static_cast<int64_t>(target.size());
  in.gap_open_extend = gaps_.open + gaps_.extend;
  in.gap_extend = gaps_.extend;
  in.work = work_.data;
  bool overflow = true;
  if (use_u8_) {
    in.profile = profile_u8_.data;
    in.seg = seg_u8_;
    in.bias = bias_;
    in.limit = 254 - bias_;  // a score >= 255 - bias may have been clipped at 255
    const int32_t s = k.score_u8(in, overflow);
    if (!overflow) {
      last_precision_ = ScorePrecision::u8;
      return s;
    }
  }
  build_i16();
  in.profile = profile_i16_.data;
  in.seg = seg_i16_;
  in.bias = 0;
  in.limit = 32767 - 129;  // adds_epi16 clips at 32767; keep a margin of one profile entry
  if (const int32_t s = k.score_i16(in, overflow); !overflow) {
    last_precision_ = ScorePrecision::i16;
    return s;
  }
  build_i32();
  in.profile = profile_i32_.data;
  in.seg = seg_i32_;
  in.limit = kLimitI32;
  last_precision_ = ScorePrecision::i32;
  if (const int32_t s = k.score_i32(in, overflow); !overflow) return s;
  return gotoh_local_score(query_, target, gaps_).score;  // (beyond any query kfold takes)
}

namespace {

// H of cell (i, j) in the striped column store: query position i sits in segment i % seg, lane i / seg.
template <class T>
struct StripedColumns {
  const T* cells;
  int64_t seg;
  int64_t lanes;
  int32_t operator()(int64_t i, int64_t j) const {
    if (i < 0 || j < 0) return 0;
    return cells[(j * seg + i % seg) * lanes + i / seg];
  }
};

}  // namespace

std::optional<Alignment> StripedAligner::align(std::span<const uint8_t> target, int32_t score, int64_t max_cells) {
  if (auto alignment = align_stored(target, score, max_cells); alignment || score <= 0) return alignment;
  // Too many cells before the end column (a long query against a titin-sized target): narrow the target to
  // the alignment's columns by score passes alone, then trace back there. The end column is where the
  // shortest target prefix reaches the score; the start, the last column from which the rest still does.
  // Each search takes ~log2(m) passes of at most n x m cells, in linear memory.
  const auto m = static_cast<int64_t>(target.size());
  int64_t lo = 1, hi = m;  // prefix lengths; the full target reaches the score
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (this->score(target.first(static_cast<size_t>(mid))) >= score)
      hi = mid;
    else
      lo = mid + 1;
  }
  const int64_t end = lo;  // one past the end column
  int64_t first = 0, last = end - 1;
  while (first < last) {
    const int64_t mid = first + (last - first + 1) / 2;
    if (this->score(target.subspan(static_cast<size_t>(mid), static_cast<size_t>(end - mid))) >= score)
      first = mid;
    else
      last = mid - 1;
  }
  auto alignment =
      align_stored(target.subspan(static_cast<size_t>(first), static_cast<size_t>(end - first)), score, max_cells);
  if (!alignment) return std::nullopt;  // the alignment itself spans more than max_cells
  alignment->t_start += first;
  alignment->t_end += first;
  return alignment;
}

std::optional<Alignment> StripedAligner::align_stored(std::span<const uint8_t> target, int32_t score,
                                                      int64_t max_cells) {
  const int64_t n = query_.n_res;
  const auto m = static_cast<int64_t>(target.size());
  if (score <= 0 || n == 0 || m == 0) return std::nullopt;
  const bool fits_u8 = use_u8_ && score <= 254 - bias_;
  const bool fits_i16 = score <= 32767 - 129;  // as score(): no lane can saturate below this
  if (level_ == SimdLevel::scalar || score > kLimitI32) return align_local(query_, target, gaps_, max_cells, score);

  const Kernels& k = kernels(level_);
  const int64_t lanes = fits_u8 ? lanes_u8(level_) : fits_i16 ? lanes_i16(level_) : lanes_i32(level_);
  const int64_t seg = fits_u8 ? seg_u8_ : fits_i16 ? seg_i16_ : seg_i32_;
  const int64_t elem = fits_u8 ? 1 : fits_i16 ? 2 : 4;
  // Columns within max_cells (counted in query cells, as align_local does).
  const int64_t max_columns = std::min(m, std::max<int64_t>(max_cells, 0) / n);
  if (max_columns == 0) return std::nullopt;
  trace_.grow_to(static_cast<size_t>(max_columns * seg * lanes * elem));
  detail::StripedInput in;
  in.target = target.data();
  in.t_len = max_columns;
  in.gap_open_extend = gaps_.open + gaps_.extend;
  in.gap_extend = gaps_.extend;
  in.seg = seg;
  in.work = work_.data;
  int64_t end_column = -1;
  if (fits_u8) {
    in.profile = profile_u8_.data;
    in.bias = bias_;
    end_column = k.store_u8(in, trace_.data, score);
  } else if (fits_i16) {
    build_i16();
    in.profile = profile_i16_.data;
    end_column = k.store_i16(in, trace_.data, score);
  } else {
    build_i32();
    in.profile = profile_i32_.data;
    end_column = k.store_i32(in, trace_.data, score);
  }
  if (end_column < 0) return std::nullopt;  // the score is not reached within max_cells

  const auto walk = [&](const auto& h_at) -> std::optional<Alignment> {
    LocalScore end;  // the first cell of the end column with the score, as align_local's
    for (int64_t i = 0; i < n && end.score == 0; ++i)
      if (h_at(i, end_column) >= score) end = {h_at(i, end_column), i, end_column};
    if (end.score != score) throw std::logic_error("StripedAligner::align: the score given is not the best score");
    return detail::walk_back(query_, target, gaps_, end, h_at);
  };
  if (fits_u8) return walk(StripedColumns<uint8_t>{trace_.data, seg, lanes});
  if (fits_i16) return walk(StripedColumns<int16_t>{reinterpret_cast<const int16_t*>(trace_.data), seg, lanes});
  return walk(StripedColumns<int32_t>{reinterpret_cast<const int32_t*>(trace_.data), seg, lanes});
}

}  // namespace kfold::msa
