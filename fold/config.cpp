// AlphaFold2 model configuration: monomer presets (AlphaFold's CONFIG_DIFFS) and JSON overrides.
#include "fold/config.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "data/error.hpp"
#include "data/json_error.hpp"
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
    fail_input("{}: config key '{}': expected {}, found {}", source_, path, expected, json_type(j));
  }

  void read(const std::string& path, const json& j, bool& value) const {
    if (!j.is_boolean()) wrong_type(path, "a boolean", j);
    value = j.get<bool>();
  }
  void read(const std::string& path, const json& j, int64_t& value) const {
    if (!j.is_number_integer()) wrong_type(path, "an integer", j);
    value = j.get<int64_t>();
    const int64_t least = least_value(path.substr(path.rfind('.') + 1));
    if (value < least)
      fail_input("{}: config key '{}': {} is out of range; it must be at least {}", source_, path, value, least);
    // No AlphaFold size comes near 2^24; beyond it the memory guard's byte counts could overflow.
    constexpr int64_t kMost = int64_t{1} << 24;
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
template <class S>
requires std::is_class_v<S>
void write(json& out, const S& section) {
  out = json::object();
  auto visitor = [&](std::string_view name, auto& field) {
    using F = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<F, std::optional<int64_t>>) {
      if (field) out[std::string(name)] = *field;
    } else {
      write(out[std::string(name)], field);
    }
  };
  const_cast<S&>(section).visit(visitor);
}

ModelConfig base_config() { return ModelConfig{}; }

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
    fail_input("unknown model preset '{}' (expected one of {}, or a JSON file)", preset, names);
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
  json j;
  try {
    j = json::parse(json_text.begin(), json_text.end());
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers past double's range
    fail_input("{}: invalid JSON: {}", source, data::json_error_text(e));
  }
  ModelConfig updated = config;  // all or nothing
  Reader(source).read("", j, updated);
  config = std::move(updated);
}

void apply_config_file(ModelConfig& config, const std::filesystem::path& path) {
  data::check_input_file(path);  // names a missing file or a directory as such
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_input("{}: cannot open the config file", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  apply_config_json(config, text.str(), path.string());
}

ModelConfig resolve_config(std::string_view preset_or_file, std::string_view base_preset) {
  const auto& presets = model_presets();
  if (std::find(presets.begin(), presets.end(), preset_or_file) != presets.end()) return model_config(preset_or_file);
  if (!std::string_view(preset_or_file).ends_with(".json")) return model_config(preset_or_file);  // names presets
  ModelConfig c = model_config(base_preset);
  apply_config_file(c, std::filesystem::path(std::string(preset_or_file)));
  return c;
}

std::string config_to_json(const ModelConfig& config, int indent) {
  json j;
  write(j, config);
  return j.dump(indent);
}

}  // namespace kfold::fold
