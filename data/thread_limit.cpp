// Error text for a thread that cannot start; see data/thread_limit.hpp.
#include "data/thread_limit.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

namespace kfold::data {

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
