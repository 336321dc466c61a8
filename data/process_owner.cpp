// Process identity for locks and temporary folders (data/process_owner.hpp).
#include "data/process_owner.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <limits>
#include <sstream>

namespace kfold::data {

namespace {

std::string host_name() {
  char buffer[256] = {};
  if (gethostname(buffer, sizeof(buffer) - 1) != 0) return "unknown-host";
  return buffer;
}

// Start time of process `pid` in clock ticks since boot (field 22 of /proc/PID/stat); "" when unknown.
std::string process_start(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(in, text)) return "";
  const auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return "";
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) return field;
  return "";
}

// Where this process's pids mean something: the machine's boot id and the PID namespace. Two containers
// with the host's name (apptainer --containall, docker --network host, hostNetwork pods) have their own
// PID namespace: a pid from the other one must not be looked up here. "" when /proc does not say.
const std::string& pid_space() {
  static const std::string space = [] {
    std::string boot;
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    in >> boot;
    char ns[64] = {};
    const auto n = ::readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
    if (boot.empty() || n <= 0) return std::string();
    return boot + "/" + std::string(ns, static_cast<size_t>(n));
  }();
  return space;
}

}  // namespace

ProcessOwner this_process() {
  const long pid = static_cast<long>(::getpid());
  const std::string start = process_start(pid);
  return {host_name(), pid, start.empty() ? "?" : start, pid_space()};  // "?" keeps the fields in their places
}

std::string owner_line(const ProcessOwner& owner) {
  return owner.host + " " + std::to_string(owner.pid) + " " + owner.start + " " + owner.space;
}

bool read_process_owner(const std::filesystem::path& file, ProcessOwner& owner) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) return false;  // none of kfold's (a FIFO would block)
  std::ifstream file_stream(file);
  std::string line;  // the first line only: a lock file has more below
  if (!std::getline(file_stream, line)) return false;
  std::istringstream in(line);
  if (!(in >> owner.host >> owner.pid >> owner.start)) return false;
  owner.space.clear();
  in >> owner.space;  // optional fourth field
  return true;
}

// A pid beyond pid_t (a damaged or planted owner line: 4294967295) is no process: narrowed to -1, kill(-1, 0)
// succeeded and the lock read as held by a live process for ever.
bool pid_exists(long pid) {
  return pid > 0 && pid <= std::numeric_limits<pid_t>::max() &&
         (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

std::optional<bool> process_is_running(const ProcessOwner& owner) {
  if (owner.host != host_name() || (!owner.space.empty() && owner.space != pid_space())) return std::nullopt;
  if (!pid_exists(owner.pid)) return false;
  if (owner.start == "?") return true;
  // Another user's process under /proc mounted hidepid=1|2 (common on clusters): its pid exists, its
  // /proc/PID/stat cannot be read. Not "gone": a live worker's lock was taken over and its files written over.
  const std::string start = process_start(owner.pid);
  if (start.empty()) return std::nullopt;
  return start == owner.start;
}

}  // namespace kfold::data
