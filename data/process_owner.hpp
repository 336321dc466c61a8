// Who owns a lock or a temporary folder, in a form another process, possibly on another host of a shared
// file system, can check: "host pid start-time boot-id/pid-namespace". The pid is looked up only on the
// same host in the same PID namespace (containers of one host share its name, not its pids); elsewhere
// the caller has to judge by age (heartbeat, file times).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace kfold::data {

struct ProcessOwner {
  std::string host;
  long pid = 0;
  std::string start;  // start time in clock ticks since boot (/proc/PID/stat field 22); "?" when unknown
  std::string space;  // boot id and PID namespace; "" when unknown or written by an older version
};

// This process.
ProcessOwner this_process();

// "host pid start space" (one line, no newline).
std::string owner_line(const ProcessOwner& owner);

// Reads the first line of a file written with owner_line(); the space field is optional. False when the file is missing
// or does not hold an owner.
bool read_process_owner(const std::filesystem::path& file, ProcessOwner& owner);

// Whether `owner` still runs: true or false where this process can tell (same host and PID namespace; a
// pid now used by a process with another start time is not the owner), nullopt where it cannot (another host or
// PID namespace; a live pid whose /proc entry this user may not read, /proc mounted hidepid=1|2).
std::optional<bool> process_is_running(const ProcessOwner& owner);

// Whether process `pid` of this host and namespace exists (it may belong to another user).
bool pid_exists(long pid);

}  // namespace kfold::data
