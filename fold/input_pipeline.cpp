// make_model_inputs: AlphaFold's non-ensembled and per-batch (ensemble × recycle) transforms,
// make_msa_feat and make_fixed_size; processed-feature files (see input_pipeline.hpp).
#include "fold/input_pipeline.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

#include "data/error.hpp"
#include "data/hdf5_file.hpp"
#include "data/npz_file.hpp"
#include "data/residue_constants.hpp"
#include "data/text_input.hpp"

namespace kfold::fold {

namespace rc = data::rc;

namespace {

size_t idx(int64_t i) { return static_cast<size_t>(i); }

constexpr int64_t kTargetFeatChannels = 1 + rc::restype_num_with_x;  // 22

int64_t msa_feat_channels(bool cluster_features) {
  return cluster_features ? 2 * kMsaOneHotClasses + 3 : kMsaOneHotClasses + 2;  // 49 or 25
}

float clip01(float x) { return std::min(std::max(x, 0.0f), 1.0f); }

void check_raw(const RawFeatures& raw) {
  const auto n_res = idx(raw.n_res);
  if (raw.n_res < 1) fail_input("raw features: no residues");
  if (raw.aatype.size() != n_res * idx(rc::restype_num_with_x))
    fail_input("raw features: aatype must be [{}, 21] (has {} values)", raw.n_res, raw.aatype.size());
  if (raw.residue_index.size() != n_res || raw.between_segment_residues.size() != n_res || raw.seq_length.empty())
    fail_input("raw features: residue_index, between_segment_residues and seq_length must have {} values", n_res);
  if (const TemplateFeatures& t = raw.templates; t.n_templates > 0) {
    const auto n = idx(t.n_templates) * n_res;
    if (t.n_res != raw.n_res || t.aatype.size() != n * idx(kTemplateAatypeChannels) ||
        t.all_atom_masks.size() != n * idx(rc::atom_type_num) ||
        t.all_atom_positions.size() != n * idx(rc::atom_type_num) * 3 || t.sum_probs.size() != idx(t.n_templates))
      fail_input("raw features: template arrays must be [{}, {}, ...] (templates, residues)", t.n_templates, raw.n_res);
  }
  if (raw.seq_length.front() != raw.n_res)
    fail_input("raw features: seq_length is {} but aatype has {} residues", raw.seq_length.front(), raw.n_res);
}

// Writes one batch's MSA arrays (make_msa_feat, then zero padding by make_fixed_size) into slot b.
void fill_batch(ProcessedFeatures& out, int64_t b, const EnsembleMsa& batch, bool cluster_features) {
  const int64_t n_res = batch.msa.n_res, n_clust = batch.msa.n_seq;
  const int64_t channels = out.msa_feat.size(3);
  float* msa_feat = out.msa_feat[b].data_ptr<float>();  // [n_clust_pad, n_res, channels]
  float* msa_mask = out.msa_mask[b].data_ptr<float>();
  float* bert_mask = out.bert_mask[b].data_ptr<float>();
  int32_t* true_msa = out.true_msa[b].data_ptr<int32_t>();
  for (int64_t k = 0; k < n_clust * n_res; ++k) {
    float* f = msa_feat + k * channels;
    const float deletion = batch.msa.deletion_matrix[idx(k)];
    f[batch.msa.msa[idx(k)]] = 1.0f;
    f[kMsaOneHotClasses] = clip01(deletion);
    f[kMsaOneHotClasses + 1] = deletion_value(deletion);
    if (cluster_features) {
      std::copy_n(batch.cluster_profile.begin() + k * kMsaOneHotClasses, kMsaOneHotClasses, f + kMsaOneHotClasses + 2);
      f[2 * kMsaOneHotClasses + 2] = deletion_value(batch.cluster_deletion_mean[idx(k)]);
    }
    msa_mask[k] = batch.msa.msa_mask[idx(k)];
    bert_mask[k] = batch.bert_mask[idx(k)];
    true_msa[k] = batch.true_msa[idx(k)];
  }
  std::copy_n(batch.msa.msa_row_mask.begin(), n_clust, out.msa_row_mask[b].data_ptr<float>());

  if (!out.extra_msa.defined()) return;
  const int64_t n = batch.extra.n_seq * n_res;
  std::copy_n(batch.extra.msa.begin(), n, out.extra_msa[b].data_ptr<int32_t>());
  std::copy_n(batch.extra.msa_mask.begin(), n, out.extra_msa_mask[b].data_ptr<float>());
  std::copy_n(batch.extra.msa_row_mask.begin(), batch.extra.n_seq, out.extra_msa_row_mask[b].data_ptr<float>());
  float* has_deletion = out.extra_has_deletion[b].data_ptr<float>();
  float* deletion_values = out.extra_deletion_value[b].data_ptr<float>();
  for (int64_t k = 0; k < n; ++k) {
    has_deletion[k] = clip01(batch.extra.deletion_matrix[idx(k)]);
    deletion_values[k] = deletion_value(batch.extra.deletion_matrix[idx(k)]);
  }
}

}  // namespace

int64_t InputPipelineConfig::num_msa_clusters() const {
  return reduce_msa_clusters_by_max_templates ? max_msa_clusters - max_templates : max_msa_clusters;
}

int64_t InputPipelineConfig::num_batches() const {
  return num_ensemble * (resample_msa_in_recycling ? num_recycle + 1 : 1);
}

void InputPipelineConfig::validate() const {
  if (num_msa_clusters() < 1)
    fail_input("data.eval.max_msa_clusters ({}{}) must leave at least one cluster centre", max_msa_clusters,
               reduce_msa_clusters_by_max_templates ? fmt::format(" - max_templates {}", max_templates) : "");
  if (max_extra_msa < 0) fail_input("data.common.max_extra_msa must be >= 0 (is {})", max_extra_msa);
  if (num_recycle < 0) fail_input("data.common.num_recycle must be >= 0 (is {})", num_recycle);
  if (num_ensemble < 1) fail_input("data.eval.num_ensemble must be >= 1 (is {})", num_ensemble);
  if (!(masked_msa_replace_fraction >= 0.0 && masked_msa_replace_fraction <= 1.0))
    fail_input("data.eval.masked_msa_replace_fraction must be in [0, 1] (is {})", masked_msa_replace_fraction);
  const double sum = masked_msa.uniform_prob + masked_msa.profile_prob + masked_msa.same_prob;
  if (!(masked_msa.uniform_prob >= 0.0 && masked_msa.profile_prob >= 0.0 && masked_msa.same_prob >= 0.0) ||
      1.0 - masked_msa.profile_prob - masked_msa.same_prob - masked_msa.uniform_prob < 0.0)
    fail_input(
        "data.common.masked_msa: uniform_prob, profile_prob, same_prob must be >= 0 with a sum <= 1 (sum {:.6g})", sum);
}

namespace {

// Every array of ProcessedFeatures, the one list of them: its name (AlphaFold's), its member, and its shape in
// files: fixed sizes, or one of the symbols B (batches), R (residues), C (cluster rows), E (extra rows),
// F (msa_feat channels), T (templates), which must agree across arrays.
struct ArraySpec {
  std::string_view name;
  at::Tensor ProcessedFeatures::*member;
  bool is_int;
  std::vector<int64_t> dims;  // symbols as negative codes below
  int32_t max_value = -1;     // ints the model indexes with: 0 .. max_value (-1: any int)
};
constexpr int64_t B = -1, R = -2, C = -3, E = -4, F = -5, T = -6;

const std::vector<ArraySpec>& array_specs() {
  static const std::vector<ArraySpec> specs = {
      {"aatype", &ProcessedFeatures::aatype, true, {B, R}, rc::restype_num},  // 0..20, 20 = X
      {"residue_index", &ProcessedFeatures::residue_index, true, {B, R}},
      {"seq_length", &ProcessedFeatures::seq_length, true, {B}},
      {"seq_mask", &ProcessedFeatures::seq_mask, false, {B, R}},
      {"is_distillation", &ProcessedFeatures::is_distillation, false, {B}},
      {"target_feat", &ProcessedFeatures::target_feat, false, {B, R, kTargetFeatChannels}},
      {"msa_feat", &ProcessedFeatures::msa_feat, false, {B, C, R, F}},
      {"msa_mask", &ProcessedFeatures::msa_mask, false, {B, C, R}},
      {"msa_row_mask", &ProcessedFeatures::msa_row_mask, false, {B, C}},
      {"bert_mask", &ProcessedFeatures::bert_mask, false, {B, C, R}},
      {"true_msa", &ProcessedFeatures::true_msa, true, {B, C, R}, kMsaOneHotClasses - 1},
      {"extra_msa", &ProcessedFeatures::extra_msa, true, {B, E, R}, kMsaOneHotClasses - 1},
      {"extra_msa_mask", &ProcessedFeatures::extra_msa_mask, false, {B, E, R}},
      {"extra_msa_row_mask", &ProcessedFeatures::extra_msa_row_mask, false, {B, E}},
      {"extra_has_deletion", &ProcessedFeatures::extra_has_deletion, false, {B, E, R}},
      {"extra_deletion_value", &ProcessedFeatures::extra_deletion_value, false, {B, E, R}},
      {"atom14_atom_exists", &ProcessedFeatures::atom14_atom_exists, false, {B, R, rc::atom14_num}},
      {"atom37_atom_exists", &ProcessedFeatures::atom37_atom_exists, false, {B, R, rc::atom_type_num}},
      {"residx_atom14_to_atom37",
       &ProcessedFeatures::residx_atom14_to_atom37,
       true,
       {B, R, rc::atom14_num},
       rc::atom_type_num - 1},
      {"residx_atom37_to_atom14",
       &ProcessedFeatures::residx_atom37_to_atom14,
       true,
       {B, R, rc::atom_type_num},
       rc::atom14_num - 1},
      {"random_crop_to_size_seed", &ProcessedFeatures::random_crop_to_size_seed, true, {B, 2}},
      {"template_aatype", &ProcessedFeatures::template_aatype, true, {B, T, R}, rc::restype_num + 1},  // 21 = gap
      {"template_all_atom_masks", &ProcessedFeatures::template_all_atom_masks, false, {B, T, R, rc::atom_type_num}},
      {"template_all_atom_positions",
       &ProcessedFeatures::template_all_atom_positions,
       false,
       {B, T, R, rc::atom_type_num, 3}},
      {"template_mask", &ProcessedFeatures::template_mask, false, {B, T}},
      {"template_pseudo_beta", &ProcessedFeatures::template_pseudo_beta, false, {B, T, R, 3}},
      {"template_pseudo_beta_mask", &ProcessedFeatures::template_pseudo_beta_mask, false, {B, T, R}},
      {"template_sum_probs", &ProcessedFeatures::template_sum_probs, false, {B, T, 1}},
  };
  return specs;
}

}  // namespace

std::vector<std::pair<std::string, at::Tensor>> ProcessedFeatures::named() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const ArraySpec& spec : array_specs())
    if (const at::Tensor& t = this->*spec.member; t.defined()) out.emplace_back(spec.name, t);
  return out;
}

at::Tensor* ProcessedFeatures::field(std::string_view name) {
  for (const ArraySpec& spec : array_specs())
    if (spec.name == name) return &(this->*spec.member);
  return nullptr;
}

ProcessedFeatures ProcessedFeatures::batches(int64_t first, int64_t count) const {
  if (first < 0 || count < 1 || first + count > n_batch())
    fail_input("feature batches {} .. {} asked for; there are {}", first, first + count - 1, n_batch());
  ProcessedFeatures out;
  for (const auto& [name, tensor] : named()) *out.field(name) = tensor.narrow(0, first, count);
  out.asym_id = asym_id;
  return out;
}

InputPipelineConfig input_pipeline_config(const ModelConfig& config) {
  const auto& common = config.data.common;
  const auto& eval = config.data.eval;
  InputPipelineConfig out;
  out.max_msa_clusters = eval.max_msa_clusters;
  out.max_templates = eval.max_templates;
  out.num_ensemble = eval.num_ensemble;
  out.masked_msa_replace_fraction = eval.masked_msa_replace_fraction;
  out.max_extra_msa = common.max_extra_msa;
  out.num_recycle = common.num_recycle;
  out.resample_msa_in_recycling = common.resample_msa_in_recycling;
  out.reduce_msa_clusters_by_max_templates = common.reduce_msa_clusters_by_max_templates;
  out.msa_cluster_features = common.msa_cluster_features;
  out.use_templates = common.use_templates;
  out.masked_msa = {common.masked_msa.uniform_prob, common.masked_msa.profile_prob, common.masked_msa.same_prob};
  return out;
}

namespace {

// fix_templates_aatype, make_template_mask, make_pseudo_beta('template_'), crop_templates and
// make_fixed_size's padding: the first max_templates templates, the same in every batch.
void add_templates(ProcessedFeatures& out, const TemplateFeatures& raw, int64_t max_templates) {
  const int64_t n_res = out.n_res(), kept = std::min(raw.n_templates, max_templates);
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  at::Tensor aatype = at::zeros({max_templates, n_res}, at::TensorOptions().dtype(at::kInt));
  at::Tensor masks = at::zeros({max_templates, n_res, rc::atom_type_num}, f32);
  at::Tensor positions = at::zeros({max_templates, n_res, rc::atom_type_num, 3}, f32);
  at::Tensor mask = at::zeros({max_templates}, f32);
  at::Tensor pseudo_beta = at::zeros({max_templates, n_res, 3}, f32);
  at::Tensor pseudo_beta_mask = at::zeros({max_templates, n_res}, f32);
  at::Tensor sum_probs = at::zeros({max_templates, 1}, f32);
  const int64_t ca = rc::find_atom_type("CA"), cb = rc::find_atom_type("CB");
  const int64_t gly = rc::find_restype_with_x('G');
  for (int64_t t = 0; t < kept; ++t) {
    mask.data_ptr<float>()[t] = 1.0f;
    sum_probs.data_ptr<float>()[t] = raw.sum_probs[idx(t)];
    for (int64_t r = 0; r < n_res; ++r) {
      const auto one_hot = raw.aatype.begin() + (t * n_res + r) * kTemplateAatypeChannels;
      const auto hhblits = std::max_element(one_hot, one_hot + kTemplateAatypeChannels) - one_hot;  // tf.argmax
      const int64_t aa = rc::MAP_HHBLITS_AATYPE_TO_OUR_AATYPE[idx(hhblits)];
      aatype.data_ptr<int32_t>()[t * n_res + r] = static_cast<int32_t>(aa);
      const size_t atoms = idx((t * n_res + r) * rc::atom_type_num);
      std::copy_n(raw.all_atom_masks.begin() + atoms, rc::atom_type_num, masks.data_ptr<float>() + atoms);
      std::copy_n(raw.all_atom_positions.begin() + 3 * atoms, 3 * rc::atom_type_num,
                  positions.data_ptr<float>() + 3 * atoms);
      const int64_t atom = aa == gly ? ca : cb;  // pseudo-beta: CA for glycine, else CB
      pseudo_beta_mask.data_ptr<float>()[t * n_res + r] = raw.all_atom_masks[atoms + idx(atom)];
      std::copy_n(raw.all_atom_positions.begin() + 3 * (atoms + idx(atom)), 3,
                  pseudo_beta.data_ptr<float>() + 3 * (t * n_res + r));
    }
  }
  const auto batched = [](const at::Tensor& x) { return x.unsqueeze(0); };  // [1, ...] (InputBatches copies per batch)
  out.template_aatype = batched(aatype);
  out.template_all_atom_masks = batched(masks);
  out.template_all_atom_positions = batched(positions);
  out.template_mask = batched(mask);
  out.template_pseudo_beta = batched(pseudo_beta);
  out.template_pseudo_beta_mask = batched(pseudo_beta_mask);
  out.template_sum_probs = batched(sum_probs);
}

}  // namespace

int64_t processed_feature_bytes(const InputPipelineConfig& config, int64_t n_res, int64_t n_templates) {
  const int64_t L = n_res, C = config.num_msa_clusters(), E = config.max_extra_msa;
  // Elements per batch, all 4 bytes (int32 or float32), in make_model_inputs' order.
  int64_t elements = L * (1 + 1 + 1 + kTargetFeatChannels) + 2                       // aatype ... target_feat
                     + L * 2 * (rc::atom14_num + rc::atom_type_num) + 2              // atom maps, crop seed
                     + C * L * (msa_feat_channels(config.msa_cluster_features) + 3)  // msa_feat, masks, true_msa
                     + C;                                                            // msa_row_mask
  if (E > 0) elements += E * L * 4 + E;
  if (config.use_templates && n_templates > 0) {
    const int64_t T = config.max_templates;
    elements += T * (L * (1 + rc::atom_type_num * 4 + 3 + 1) + 2);
  }
  return elements * 4 * config.num_batches();
}

int64_t processed_feature_bytes(const ProcessedFeatures& features) {
  int64_t bytes = 0;
  for (const auto& [name, tensor] : features.named()) bytes += tensor.numel() * tensor.element_size();
  return bytes;
}

// What every batch shares: the non-ensembled transforms' results and the random graph after them.
struct InputBatches::State {
  InputPipelineConfig config;
  MsaArrays full;              // correct_msa_restypes, make_msa_mask
  std::vector<float> profile;  // make_hhblits_profile [n_res, 22]
  TfRandomGraph rng;           // op seeds after the non-ensembled random ops
  ProcessedFeatures shared;    // the per-residue and template arrays, batch axis of 1
};

InputBatches::InputBatches(const RawFeatures& raw, const InputPipelineConfig& config, int64_t seed) {
  config.validate();
  check_raw(raw);
  const int64_t n_res = raw.n_res;
  const auto i32 = at::TensorOptions().dtype(at::kInt), f32 = at::TensorOptions().dtype(at::kFloat);

  // ---- Non-ensembled transforms (computed once, the same in every batch).
  TfRandomGraph rng(seed);
  rng.next_seeds();  // randomly_replace_msa_with_unknown(0.0) keeps its two uniform ops' op seeds
  rng.next_seeds();
  // make_random_crop_to_size_seed: explicit op seed 0 (a fresh process's utils.seed_maker).
  const auto crop_seed =
      tf_uniform_int(rng.next_seeds(0), 2, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
  state_ = std::make_unique<State>(State{config, make_msa_arrays(raw), {}, rng, {}});
  state_->profile = make_hhblits_profile(state_->full);

  ProcessedFeatures& out = state_->shared;
  at::Tensor aatype = at::empty({n_res}, i32);  // squeeze_features: argmax of the one-hot
  at::Tensor target_feat = at::zeros({n_res, kTargetFeatChannels}, f32);
  for (int64_t r = 0; r < n_res; ++r) {
    const auto row = raw.aatype.begin() + r * rc::restype_num_with_x;
    const auto aa = static_cast<int32_t>(std::max_element(row, row + rc::restype_num_with_x) - row);
    aatype.data_ptr<int32_t>()[r] = aa;
    float* t = target_feat.data_ptr<float>() + r * kTargetFeatChannels;
    t[0] = clip01(static_cast<float>(raw.between_segment_residues[idx(r)]));
    t[1 + aa] = 1.0f;
  }
  at::Tensor atom14_exists = at::empty({n_res, rc::atom14_num}, f32);
  at::Tensor atom37_exists = at::empty({n_res, rc::atom_type_num}, f32);
  at::Tensor atom14_to_37 = at::empty({n_res, rc::atom14_num}, i32);
  at::Tensor atom37_to_14 = at::empty({n_res, rc::atom_type_num}, i32);
  for (int64_t r = 0; r < n_res; ++r) {  // make_atom14_masks
    const auto aa = idx(aatype.data_ptr<int32_t>()[r]);
    for (int64_t a = 0; a < rc::atom14_num; ++a) {
      atom14_exists.data_ptr<float>()[r * rc::atom14_num + a] = rc::restype_atom14_mask()[aa][idx(a)];
      atom14_to_37.data_ptr<int32_t>()[r * rc::atom14_num + a] =
          static_cast<int32_t>(rc::restype_atom14_to_atom37()[aa][idx(a)]);
    }
    for (int64_t a = 0; a < rc::atom_type_num; ++a) {
      atom37_exists.data_ptr<float>()[r * rc::atom_type_num + a] = rc::restype_atom37_mask()[aa][idx(a)];
      atom37_to_14.data_ptr<int32_t>()[r * rc::atom_type_num + a] =
          static_cast<int32_t>(rc::restype_atom37_to_atom14()[aa][idx(a)]);
    }
  }
  const auto one_batch = [](const at::Tensor& t) { return t.unsqueeze(0).clone(); };  // [1, ...], owns its data
  out.aatype = one_batch(aatype);
  out.residue_index = one_batch(at::from_blob(const_cast<int32_t*>(raw.residue_index.data()), {n_res}, i32));
  out.asym_id = raw.asym_id;
  out.seq_length = at::full({1}, static_cast<int32_t>(raw.seq_length.front()), i32);
  out.seq_mask = at::ones({1, n_res}, f32);
  out.is_distillation = at::zeros({1}, f32);
  out.target_feat = one_batch(target_feat);
  out.atom14_atom_exists = one_batch(atom14_exists);
  out.atom37_atom_exists = one_batch(atom37_exists);
  out.residx_atom14_to_atom37 = one_batch(atom14_to_37);
  out.residx_atom37_to_atom14 = one_batch(atom37_to_14);
  out.random_crop_to_size_seed = one_batch(at::from_blob(const_cast<int32_t*>(crop_seed.data()), {2}, i32));
  if (config.use_templates && raw.templates.n_templates > 0) add_templates(out, raw.templates, config.max_templates);
}

InputBatches::~InputBatches() = default;
InputBatches::InputBatches(InputBatches&&) noexcept = default;

const InputPipelineConfig& InputBatches::config() const { return state_->config; }
int64_t InputBatches::n_res() const { return state_->shared.n_res(); }
const ProcessedFeatures& InputBatches::shared() const { return state_->shared; }
int64_t InputBatches::msa_rows() const { return state_->full.n_seq; }
bool InputBatches::with_templates() const { return state_->shared.template_aatype.defined(); }

ProcessedFeatures InputBatches::batches(int64_t first, int64_t count) const {
  const int64_t n_batch = this->n_batch();
  if (first < 0 || count < 1 || first + count > n_batch)
    fail_input("input batches {} .. {} asked for; there are {}", first, first + count - 1, n_batch);
  const InputPipelineConfig& config = state_->config;
  const int64_t n_res = this->n_res(), n_clust = config.num_msa_clusters(), n_extra = config.max_extra_msa;
  const auto i32 = at::TensorOptions().dtype(at::kInt), f32 = at::TensorOptions().dtype(at::kFloat);

  ProcessedFeatures out;
  // The shared arrays, copied into every batch (never views of one another).
  for (const auto& [name, tensor] : state_->shared.named()) {
    std::vector<int64_t> shape(tensor.sizes().begin(), tensor.sizes().end());
    shape[0] = count;
    *out.field(name) = tensor.expand(shape).contiguous();
  }
  out.asym_id = state_->shared.asym_id;
  // Per-batch MSA arrays, zero-padded to the fixed sizes.
  out.msa_feat = at::zeros({count, n_clust, n_res, msa_feat_channels(config.msa_cluster_features)}, f32);
  out.msa_mask = at::zeros({count, n_clust, n_res}, f32);
  out.msa_row_mask = at::zeros({count, n_clust}, f32);
  out.bert_mask = at::zeros({count, n_clust, n_res}, f32);
  out.true_msa = at::zeros({count, n_clust, n_res}, i32);
  if (n_extra > 0) {
    out.extra_msa = at::zeros({count, n_extra, n_res}, i32);
    out.extra_msa_mask = at::zeros({count, n_extra, n_res}, f32);
    out.extra_msa_row_mask = at::zeros({count, n_extra}, f32);
    out.extra_has_deletion = at::zeros({count, n_extra, n_res}, f32);
    out.extra_deletion_value = at::zeros({count, n_extra, n_res}, f32);
  }
  for (int64_t b = first; b < first + count; ++b) {
    TfRandomGraph rng = state_->rng;
    // One batch: the op seeds continue after the non-ensembled ones. Several (tf.map_fn): the body's
    // op seeds restart for every batch, which differ through the counter offset of its execution.
    if (n_batch > 1) rng.start_map_fn_iteration(b);
    EnsembleMsa batch = sample_msa(state_->full, n_clust, rng);
    make_masked_msa(batch, state_->profile, config.masked_msa, config.masked_msa_replace_fraction, rng);
    if (config.msa_cluster_features) {
      nearest_neighbor_clusters(batch);
      summarize_clusters(batch);
    }
    if (n_extra > 0) crop_extra_msa(batch, n_extra, rng);
    fill_batch(out, b - first, batch, config.msa_cluster_features);
  }
  return out;
}

ProcessedFeatures make_model_inputs(const RawFeatures& raw, const InputPipelineConfig& config, int64_t seed) {
  const InputBatches batches(raw, config, seed);
  return batches.batches(0, batches.n_batch());
}

// ---- Files --------------------------------------------------------------------------------------

namespace {

std::string_view symbol_name(int64_t code) {
  static constexpr std::array<std::string_view, 6> names = {"n_batch",           "n_res",  "n_clust", "n_extra",
                                                            "msa_feat channels", "n_templ"};
  return names[idx(-code - 1)];
}

// Checks `shape` against the spec, binding symbols on first use.
void check_shape(const std::filesystem::path& path, const ArraySpec& spec, const std::vector<int64_t>& shape,
                 std::map<int64_t, std::pair<int64_t, std::string_view>>& bound) {
  const auto fail = [&](const std::string& why) {
    fail_input("{}: processed feature '{}' has shape {}: {}", path.string(), spec.name, data::shape_string(shape), why);
  };
  if (shape.size() != spec.dims.size()) fail(fmt::format("expected {} dimensions", spec.dims.size()));
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t d = spec.dims[i];
    if (d >= 0) {
      if (shape[i] != d) fail(fmt::format("dimension {} must be {}", i, d));
    } else if (const auto it = bound.find(d); it == bound.end()) {
      bound[d] = {shape[i], spec.name};
    } else if (it->second.first != shape[i]) {
      fail(fmt::format("{} is {} here but {} in '{}'", symbol_name(d), shape[i], it->second.first, it->second.second));
    }
  }
  if (spec.name == "msa_feat" && shape[3] != msa_feat_channels(true))
    fail(
        "msa_feat must have 49 channels, the cluster features included (AlphaFold2's networks read 49; features "
        "made with msa_cluster_features false have 25)");
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 0) fail(fmt::format("dimension {} is empty (every dimension needs at least one entry)", i));
}

// Values the model cannot take: indices outside their table, NaN or infinite floats.
void check_values(const std::filesystem::path& path, const ArraySpec& spec, const at::Tensor& t) {
  if (spec.is_int && spec.max_value >= 0) {
    const at::Tensor bad = at::logical_or(t<0, t> spec.max_value).flatten().nonzero();  // [n_bad, 1]
    if (bad.size(0) > 0) {
      int64_t flat = bad[0][0].item<int64_t>();
      const int64_t value = t.flatten()[flat].item<int64_t>();
      std::vector<int64_t> index(static_cast<size_t>(t.dim()));
      for (int64_t d = t.dim() - 1; d >= 0; --d) {
        index[static_cast<size_t>(d)] = flat % t.size(d);
        flat /= t.size(d);
      }
      fail_input(
          "{}: processed feature '{}' holds {} at index {} ({} values outside 0..{}); make the features again "
          "with AlphaFold's data pipeline",
          path.string(), spec.name, value, data::shape_string(index), bad.size(0), spec.max_value);
    }
  } else if (!spec.is_int) {
    if (const int64_t bad = (~at::isfinite(t)).sum().item<int64_t>(); bad > 0)
      fail_input("{}: processed feature '{}' holds {} NaN or infinite values; make the features again", path.string(),
                 spec.name, bad);
    // Masks and flags are 0 or 1 and deletion values 2/pi atan(d/3) in [0, 1): a seq_mask of 0.5 or -1 ran and
    // moved pTM silently.
    const std::string_view name = spec.name;
    const bool binary = name.ends_with("_mask") || name.ends_with("_masks") || name.ends_with("_exists") ||
                        name == "extra_has_deletion" || name == "is_distillation";
    const bool unit = name == "extra_deletion_value";
    if (binary || unit) {
      const at::Tensor bad = binary ? at::logical_and(t != 0, t != 1) : at::logical_or(t<0, t> 1);
      if (const int64_t n_bad = bad.sum().item<int64_t>(); n_bad > 0)
        fail_input("{}: processed feature '{}' holds {} values outside {} (e.g. {}); make the features again",
                   path.string(), spec.name, n_bad, binary ? "{0, 1}" : "[0, 1]",
                   t.masked_select(bad)[0].item<float>());
    }
  }
}

at::Tensor tensor_from(const std::vector<int64_t>& shape, const void* data, bool is_int) {
  at::Tensor t = at::empty(shape, is_int ? at::kInt : at::kFloat);
  std::memcpy(t.data_ptr(), data, static_cast<size_t>(t.numel()) * 4);
  return t;
}

}  // namespace

void write_processed_features(const std::filesystem::path& path, const ProcessedFeatures& features) {
  data::H5Writer writer(path);
  for (const auto& [name, tensor] : features.named()) {
    const at::Tensor t = tensor.contiguous().cpu();
    const std::vector<int64_t> shape(t.sizes().begin(), t.sizes().end());
    if (t.scalar_type() == at::kInt)
      writer.write<int32_t>(name, std::span<const int32_t>(t.data_ptr<int32_t>(), idx(t.numel())), shape);
    else if (t.scalar_type() == at::kFloat)
      writer.write<float>(name, std::span<const float>(t.data_ptr<float>(), idx(t.numel())), shape);
    else
      fail_input("write_processed_features: '{}' must be int32 or float32", name);
  }
  if (!features.asym_id.empty())
    writer.write<int32_t>("asym_id", features.asym_id, {static_cast<int64_t>(features.asym_id.size())});
  writer.set_attribute("kfold_content", "AlphaFold processed features (leading batch axis: ensemble x recycle)");
  writer.commit();
}

ProcessedFeatures read_processed_features(const std::filesystem::path& path) {
  ProcessedFeatures out;
  std::map<int64_t, std::pair<int64_t, std::string_view>> bound;
  data::check_input_file(path);  // a missing file is "file not found", not a damaged one
  const bool npz = data::is_zip_file(path);
  if (!npz && !data::is_hdf5_file(path)) {
    const auto ext = path.extension().string();
    if (ext == ".npz" || ext == ".h5" || ext == ".hdf5")
      fail_input("{}: not a readable {} file (damaged or truncated?); write the processed features again",
                 path.string(), ext == ".npz" ? "NumPy .npz (zip)" : "HDF5");
    if (ext == ".pkl")  // every AlphaFold output folder's features.pkl: AlphaFold's raw feature dict, pickled
      fail_input(
          "{}: a Python pickle, which kfold does not read; AlphaFold's features.pkl holds its raw features: "
          "convert them in Python with kfold.Features.from_dict(pickle.load(open(\"{}\", "
          "\"rb\"))).save(\"features.h5\"), "
          "then --features features.h5",
          path.string(), path.filename().string());
    fail_input("{}: --features must be an HDF5 (.h5) or NumPy (.npz) file (kfold features writes one)", path.string());
  }
  std::unique_ptr<data::NpzFile> npz_file;
  std::unique_ptr<data::H5Reader> h5_file;
  if (npz)
    npz_file = std::make_unique<data::NpzFile>(path);
  else
    h5_file = std::make_unique<data::H5Reader>(path);
  // AlphaFold's raw feature dict (features.pkl's arrays saved as .npz or .h5) is no processed input.
  for (const char* raw_only : {"deletion_matrix_int", "between_segment_residues", "num_alignments"})
    if (npz ? npz_file->find(raw_only) != nullptr : h5_file->contains(raw_only))
      fail_input(
          "{}: holds AlphaFold's raw features ('{}'), not processed ones; kfold reads raw features as its own "
          "features.h5: make it with kfold features (from the MSAs), or kfold.Features.from_dict(...).save(...) "
          "in Python, and pass that to --features",
          path.string(), raw_only);
  for (const ArraySpec& spec : array_specs()) {
    std::vector<int64_t> shape;
    if (npz) {
      const data::NpyArray* a = npz_file->find(spec.name);
      if (a == nullptr) continue;
      shape = a->shape;
      check_shape(path, spec, shape, bound);
      if (spec.is_int) {
        const auto v = npz_file->read<int32_t>(spec.name);
        *out.field(spec.name) = tensor_from(shape, v.data(), true);
      } else {
        const auto v = npz_file->read<float>(spec.name);
        *out.field(spec.name) = tensor_from(shape, v.data(), false);
      }
    } else {
      if (!h5_file->contains(spec.name)) continue;
      shape = h5_file->info(spec.name).shape;
      check_shape(path, spec, shape, bound);
      if (spec.is_int) {
        const auto a = h5_file->read<int32_t>(spec.name);
        *out.field(spec.name) = tensor_from(shape, a.values.data(), true);
      } else {
        const auto a = h5_file->read<float>(spec.name);
        *out.field(spec.name) = tensor_from(shape, a.values.data(), false);
      }
    }
  }
  for (const ArraySpec& spec : array_specs())
    if (const at::Tensor* t = out.field(spec.name); t->defined()) check_values(path, spec, *t);
  for (const char* required : {"aatype", "residue_index", "seq_mask", "target_feat", "msa_feat", "msa_mask",
                               "extra_msa", "extra_msa_mask", "extra_has_deletion", "extra_deletion_value"})
    if (!out.field(required)->defined())
      fail_input("{}: processed features lack '{}' (AlphaFold's features.np_example_to_features output has it)",
                 path.string(), required);
  // Template arrays come as a set (AlphaFold's use_templates) or not at all.
  const char* const template_arrays[] = {"template_aatype", "template_all_atom_positions", "template_all_atom_masks",
                                         "template_mask"};
  for (const char* name : template_arrays)
    if (out.template_aatype.defined() || out.template_all_atom_positions.defined() ||
        out.template_all_atom_masks.defined() || out.template_mask.defined())
      if (!out.field(name)->defined())
        fail_input(
            "{}: processed features have template arrays but lack '{}' (AlphaFold's use_templates features "
            "hold template_aatype, template_all_atom_positions, template_all_atom_masks and template_mask)",
            path.string(), name);
  // Features padded past the sequence (AlphaFold's crop_size above its length, as in training) would give
  // the padding residues atoms and confidences: kfold takes unpadded features, as AlphaFold's inference makes.
  if (const int64_t padding = (out.seq_mask.select(0, 0) == 0).sum().item<int64_t>(); padding > 0)
    fail_input(
        "{}: the features are padded: seq_mask is 0 at {} of {} residues; make them without padding (AlphaFold's "
        "eval crop_size equal to the sequence length), or predict from the FASTA",
        path.string(), padding, out.n_res());
  // After the padding check: padding numbers its residues 0.
  const at::Tensor first_batch = out.residue_index.select(0, 0).contiguous();  // [R]
  check_residue_index(first_batch.data_ptr<int32_t>(), first_batch.numel(), path.string());
  // A complex's chains: asym_id [n_res], or [n_batch, n_res] with one row repeated (as ColabFold tiles it); any
  // integers (ColabFold's count from 0, AlphaFold-Multimer's from 1, as floats: its pipeline multiplies np.ones).
  if (npz ? npz_file->find("asym_id") != nullptr : h5_file->contains("asym_id")) {
    const auto shape = npz ? npz_file->find("asym_id")->shape : h5_file->info("asym_id").shape;
    const data::DType dtype = npz ? npz_file->find("asym_id")->dtype : h5_file->info("asym_id").dtype;
    const int64_t n_res = out.n_res();
    if (shape != std::vector<int64_t>{n_res} && shape != std::vector<int64_t>{out.n_batch(), n_res})
      fail_input("{}: processed feature 'asym_id' has shape {}; expected [{}] or [{}, {}] (the chain of each residue)",
                 path.string(), data::shape_string(shape), n_res, out.n_batch(), n_res);
    std::vector<int32_t> values;
    if (data::is_float(dtype)) {
      const auto floats = npz ? npz_file->read<double>("asym_id") : h5_file->read<double>("asym_id").values;
      for (const double v : floats) {
        if (v != std::floor(v))
          fail_input("{}: processed feature 'asym_id' holds {}; chain ids are whole numbers", path.string(), v);
        if (std::fabs(v) >= 1e9)
          fail_input("{}: processed feature 'asym_id' holds {}, out of range (chain ids below 10^9)", path.string(), v);
        values.push_back(static_cast<int32_t>(v));
      }
    } else {
      values = npz ? npz_file->read<int32_t>("asym_id") : h5_file->read<int32_t>("asym_id").values;
    }
    out.asym_id.assign(values.begin(), values.begin() + n_res);
    for (size_t k = static_cast<size_t>(n_res); k < values.size(); ++k)
      if (values[k] != values[k % static_cast<size_t>(n_res)])
        fail_input("{}: processed feature 'asym_id' differs between batches 0 and {}; a residue has one chain",
                   path.string(), k / static_cast<size_t>(n_res));
    check_asym_id(out.asym_id, n_res, path.string());
  }
  return out;
}

}  // namespace kfold::fold
