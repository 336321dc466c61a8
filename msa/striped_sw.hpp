// Striped Smith-Waterman (Farrar 2007) local alignment scores with affine gaps: 8-bit saturating
// lanes first, 16-bit when the score saturates, 32-bit lanes when that saturates too; and the
// tracebacks of accepted hits from H stored by the same striped pass. The instruction set is chosen at run
// time (AVX-512BW, AVX2 or SSE2); other CPUs use the scalar code.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "msa/alphabet.hpp"
#include "msa/gotoh.hpp"
#include "msa/score_profile.hpp"

namespace kfold::msa {

enum class SimdLevel { scalar, sse2, avx2, avx512 };  // avx512: AVX-512BW

// The fastest level on this CPU: of AVX2 and AVX-512BW, when it has both, the one that scores a fixed
// workload (a 300-residue query against 48 targets of 300) faster, timed once per process (~10 ms);
// which of the two wins depends on the CPU (measured: AVX2 15-25 % faster for queries up to 450
// residues on one AMD EPYC host, AVX-512 ~20 % faster on another). Every level gives the same scores
// and alignments, so the choice changes only the speed. KFOLD_CPU_CAPABILITY=default|avx2 leaves out the
// levels above it (SSE2, AVX2), as for every kfold CPU kernel; KFOLD_SIMD=scalar|sse2|avx2|avx512 picks a
// level instead (for tests and comparisons); one the CPU lacks is ignored.
SimdLevel detect_simd_level();
bool simd_level_supported(SimdLevel level);
std::string_view simd_level_name(SimdLevel level);

// Which kernel produced the last score.
enum class ScorePrecision { u8, i16, i32 };

// Holds a query's striped profiles and working buffers. Keeps a reference to `query`, which must
// outlive it. Not thread-safe: one per thread (the buffers are reused across targets).
class StripedAligner {
 public:
  StripedAligner(const ScoreProfile& query, const GapPenalties& gaps, SimdLevel level);

  // Exact best local alignment score of the query against `target` (codes < kAlphabetSize).
  int32_t score(std::span<const uint8_t> target);
  ScorePrecision last_precision() const { return last_precision_; }

  // The optimal local alignment given its exact score (from score()), identical to align_local's
  // (msa/gotoh.hpp: same end cell, same tie rules): H of every column up to the first one that reaches
  // `score` is stored by the striped pass (1 byte per cell when the score fits 8 bits, 2 when it fits
  // 16, else 4), then walked back. When that part of the matrix has more than
  // `max_cells` cells, score passes first narrow the target to the alignment's own columns (an optimal
  // alignment still; a tie may then resolve otherwise). Returns nullopt when even those columns hold more
  // than `max_cells` cells, or the score is 0.
  std::optional<Alignment> align(std::span<const uint8_t> target, int32_t score, int64_t max_cells = int64_t{1} << 28);
  SimdLevel level() const { return level_; }

 private:
  // align() within max_cells of stored H: nullopt when the end column lies beyond them.
  std::optional<Alignment> align_stored(std::span<const uint8_t> target, int32_t score, int64_t max_cells);

  // 64-byte aligned storage of `bytes` bytes.
  struct AlignedBytes {
    std::unique_ptr<uint8_t[]> storage;
    size_t capacity = 0;  // bytes of storage
    uint8_t* data = nullptr;
    void resize(size_t bytes);  // zero-filled
    // Keeps the storage when it is large enough; contents undefined and a new one never written, so
    // that the pages of a traceback buffer sized for the longest alignment are committed only as far as
    // an alignment's store pass goes (a 3000-residue query: 512 MiB reserved, a few MiB touched).
    void grow_to(size_t bytes);
  };

  const ScoreProfile& query_;
  GapPenalties gaps_;
  SimdLevel level_;
  int64_t seg_u8_ = 0;  // vectors per column of the 8-bit profile (query length / lanes, rounded up)
  int64_t seg_i16_ = 0;
  int64_t seg_i32_ = 0;
  int32_t bias_ = 0;          // added to every 8-bit profile entry so that it is unsigned
  bool use_u8_ = false;       // false when the score range does not fit 8 bits
  AlignedBytes profile_u8_;   // [kAlphabetSize][seg_u8][lanes] uint8
  AlignedBytes profile_i16_;  // [kAlphabetSize][seg_i16][lanes] int16, built on first need
  AlignedBytes profile_i32_;  // [kAlphabetSize][seg_i32][lanes] int32, built on first need
  bool built_i16_ = false;
  bool built_i32_ = false;
  AlignedBytes work_;   // H (two columns) and E, 3 * seg vectors
  AlignedBytes trace_;  // stored H columns of align(), [columns][seg][lanes], grown on demand

  void build_i16();
  void build_i32();
  ScorePrecision last_precision_ = ScorePrecision::u8;
};

namespace detail {

// Arguments of one kernel call (the ISA-specific kernels live in striped_sw_<isa>.cpp).
struct StripedInput {
  const void* profile = nullptr;  // [kAlphabetSize][seg] vectors
  int64_t seg = 0;
  const uint8_t* target = nullptr;
  int64_t t_len = 0;
  int32_t gap_open_extend = 0;  // cost of the first gap position: open + extend
  int32_t gap_extend = 0;
  int32_t bias = 0;
  int32_t limit = 0;  // a lane above this may have saturated
  void* work = nullptr;
};

int32_t striped_u8_sse2(const StripedInput& in, bool& overflow);
int32_t striped_i16_sse2(const StripedInput& in, bool& overflow);
int32_t striped_u8_avx2(const StripedInput& in, bool& overflow);
int32_t striped_i16_avx2(const StripedInput& in, bool& overflow);
// Store H of columns 0..j (striped layout) and return j, the first column where some H >= stop_score
// (-1: none within in.t_len). Exact only when every H fits the lanes (the caller checks).
int64_t striped_store_u8_sse2(const StripedInput& in, void* columns, int32_t stop_score);
int64_t striped_store_i16_sse2(const StripedInput& in, void* columns, int32_t stop_score);
int64_t striped_store_u8_avx2(const StripedInput& in, void* columns, int32_t stop_score);
int64_t striped_store_i16_avx2(const StripedInput& in, void* columns, int32_t stop_score);
int32_t striped_u8_avx512(const StripedInput& in, bool& overflow);
int32_t striped_i16_avx512(const StripedInput& in, bool& overflow);
int64_t striped_store_u8_avx512(const StripedInput& in, void* columns, int32_t stop_score);
int64_t striped_store_i16_avx512(const StripedInput& in, void* columns, int32_t stop_score);
// 32-bit lanes: scores above the 16-bit range (a long query against a long, close homolog).
int32_t striped_i32_sse2(const StripedInput& in, bool& overflow);
int32_t striped_i32_avx2(const StripedInput& in, bool& overflow);
int32_t striped_i32_avx512(const StripedInput& in, bool& overflow);
int64_t striped_store_i32_sse2(const StripedInput& in, void* columns, int32_t stop_score);
int64_t striped_store_i32_avx2(const StripedInput& in, void* columns, int32_t stop_score);
int64_t striped_store_i32_avx512(const StripedInput& in, void* columns, int32_t stop_score);

}  // namespace detail
}  // namespace kfold::msa
