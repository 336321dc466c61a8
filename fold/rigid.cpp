// Rigid transforms and quaternion helpers (fold/rigid.hpp).
#include "fold/rigid.hpp"

#include <ATen/ATen.h>

namespace kfold::fold {

at::Tensor quaternion_to_rotation(const at::Tensor& quaternion) {
  const auto q = quaternion / quaternion.norm(2, {-1}, /*keepdim=*/true);
  const auto w = q.select(-1, 0), x = q.select(-1, 1), y = q.select(-1, 2), z = q.select(-1, 3);
  // Row-major entries of the rotation matrix of a unit quaternion.
  const auto rows = at::stack({w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y),
                               2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x),
                               2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z},
                              -1);  // [..., 9]
  auto shape = quaternion.sizes().vec();
  shape.back() = 3;
  shape.push_back(3);
  return rows.reshape(shape);
}

at::Tensor quaternion_multiply_by_vector(const at::Tensor& quaternion, const at::Tensor& vector) {
  const auto a = quaternion.select(-1, 0), b = quaternion.select(-1, 1), c = quaternion.select(-1, 2),
             d = quaternion.select(-1, 3);
  const auto x = vector.select(-1, 0), y = vector.select(-1, 1), z = vector.select(-1, 2);
  return at::stack({-b * x - c * y - d * z, a * x + c * z - d * y, a * y - b * z + d * x, a * z + b * y - c * x}, -1);
}

Rigid Rigid::identity(at::IntArrayRef batch, const at::TensorOptions& options) {
  auto rot_shape = batch.vec();
  rot_shape.push_back(3);
  auto trans_shape = rot_shape;
  rot_shape.push_back(3);
  return {at::eye(3, options).expand(rot_shape).contiguous(), at::zeros(trans_shape, options)};
}

Rigid Rigid::from_quaternion(const at::Tensor& quaternion, const at::Tensor& translation) {
  return {quaternion_to_rotation(quaternion), translation};
}

Rigid Rigid::from_tensor_4x4(const at::Tensor& matrix) {
  using at::indexing::Slice;
  return {matrix.index({"...", Slice(0, 3), Slice(0, 3)}), matrix.index({"...", Slice(0, 3), 3})};
}

at::Tensor correctly_rounded_sqrt(const at::Tensor& x) {
  return x.scalar_type() == at::kDouble ? x.sqrt() : x.to(at::kDouble).sqrt().to(x.scalar_type());
}

at::Tensor robust_normalize(const at::Tensor& v) {
  return v / correctly_rounded_sqrt((v * v).sum(-1, /*keepdim=*/true) + 1e-8);
}

Rigid Rigid::from_3_points(const at::Tensor& point_on_neg_x_axis, const at::Tensor& origin,
                           const at::Tensor& point_on_xy_plane) {
  const auto e0 = robust_normalize(origin - point_on_neg_x_axis);
  const auto v2 = point_on_xy_plane - origin;
  const auto e1 = robust_normalize(v2 - (v2 * e0).sum(-1, /*keepdim=*/true) * e0);
  const auto e2 = at::linalg_cross(e0, e1, -1);
  return {at::stack({e0, e1, e2}, -1), origin};  // columns e0, e1, e2
}

Rigid Rigid::compose(const Rigid& other) const { return {at::matmul(rot, other.rot), apply(other.trans)}; }

Rigid Rigid::invert() const {
  const auto rot_t = rot.transpose(-1, -2);
  return {rot_t, -at::matmul(rot_t, trans.unsqueeze(-1)).squeeze(-1)};
}

at::Tensor Rigid::apply(const at::Tensor& points) const {
  return at::matmul(rot, points.unsqueeze(-1)).squeeze(-1) + trans;
}

at::Tensor Rigid::invert_apply(const at::Tensor& points) const {
  return at::matmul(rot.transpose(-1, -2), (points - trans).unsqueeze(-1)).squeeze(-1);
}

at::Tensor Rigid::to_tensor_4x4() const {
  auto batch = batch_shape().vec();
  auto top = at::cat({rot, trans.unsqueeze(-1)}, -1);  // [..., 3, 4]
  auto bottom = at::zeros({4}, trans.options());
  bottom[3] = 1;
  batch.push_back(1);
  batch.push_back(4);
  return at::cat({top, bottom.expand(batch)}, -2);
}

Rigid Rigid::scale_translation(double factor) const { return {rot, trans * factor}; }

Rigid Rigid::unsqueeze(int64_t dim) const {
  const int64_t batch_dims = trans.dim() - 1;
  const int64_t at_dim = dim < 0 ? dim + batch_dims + 1 : dim;
  return {rot.unsqueeze(at_dim), trans.unsqueeze(at_dim)};
}

}  // namespace kfold::fold
