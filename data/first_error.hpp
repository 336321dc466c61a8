// The first error of a parallel loop, by task index rather than by thread timing. No exception may leave
// an OpenMP region (it ends the process with std::terminate): each task records its own, and after the
// loop the caller rethrows the one of the lowest task, the same for any thread count.
#pragma once

#include <cstdint>
#include <exception>
#include <mutex>

namespace kfold::data {

class FirstError {
 public:
  void record(int64_t task, std::exception_ptr error) {
    const std::lock_guard lock(mutex_);
    if (!error_ || task < task_) {
      error_ = std::move(error);
      task_ = task;
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
  int64_t task_ = 0;
};

}  // namespace kfold::data
