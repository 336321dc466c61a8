// The caller a thread works for: 0 for none; the Python module tags the thread of each call, so that calls
// running at once each get their own log lines and progress bar (pipelines/python/python_runtime.cpp). Log and
// progress sinks read it. A Progress (data/progress.hpp) reports under the tag of the thread that made it,
// from whichever thread advances it (OpenMP workers have none of their own).
#pragma once

#include <cstdint>

namespace kfold {

inline thread_local uint64_t t_caller_tag = 0;

inline uint64_t caller_tag() { return t_caller_tag; }

// Sets the calling thread's tag for its lifetime, then restores the previous one.
class ScopedCallerTag {
 public:
  explicit ScopedCallerTag(uint64_t tag) : previous_(t_caller_tag) { t_caller_tag = tag; }
  ~ScopedCallerTag() { t_caller_tag = previous_; }
  ScopedCallerTag(const ScopedCallerTag&) = delete;
  ScopedCallerTag& operator=(const ScopedCallerTag&) = delete;

 private:
  uint64_t previous_;
};

}  // namespace kfold
