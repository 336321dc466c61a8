// libexec/kfold/kfold-torch: every `kfold` command, the model's (libtorch) included. bin/kfold runs the commands that
// need no libtorch itself and hands the others to this executable (launcher_main.cpp).
#include <c10/util/Exception.h>
#include <sys/prctl.h>

#include <exception>
#include <string>

#include "pipelines/cli/command_line.hpp"
#include "pipelines/version_text.hpp"

namespace {

// libtorch's errors carry a C++ backtrace that is no use to a user: their first line (an allocator's says how much).
std::string exception_text(const std::exception& e) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  if (torch_error == nullptr) return e.what();
  const std::string message = torch_error->what_without_backtrace();
  return message.substr(0, message.find('\n'));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kfold::cli;
  // Started by bin/kfold (exec keeps the pid), it is `kfold` for ps -C, pgrep -x, killall and top.
  ::prctl(PR_SET_NAME, "kfold", 0, 0, 0);
  const CommandLine command_line{{add_features_command, add_inspect_command, add_relax_command, add_db_command,
                                  add_search_command, add_predict_command, add_agent_command, add_batch_command},
                                 kfold::pipelines::version_text,
                                 exception_text};
  return run_command_line(argc, argv, command_line);
}
