// Whether threads can start, and the error text when one cannot; see data/thread_limit.hpp.
#include "data/thread_limit.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace kfold::data {

void check_threads_can_start(int64_t threads) {
  std::mutex mutex;
  std::condition_variable released;
  bool release = false;
  std::vector<std::thread> started;
  const auto end_all = [&] {
    {
      const std::lock_guard lock(mutex);
      release = true;
    }
    released.notify_all();
    for (std::thread& thread : started) thread.join();
  };
  try {
    started.reserve(static_cast<size_t>(threads));
    for (int64_t i = 0; i < threads; ++i)
      started.emplace_back([&] {
        std::unique_lock lock(mutex);
        released.wait(lock, [&] { return release; });
      });
  } catch (...) {
    end_all();
    throw;
  }
  end_all();
}

bool is_thread_start_failure(const std::system_error& error) {
  return error.code() == std::errc::resource_unavailable_try_again;
}

std::string thread_start_failure_text(const std::system_error& error) {
  rlimit limit{};
  const std::string processes = getrlimit(RLIMIT_NPROC, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                                    ? fmt::format("{}", limit.rlim_cur)
                                    : "unlimited";
  return fmt::format(
      "cannot start a thread ({}): your processes and threads reached their limit (ulimit -u: {}), or memory ran "
      "out; use fewer threads (--threads), end other processes, or raise the limit",
      error.what(), processes);
}

}  // namespace kfold::data
