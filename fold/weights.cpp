// AlphaFold parameters from params_model_*.npz: checked lookups, stacked-layer views, unused keys.
#include "fold/weights.hpp"

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

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

ParameterStore::~ParameterStore() = default;

const std::filesystem::path& ParameterStore::path() const { return npz_->path(); }

bool ParameterStore::contains(std::string_view key) const {
  return key.find("//") != std::string_view::npos && npz_->find(key) != nullptr;
}

at::Tensor ParameterStore::get(std::string_view key, const std::vector<int64_t>& shape) {
  const auto file = npz_->path().string();
  const data::NpyArray* array = contains(key) ? npz_->find(key) : nullptr;
  if (array == nullptr)
    fail_input("{}: parameter '{}' is missing (expected shape {})", file, key, data::shape_string(shape));
  if (!data::is_float(array->dtype))
    fail_input("{}: parameter '{}' has dtype {}, expected float32 with shape {}", file, key,
               data::dtype_name(array->dtype), data::shape_string(shape));
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
  tensor = tensor.to(options_);
  fetched_.emplace(std::string(key), tensor);
  return tensor;
}

std::vector<std::string> ParameterStore::unused_keys() const {
  std::vector<std::string> unused;
  for (const auto& key : keys_)
    if (!fetched_.contains(key)) unused.push_back(key);
  return unused;
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
    fail_input("layer {} of a stack of {} requested for '{}'", index, n_layer, prefix_);
  ParameterScope layered = *this;
  layered.layers_.emplace_back(index, n_layer);
  return layered;
}

at::Tensor ParameterScope::get(std::string_view name, const std::vector<int64_t>& shape) const {
  std::vector<int64_t> stacked;
  for (const auto& [index, n_layer] : layers_) stacked.push_back(n_layer);
  stacked.insert(stacked.end(), shape.begin(), shape.end());
  at::Tensor tensor = store_->get(key(name), stacked);
  for (const auto& [index, n_layer] : layers_) tensor = tensor.select(0, index);  // a view
  return tensor;
}

}  // namespace kfold::fold
