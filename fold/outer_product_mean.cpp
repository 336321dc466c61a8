// Outer product mean (AlphaFold2 Suppl. Alg. 10).
#include "fold/outer_product_mean.hpp"

#include <ATen/ops/cat.h>
#include <ATen/ops/matmul.h>

#include "fold/cpu_matmul.hpp"

namespace kfold::fold {

OuterProductMean::OuterProductMean(const ParameterScope& scope, const OuterProductMeanConfig& config, int64_t c_m,
                                   int64_t c_z)
    : layer_norm_input_(scope / "layer_norm_input", c_m),
      left_projection_(scope / "left_projection", c_m, config.num_outer_channel),
      right_projection_(scope / "right_projection", c_m, config.num_outer_channel),
      output_w_(scope.get("output_w", {config.num_outer_channel, config.num_outer_channel, c_z})
                    .reshape({config.num_outer_channel * config.num_outer_channel, c_z})),
      output_b_(scope.get("output_b", {c_z})),
      c_(config.num_outer_channel) {}

at::Tensor OuterProductMean::forward(const at::Tensor& msa, const at::Tensor& msa_mask,
                                     const RunOptions& options) const {
  const int64_t n_seq = msa.size(0), n_res = msa.size(1);
  const auto mask = msa_mask.unsqueeze(-1);                   // [n_seq, n_res, 1]
  const auto act = layer_norm_input_.forward(msa);            // [n_seq, n_res, c_m]
  const auto left = mask.mul(left_projection_.forward(act));  // [n_seq, n_res, c]
  const auto right_t = mask.mul(right_projection_.forward(act)).reshape({n_seq, n_res * c_}).t();  // [n_res * c, n_seq]
  const auto mask_f32 = msa_mask.to(at::kFloat);                       // counts above 256 are not exact in bfloat16
  const auto norm = at::matmul(mask_f32.t(), mask_f32).unsqueeze(-1);  // [n_res, n_res, 1] rows with both residues
  // Rows i of the pair in chunks: outer[i, c, j, e] = sum_s left[s, i, c] right[s, j, e].
  const int64_t chunk = options.chunk_size > 0 ? options.chunk_size : n_res;
  std::vector<at::Tensor> parts;
  for (int64_t i = 0; i < n_res; i += chunk) {
    const int64_t n = std::min(chunk, n_res - i);
    const auto l = left.narrow(1, i, n).permute({1, 2, 0}).reshape({n * c_, n_seq});  // [n * c, n_seq]
    const auto outer = matmul_transposed(l, right_t, at::Tensor())                    // [n * c, n_res * c]
                           .view({n, c_, n_res, c_})
                           .permute({0, 2, 1, 3})
                           .reshape({n * n_res, c_ * c_});  // [n * n_res, c * c]
    parts.push_back(matmul_transposed(outer, output_w_.to(outer.scalar_type()).t(), output_b_)
                        .view({n, n_res, -1}));  // [n, n_res, c_z]
  }
  const auto act_out = parts.size() == 1 ? parts[0] : at::cat(parts, 0);  // [n_res, n_res, c_z]
  // Divided by the row counts in float32.
  return act_out.to(at::kFloat).div(norm.add(1e-3)).to(act_out.scalar_type());  // [n_res, n_res, c_z]
}

}  // namespace kfold::fold
