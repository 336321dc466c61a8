// AlphaFold parameters (params_model_*.npz, keys "<scope>//<name>") as tensors: every lookup checks
// presence, shape and dtype once, when a module is built; stacked layers are views; unused keys are
// reported. Stored float32 arrays are used in place (memory-mapped), so the weights are not copied.
// A store can also synthesise deterministic random weights of any config (demos, tests, benchmarks).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/TensorOptions.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kfold::data {
class NpzFile;
}

namespace kfold::fold {

class ParameterScope;

class ParameterStore {
 public:
  // Parameters are the archive's arrays whose names contain "//"; others (e.g. the inputs kept in a
  // test fixture) are ignored. Tensors come back with `options` (device, dtype); CPU float32 ones are
  // views of the mapped file (read-only: modules never write to their weights).
  explicit ParameterStore(const std::filesystem::path& npz,
                          c10::TensorOptions options = c10::TensorOptions().dtype(c10::kFloat));
  explicit ParameterStore(std::shared_ptr<const data::NpzFile> npz,
                          c10::TensorOptions options = c10::TensorOptions().dtype(c10::kFloat));
  // Random weights: every get() makes the parameter from (seed, salt, key), so a key has the same values
  // whatever the order of lookups, the thread count or the machine. Weights (`weights`, `*_w`) are
  // N(0, 1/fan_in), biases and offsets N(0, 0.02^2), LayerNorm scales 1 + N(0, 0.02^2). Such a model
  // predicts nothing: callers must say so wherever its outputs go.
  // `salt` (e.g. the model name) gives models of the same shapes different weights.
  static std::unique_ptr<ParameterStore> random(uint64_t seed,
                                                c10::TensorOptions options = c10::TensorOptions().dtype(c10::kFloat),
                                                std::string_view salt = {});
  ~ParameterStore();
  ParameterStore(const ParameterStore&) = delete;
  ParameterStore& operator=(const ParameterStore&) = delete;

  const std::filesystem::path& path() const;  // empty for random weights
  bool is_random() const { return npz_ == nullptr; }
  const std::vector<std::string>& keys() const { return keys_; }  // archive order
  bool contains(std::string_view key) const;

  // The parameter `key` with exactly `shape`; InputError naming the key and both shapes when it is
  // absent, not a floating-point array, or shaped otherwise.
  // `layer_axes` leading axes of `shape` are stacked layers (they do not count as fan-in).
  at::Tensor get(std::string_view key, const std::vector<int64_t>& shape, int64_t layer_axes = 0);

  // Parameter keys no get() has asked for, in archive order.
  std::vector<std::string> unused_keys() const;
  // Number of values (floats) in the parameters looked up so far: the model's size once it is built.
  int64_t used_value_count() const;
  // Bytes of memory the parameters looked up so far hold (on their device): 0 for float32 views of the
  // mapped file on the CPU (page cache, which the system counts as available), else their size.
  int64_t allocated_bytes() const { return allocated_bytes_; }

  ParameterScope root();
  ParameterScope scope(std::string_view prefix);  // e.g. "alphafold/alphafold_iteration/evoformer"

 private:
  ParameterStore(uint64_t seed, c10::TensorOptions options);
  at::Tensor synthesise(std::string_view key, const std::vector<int64_t>& shape, int64_t layer_axes) const;

  std::shared_ptr<const data::NpzFile> npz_;  // null for random weights
  uint64_t random_seed_ = 0;                  // seed mixed with the salt
  c10::TensorOptions options_;
  std::vector<std::string> keys_;
  std::map<std::string, at::Tensor, std::less<>> fetched_;  // key -> full tensor (also marks it used)
  int64_t allocated_bytes_ = 0;
};

// A module's view of the store: a haiku scope ("evoformer/evoformer_iteration/msa_transition") and,
// inside layer stacks, the layer index into the stacked leading axes.
class ParameterScope {
 public:
  ParameterScope(ParameterStore& store, std::string prefix) : store_(&store), prefix_(std::move(prefix)) {}

  // Nested module scope: prefix + "/" + name.
  ParameterScope operator/(std::string_view name) const;
  // Layer `index` of a stack of `n_layer`: every parameter below has a leading [n_layer] axis
  // (nested stacks add axes in order, outermost first).
  ParameterScope layer(int64_t index, int64_t n_layer) const;

  std::string key(std::string_view name) const { return prefix_ + "//" + std::string(name); }
  const std::string& prefix() const { return prefix_; }
  bool contains(std::string_view name) const { return store_->contains(key(name)); }

  // The parameter `name` of this scope with `shape` (per layer), a view of the stacked array.
  at::Tensor get(std::string_view name, const std::vector<int64_t>& shape) const;

 private:
  ParameterStore* store_;
  std::string prefix_;
  std::vector<std::pair<int64_t, int64_t>> layers_;  // (index, n_layer), outermost first
};

}  // namespace kfold::fold
