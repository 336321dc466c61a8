// numpy views of kfold's arrays for the Python module: tensors and vectors are handed over without a
// copy (the array keeps its owner alive), and numpy input is checked for shape and converted once.
#pragma once

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "data/error.hpp"

namespace kfold::python {

namespace py = pybind11;

// A numpy array sharing the memory of `tensor` (moved to the CPU and made contiguous first when it is
// not already; that is the only copy, made without the GIL: a GPU copy waits for the device's queued work,
// and other Python threads run meanwhile). The array keeps the tensor's storage alive. Call with the GIL held.
inline py::array tensor_to_numpy(const at::Tensor& tensor) {
  at::Tensor t = tensor.detach();
  if (!t.device().is_cpu() || !t.is_contiguous()) {
    py::gil_scoped_release release;
    t = t.to(at::kCPU).contiguous();
  }
  py::dtype dtype;
  switch (t.scalar_type()) {
    case at::kFloat:
      dtype = py::dtype::of<float>();
      break;
    case at::kDouble:
      dtype = py::dtype::of<double>();
      break;
    case at::kLong:
      dtype = py::dtype::of<int64_t>();
      break;
    case at::kInt:
      dtype = py::dtype::of<int32_t>();
      break;
    case at::kBool:
      dtype = py::dtype::of<bool>();
      break;
    default:
      fail_runtime("tensor of type {} has no numpy view here", c10::toString(t.scalar_type()));
  }
  std::vector<py::ssize_t> shape(t.sizes().begin(), t.sizes().end());
  std::vector<py::ssize_t> strides;
  for (const int64_t s : t.strides()) strides.push_back(s * static_cast<py::ssize_t>(t.element_size()));
  auto* owner = new at::Tensor(t);
  py::capsule base(owner, [](void* p) { delete static_cast<at::Tensor*>(p); });
  return py::array(dtype, shape, strides, t.data_ptr(), base);
}

// A CPU tensor holding a copy of a float32, float64, int64, int32 or bool numpy array; InputError naming
// `name` for other dtypes.
inline at::Tensor numpy_to_tensor(const py::array& array, const std::string& name) {
  const auto copy = [&array]<typename T>(T, at::ScalarType type) {
    const auto values = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(array);
    std::vector<int64_t> shape(values.shape(), values.shape() + values.ndim());
    return at::from_blob(const_cast<T*>(values.data()), shape, at::TensorOptions().dtype(type)).clone();
  };
  const char kind = array.dtype().kind();
  const auto size = array.dtype().itemsize();
  if (kind == 'f' && size == 4) return copy(float{}, at::kFloat);
  if (kind == 'f' && size == 8) return copy(double{}, at::kDouble);
  if (kind == 'i' && size == 8) return copy(int64_t{}, at::kLong);
  if (kind == 'i' && size == 4) return copy(int32_t{}, at::kInt);
  if (kind == 'b') return copy(bool{}, at::kBool);
  fail_input("{}: numpy dtype {} has no tensor type here", name, std::string(py::str(array.dtype())));
}

// A numpy array that takes over `values` (no copy) with the given shape.
template <typename T>
py::array_t<T> vector_to_numpy(std::vector<T> values, std::vector<py::ssize_t> shape) {
  auto* owner = new std::vector<T>(std::move(values));
  py::capsule base(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, owner->data(), base);
}

// A numpy view of `values`, owned by the Python object `owner` (which must keep `values` unchanged).
template <typename T>
py::array_t<T> view_as_numpy(const std::vector<T>& values, std::vector<py::ssize_t> shape, py::handle owner) {
  return py::array_t<T>(shape, values.data(), owner);
}

// InputError naming `name` unless every value of `object` (a numpy array or a nested list) converts to T
// without change: finite, and for an integer T integral and within its range (numpy's cast would wrap 2**40
// to 0, truncate 1.7 to 1 and turn NaN into INT_MIN silently).
template <typename T>
void check_values_fit(const py::handle& object, const std::string& name) {
  if constexpr (std::is_integral_v<T>) {  // integers that fit T as they are: nothing to check, no copy
    if (py::isinstance<py::array>(object)) {
      const auto array = py::reinterpret_borrow<py::array>(object);
      const char kind = array.dtype().kind();
      const auto size = static_cast<size_t>(array.dtype().itemsize());
      if (kind == 'b' || (kind == 'i' && size <= sizeof(T)) || (kind == 'u' && size < sizeof(T))) return;
    }
  }
  // None in a list (an object array) would read as NaN below: named as what it is.
  if (const auto any = py::array::ensure(object); any && any.dtype().kind() == 'O') {
    const py::list items = any.attr("ravel")().attr("tolist")();
    for (size_t k = 0; k < items.size(); ++k)
      if (items[k].is_none()) fail_input("{}: None at flat index {}: give a number there", name, k);
  }
  const auto values = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(object);
  if (!values) return;  // not numeric: the caller's conversion says so
  const double* v = values.data();
  for (py::ssize_t k = 0; k < values.size(); ++k) {
    const double x = v[k];
    if (!std::isfinite(x)) fail_input("{}: value {} at flat index {} is not finite", name, x, k);
    if constexpr (std::is_integral_v<T>) {
      if (x != std::floor(x)) fail_input("{}: value {} at flat index {} is not an integer", name, x, k);
      // 2^digits, exactly (the max of a 64-bit T rounds up to it as a double: 2^63 passed and wrapped)
      if (x < static_cast<double>(std::numeric_limits<T>::min()) ||
          x >= std::ldexp(1.0, std::numeric_limits<T>::digits))
        fail_input("{}: value {} at flat index {} is out of range for {}-bit integers", name, x, k, 8 * sizeof(T));
    } else if (std::abs(x) > static_cast<double>(std::numeric_limits<T>::max())) {
      fail_input("{}: value {} at flat index {} is too large", name, x, k);
    }
  }
}

// The values of a numpy array (any numeric dtype whose values fit T, see check_values_fit) with the
// expected shape; -1 in `shape` accepts any size. InputError naming `name` otherwise.
template <typename T>
std::vector<T> numpy_to_vector(const py::handle& object, const std::string& name, std::vector<int64_t> shape) {
  check_values_fit<T>(object, name);  // before the cast below, which would warn about NaN
  const auto array = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(object);
  if (!array) fail_input("{}: expected a numeric array", name);
  bool ok = array.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i)
    ok = shape[i] < 0 || array.shape(static_cast<py::ssize_t>(i)) == shape[i];
  if (!ok) {
    std::vector<int64_t> got(array.shape(), array.shape() + array.ndim());
    fail_input("{}: shape [{}], expected [{}] (-1: any size)", name, fmt::join(got, ", "), fmt::join(shape, ", "));
  }
  return std::vector<T>(array.data(), array.data() + array.size());
}

}  // namespace kfold::python
