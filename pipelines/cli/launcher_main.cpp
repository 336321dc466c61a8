// bin/kfold: runs `kfold db` and `kfold search` itself, without libtorch, and hands every other command line (the
// model's commands, --help, --version, a mistyped command) to libexec/kfold/kfold-torch by exec: the same process,
// so its pid, signals, output and exit code are that command's. libtorch and the CUDA libraries it links map about
// 2.5 GB and take 0.4 s to load: an MSA search on a CPU node (an array task of thousands, `ulimit -v` set) needs none
// of them.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "pipelines/cli/command_line.hpp"

namespace {

namespace fs = std::filesystem;

// Whether this executable runs the command line: `kfold [-q|-v] db ...` and `kfold [-q|-v] search ...`, without
// --version (kfold-torch's text names the torch and CUDA it runs with).
bool runs_here(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string_view(argv[i]) == "--version") return false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    const bool global_flag = word == "--quiet" || word == "--verbose" ||
                             (word.size() >= 2 && word[0] == '-' && word.find_first_not_of("qv", 1) == word.npos);
    if (!global_flag) return word == "db" || word == "search";
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kfold::cli;
  if (runs_here(argc, argv)) return run_command_line(argc, argv, CommandLine{{add_db_command, add_search_command}});

  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) {
    write_error(
        fmt::format("kfold: error: /proc/self/exe: {}; kfold finds its model commands beside itself through "
                    "it: mount /proc\n",
                    error.message()));
    return 1;
  }
  const fs::path torch_executable = (self.parent_path() / KFOLD_TORCH_EXECUTABLE_FROM_BIN).lexically_normal();
  ::execv(torch_executable.c_str(), argv);
  write_error(
      fmt::format("kfold: error: {}: {}; it runs every kfold command but db and search: build it "
                  "(scripts/build kfold) or install kfold again (cmake --install)\n",
                  torch_executable.string(), std::strerror(errno)));
  return 1;
}
