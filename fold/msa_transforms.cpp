// AlphaFold's per-batch MSA transforms (see msa_transforms.hpp). Float arithmetic follows the
// reference's float32 operation order step by step, so that results agree bit for bit.
#include "fold/msa_transforms.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "data/error.hpp"
#include "data/residue_constants.hpp"

namespace kfold::fold {

namespace rc = data::rc;

namespace {

constexpr int64_t kProfileClasses = 22;                    // hhblits_profile: 20 residues, X, gap
constexpr int64_t kAgreementClasses = 21;                  // nearest-neighbour agreement: residues and X only
constexpr size_t kAgreementChunkFloats = size_t{1} << 24;  // extra rows per matmul: 64 MB of one-hot

size_t idx(int64_t i) { return static_cast<size_t>(i); }

template <typename T>
std::vector<T> gather(const std::vector<T>& values, int64_t width, std::span<const int64_t> rows) {
  std::vector<T> out(rows.size() * idx(width));
  for (size_t r = 0; r < rows.size(); ++r)
    std::copy_n(values.begin() + static_cast<std::ptrdiff_t>(rows[r] * width), width,
                out.begin() + static_cast<std::ptrdiff_t>(r * idx(width)));
  return out;
}

}  // namespace

MsaArrays MsaArrays::gather_rows(std::span<const int64_t> rows) const {
  MsaArrays out;
  out.n_seq = static_cast<int64_t>(rows.size());
  out.n_res = n_res;
  out.msa = gather(msa, n_res, rows);
  out.deletion_matrix = gather(deletion_matrix, n_res, rows);
  out.msa_mask = gather(msa_mask, n_res, rows);
  out.msa_row_mask = gather(msa_row_mask, 1, rows);
  return out;
}

MsaArrays make_msa_arrays(const RawFeatures& raw) {
  const auto n = idx(raw.n_seq * raw.n_res);
  if (raw.n_seq < 1 || raw.n_res < 1)
    fail_input("raw features: the MSA is empty ({} rows of {} residues)", raw.n_seq, raw.n_res);
  if (raw.msa.size() != n || raw.deletion_matrix_int.size() != n)
    fail_input("raw features: msa and deletion_matrix_int must have {} x {} values (have {} and {})", raw.n_seq,
               raw.n_res, raw.msa.size(), raw.deletion_matrix_int.size());
  MsaArrays out;
  out.n_seq = raw.n_seq;
  out.n_res = raw.n_res;
  out.msa.resize(n);
  out.deletion_matrix.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = raw.msa[i];
    if (id < 0 || id > kMsaGapId)
      fail_input("raw features: msa value {} at row {} is not an HHblits id (0..21)", id, i / idx(raw.n_res));
    out.msa[i] = static_cast<int32_t>(rc::MAP_HHBLITS_AATYPE_TO_OUR_AATYPE[idx(id)]);
    out.deletion_matrix[i] = static_cast<float>(raw.deletion_matrix_int[i]);
  }
  out.msa_mask.assign(n, 1.0f);
  out.msa_row_mask.assign(idx(raw.n_seq), 1.0f);
  return out;
}

std::vector<float> make_hhblits_profile(const MsaArrays& msa) {
  std::vector<int64_t> counts(idx(msa.n_res * kProfileClasses), 0);
  for (int64_t s = 0; s < msa.n_seq; ++s)
    for (int64_t r = 0; r < msa.n_res; ++r) {
      const int32_t id = msa.msa[idx(s * msa.n_res + r)];
      if (id < kProfileClasses) ++counts[idx(r * kProfileClasses + id)];
    }
  std::vector<float> profile(counts.size());
  const auto n_seq = static_cast<float>(msa.n_seq);
  for (size_t i = 0; i < counts.size(); ++i) profile[i] = static_cast<float>(counts[i]) / n_seq;
  return profile;
}

EnsembleMsa sample_msa(const MsaArrays& msa, int64_t max_seq, TfRandomGraph& rng) {
  // tf.random_shuffle(range(1, n_seq)), with the query prepended.
  const auto shuffled = rng.random_shuffle(msa.n_seq - 1);
  std::vector<int64_t> order{0};
  for (const int64_t i : shuffled) order.push_back(i + 1);
  const auto n_sel = static_cast<std::ptrdiff_t>(std::min(max_seq, msa.n_seq));
  EnsembleMsa batch;
  batch.msa = msa.gather_rows(std::span(order.begin(), order.begin() + n_sel));
  batch.extra = msa.gather_rows(std::span(order.begin() + n_sel, order.end()));
  return batch;
}

void make_masked_msa(EnsembleMsa& batch, std::span<const float> hhblits_profile, const MaskedMsaProbs& probs,
                     double replace_fraction, TfRandomGraph& rng) {
  const int64_t n_res = batch.msa.n_res;
  const int64_t n = batch.msa.n_seq * n_res;
  constexpr int64_t kClasses = kMsaOneHotClasses;  // 22 profile classes + [MASK]
  const double mask_prob = 1.0 - probs.profile_prob - probs.same_prob - probs.uniform_prob;
  if (mask_prob < 0.0)
    fail_input("masked_msa: uniform_prob + profile_prob + same_prob must not exceed 1 (is {})", 1.0 - mask_prob);
  if (static_cast<int64_t>(hhblits_profile.size()) != n_res * kProfileClasses)
    fail_internal("make_masked_msa: hhblits_profile must have {} x {} values", n_res, kProfileClasses);

  // categorical_probs in the reference's float32 steps: (uniform·random_aa + profile·P) + same·onehot.
  // Each product is stored before it is added so that no compiler contracts it into an FMA.
  const auto uniform_prob = static_cast<float>(probs.uniform_prob);
  const auto profile_prob = static_cast<float>(probs.profile_prob);
  const auto same_prob = static_cast<float>(probs.same_prob);
  std::vector<float> uniform_term(kProfileClasses);
  for (int64_t c = 0; c < kProfileClasses; ++c) uniform_term[idx(c)] = uniform_prob * (c < 20 ? 0.05f : 0.0f);
  std::vector<float> profile_term(hhblits_profile.size());
  for (size_t i = 0; i < profile_term.size(); ++i) profile_term[i] = profile_prob * hhblits_profile[i];
  std::vector<float> base(hhblits_profile.size());  // [n_res, 22]
  for (size_t i = 0; i < base.size(); ++i) base[i] = uniform_term[i % idx(kProfileClasses)] + profile_term[i];
  const float same_term = same_prob * 1.0f;
  const float epsilon = 1e-10f;
  // log(p + 1e-10) in float32, then the categorical runs in float64.
  const auto logit = [&](float p) {
    return static_cast<double>(static_cast<float>(std::log(static_cast<double>(p + epsilon))));
  };
  const double mask_logit = logit(static_cast<float>(mask_prob));
  std::vector<double> logits(idx(n * kClasses));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t r = i % n_res;
    const int32_t own = batch.msa.msa[idx(i)];
    double* row = logits.data() + i * kClasses;
    for (int64_t c = 0; c < kProfileClasses; ++c) {
      const float b = base[idx(r * kProfileClasses + c)];
      row[c] = logit(c == own ? b + same_term : b + 0.0f);
    }
    row[kClasses - 1] = mask_logit;
  }

  const auto uniform = rng.uniform_float(n);  // mask_position draws first, then the categorical
  const auto replaced = rng.categorical(logits, n, kClasses);
  const auto fraction = static_cast<float>(replace_fraction);
  batch.true_msa = batch.msa.msa;
  batch.bert_mask.assign(idx(n), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    if (uniform[idx(i)] < fraction) {
      batch.bert_mask[idx(i)] = 1.0f;
      batch.msa.msa[idx(i)] = replaced[idx(i)];
    }
}

void nearest_neighbor_clusters(EnsembleMsa& batch) {
  const MsaArrays& centres = batch.msa;
  const MsaArrays& extra = batch.extra;
  const int64_t n_res = centres.n_res, n_clust = centres.n_seq, width = n_res * kAgreementClasses;
  batch.extra_cluster_assignment.assign(idx(extra.n_seq), 0);
  if (extra.n_seq == 0) return;
  // Agreement = mask-weighted count of shared residue classes 0..20 (gap and [MASK] never count):
  // one-hot rows times one-hot centres. Counts are integers below 2^24, so float32 is exact.
  const auto one_hot = [&](const MsaArrays& m, int64_t row0, int64_t rows) {
    at::Tensor t = at::zeros({rows, width}, at::kFloat);  // [rows, n_res * 21]
    float* p = t.data_ptr<float>();
    for (int64_t s = 0; s < rows; ++s)
      for (int64_t r = 0; r < n_res; ++r) {
        const size_t k = idx((row0 + s) * n_res + r);
        const int32_t id = m.msa[k];
        if (id < kAgreementClasses) p[idx(s * width + r * kAgreementClasses + id)] = m.msa_mask[k];
      }
    return t;
  };
  const at::Tensor centres_t = one_hot(centres, 0, n_clust).t().contiguous();  // [n_res * 21, n_clust]
  const int64_t chunk = std::max<int64_t>(1, static_cast<int64_t>(kAgreementChunkFloats / idx(width)));
  for (int64_t row0 = 0; row0 < extra.n_seq; row0 += chunk) {
    const int64_t rows = std::min(chunk, extra.n_seq - row0);
    const at::Tensor agreement = at::mm(one_hot(extra, row0, rows), centres_t).contiguous();  // [rows, n_clust]
    const float* a = agreement.data_ptr<float>();
    for (int64_t s = 0; s < rows; ++s) {
      const float* row = a + s * n_clust;
      batch.extra_cluster_assignment[idx(row0 + s)] = static_cast<int32_t>(std::max_element(row, row + n_clust) - row);
    }
  }
}

void summarize_clusters(EnsembleMsa& batch) {
  const MsaArrays& centres = batch.msa;
  const MsaArrays& extra = batch.extra;
  const int64_t n_res = centres.n_res, n_clust = centres.n_seq;
  if (static_cast<int64_t>(batch.extra_cluster_assignment.size()) != extra.n_seq)
    fail_internal("summarize_clusters: run nearest_neighbor_clusters first");
  // Sums of 0/1 masks and integer deletions: exact in float32, in any order.
  std::vector<float> counts(idx(n_clust * n_res), 0.0f);
  std::vector<float> msa_sum(idx(n_clust * n_res * kMsaOneHotClasses), 0.0f);
  std::vector<float> del_sum(idx(n_clust * n_res), 0.0f);
  for (int64_t e = 0; e < extra.n_seq; ++e) {
    const int64_t c = batch.extra_cluster_assignment[idx(e)];
    for (int64_t r = 0; r < n_res; ++r) {
      const size_t k = idx(e * n_res + r), ck = idx(c * n_res + r);
      const float mask = extra.msa_mask[k];
      counts[ck] += mask;
      msa_sum[ck * idx(kMsaOneHotClasses) + idx(extra.msa[k])] += mask;
      const float weighted = mask * extra.deletion_matrix[k];
      del_sum[ck] += weighted;
    }
  }
  batch.cluster_profile.assign(msa_sum.size(), 0.0f);
  batch.cluster_deletion_mean.assign(counts.size(), 0.0f);
  const float epsilon = 1e-6f;
  for (int64_t ck = 0; ck < n_clust * n_res; ++ck) {
    msa_sum[idx(ck * kMsaOneHotClasses + centres.msa[idx(ck)])] += 1.0f;  // the centre itself
    del_sum[idx(ck)] += centres.deletion_matrix[idx(ck)];
    const float mask_counts = (epsilon + centres.msa_mask[idx(ck)]) + counts[idx(ck)];
    for (int64_t a = 0; a < kMsaOneHotClasses; ++a)
      batch.cluster_profile[idx(ck * kMsaOneHotClasses + a)] = msa_sum[idx(ck * kMsaOneHotClasses + a)] / mask_counts;
    batch.cluster_deletion_mean[idx(ck)] = del_sum[idx(ck)] / mask_counts;
  }
}

void crop_extra_msa(EnsembleMsa& batch, int64_t max_extra_msa, TfRandomGraph& rng) {
  auto order = rng.random_shuffle(batch.extra.n_seq);
  order.resize(idx(std::min(max_extra_msa, batch.extra.n_seq)));
  batch.extra = batch.extra.gather_rows(order);
}

float deletion_value(float deletion) {
  const float atan = static_cast<float>(std::atan(static_cast<double>(deletion / 3.0f)));
  return atan * static_cast<float>(2.0 / std::numbers::pi);
}

}  // namespace kfold::fold
