// A file cut short while it is memory-mapped (replaced in place: `cp` truncates first) makes the next read of
// a page beyond its new end raise SIGBUS, which would kill the process without a word. Each mapping of kfold's
// (packed sequence databases, stored k-mer indexes, .npz parameter and feature files) registers its address
// range and file here; the SIGBUS handler, installed once where nobody else handles SIGBUS (not under a
// sanitizer, nor where Python's faulthandler has taken it), names the file whose range holds the faulting
// address, says what to do and exits with status 1. A SIGBUS outside every registered range (another library's or
// the application's own map, a hardware error, kill -BUS) gets the default action, unless a guard found the table
// full. It does only async-signal-safe work (loads, write, sigaction, raise, _exit).
#pragma once

#include <cstddef>
#include <filesystem>

namespace kfold::data {

class MappedFileGuard {
 public:
  MappedFileGuard() = default;
  // Registers [begin, begin + size) as a map of `file`. Beyond kMaxMappings live mappings a range is not
  // registered: while such a guard lives, a SIGBUS outside the registered ranges gets the message without a name.
  MappedFileGuard(const void* begin, size_t size, const std::filesystem::path& file);
  ~MappedFileGuard() { release(); }
  MappedFileGuard(MappedFileGuard&& other) noexcept;
  MappedFileGuard& operator=(MappedFileGuard&& other) noexcept;
  MappedFileGuard(const MappedFileGuard&) = delete;
  MappedFileGuard& operator=(const MappedFileGuard&) = delete;

  // Unregisters the range (call before unmapping it).
  void release();

  static constexpr int kMaxMappings = 256;

  // Installs the handler where SIGBUS still has its default action; whether kfold's handler is SIGBUS's (not
  // under ASan or TSan, or where Python's faulthandler took SIGBUS first).
  static bool handler_installed();

 private:
  int slot_ = -1;  // -2: not registered, the table was full
};

}  // namespace kfold::data
