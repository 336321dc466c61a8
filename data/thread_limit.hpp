// Threads that cannot start (std::thread's std::system_error, EAGAIN): the per-user limit on processes and
// threads (`ulimit -u`, which login nodes often set low) or memory for their stacks. A check run before the
// thread pools start, and the error text that names the limit and the fix.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace kfold::data {

// Starts `threads` threads at once and ends them; throws std::system_error (EAGAIN) when one cannot start. Run
// before a thread pool starts its threads: libtorch's pthreadpool ignores a failed start and crashes (SIGSEGV) when
// it is destroyed at exit, and libgomp ends the process with its own message.
void check_threads_can_start(int64_t threads);
// True for std::thread's "Resource temporarily unavailable".
bool is_thread_start_failure(const std::system_error& error);
// "cannot start a thread (Resource temporarily unavailable): ... (ulimit -u: 1) ...; use fewer --threads, ..."
std::string thread_start_failure_text(const std::system_error& error);

}  // namespace kfold::data
