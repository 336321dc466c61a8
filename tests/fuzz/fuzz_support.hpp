// Shared pieces of the fuzz harnesses (tests/fuzz/fuzz_*.cpp): the input as text, a scratch folder
// per process for parsers that read files, and `finding()`, which aborts when a documented property
// of a parser fails (libFuzzer then saves the input like any crash).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

namespace kfold::fuzz {

inline std::string as_text(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

// A fresh folder under $TMPDIR for this process, removed when the process exits normally.
inline const std::filesystem::path& scratch_dir() {
  struct Dir {
    std::filesystem::path path;
    Dir() {
      std::string pattern = (std::filesystem::temp_directory_path() / "kfold-fuzz-XXXXXX").string();
      if (!::mkdtemp(pattern.data())) {
        std::perror("kfold fuzz: mkdtemp");
        std::abort();
      }
      path = pattern;
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const Dir dir;
  return dir.path;
}

// Writes `size` bytes to scratch_dir()/name (replacing it) and returns the path.
inline std::filesystem::path write_scratch(std::string_view name, const void* data, size_t size) {
  const auto path = scratch_dir() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "kfold fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

inline std::filesystem::path write_scratch(std::string_view name, std::string_view text) {
  return write_scratch(name, text.data(), text.size());
}

// A parser broke a promise its header makes (e.g. reading its own output back differs).
[[noreturn]] inline void finding(const char* what) {
  std::fprintf(stderr, "kfold fuzz finding: %s\n", what);
  std::abort();
}

}  // namespace kfold::fuzz

// The entry point every harness defines (libFuzzer's; replay_main.cpp calls it without libFuzzer).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
