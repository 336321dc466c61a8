// AlphaFold2 model configuration: monomer presets (AlphaFold's CONFIG_DIFFS) and JSON overrides.
#include "fold/config.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "data/error.hpp"
#include "data/json_input.hpp"
#include "data/open_failure.hpp"
#include "data/text_input.hpp"

namespace kfold::fold {
namespace {

using nlohmann::json;

std::string join_path(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

std::string json_type(const json& j) {
  if (j.is_number_integer()) return "an integer";
  if (j.is_number_float()) return "a number";
  if (j.is_boolean()) return "a boolean";
  if (j.is_string()) return "a string";
  if (j.is_array()) return "a list";
  if (j.is_object()) return "an object";
  return "null";
}

// The least value an integer key takes: 1 for sizes (channels, heads, bins, layers, dims, MSA row
// counts, ensembles), 0 for the other counts (blocks, recycles, templates, chunk sizes: 0 means none).
int64_t least_value(std::string_view key) {
  static constexpr std::string_view kSizes[] = {"channel",       "num_head",         "num_bins",     "_dim",
                                                "num_layer",     "num_point",        "num_scalar",   "factor",
                                                "max_extra_msa", "max_msa_clusters", "num_ensemble", "num_output"};
  for (const std::string_view size : kSizes)
    if (key.find(size) != std::string_view::npos) return 1;
  return 0;
}

// Reads one JSON value into a field, checking its type and, for integers, their range.
class Reader {
 public:
  explicit Reader(std::string_view source) : source_(source) {}

  [[noreturn]] void wrong_type(const std::string& path, std::string_view expected, const json& j) const {
    if (path.empty())  // the file's top level
      fail_input(
          "{}: a config is a JSON object of AlphaFold's config keys (e.g. {{\"model\": {{\"num_recycle\": 1}}}}), "
          "found {}",
          source_, json_type(j));
    fail_input("{}: config key '{}': expected {}, found {}", source_, path, expected, json_type(j));
  }

  void read(const std::string& path, const json& j, bool& value) const {
    if (!j.is_boolean()) wrong_type(path, "a boolean", j);
    value = j.get<bool>();
  }
  void read(const std::string& path, const json& j, int64_t& value) const {
    if (!j.is_number_integer()) wrong_type(path, "an integer", j);
    // No AlphaFold size comes near 2^24; beyond it the memory guard's byte counts could overflow.
    constexpr int64_t kMost = int64_t{1} << 24;
    // Read as int64_t, an unsigned beyond its range (18446744073709551615) wrapped and was named as -1.
    if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(kMost))
      fail_input("{}: config key '{}': {} is out of range; it must be at most {}", source_, path, j.get<uint64_t>(),
                 kMost);
    value = j.get<int64_t>();
    const int64_t least = least_value(path.substr(path.rfind('.') + 1));
    if (value < least)
      fail_input("{}: config key '{}': {} is out of range; it must be at least {}", source_, path, value, least);
    if (value > kMost)
      fail_input("{}: config key '{}': {} is out of range; it must be at most {}", source_, path, value, kMost);
  }
  void read(const std::string& path, const json& j, double& value) const {
    if (!j.is_number()) wrong_type(path, "a number", j);
    value = j.get<double>();
  }
  void read(const std::string& path, const json& j, std::string& value) const {
    if (!j.is_string()) wrong_type(path, "a string", j);
    value = j.get<std::string>();
  }
  void read(const std::string& path, const json& j, std::optional<int64_t>& value) const {
    if (j.is_null()) {
      value.reset();
      return;
    }
    int64_t v = 0;
    read(path, j, v);
    value = v;
  }
  void read(const std::string& path, const json& j, std::vector<std::string>& value) const {
    if (!j.is_array()) wrong_type(path, "a list of strings", j);
    std::vector<std::string> out;
    for (const auto& item : j) {
      if (!item.is_string()) wrong_type(path, "a list of strings", j);
      out.push_back(item.get<std::string>());
    }
    value = std::move(out);
  }
  void read(const std::string& path, const json& j, FeatureShapeSchema& value) const {
    if (!j.is_object()) wrong_type(path, "an object of feature names and their shapes", j);
    // Merged per feature, as every other section merges per key (a config over a config changes what it names).
    json merged = value.json_text.empty() ? json::object() : json::parse(value.json_text);
    for (const auto& [name, shape] : j.items()) {
      if (!shape.is_array()) wrong_type(join_path(path, name), "a list of dimensions (names, nulls or sizes)", shape);
      for (const auto& dim : shape)
        if (!dim.is_string() && !dim.is_null() && !dim.is_number_unsigned())
          wrong_type(join_path(path, name), "dimensions that are names, nulls or sizes", dim);
      merged[name] = shape;
    }
    value.json_text = merged.dump();
  }
  template <class S>
  requires std::is_class_v<S>
  void read(const std::string& path, const json& j, S& section) const {
    if (!j.is_object()) wrong_type(path, "an object", j);
    for (const auto& [key, value] : j.items()) {
      bool found = false;
      auto visitor = [&](std::string_view name, auto& field) {
        if (!found && name == key) {
          found = true;
          read(join_path(path, key), value, field);
        }
      };
      section.visit(visitor);
      if (!found) fail_input("{}: unknown config key '{}'", source_, join_path(path, key));
    }
  }

 private:
  std::string source_;
};

// Writes fields into JSON.
void write(json& out, const bool& value) { out = value; }
void write(json& out, const int64_t& value) { out = value; }
void write(json& out, const double& value) { out = value; }
void write(json& out, const std::string& value) { out = value; }
void write(json& out, const std::vector<std::string>& value) { out = value; }
void write(json& out, const FeatureShapeSchema& value) { out = json::parse(value.json_text); }
template <class S>
requires std::is_class_v<S>
void write(json& out, const S& section) {
  out = json::object();
  auto visitor = [&](std::string_view name, auto& field) {
    using F = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<F, std::optional<int64_t>>) {
      if (field) out[std::string(name)] = *field;
    } else if constexpr (std::is_same_v<F, FeatureShapeSchema>) {
      if (!field.json_text.empty()) write(out[std::string(name)], field);
    } else {
      write(out[std::string(name)], field);
    }
  };
  const_cast<S&>(section).visit(visitor);
}

ModelConfig base_config() { return ModelConfig{}; }

// Values the per-key reader cannot judge alone: heads that must divide their module's channels, bins and
// probabilities. Checked when a config is read, before any model work (a run whose PAE bins were wrong
// used to fail at pae.png, after its models had run).
class ValueCheck {
 public:
  explicit ValueCheck(std::string_view source) : source_(source) {}

  void check(const ModelConfig& c) const {
    const auto& e = c.model.embeddings_and_evoformer;
    const std::string evo = "model.embeddings_and_evoformer.";
    // The Evoformer's block settings serve its blocks (msa_channel) and the extra-MSA stack's (extra_msa_channel).
    for (const auto& [msa_channels, stack] :
         {std::pair{e.msa_channel, " in the Evoformer (msa_channel)"},
          std::pair{e.extra_msa_channel, " in the extra-MSA stack (extra_msa_channel)"}}) {
      heads(evo + "evoformer.msa_row_attention_with_pair_bias", e.evoformer.msa_row_attention_with_pair_bias,
            msa_channels, stack);
      heads(evo + "evoformer.msa_column_attention", e.evoformer.msa_column_attention, msa_channels, stack);
    }
    heads(evo + "evoformer.triangle_attention_starting_node", e.evoformer.triangle_attention_starting_node,
          e.pair_channel);
    heads(evo + "evoformer.triangle_attention_ending_node", e.evoformer.triangle_attention_ending_node, e.pair_channel);
    // The modules' own checks of these texts came at model construction, naming a weight scope, not this file.
    orientation(evo + "evoformer.msa_row_attention_with_pair_bias", e.evoformer.msa_row_attention_with_pair_bias,
                false);
    orientation(evo + "evoformer.msa_column_attention", e.evoformer.msa_column_attention, true);
    const auto& stack = e.template_.template_pair_stack;
    for (const std::string& section : {evo + "evoformer.", evo + "template.template_pair_stack."}) {
      const bool in_stack = section != evo + "evoformer.";
      for (const auto& [name, attention] :
           {std::pair{"triangle_attention_starting_node", in_stack ? &stack.triangle_attention_starting_node
                                                                   : &e.evoformer.triangle_attention_starting_node},
            std::pair{"triangle_attention_ending_node",
                      in_stack ? &stack.triangle_attention_ending_node : &e.evoformer.triangle_attention_ending_node}})
        if (attention->orientation != "per_row" && attention->orientation != "per_column")
          fail(section + name + ".orientation",
               fmt::format("'{}' is neither per_row nor per_column", attention->orientation));
      for (const auto& [name, product] :
           {std::pair{"triangle_multiplication_outgoing", in_stack ? &stack.triangle_multiplication_outgoing
                                                                   : &e.evoformer.triangle_multiplication_outgoing},
            std::pair{"triangle_multiplication_incoming", in_stack ? &stack.triangle_multiplication_incoming
                                                                   : &e.evoformer.triangle_multiplication_incoming}})
        if (product->equation != "ikc,jkc->ijc" && product->equation != "kjc,kic->ijc")
          fail(section + name + ".equation",
               fmt::format("'{}' is neither 'ikc,jkc->ijc' (outgoing) nor 'kjc,kic->ijc' (incoming)",
                           product->equation));
    }
    if (const int64_t c_t = stack.triangle_attention_ending_node.value_dim.value_or(0); c_t > 0) {
      heads(evo + "template.template_pair_stack.triangle_attention_starting_node",
            stack.triangle_attention_starting_node, c_t);
      heads(evo + "template.template_pair_stack.triangle_attention_ending_node", stack.triangle_attention_ending_node,
            c_t);
    }
    const auto& ta = e.template_.attention;
    divides(evo + "template.attention.num_head", ta.num_head, ta.key_dim, ta.value_dim);
    bins(evo + "prev_pos", e.prev_pos.min_bin, e.prev_pos.max_bin);
    bins(evo + "template.dgram_features", e.template_.dgram_features.min_bin, e.template_.dgram_features.max_bin);
    const auto& h = c.model.heads;
    bins("model.heads.distogram", h.distogram.first_break, h.distogram.last_break, "first_break", "last_break");
    at_least("model.heads.distogram.num_bins", h.distogram.num_bins, 2);
    at_least("model.heads.predicted_lddt.num_bins", h.predicted_lddt.num_bins, 2);
    // The PAE head's breaks are num_bins - 1 edges from 0 to max_error_bin, at least 2 of them (2 bins passed
    // this check and failed after the models had run, leaving their features behind).
    at_least("model.heads.predicted_aligned_error.num_bins", h.predicted_aligned_error.num_bins, 3);
    if (!(h.predicted_aligned_error.max_error_bin > 0))
      fail("model.heads.predicted_aligned_error.max_error_bin", "must be above 0 (Angstrom; AlphaFold's is 31)");
    if (!(h.structure_module.position_scale > 0))
      fail("model.heads.structure_module.position_scale", "must be above 0 (AlphaFold's is 10)");
    const auto& m = c.data.common.masked_msa;
    for (const auto& [key, p] : {std::pair{"profile_prob", m.profile_prob}, std::pair{"same_prob", m.same_prob},
                                 std::pair{"uniform_prob", m.uniform_prob}})
      probability(std::string("data.common.masked_msa.") + key, p);
    if (m.profile_prob + m.same_prob + m.uniform_prob > 1)
      fail("data.common.masked_msa", "profile_prob + same_prob + uniform_prob must be at most 1");
    probability("data.eval.masked_msa_replace_fraction", c.data.eval.masked_msa_replace_fraction);
    if (!c.data.common.msa_cluster_features)
      fail("data.common.msa_cluster_features",
           "false makes a 25-channel msa_feat, which AlphaFold2's networks do not take (every released model's "
           "first MSA layer reads 49 channels); leave it true");
    unsupported(c);
  }

 private:
  // Values with which AlphaFold predicts something kfold does not compute: refused, not run as something else
  // (each was accepted and ignored, the prediction being that of the default).
  void unsupported(const ModelConfig& c) const {
    const auto& g = c.model.global_config;
    if (g.eval_dropout)
      fail("model.global_config.eval_dropout",
           "true makes AlphaFold apply the Evoformer's dropout at prediction time (a different structure for each "
           "seed); kfold applies no dropout at inference; leave it false");
    if (!g.zero_init && c.model.embeddings_and_evoformer.template_.enabled)
      fail("model.global_config.zero_init",
           "false makes AlphaFold's template embedding put the placeholder (sin, cos) = (1, 0) at every undefined "
           "torsion angle of a template (besides initialising untrained weights otherwise); kfold computes the "
           "true case; leave it true");
    if (g.multimer_mode)
      fail("model.global_config.multimer_mode",
           "true selects AlphaFold-Multimer's network; kfold runs the monomer network only (complexes as "
           "ColabFold runs them with it: chains joined, residue_index jumping at the breaks); leave it false");
    if (c.data.eval.subsample_templates)
      fail("data.eval.subsample_templates",
           "true makes AlphaFold's input pipeline keep a random subset of the templates in a random order; kfold "
           "keeps the first max_templates, in the search's order; leave it false");
    const auto& h = c.model.heads;
    if (h.structure_module.weight == 0)
      fail("model.heads.structure_module.weight",
           "0 leaves out AlphaFold's structure module (a zero-weight head is not built), and with it the "
           "structure kfold writes; give it a weight above 0 (AlphaFold's is 1)");
    if (h.predicted_lddt.weight == 0)
      fail("model.heads.predicted_lddt.weight",
           "0 leaves out the pLDDT head (a zero-weight head is not built), whose pLDDT every output of kfold "
           "(B-factors, ranking, confidence files) holds; give it a weight above 0 (AlphaFold's is 0.01)");
    const auto& t = c.model.embeddings_and_evoformer.template_;
    if (t.enabled && !t.template_pair_stack.triangle_attention_ending_node.value_dim)
      fail("model.embeddings_and_evoformer.template.template_pair_stack.triangle_attention_ending_node.value_dim",
           "null, but with template.enabled it is the template pair channels (AlphaFold's is 64); give a number");
  }

  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    fail_input("{}: config key '{}': {}", source_, key, why);
  }
  void divides(const std::string& key, int64_t n_head, int64_t key_channels, int64_t value_channels,
               std::string_view where = "") const {
    if (key_channels % n_head != 0 || value_channels % n_head != 0)
      fail(key, fmt::format("{} heads do not divide this module's {} key and {} value channels{}; give a num_head that "
                            "divides them",
                            n_head, key_channels, value_channels, where));
  }
  void heads(const std::string& module, const AttentionConfig& a, int64_t channels, std::string_view where = "") const {
    divides(module + ".num_head", a.num_head, a.key_dim.value_or(channels), a.value_dim.value_or(channels), where);
  }
  void bins(const std::string& section, double low, double high, const char* low_key = "min_bin",
            const char* high_key = "max_bin") const {
    if (!(low < high)) fail(section, fmt::format("{} ({}) must be below {} ({})", low_key, low, high_key, high));
  }
  void orientation(const std::string& module, const AttentionConfig& a, bool per_column) const {
    const char* expected = per_column ? "per_column" : "per_row";
    if (a.orientation != expected)
      fail(module + ".orientation",
           fmt::format("'{}', expected {} (this module's only orientation)", a.orientation, expected));
  }
  void at_least(const std::string& key, int64_t value, int64_t least) const {
    if (value < least) fail(key, fmt::format("{} is out of range; it must be at least {}", value, least));
  }
  void probability(const std::string& key, double p) const {
    if (!(p >= 0 && p <= 1)) fail(key, fmt::format("{} is not a probability (0 to 1)", p));
  }

  std::string source_;
};

}  // namespace

const std::vector<std::string>& model_presets() {
  static const std::vector<std::string> presets{"model_1",     "model_2",     "model_3",     "model_4",
                                                "model_5",     "model_1_ptm", "model_2_ptm", "model_3_ptm",
                                                "model_4_ptm", "model_5_ptm"};
  return presets;
}

// CONFIG_DIFFS (Jumper et al. 2021, Suppl. Table 5): models 1 and 2 use templates, 1, 3 and 4 take
// 5120 extra MSA sequences; the _ptm models add the predicted aligned error head.
ModelConfig model_config(std::string_view preset) {
  const auto& presets = model_presets();
  if (std::find(presets.begin(), presets.end(), preset) == presets.end()) {
    std::string names;
    for (const auto& p : presets) names += (names.empty() ? "" : ", ") + p;
    fail_input("unknown model preset '{}' (expected one of {}){}", preset, names,
               preset.ends_with(".json") ? "; a JSON file of config overrides goes in --config (Python: config=)" : "");
  }
  ModelConfig c = base_config();
  const bool ptm = preset.ends_with("_ptm");
  const char number = preset[6];
  if (number == '1' || number == '3' || number == '4') c.data.common.max_extra_msa = 5120;
  if (number == '1' || number == '2') {
    c.data.common.reduce_msa_clusters_by_max_templates = true;
    c.data.common.use_templates = true;
    c.model.embeddings_and_evoformer.template_.embed_torsion_angles = true;
    c.model.embeddings_and_evoformer.template_.enabled = true;
  }
  if (ptm) c.model.heads.predicted_aligned_error.weight = 0.1;
  return c;
}

void apply_config_json(ModelConfig& config, std::string_view json_text, std::string_view source) {
  const json j = data::parse_json_input(json_text, source);
  ModelConfig updated = config;  // all or nothing
  Reader(source).read("", j, updated);
  ValueCheck(source).check(updated);
  config = std::move(updated);
}

std::string config_file_text(const std::filesystem::path& path) {
  static std::mutex mutex;
  static std::map<std::string, std::string> read_once;  // pipes, FIFOs, devices by path
  data::check_input_file(path);                         // names a missing file or a directory as such
  std::error_code error;
  const bool regular = std::filesystem::is_regular_file(path, error);
  std::unique_lock lock(mutex, std::defer_lock);
  if (!regular) {
    lock.lock();  // (held while reading: a second reader waits for the bytes instead of finding the pipe empty)
    if (const auto known = read_once.find(path.string()); known != read_once.end()) return known->second;
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) data::fail_open(path.string(), "cannot open the config file", errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (!regular) read_once[path.string()] = text.str();
  return text.str();
}

void apply_config_file(ModelConfig& config, const std::filesystem::path& path) {
  apply_config_json(config, config_file_text(path), path.string());
}

std::string config_to_json(const ModelConfig& config, int indent) {
  json j;
  write(j, config);
  return j.dump(indent);
}

}  // namespace kfold::fold
