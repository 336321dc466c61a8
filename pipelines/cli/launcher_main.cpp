// bin/kfold: runs `kfold db` and `kfold search` itself, without libtorch, and hands every other command line (the
// model's commands, --help, --version, a mistyped command) to libexec/kfold/kfold-torch by exec: the same process,
// so its pid, signals, output and exit code are that command's. libtorch and the CUDA libraries it links map about
// 2.5 GB and take 0.4 s to load: `kfold search` on a CPU node (or under `ulimit -v`) needs none of them. (`kfold batch
// --stage msa` runs in kfold-torch: its stage keys and options read the model's configuration.)
#include <sys/auxv.h>
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

// This executable's own path, symbolic links resolved: /proc/self/exe, or without /proc (a chroot, a minimal
// container) the path it was started by. Empty when neither can be read.
fs::path own_path() {
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (!error) return self;
  const auto* started_as = reinterpret_cast<const char*>(::getauxval(AT_EXECFN));
  if (started_as == nullptr) return {};
  self = fs::canonical(started_as, error);
  return error ? fs::path() : self;
}

// kfold-torch beside this executable: where `cmake --install` puts it (CMAKE_INSTALL_LIBEXECDIR), else where the
// build tree has it (the same place with the default install folders).
fs::path torch_executable(const fs::path& self) {
  const fs::path installed = (self.parent_path() / KFOLD_TORCH_INSTALLED_FROM_BIN).lexically_normal();
  const fs::path built = (self.parent_path() / "../libexec/kfold/kfold-torch").lexically_normal();
  std::error_code error;
  return fs::exists(installed, error) || !fs::exists(built, error) ? installed : built;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kfold::cli;
  if (runs_here(argc, argv)) return run_command_line(argc, argv, CommandLine{{add_db_command, add_search_command}});

  const fs::path self = own_path();
  if (self.empty()) {
    write_error(
        "kfold: error: cannot tell where this kfold is (no /proc/self/exe, and the path it was started by "
        "does not lead to it), so not where kfold-torch, which runs every command but db and search, is: "
        "mount /proc, or run libexec/kfold/kfold-torch of kfold's folder directly\n");
    return 1;
  }
  const fs::path torch = torch_executable(self);
  ::execv(torch.c_str(), argv);
  const int error = errno;
  write_error(fmt::format(
      "kfold: error: {}: {}; every command but db and search runs in this executable, which {} finds beside itself: "
      "{}\n",
      torch.string(), std::strerror(error), self.string(),
      error == ENOENT ? "a copy of bin/kfold alone cannot run them (put a symbolic link to it on your PATH instead), "
                        "and in a build folder scripts/build kfold makes both"
                      : "it must be a kfold-torch executable you may run (see its permissions, and those of its "
                        "folders; cmake --install makes them so)"));
  return 1;
}
