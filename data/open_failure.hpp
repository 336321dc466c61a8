// An input that could not be opened or read, told apart by its errno: the file is the problem (missing, no
// permission, a directory) -> InputError (exit 2; kfold batch does not retry it with the same inputs), the
// machine is (too many open files, an I/O error, no memory) -> RuntimeError (exit 1; retried by a rerun).
#pragma once

#include <cerrno>
#include <cstring>
#include <string_view>

#include "data/error.hpp"

namespace kfold::data {

// Throws "<source>: <what>: <strerror(err)>" as the error of the kind above (with the fix for a full
// file-descriptor table).
[[noreturn]] inline void fail_open(std::string_view source, std::string_view what, int err) {
  switch (err) {
    case EMFILE:
    case ENFILE:
      fail_runtime("{}: {}: {}; raise the open-file limit (ulimit -n) or run fewer processes at once", source, what,
                   std::strerror(err));
    case EIO:
    case ENOMEM:
    case ENOBUFS:
    case ESTALE:
    case ETIMEDOUT:
      fail_runtime("{}: {}: {}", source, what, std::strerror(err));
    default:
      fail_input("{}: {}: {}", source, what, err != 0 ? std::strerror(err) : "unknown error");
  }
}

}  // namespace kfold::data
