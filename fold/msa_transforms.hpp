// AlphaFold's MSA transforms for one ensemble/recycling batch (alphafold/model/tf/data_transforms.py):
// cluster-centre sampling, BERT-style masking (Suppl. 1.2.7), nearest-neighbour cluster assignment and
// cluster profiles (Suppl. Alg. 1-style MSA clustering, 1.2.6), extra-MSA cropping.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "fold/philox_random.hpp"
#include "fold/raw_features.hpp"

namespace kfold::fold {

inline constexpr int64_t kMsaGapId = 21;          // restypes_with_x_and_gap: 20 residues, X = 20, gap = 21
inline constexpr int64_t kMsaMaskTokenId = 22;    // the BERT [MASK] token, a 23rd class
inline constexpr int64_t kMsaOneHotClasses = 23;  // msa one-hot and cluster profile width

// MSA rows and their per-row features; row-major [n_seq, n_res].
struct MsaArrays {
  int64_t n_seq = 0;
  int64_t n_res = 0;
  std::vector<int32_t> msa;            // [n_seq, n_res] AlphaFold residue ids (0..21, 22 after masking)
  std::vector<float> deletion_matrix;  // [n_seq, n_res]
  std::vector<float> msa_mask;         // [n_seq, n_res]
  std::vector<float> msa_row_mask;     // [n_seq]

  MsaArrays gather_rows(std::span<const int64_t> rows) const;
};

// The MSA of one batch after sample_msa and the transforms that follow it.
struct EnsembleMsa {
  MsaArrays msa;                  // the cluster centres (query first); BERT-corrupted after make_masked_msa
  MsaArrays extra;                // the rows not sampled
  std::vector<int32_t> true_msa;  // [n_clust, n_res] centres before corruption
  std::vector<float> bert_mask;   // [n_clust, n_res] 1 where a residue was corrupted
  std::vector<int32_t> extra_cluster_assignment;  // [n_extra] nearest centre of each extra row
  std::vector<float> cluster_profile;             // [n_clust, n_res, 23]
  std::vector<float> cluster_deletion_mean;       // [n_clust, n_res]
};

// BERT corruption distribution (AlphaFold's data.common.masked_msa); the rest goes to [MASK].
struct MaskedMsaProbs {
  double uniform_prob = 0.1;
  double profile_prob = 0.1;
  double same_prob = 0.1;
};

// correct_msa_restypes + make_msa_mask: raw HHblits ids → AlphaFold ids, float deletions, unit masks.
MsaArrays make_msa_arrays(const RawFeatures& raw);

// make_hhblits_profile: per-residue frequencies of the 22 classes over all rows. [n_res, 22]
std::vector<float> make_hhblits_profile(const MsaArrays& msa);

// sample_msa(max_seq, keep_extra=True): the query plus a random max_seq - 1 rows (TF random_shuffle)
// become the centres, in shuffled order; the rest become the extra MSA, in shuffled order.
EnsembleMsa sample_msa(const MsaArrays& msa, int64_t max_seq, TfRandomGraph& rng);

// make_masked_msa: each centre residue is corrupted with probability replace_fraction (uniform draw),
// to a class drawn (categorical) from uniform_prob·uniform(20 aa) + profile_prob·profile +
// same_prob·itself + the rest on [MASK].
void make_masked_msa(EnsembleMsa& batch, std::span<const float> hhblits_profile, const MaskedMsaProbs& probs,
                     double replace_fraction, TfRandomGraph& rng);

// nearest_neighbor_clusters (gap_agreement_weight 0): each extra row goes to the centre sharing the
// most residues (classes 0..20, masks applied; ties to the first centre).
void nearest_neighbor_clusters(EnsembleMsa& batch);

// summarize_clusters: cluster_profile and cluster_deletion_mean over each centre and its extra rows.
void summarize_clusters(EnsembleMsa& batch);

// crop_extra_msa: a random max_extra_msa of the extra rows (TF random_shuffle, first ones kept).
void crop_extra_msa(EnsembleMsa& batch, int64_t max_extra_msa, TfRandomGraph& rng);

// AlphaFold's deletion feature: atan(d / 3) · 2/π in float32 (atan correctly rounded; see
// input_pipeline.hpp on the last bit).
float deletion_value(float deletion);

}  // namespace kfold::fold
