// thread_limit: std::thread's EAGAIN is recognised and worded with the process limit in force and the fix
// (the end-to-end case, a kfold run under `ulimit -u 1`, is in tests/python/test_cli_basics.py).
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "data/thread_limit.hpp"

using kfold::data::is_thread_start_failure;
using kfold::data::thread_start_failure_text;

TEST_CASE("thread_limit: EAGAIN is a thread that could not start, named with ulimit -u and the fix") {
  const std::system_error again(EAGAIN, std::generic_category());
  CHECK(is_thread_start_failure(again));
  CHECK_FALSE(is_thread_start_failure(std::system_error(ENOSPC, std::generic_category())));
  rlimit limit{};
  REQUIRE(getrlimit(RLIMIT_NPROC, &limit) == 0);
  const std::string in_force =
      limit.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(static_cast<unsigned long long>(limit.rlim_cur));
  const std::string text = thread_start_failure_text(again);
  CHECK(text.starts_with("cannot start a thread (Resource temporarily unavailable): "));
  CHECK(text.find("(ulimit -u: " + in_force + ")") != std::string::npos);
  CHECK(text.find("use fewer threads (--threads)") != std::string::npos);
}
