// Peak bytes of the tensors torch's CPU allocator hands out on this thread while a TensorMemoryPeak is
// installed, through the hook the profiler uses (a thread-local c10::MemoryReportingInfoBase). Unlike
// the process's RSS it sees memory that earlier work freed and this work reuses; it does not see memory
// outside torch's allocator (std::vector scratch, library workspaces). For the benchmarks.
//   kfold::test::TensorMemoryPeak peak;   { auto scope = peak.install(); work(); }   peak.bytes()
#pragma once

#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace kfold::test {

class TensorMemoryPeak {
 public:
  // Counts allocations until the returned guard is destroyed (the peak is over what this scope allocates).
  std::unique_ptr<c10::DebugInfoGuard> install() {
    counter_ = std::make_shared<Counter>();
    return std::make_unique<c10::DebugInfoGuard>(c10::DebugInfoKind::PROFILER_STATE, counter_);
  }
  int64_t bytes() const { return counter_ ? counter_->peak.load() : 0; }
  double megabytes() const { return static_cast<double>(bytes()) / (1 << 20); }

 private:
  struct Counter : c10::MemoryReportingInfoBase {
    std::atomic<int64_t> current{0}, peak{0};
    bool memoryProfilingEnabled() const override { return true; }
    void reportMemoryUsage(void* /*ptr*/, int64_t size, size_t /*total_allocated*/, size_t /*total_reserved*/,
                           c10::Device device) override {
      if (!device.is_cpu()) return;
      const int64_t now = current += size;
      int64_t seen = peak.load();
      while (now > seen && !peak.compare_exchange_weak(seen, now)) {
      }
    }
  };
  std::shared_ptr<Counter> counter_;
};

}  // namespace kfold::test
