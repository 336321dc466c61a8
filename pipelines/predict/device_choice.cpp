// parse_device (pipelines/predict/device_choice.hpp).
#include "pipelines/predict/device_choice.hpp"

#include <ATen/Context.h>

#include <exception>

#include "data/error.hpp"

namespace kfold::pipelines {

c10::Device parse_device(const std::string& text, std::string_view option, std::string_view use_cpu) {
  c10::Device device(c10::kCPU);
  try {
    device = c10::Device(text);
  } catch (const std::exception&) {
    fail_input("{} '{}': expected cpu, cuda or cuda:N", option, text);
  }
  if (device.is_cuda()) {
    if (!at::hasCUDA())
      fail_input("{} {}: this kfold (or this machine) has no CUDA device; use {}", option, text, use_cpu);
  } else if (!device.is_cpu()) {
    fail_input("{} '{}': expected cpu, cuda or cuda:N", option, text);
  }
  return device;
}

}  // namespace kfold::pipelines
