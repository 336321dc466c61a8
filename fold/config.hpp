// AlphaFold2 model configuration: plain structs per module with the numbers of AlphaFold's
// alphafold/model/config.py (presets model_1..5 and model_1..5_ptm), overridable from JSON with
// AlphaFold's own key names ({"model": {"embeddings_and_evoformer": {"evoformer_num_block": 2}}}).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kfold::fold {

// Every struct lists its fields once, with AlphaFold's key names, in visit(); the JSON reader and
// writer (config.cpp) walk them. Fields a kfold module does not use at inference (dropout rates,
// loss weights) are kept so that any AlphaFold config loads unchanged.

struct AttentionConfig {  // Attention, MSA row/column attention, triangle attention
  double dropout_rate = 0.0;
  bool gating = true;
  int64_t num_head = 8;
  std::string orientation = "per_row";  // per_row | per_column
  bool shared_dropout = true;
  std::optional<int64_t> key_dim;    // total over heads; absent: the input's channels
  std::optional<int64_t> value_dim;  // total over heads; absent: the input's channels
  template <class V>
  void visit(V& v) {
    v("dropout_rate", dropout_rate);
    v("gating", gating);
    v("num_head", num_head);
    v("orientation", orientation);
    v("shared_dropout", shared_dropout);
    v("key_dim", key_dim);
    v("value_dim", value_dim);
  }
};

struct TransitionConfig {  // MSA transition, pair transition
  double dropout_rate = 0.0;
  int64_t num_intermediate_factor = 4;
  std::string orientation = "per_row";
  bool shared_dropout = true;
  template <class V>
  void visit(V& v) {
    v("dropout_rate", dropout_rate);
    v("num_intermediate_factor", num_intermediate_factor);
    v("orientation", orientation);
    v("shared_dropout", shared_dropout);
  }
};

struct OuterProductMeanConfig {
  bool first = false;  // multimer: before the MSA row attention
  int64_t chunk_size = 128;
  double dropout_rate = 0.0;
  int64_t num_outer_channel = 32;
  std::string orientation = "per_row";
  bool shared_dropout = true;
  template <class V>
  void visit(V& v) {
    v("first", first);
    v("chunk_size", chunk_size);
    v("dropout_rate", dropout_rate);
    v("num_outer_channel", num_outer_channel);
    v("orientation", orientation);
    v("shared_dropout", shared_dropout);
  }
};

struct TriangleMultiplicationConfig {
  double dropout_rate = 0.25;
  std::string equation = "ikc,jkc->ijc";  // outgoing; incoming: "kjc,kic->ijc"
  int64_t num_intermediate_channel = 128;
  std::string orientation = "per_row";
  bool shared_dropout = true;
  bool fuse_projection_weights = false;  // DeepMind monomer: false; multimer v3: true
  template <class V>
  void visit(V& v) {
    v("dropout_rate", dropout_rate);
    v("equation", equation);
    v("num_intermediate_channel", num_intermediate_channel);
    v("orientation", orientation);
    v("shared_dropout", shared_dropout);
    v("fuse_projection_weights", fuse_projection_weights);
  }
};

struct EvoformerConfig {  // one EvoformerIteration (also the extra-MSA stack's block)
  AttentionConfig msa_row_attention_with_pair_bias{0.15, true, 8, "per_row", true, {}, {}};
  AttentionConfig msa_column_attention{0.0, true, 8, "per_column", true, {}, {}};
  TransitionConfig msa_transition{0.0, 4, "per_row", true};
  OuterProductMeanConfig outer_product_mean{};
  AttentionConfig triangle_attention_starting_node{0.25, true, 4, "per_row", true, {}, {}};
  AttentionConfig triangle_attention_ending_node{0.25, true, 4, "per_column", true, {}, {}};
  TriangleMultiplicationConfig triangle_multiplication_outgoing{0.25, "ikc,jkc->ijc", 128, "per_row", true, false};
  TriangleMultiplicationConfig triangle_multiplication_incoming{0.25, "kjc,kic->ijc", 128, "per_row", true, false};
  TransitionConfig pair_transition{0.0, 4, "per_row", true};
  template <class V>
  void visit(V& v) {
    v("msa_row_attention_with_pair_bias", msa_row_attention_with_pair_bias);
    v("msa_column_attention", msa_column_attention);
    v("msa_transition", msa_transition);
    v("outer_product_mean", outer_product_mean);
    v("triangle_attention_starting_node", triangle_attention_starting_node);
    v("triangle_attention_ending_node", triangle_attention_ending_node);
    v("triangle_multiplication_outgoing", triangle_multiplication_outgoing);
    v("triangle_multiplication_incoming", triangle_multiplication_incoming);
    v("pair_transition", pair_transition);
  }
};

struct BinsConfig {  // distogram features: num_bins bins from min_bin to max_bin (Angstrom)
  double min_bin = 3.25;
  double max_bin = 20.75;
  int64_t num_bins = 15;
  template <class V>
  void visit(V& v) {
    v("min_bin", min_bin);
    v("max_bin", max_bin);
    v("num_bins", num_bins);
  }
};

struct TemplatePairStackConfig {
  int64_t num_block = 2;
  AttentionConfig triangle_attention_starting_node{0.25, true, 4, "per_row", true, 64, 64};
  AttentionConfig triangle_attention_ending_node{0.25, true, 4, "per_column", true, 64, 64};
  TriangleMultiplicationConfig triangle_multiplication_outgoing{0.25, "ikc,jkc->ijc", 64, "per_row", true, false};
  TriangleMultiplicationConfig triangle_multiplication_incoming{0.25, "kjc,kic->ijc", 64, "per_row", true, false};
  TransitionConfig pair_transition{0.0, 2, "per_row", true};
  template <class V>
  void visit(V& v) {
    v("num_block", num_block);
    v("triangle_attention_starting_node", triangle_attention_starting_node);
    v("triangle_attention_ending_node", triangle_attention_ending_node);
    v("triangle_multiplication_outgoing", triangle_multiplication_outgoing);
    v("triangle_multiplication_incoming", triangle_multiplication_incoming);
    v("pair_transition", pair_transition);
  }
};

// The template pointwise attention's settings (no dropout or orientation keys in AlphaFold).
struct TemplateAttentionConfig {
  bool gating = false;
  int64_t key_dim = 64;
  int64_t num_head = 4;
  int64_t value_dim = 64;
  template <class V>
  void visit(V& v) {
    v("gating", gating);
    v("key_dim", key_dim);
    v("num_head", num_head);
    v("value_dim", value_dim);
  }
};

struct TemplateConfig {
  TemplateAttentionConfig attention{};
  BinsConfig dgram_features{3.25, 50.75, 39};
  bool embed_torsion_angles = false;
  bool enabled = false;
  TemplatePairStackConfig template_pair_stack{};
  int64_t max_templates = 4;
  int64_t subbatch_size = 128;
  bool use_template_unit_vector = false;
  template <class V>
  void visit(V& v) {
    v("attention", attention);
    v("dgram_features", dgram_features);
    v("embed_torsion_angles", embed_torsion_angles);
    v("enabled", enabled);
    v("template_pair_stack", template_pair_stack);
    v("max_templates", max_templates);
    v("subbatch_size", subbatch_size);
    v("use_template_unit_vector", use_template_unit_vector);
  }
};

struct EmbeddingsAndEvoformerConfig {  // Suppl. Alg. 2 lines 5-18
  int64_t evoformer_num_block = 48;
  EvoformerConfig evoformer{};
  int64_t extra_msa_channel = 64;  // c_e
  int64_t extra_msa_stack_num_block = 4;
  int64_t max_relative_feature = 32;
  int64_t msa_channel = 256;   // c_m
  int64_t pair_channel = 128;  // c_z
  BinsConfig prev_pos{3.25, 20.75, 15};
  bool recycle_features = true;
  bool recycle_pos = true;
  int64_t seq_channel = 384;   // c_s
  TemplateConfig template_{};  // "template"
  template <class V>
  void visit(V& v) {
    v("evoformer_num_block", evoformer_num_block);
    v("evoformer", evoformer);
    v("extra_msa_channel", extra_msa_channel);
    v("extra_msa_stack_num_block", extra_msa_stack_num_block);
    v("max_relative_feature", max_relative_feature);
    v("msa_channel", msa_channel);
    v("pair_channel", pair_channel);
    v("prev_pos", prev_pos);
    v("recycle_features", recycle_features);
    v("recycle_pos", recycle_pos);
    v("seq_channel", seq_channel);
    v("template", template_);
  }
};

struct GlobalConfig {
  bool bfloat16 = true;  // AlphaFold's flag; kfold's dtype comes from RunOptions
  bool bfloat16_output = false;
  bool deterministic = false;
  bool multimer_mode = false;
  int64_t subbatch_size = 4;
  bool use_remat = false;
  bool zero_init = true;
  bool eval_dropout = false;
  template <class V>
  void visit(V& v) {
    v("bfloat16", bfloat16);
    v("bfloat16_output", bfloat16_output);
    v("deterministic", deterministic);
    v("multimer_mode", multimer_mode);
    v("subbatch_size", subbatch_size);
    v("use_remat", use_remat);
    v("zero_init", zero_init);
    v("eval_dropout", eval_dropout);
  }
};

struct DistogramHeadConfig {
  double first_break = 2.3125;
  double last_break = 21.6875;
  int64_t num_bins = 64;
  double weight = 0.3;
  template <class V>
  void visit(V& v) {
    v("first_break", first_break);
    v("last_break", last_break);
    v("num_bins", num_bins);
    v("weight", weight);
  }
};

struct PredictedAlignedErrorHeadConfig {
  double max_error_bin = 31.0;
  int64_t num_bins = 64;
  int64_t num_channels = 128;
  bool filter_by_resolution = true;
  double min_resolution = 0.1;
  double max_resolution = 3.0;
  double weight = 0.0;  // 0.1 in the _ptm presets
  template <class V>
  void visit(V& v) {
    v("max_error_bin", max_error_bin);
    v("num_bins", num_bins);
    v("num_channels", num_channels);
    v("filter_by_resolution", filter_by_resolution);
    v("min_resolution", min_resolution);
    v("max_resolution", max_resolution);
    v("weight", weight);
  }
};

struct ExperimentallyResolvedHeadConfig {
  bool filter_by_resolution = true;
  double max_resolution = 3.0;
  double min_resolution = 0.1;
  double weight = 0.01;
  template <class V>
  void visit(V& v) {
    v("filter_by_resolution", filter_by_resolution);
    v("max_resolution", max_resolution);
    v("min_resolution", min_resolution);
    v("weight", weight);
  }
};

struct FapeConfig {
  double clamp_distance = 10.0;
  std::string clamp_type = "relu";
  double loss_unit_distance = 10.0;
  template <class V>
  void visit(V& v) {
    v("clamp_distance", clamp_distance);
    v("clamp_type", clamp_type);
    v("loss_unit_distance", loss_unit_distance);
  }
};

struct SidechainConfig {
  double atom_clamp_distance = 10.0;
  int64_t num_channel = 128;
  int64_t num_residual_block = 2;
  double weight_frac = 0.5;
  double length_scale = 10.0;
  template <class V>
  void visit(V& v) {
    v("atom_clamp_distance", atom_clamp_distance);
    v("num_channel", num_channel);
    v("num_residual_block", num_residual_block);
    v("weight_frac", weight_frac);
    v("length_scale", length_scale);
  }
};

struct StructureModuleConfig {
  int64_t num_layer = 8;
  FapeConfig fape{};
  double angle_norm_weight = 0.01;
  double chi_weight = 0.5;
  double clash_overlap_tolerance = 1.5;
  bool compute_in_graph_metrics = true;
  double dropout = 0.1;
  int64_t num_channel = 384;
  int64_t num_head = 12;
  int64_t num_layer_in_transition = 3;
  int64_t num_point_qk = 4;
  int64_t num_point_v = 8;
  int64_t num_scalar_qk = 16;
  int64_t num_scalar_v = 16;
  double position_scale = 10.0;
  SidechainConfig sidechain{};
  double structural_violation_loss_weight = 1.0;
  double violation_tolerance_factor = 12.0;
  double weight = 1.0;
  template <class V>
  void visit(V& v) {
    v("num_layer", num_layer);
    v("fape", fape);
    v("angle_norm_weight", angle_norm_weight);
    v("chi_weight", chi_weight);
    v("clash_overlap_tolerance", clash_overlap_tolerance);
    v("compute_in_graph_metrics", compute_in_graph_metrics);
    v("dropout", dropout);
    v("num_channel", num_channel);
    v("num_head", num_head);
    v("num_layer_in_transition", num_layer_in_transition);
    v("num_point_qk", num_point_qk);
    v("num_point_v", num_point_v);
    v("num_scalar_qk", num_scalar_qk);
    v("num_scalar_v", num_scalar_v);
    v("position_scale", position_scale);
    v("sidechain", sidechain);
    v("structural_violation_loss_weight", structural_violation_loss_weight);
    v("violation_tolerance_factor", violation_tolerance_factor);
    v("weight", weight);
  }
};

struct PredictedLddtHeadConfig {
  bool filter_by_resolution = true;
  double max_resolution = 3.0;
  double min_resolution = 0.1;
  int64_t num_bins = 50;
  int64_t num_channels = 128;
  double weight = 0.01;
  template <class V>
  void visit(V& v) {
    v("filter_by_resolution", filter_by_resolution);
    v("max_resolution", max_resolution);
    v("min_resolution", min_resolution);
    v("num_bins", num_bins);
    v("num_channels", num_channels);
    v("weight", weight);
  }
};

struct MaskedMsaHeadConfig {
  int64_t num_output = 23;
  double weight = 2.0;
  template <class V>
  void visit(V& v) {
    v("num_output", num_output);
    v("weight", weight);
  }
};

struct HeadsConfig {
  DistogramHeadConfig distogram{};
  PredictedAlignedErrorHeadConfig predicted_aligned_error{};
  ExperimentallyResolvedHeadConfig experimentally_resolved{};
  StructureModuleConfig structure_module{};
  PredictedLddtHeadConfig predicted_lddt{};
  MaskedMsaHeadConfig masked_msa{};
  template <class V>
  void visit(V& v) {
    v("distogram", distogram);
    v("predicted_aligned_error", predicted_aligned_error);
    v("experimentally_resolved", experimentally_resolved);
    v("structure_module", structure_module);
    v("predicted_lddt", predicted_lddt);
    v("masked_msa", masked_msa);
  }
};

struct ModelSectionConfig {  // AlphaFold's config.model
  EmbeddingsAndEvoformerConfig embeddings_and_evoformer{};
  GlobalConfig global_config{};
  HeadsConfig heads{};
  int64_t num_recycle = 3;
  bool resample_msa_in_recycling = true;
  template <class V>
  void visit(V& v) {
    v("embeddings_and_evoformer", embeddings_and_evoformer);
    v("global_config", global_config);
    v("heads", heads);
    v("num_recycle", num_recycle);
    v("resample_msa_in_recycling", resample_msa_in_recycling);
  }
};

struct MaskedMsaConfig {  // BERT-style corruption probabilities
  double profile_prob = 0.1;
  double same_prob = 0.1;
  double uniform_prob = 0.1;
  template <class V>
  void visit(V& v) {
    v("profile_prob", profile_prob);
    v("same_prob", same_prob);
    v("uniform_prob", uniform_prob);
  }
};

struct DataCommonConfig {
  MaskedMsaConfig masked_msa{};
  int64_t max_extra_msa = 1024;
  bool msa_cluster_features = true;
  int64_t num_recycle = 3;
  bool reduce_msa_clusters_by_max_templates = false;
  bool resample_msa_in_recycling = true;
  std::vector<std::string> template_features{"template_all_atom_positions", "template_sum_probs", "template_aatype",
                                             "template_all_atom_masks", "template_domain_names"};
  std::vector<std::string> unsupervised_features{
      "aatype",         "residue_index",  "sequence",   "msa",
      "domain_name",    "num_alignments", "seq_length", "between_segment_residues",
      "deletion_matrix"};
  bool use_templates = false;
  template <class V>
  void visit(V& v) {
    v("masked_msa", masked_msa);
    v("max_extra_msa", max_extra_msa);
    v("msa_cluster_features", msa_cluster_features);
    v("num_recycle", num_recycle);
    v("reduce_msa_clusters_by_max_templates", reduce_msa_clusters_by_max_templates);
    v("resample_msa_in_recycling", resample_msa_in_recycling);
    v("template_features", template_features);
    v("unsupervised_features", unsupervised_features);
    v("use_templates", use_templates);
  }
};

// AlphaFold's data.eval.feat: each input feature's padded shape (placeholder names such as "num residues
// placeholder", null or sizes) for its fixed-size padding. kfold drops that padding (data.eval.fixed_size), so the
// schema changes nothing; it is checked for its form and kept as given (JSON text, empty when absent; a config
// over a config replaces the features it names) so that a config exported from AlphaFold loads and writes back whole.
struct FeatureShapeSchema {
  std::string json_text;
};

struct DataEvalConfig {  // AlphaFold's data.eval
  FeatureShapeSchema feat{};
  bool fixed_size = true;
  bool subsample_templates = false;
  double masked_msa_replace_fraction = 0.15;
  int64_t max_msa_clusters = 512;
  int64_t max_templates = 4;
  int64_t num_ensemble = 1;
  template <class V>
  void visit(V& v) {
    v("feat", feat);
    v("fixed_size", fixed_size);
    v("subsample_templates", subsample_templates);
    v("masked_msa_replace_fraction", masked_msa_replace_fraction);
    v("max_msa_clusters", max_msa_clusters);
    v("max_templates", max_templates);
    v("num_ensemble", num_ensemble);
  }
};

struct DataConfig {
  DataCommonConfig common{};
  DataEvalConfig eval{};
  template <class V>
  void visit(V& v) {
    v("common", common);
    v("eval", eval);
  }
};

struct ModelConfig {  // the whole of AlphaFold's model_config(name)
  DataConfig data{};
  ModelSectionConfig model{};
  template <class V>
  void visit(V& v) {
    v("data", data);
    v("model", model);
  }
};

// The monomer presets, in AlphaFold's order.
const std::vector<std::string>& model_presets();

// AlphaFold's model_config(name) for a monomer preset; InputError listing the presets otherwise.
ModelConfig model_config(std::string_view preset);

// Applies overrides written with AlphaFold's key names. InputError naming `source` and the key path
// (e.g. "model.embeddings_and_evoformer.evoformer_num_block") for unknown keys, wrong types, or
// invalid JSON. Omitted keys keep their values.
void apply_config_json(ModelConfig& config, std::string_view json_text, std::string_view source);
void apply_config_file(ModelConfig& config, const std::filesystem::path& path);

// The bytes of a --config file. A pipe, FIFO or device (`--config <(...)`, /dev/stdin) can be read once: its bytes
// are kept for the process, so that every model, check and stage key of a run reads the same (a second read found
// it empty, or blocked on a FIFO forever); a regular file is read anew (a notebook that edits it between calls).
std::string config_file_text(const std::filesystem::path& path);

// The config as JSON with AlphaFold's key names (absent optional keys omitted).
std::string config_to_json(const ModelConfig& config, int indent = 2);

}  // namespace kfold::fold
