// POSIX memory maps for the packed sequence database.
#include "msa/mapped_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>

#include "data/error.hpp"

namespace kfold::msa {

namespace {

// A mapped file cut short while mapped (a database replaced in place: `cp` truncates first) makes the
// next read of a page beyond its new end raise SIGBUS, which would kill the process without a word. The
// handler, installed where nobody else handles SIGBUS, says what happened and exits with status 1; it
// does only async-signal-safe work (write, _exit).
extern "C" void on_mapped_file_truncated(int) {
  constexpr char message[] =
      "kfold: error: a memory-mapped database file was truncated or replaced while it was being read "
      "(SIGBUS); let the database be written completely (kfold db create builds a new one under its own "
      "name), then run again\n";
  [[maybe_unused]] const auto written = ::write(STDERR_FILENO, message, sizeof(message) - 1);
  ::_exit(1);
}

void install_truncation_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGBUS, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) return;
    struct sigaction handler {};
    handler.sa_handler = on_mapped_file_truncated;
    sigemptyset(&handler.sa_mask);
    ::sigaction(SIGBUS, &handler, nullptr);
  });
}

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) {
  install_truncation_handler();
  // Non-blocking: a FIFO under the name is refused below instead of waiting for a writer forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail_input("{}: cannot open ({})", path.string(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail_input("{}: not a regular file", path.string());
  }
  size_ = static_cast<int64_t>(st.st_size);
  if (size_ > 0) {
    void* mapping = ::mmap(nullptr, static_cast<size_t>(size_), PROT_READ, MAP_SHARED, fd, 0);
    if (mapping == MAP_FAILED) {
      const int error = errno;
      ::close(fd);
      fail_input("{}: cannot memory-map ({})", path.string(), std::strerror(error));
    }
    mapping_ = mapping;
    data_ = static_cast<const uint8_t*>(mapping);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, static_cast<size_t>(size_));
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (mapping_ != nullptr) ::munmap(mapping_, static_cast<size_t>(size_));
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
  }
  return *this;
}

}  // namespace kfold::msa
