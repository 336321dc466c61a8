// AlphaFold parameters from params_model_*.npz: checked lookups, stacked-layer views, unused keys.
#include "fold/weights.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/isfinite.h>
#include <ATen/ops/normal.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "data/error.hpp"
#include "data/npz_file.hpp"

namespace kfold::fold {

ParameterStore::ParameterStore(const std::filesystem::path& npz, c10::TensorOptions options)
    : ParameterStore(std::make_shared<const data::NpzFile>(npz), options) {}

ParameterStore::ParameterStore(std::shared_ptr<const data::NpzFile> npz, c10::TensorOptions options)
    : npz_(std::move(npz)), options_(options) {
  for (const auto& array : npz_->arrays())
    if (array.name.find("//") != std::string::npos) keys_.push_back(array.name);
}

namespace {
uint64_t fnv1a(std::string_view text, uint64_t hash) {
  for (const char c : text) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return hash;
}
}  // namespace

ParameterStore::ParameterStore(uint64_t seed, c10::TensorOptions options) : random_seed_(seed), options_(options) {}

std::unique_ptr<ParameterStore> ParameterStore::random(uint64_t seed, c10::TensorOptions options,
                                                       std::string_view salt) {
  return std::unique_ptr<ParameterStore>(new ParameterStore(fnv1a(salt, seed * 0x9e3779b97f4a7c15ULL), options));
}

ParameterStore::~ParameterStore() = default;

const std::filesystem::path& ParameterStore::path() const {
  static const std::filesystem::path none;
  return npz_ ? npz_->path() : none;
}

bool ParameterStore::contains(std::string_view key) const {
  if (npz_ == nullptr) return fetched_.contains(key);
  return key.find("//") != std::string_view::npos && npz_->find(key) != nullptr;
}

at::Tensor ParameterStore::synthesise(std::string_view key, const std::vector<int64_t>& shape,
                                      int64_t layer_axes) const {
  const auto name = key.substr(key.rfind("//") + 2);
  const std::vector<int64_t> per_layer(shape.begin() + layer_axes, shape.end());
  auto generator = at::make_generator<at::CPUGeneratorImpl>(fnv1a(key, 0xcbf29ce484222325ULL ^ random_seed_));
  auto values = at::normal(0.0, 1.0, shape, generator, at::TensorOptions().dtype(at::kFloat));
  const bool is_weight = name == "weights" || name.ends_with("_w") || name.ends_with("_weights");
  if (is_weight && per_layer.size() >= 2) {
    // Fan-in: the input axis of a projection ([c_in, heads, head_dim] for queries, keys, values and
    // gates), every axis but the last otherwise ([heads, head_dim, c_out] for outputs, [c_in, c_out]).
    int64_t fan_in = per_layer.front();
    if (!(name == "query_w" || name == "key_w" || name == "value_w" || name == "gating_w"))
      for (size_t i = 1; i + 1 < per_layer.size(); ++i) fan_in *= per_layer[i];
    values.mul_(1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(fan_in, 1))));
  } else if (name == "scale") {
    values.mul_(0.02).add_(1.0);
  } else {
    values.mul_(0.02);
  }
  return values;
}

at::Tensor ParameterStore::get(std::string_view key, const std::vector<int64_t>& shape, int64_t layer_axes) {
  if (npz_ == nullptr) {
    if (auto it = fetched_.find(key); it != fetched_.end()) {
      if (it->second.sizes().vec() != shape)
        fail_internal("random weights: parameter '{}' requested with shape {} and before with {}", key,
                      data::shape_string(shape), data::shape_string(it->second.sizes().vec()));
      return it->second;
    }
    auto tensor = synthesise(key, shape, layer_axes).to(options_);
    allocated_bytes_ += tensor.nbytes();
    keys_.emplace_back(key);
    fetched_.emplace(std::string(key), tensor);
    return tensor;
  }
  const auto file = npz_->path().string();
  const data::NpyArray* array = contains(key) ? npz_->find(key) : nullptr;
  if (array == nullptr)
    fail_input("{}: parameter '{}' is missing (expected shape {})", file, key, data::shape_string(shape));
  if (!data::is_float(array->dtype))
    fail_input("{}: parameter '{}' has dtype {}, expected float32 with shape {}", file, key, array->dtype_text(),
               data::shape_string(shape));
  if (array->shape != shape)
    fail_input("{}: parameter '{}' has shape {}, expected {}", file, key, data::shape_string(array->shape),
               data::shape_string(shape));
  if (auto it = fetched_.find(key); it != fetched_.end()) return it->second;

  at::Tensor tensor;
  const auto bytes = npz_->raw_bytes(*array);
  const bool aligned = reinterpret_cast<uintptr_t>(bytes.data()) % alignof(float) == 0;
  if (array->dtype == data::DType::float32 && npz_->zero_copy(*array) && !bytes.empty() && aligned) {
    // A view of the mapped file; the deleter keeps the mapping alive as long as the tensor.
    auto keep = npz_;
    tensor = at::from_blob(
        const_cast<std::byte*>(bytes.data()), shape, [keep](void*) {}, at::TensorOptions().dtype(at::kFloat));
  } else {  // compressed, big-endian, float16/64 or misaligned: converted once
    const auto values = npz_->read<float>(key, shape);
    tensor = at::empty(shape, at::TensorOptions().dtype(at::kFloat));
    std::memcpy(tensor.data_ptr<float>(), values.data(), values.size() * sizeof(float));
  }
  // One NaN weight makes every output NaN; a damaged or hand-made file is refused by name instead.
  if (const int64_t bad = (~at::isfinite(tensor)).sum().item<int64_t>(); bad > 0)
    fail_input(
        "{}: parameter '{}' holds {} NaN or infinite values; the file is damaged: fetch it again "
        "(scripts/download-params)",
        file, key, bad);
  tensor = tensor.to(options_);
  if (tensor.data_ptr() != static_cast<const void*>(bytes.data())) allocated_bytes_ += tensor.nbytes();
  fetched_.emplace(std::string(key), tensor);
  return tensor;
}

std::vector<std::string> ParameterStore::unused_keys() const {
  std::vector<std::string> unused;
  for (const auto& key : keys_)
    if (!fetched_.contains(key)) unused.push_back(key);
  return unused;
}

int64_t ParameterStore::used_value_count() const {
  int64_t count = 0;
  for (const auto& [key, tensor] : fetched_) count += tensor.numel();
  return count;
}

ParameterScope ParameterStore::root() { return ParameterScope(*this, ""); }
ParameterScope ParameterStore::scope(std::string_view prefix) { return ParameterScope(*this, std::string(prefix)); }

ParameterScope ParameterScope::operator/(std::string_view name) const {
  ParameterScope nested = *this;
  nested.prefix_ = prefix_.empty() ? std::string(name) : prefix_ + "/" + std::string(name);
  return nested;
}

ParameterScope ParameterScope::layer(int64_t index, int64_t n_layer) const {
  if (index < 0 || index >= n_layer)
    fail_internal("layer {} of a stack of {} requested for '{}'", index, n_layer, prefix_);
  ParameterScope layered = *this;
  layered.layers_.emplace_back(index, n_layer);
  return layered;
}

at::Tensor ParameterScope::get(std::string_view name, const std::vector<int64_t>& shape) const {
  std::vector<int64_t> stacked;
  for (const auto& [index, n_layer] : layers_) stacked.push_back(n_layer);
  stacked.insert(stacked.end(), shape.begin(), shape.end());
  at::Tensor tensor = store_->get(key(name), stacked, static_cast<int64_t>(layers_.size()));
  for (const auto& [index, n_layer] : layers_) tensor = tensor.select(0, index);  // a view
  return tensor;
}

}  // namespace kfold::fold
