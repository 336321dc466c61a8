// The `kfold` command line shared by bin/kfold and libexec/kfold/kfold-torch (command_line.hpp).
#include "pipelines/cli/command_line.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "data/error.hpp"
#include "data/interrupt.hpp"
#include "data/log.hpp"
#include "data/thread_limit.hpp"
#include "pipelines/cli/parse_error_text.hpp"

namespace kfold::cli {

namespace {

constexpr const char* kFooter = R"(Examples:
  kfold db create uniref50.fasta.gz dbs/uniref50
  kfold search query.fasta dbs/uniref50 -o msas
  kfold features data/examples/ubiquitin.fasta --msa data/examples/ubiquitin.a3m -o ubiquitin_features.h5
  kfold inspect ubiquitin_features.h5
  kfold predict query.fasta --msa query.a3m --params ~/af2/params -o out
  kfold relax out/<id>/ranked_0.pdb -o ranked_0_relaxed.pdb   (<id>: the FASTA record's id)
  kfold batch targets.csv --db dbs/uniref50 --params ~/af2/params -o out/batch
  kfold agent data/examples/ubiquitin_campaign.json -o out/agent

Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input, 3 (batch) some targets failed or
wait for their MSA stage, 4 (batch --no-wait) some targets left to other workers, 130/143/129 stopped by
SIGINT/SIGTERM/SIGHUP (128 + the signal).
An option given twice takes its last value (a list option such as --models: all of them); every value given
must be valid, the earlier ones too.
Run 'kfold COMMAND --help' for a command's options.)";

// CLI11 2.1 reads an integer beyond 64 bits as the nearest limit without a word (--seed
// 18446744073709551615 ran with seed 9223372036854775807) and an empty value of a number as 0 (--recycles ''
// ran without recycling): such values of the parsed commands' numeric options are refused here, before any
// command runs.
void check_numeric_values(const CLI::App& app) {
  for (const CLI::Option* option : app.get_options()) {
    const std::string& type = option->get_type_name();
    const bool is_unsigned = type.rfind("UINT", 0) == 0;
    const bool is_integer = is_unsigned || type.rfind("INT", 0) == 0;
    if (!is_integer && type.rfind("FLOAT", 0) != 0) continue;
    for (const std::string& text : option->results()) {
      if (text.find_first_not_of(" \t") == std::string::npos)
        throw CLI::ValidationError(option->get_name(), "empty value; give a number");
      if (!is_integer) continue;
      long long value = 0;
      unsigned long long unsigned_value = 0;
      const auto ec = is_unsigned ? std::from_chars(text.data(), text.data() + text.size(), unsigned_value).ec
                                  : std::from_chars(text.data(), text.data() + text.size(), value).ec;
      if (ec == std::errc::result_out_of_range)
        throw CLI::ValidationError(
            option->get_name(), fmt::format("{}: out of range; integers are at most {}", text,
                                            is_unsigned ? fmt::to_string(std::numeric_limits<unsigned long long>::max())
                                                        : fmt::to_string(std::numeric_limits<long long>::max())));
    }
  }
  for (const CLI::App* sub : app.get_subcommands()) check_numeric_values(*sub);
}

// Output buffered for stdout reaches it at exit, after the command: a write error there (`> /dev/full`, a full
// disk) must fail the command (exit 1), not leave it 0 with the output lost. A closed pipe (`| head`) is no error.
int flushed_stdout(int code) {
  errno = 0;
  std::cout.flush();
  int error = errno;
  bool failed = !std::cout;
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout) != 0) {
    failed = true;
    if (errno != 0) error = errno;
  }
  // A pipe or socket fails only when its reader is gone (EPIPE, perhaps at an earlier flush whose errno is lost).
  struct stat out {};
  const bool pipe = ::fstat(STDOUT_FILENO, &out) == 0 && (S_ISFIFO(out.st_mode) || S_ISSOCK(out.st_mode));
  if (!failed || error == EPIPE || pipe) return code;
  write_error(fmt::format("kfold: error: writing standard output failed: {}\n",
                          error != 0 ? std::strerror(error) : "a write error (a full disk or device?)"));
  return code == 0 ? 1 : code;
}

int run(int argc, char** argv, const CommandLine& command_line) {
  CLI::App app{"kfold: protein structure prediction (MSA search, AlphaFold2-class model, agent loop)", "kfold"};
  if (command_line.version_text != nullptr) app.set_version_flag("--version", command_line.version_text);
  app.require_subcommand(1);
  app.footer(kFooter);
  bool quiet = false;
  bool verbose = false;
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors on stderr");
  app.add_flag("-v,--verbose", verbose, "Debug output on stderr");
  app.fallthrough();  // -q / -v after the subcommand too: kfold predict ... -v
  // An option given twice takes the last value (list options such as --models keep all), so that options
  // passed through a script (scripts/slurm/*.sbatch "$@") override the script's own.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  Action action;
  for (const auto add_command : command_line.commands) add_command(app, action);

  try {
    app.parse(argc, argv);
    check_numeric_values(app);
  } catch (const CLI::CallForHelp& e) {
    return flushed_stdout(app.exit(e));
  } catch (const CLI::CallForAllHelp& e) {
    return flushed_stdout(app.exit(e));
  } catch (const CLI::CallForVersion& e) {
    return flushed_stdout(app.exit(e));
  } catch (const CLI::ParseError& e) {
    const std::string message = parse_error_text(app, e, std::vector<std::string>(argv + 1, argv + argc));
    std::string command = "kfold";  // the deepest command parsed so far: its --help has the options
    for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
      sub = sub->get_subcommands().front();
      command += " " + sub->get_name();
    }
    write_error(fmt::format("kfold: error: {}\nRun '{} --help' for usage.\n", message, command));
    return 2;
  }
  set_log_level(quiet ? LogLevel::warn : verbose ? LogLevel::debug : LogLevel::info);
  if (action) action();
  return flushed_stdout(0);
}

// A standard stream started closed (`2>&-`, a daemon's) would give its number to the next file opened, a
// database's data file, which the log lines then overwrite: /dev/null takes the number first.
void open_closed_standard_streams() {
  for (int fd = 0; fd <= 2; ++fd)
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);  // the lowest free number: fd
      if (opened != fd && opened >= 0) ::close(opened);
    }
}

}  // namespace

void write_error(std::string_view text) noexcept {
  char stamp[kLogPrefixSize];
  try {
    write_stderr(std::string(log_line_prefix(stamp)).append(text));
  } catch (const std::bad_alloc&) {  // (after an out-of-memory error)
    write_stderr(text);
  }
}

int run_command_line(int argc, char** argv, const CommandLine& command_line) {
  open_closed_standard_streams();
  // A full disk or a file-size limit must surface as a write error, not kill the process.
  std::signal(SIGXFSZ, SIG_IGN);
  std::signal(SIGPIPE, SIG_IGN);
  install_interrupt_handlers();  // Ctrl-C, SIGTERM, SIGHUP: stop at the next safe point
  try {
    return run(argc, argv, command_line);
  } catch (const Error& e) {
    write_error(fmt::format("kfold: error: {}\n", e.what()));
    return e.exit_code();
  } catch (const std::filesystem::filesystem_error& e) {  // a path the system rejects (too long, no access)
    write_error(fmt::format("kfold: error: {}: {}; check the path\n", e.path1().string(), e.code().message()));
    return 2;
  } catch (const std::bad_alloc&) {
    write_error(
        "kfold: error: out of memory; try a smaller input (kfold predict and batch: --chunk-size; kfold search: "
        "--index-memory) or a machine with more\n");
    return 1;
  } catch (const std::system_error& e) {
    if (e.code().value() == EPIPE) return 0;  // stdout closed early (e.g. `kfold inspect F | head`)
    if (data::is_thread_start_failure(e)) {
      write_error(fmt::format("kfold: error: {}\n", data::thread_start_failure_text(e)));
      return 1;
    }
    // fmt::print's write to stdout failed in the middle of a command's output (`kfold inspect F > /dev/full` with a
    // listing beyond stdio's buffer): fmt's own words ("fflush failed") did not say which file.
    if (std::ferror(stdout) != 0) {
      write_error(fmt::format("kfold: error: writing standard output failed: {}\n", e.code().message()));
      return 1;
    }
    write_error(fmt::format("kfold: error: {}\n", e.what()));
    return 1;
  } catch (const std::exception& e) {
    std::string message = command_line.exception_text != nullptr ? command_line.exception_text(e) : e.what();
    if (is_out_of_memory_message(message.substr(0, message.find('\n')))) {
      message = message.substr(0, message.find('\n'));
      write_error(fmt::format(
          "kfold: error: out of memory ({}); try --chunk-size, a smaller input, or a machine with more memory\n",
          message));
      return 1;
    }
    write_error(
        fmt::format("kfold: internal error: {}\nPlease report this with the command line that caused it.\n", message));
    return 1;
  }
}

}  // namespace kfold::cli
