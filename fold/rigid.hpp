// Rigid transforms x -> R x + t for batches of frames (AlphaFold2 Suppl. 1.1 "frames"; the roles of
// AlphaFold's r3.Rigids and quat_affine.QuatAffine) and the quaternion helpers the structure module
// needs. Rotations are [..., 3, 3] matrices, translations [..., 3]; the leading "batch" axes of a
// Rigid broadcast against the leading axes of the points it acts on.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace kfold::fold {

// Quaternion (w, x, y, z), not necessarily unit, -> rotation matrix of the normalised quaternion.
at::Tensor quaternion_to_rotation(const at::Tensor& quaternion);  // [..., 4] -> [..., 3, 3]

// Hamilton product q * (0, v): AlphaFold's quat_multiply_by_vec.
at::Tensor quaternion_multiply_by_vector(const at::Tensor& quaternion,  // [..., 4]
                                         const at::Tensor& vector);     // [..., 3] -> [..., 4]

// v / sqrt(|v|^2 + 1e-8) (AlphaFold's r3.vecs_robust_normalize): finite for zero vectors (masked atoms at the
// origin), with the square root rounded as IEEE 754 and XLA round it (correctly_rounded_sqrt): for a vector of
// rounding residue one ulp turns the direction, and with it a masked torsion that the template embedding reads.
at::Tensor robust_normalize(const at::Tensor& v);  // [..., 3] -> [..., 3]

// sqrt(x) correctly rounded: libtorch's vectorised float32 sqrt (torch 2.15 on CPU) is one ulp off for about 17 % of
// inputs while its scalar path and XLA are exact. Computed in float64 and rounded back (correct: 53 >= 2 x 24 + 2).
at::Tensor correctly_rounded_sqrt(const at::Tensor& x);

struct Rigid {
  at::Tensor rot;    // [..., 3, 3]
  at::Tensor trans;  // [..., 3]

  // Identity frames with batch shape `batch`.
  static Rigid identity(at::IntArrayRef batch, const at::TensorOptions& options);
  // From a quaternion (normalised here) and a translation: QuatAffine(quaternion, translation).
  static Rigid from_quaternion(const at::Tensor& quaternion, const at::Tensor& translation);
  // Homogeneous [..., 4, 4] matrices (rotation in the top-left block, translation in the last column).
  static Rigid from_tensor_4x4(const at::Tensor& matrix);
  // Gram-Schmidt frame (r3.rigids_from_3_points): origin at `origin`, x axis pointing from
  // `point_on_neg_x_axis` to `origin`, `point_on_xy_plane` in the xy plane (positive y). Inputs [..., 3].
  static Rigid from_3_points(const at::Tensor& point_on_neg_x_axis, const at::Tensor& origin,
                             const at::Tensor& point_on_xy_plane);

  Rigid compose(const Rigid& other) const;  // (this ∘ other)(x) = this(other(x))
  Rigid invert() const;
  at::Tensor apply(const at::Tensor& points) const;         // [..., 3] -> R x + t
  at::Tensor invert_apply(const at::Tensor& points) const;  // [..., 3] -> R^T (x - t)
  at::Tensor to_tensor_4x4() const;                         // [..., 4, 4]

  // A new batch axis at `dim` (counted over the batch axes, negative from the end) on both parts,
  // e.g. frames [N] -> [N, 1] to act on points [N, P, 3].
  Rigid unsqueeze(int64_t dim) const;
  Rigid scale_translation(double factor) const;
  at::IntArrayRef batch_shape() const { return trans.sizes().slice(0, trans.dim() - 1); }
};

}  // namespace kfold::fold
