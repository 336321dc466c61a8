// MappedFileGuard (data/mapped_file_guard.hpp): a fixed table of mapped ranges the SIGBUS handler can read.
#include "data/mapped_file_guard.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

namespace kfold::data {
namespace {

struct Slot {
  std::atomic<bool> taken{false};
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};  // 0 while the slot is being filled or emptied: the handler skips it
  char file[1024] = {};
};

std::array<Slot, MappedFileGuard::kMaxMappings> g_slots;
// Live guards the full table could not register: while there are any, a SIGBUS outside every registered range may
// still be a kfold mapping's, and gets the message without a name.
std::atomic<int> g_unregistered{0};
constexpr int kUnregistered = -2;  // MappedFileGuard::slot_ of a guard the table had no room for
std::atomic<bool> g_installed{false};

void say(const char* text) { [[maybe_unused]] const auto written = ::write(STDERR_FILENO, text, ::strlen(text)); }

extern "C" void on_mapped_file_truncated(int, siginfo_t* info, void*) {
  const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
  const char* file = nullptr;
  // si_addr is the faulting address only where the kernel raised the signal (si_code > 0), not kill(2)'s.
  for (const Slot& slot : g_slots) {
    const uintptr_t end = slot.end.load(std::memory_order_acquire);
    if (info->si_code > 0 && end != 0 && address >= slot.begin.load(std::memory_order_relaxed) && address < end) {
      file = slot.file;
      break;
    }
  }
  if (file == nullptr && (info->si_code <= 0 || g_unregistered.load(std::memory_order_relaxed) == 0)) {
    // Not a kfold mapping's (a hardware error, another library's or the application's own map, a signal sent by
    // kill): the default action, as if kfold had never handled SIGBUS. A fault raises it again on return.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    ::sigaction(SIGBUS, &default_action, nullptr);
    if (info->si_code <= 0) ::raise(SIGBUS);  // delivered once this handler returns
    return;
  }
  say("kfold: error: ");
  if (file != nullptr) {
    say(file);
    say(": this memory-mapped file was truncated or replaced in place while kfold was reading it (SIGBUS)");
  } else {
    say("a memory-mapped file (a sequence database, its k-mer index, a parameter or feature file) was truncated "
        "or replaced in place while kfold was reading it (SIGBUS)");
  }
  say("; let it be written completely (write a new copy under another name and rename it into place, as kfold db "
      "create, kfold db index and scripts/download-params do), then run again. (A read error of the file system "
      "under the map, e.g. a lost NFS server, ends the same way.)\n");
  ::_exit(1);
}

void install_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGBUS, nullptr, &current) != 0 || (current.sa_flags & SA_SIGINFO) != 0 ||
        current.sa_handler != SIG_DFL)
      return;
    struct sigaction handler {};
    handler.sa_sigaction = on_mapped_file_truncated;
    handler.sa_flags = SA_SIGINFO;
    sigemptyset(&handler.sa_mask);
    g_installed = ::sigaction(SIGBUS, &handler, nullptr) == 0;
  });
}

}  // namespace

MappedFileGuard::MappedFileGuard(const void* begin, size_t size, const std::filesystem::path& file) {
  install_handler();
  if (begin == nullptr || size == 0) return;
  for (int s = 0; s < kMaxMappings; ++s) {
    Slot& slot = g_slots[static_cast<size_t>(s)];
    bool expected = false;
    if (!slot.taken.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) continue;
    const char* name = file.c_str();  // (no copy that could throw with the slot taken)
    const size_t n = ::strnlen(name, sizeof slot.file - 1);
    std::memcpy(slot.file, name, n);
    slot.file[n] = '\0';
    const auto b = reinterpret_cast<uintptr_t>(begin);
    slot.begin.store(b, std::memory_order_relaxed);
    slot.end.store(b + size, std::memory_order_release);  // publishes begin and the name
    slot_ = s;
    return;
  }
  g_unregistered.fetch_add(1, std::memory_order_relaxed);
  slot_ = kUnregistered;
}

void MappedFileGuard::release() {
  if (slot_ == kUnregistered) {
    g_unregistered.fetch_sub(1, std::memory_order_relaxed);
    slot_ = -1;
  }
  if (slot_ < 0) return;
  Slot& slot = g_slots[static_cast<size_t>(slot_)];
  slot.end.store(0, std::memory_order_release);
  slot.begin.store(0, std::memory_order_relaxed);
  slot.taken.store(false, std::memory_order_release);
  slot_ = -1;
}

bool MappedFileGuard::handler_installed() {
  install_handler();
  return g_installed;
}

MappedFileGuard::MappedFileGuard(MappedFileGuard&& other) noexcept : slot_(std::exchange(other.slot_, -1)) {}

MappedFileGuard& MappedFileGuard::operator=(MappedFileGuard&& other) noexcept {
  if (this != &other) {
    release();
    slot_ = std::exchange(other.slot_, -1);
  }
  return *this;
}

}  // namespace kfold::data
