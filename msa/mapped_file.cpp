// POSIX memory maps for the packed sequence database.
#include "msa/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "data/error.hpp"
#include "data/mapped_file_guard.hpp"

namespace kfold::msa {

MappedFile::MappedFile(const std::filesystem::path& path) {
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
    guard_ = data::MappedFileGuard(mapping, static_cast<size_t>(size_), path);
  }
  ::close(fd);
}

MappedFile::~MappedFile() { unmap(); }

void MappedFile::unmap() {
  guard_.release();  // before the range can be another mapping's
  if (mapping_ != nullptr) ::munmap(mapping_, static_cast<size_t>(size_));
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      guard_(std::move(other.guard_)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    unmap();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    guard_ = std::move(other.guard_);
  }
  return *this;
}

}  // namespace kfold::msa
