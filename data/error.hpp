// Error types shared by every layer. Library code throws; only main() and the Python
// boundary turn them into exit codes (InputError: 2, RuntimeError: 1) or exceptions.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace kfold {

// Base of every kfold error; exit_code() is what the CLI returns for it.
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, int exit_code) : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

// Bad usage or bad input: the message names the file, line or field and the fix. Exit code 2.
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(message, 2) {}
};

// A failure while doing valid work (I/O error, out of memory, numerical failure). Exit code 1.
class RuntimeError : public Error {
 public:
  explicit RuntimeError(const std::string& message) : Error(message, 1) {}
};

// Valid work that needs more memory than the machine has (the memory guard's refusal). Exit code 1; batch
// runs record it as failure kind "memory" (worth a larger node).
class MemoryError : public RuntimeError {
 public:
  explicit MemoryError(const std::string& message) : RuntimeError(message) {}
};

// Whether an error message is an allocator's out-of-memory: libtorch throws its own error (c10::Error), not
// std::bad_alloc: "can't allocate memory" (the CPU allocator), "CUDA out of memory".
inline bool is_out_of_memory_message(std::string_view message) {
  return message.find("can't allocate memory") != std::string_view::npos ||
         message.find("out of memory") != std::string_view::npos;
}

template <typename... Args>
[[noreturn]] void fail_input(fmt::format_string<Args...> format, Args&&... args) {
  throw InputError(fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void fail_runtime(fmt::format_string<Args...> format, Args&&... args) {
  throw RuntimeError(fmt::format(format, std::forward<Args>(args)...));
}

// A broken invariant of kfold's own code, never of the input (an InputError, exit 2, would blame the user):
// a RuntimeError (exit 1) that says so.
template <typename... Args>
[[noreturn]] void fail_internal(fmt::format_string<Args...> format, Args&&... args) {
  throw RuntimeError(fmt::format("internal error: {}; please report it with the command line or call that caused it",
                                 fmt::format(format, std::forward<Args>(args)...)));
}

}  // namespace kfold
