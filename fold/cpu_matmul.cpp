// Linear-layer matrix products through oneDNN on the CPU (torch's mkldnn::_linear_pointwise op).
#include "fold/cpu_matmul.hpp"

#include <ATen/Context.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/mm.h>

#include <cstdlib>
#include <optional>
#include <string_view>

namespace kfold::fold {
namespace {

// oneDNN keeps a compiled primitive per product shape (and thread count) it has seen, up to 1024 by default: a
// process predicting many lengths (kfold batch, a notebook) held 340-420 MB of them (peak RSS up to 1.2 GB with
// glibc's malloc). One prediction uses 16-64 shapes (L = 64, full preset: capacity 64 as fast as 1024, 16 8 %
// slower, 0 30 % slower), so 128 keeps a few lengths. Set when kfold's code is loaded, before oneDNN reads it at
// its first primitive (not when libtorch ran a oneDNN op before kfold was loaded); a capacity the user set, in
// either spelling, wins. Child processes inherit it.
const bool kPrimitiveCacheCapacitySet = std::getenv("DNNL_PRIMITIVE_CACHE_CAPACITY") != nullptr ||
                                        ::setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "128", /*overwrite=*/0) == 0;

// mkldnn::_linear_pointwise(Tensor X, Tensor W, Tensor? B, str attr, Scalar?[] scalars, str? algorithm):
// X [m, k] @ W [n, k]^T + B, then the element-wise `attr` ("none", "relu", ...); registered by libtorch_cpu
// when it is built with oneDNN (not declared in its public headers, so found through the dispatcher).
using LinearPointwise = at::Tensor(const at::Tensor&, const at::Tensor&, const std::optional<at::Tensor>&,
                                   c10::string_view, c10::List<std::optional<at::Scalar>>,
                                   std::optional<c10::string_view>);

const c10::TypedOperatorHandle<LinearPointwise>* linear_pointwise() {
  static const std::optional<c10::TypedOperatorHandle<LinearPointwise>> op =
      []() -> std::optional<c10::TypedOperatorHandle<LinearPointwise>> {
    const char* env = std::getenv("KFOLD_ONEDNN");
    if (env != nullptr && std::string_view(env) == "0") return std::nullopt;
    if (!at::hasMKLDNN()) return std::nullopt;
    const auto handle = c10::Dispatcher::singleton().findSchema({"mkldnn::_linear_pointwise", ""});
    if (!handle) return std::nullopt;
    try {
      return handle->typed<LinearPointwise>();  // throws if another libtorch changed the signature
    } catch (const c10::Error&) {
      return std::nullopt;
    }
  }();
  return op ? &*op : nullptr;
}

}  // namespace

bool onednn_available() { return at::globalContext().userEnabledMkldnn() && linear_pointwise() != nullptr; }

bool uses_onednn(const at::Tensor& a) {
  return a.device().is_cpu() && a.scalar_type() == at::kFloat && onednn_available();
}

at::Tensor matmul_transposed(const at::Tensor& a, const at::Tensor& b_t, const at::Tensor& bias, bool relu) {
  if (uses_onednn(a) && a.size(1) > 0) {  // oneDNN has no empty inner dimension
    const auto b = b_t.to(a.scalar_type());
    return linear_pointwise()->call(a, b, bias.defined() ? std::optional(bias.to(a.scalar_type())) : std::nullopt,
                                    relu ? "relu" : "none", c10::List<std::optional<at::Scalar>>(),
                                    std::nullopt);  // [m, n]
  }
  const auto b = b_t.to(a.scalar_type()).t();                                          // [k, n]
  auto y = bias.defined() ? at::addmm(bias.to(a.scalar_type()), a, b) : at::mm(a, b);  // [m, n]
  return relu ? y.relu_() : y;
}

}  // namespace kfold::fold
