// The device a run asks for (`--device` of the commands, device= of the Python module), checked before any work.
#pragma once

#include <c10/core/Device.h>

#include <string>
#include <string_view>

namespace kfold::pipelines {

// "cpu", "cuda" or "cuda:N"; InputError naming `option` when it is malformed or has no CUDA device (`use_cpu`: the
// fix the message names).
c10::Device parse_device(const std::string& text, std::string_view option = "--device",
                         std::string_view use_cpu = "--device cpu");

}  // namespace kfold::pipelines
