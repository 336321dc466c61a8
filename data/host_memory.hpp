// The memory this process may still use on the host (MemAvailable, its cgroups' limits, SLURM's request, ulimit -v),
// and the
// guards that refuse to read an input that cannot fit (an MSA of millions of rows, a compressed dataset
// that inflates to gigabytes) with a message naming the file, instead of the kernel's OOM killer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace kfold::data {

struct HostMemory {
  int64_t bytes = -1;  // what may still be allocated; -1 when unknown
  std::string bound;   // which limit gives it, for messages ("the cgroup's memory limit less its use", ...)
  // What an address-space limit (ulimit -v) leaves, tightest or not; -1 without one. It counts mapped memory:
  // freed memory a malloc keeps mapped (released to the system or not) still uses it.
  int64_t address_space_left = -1;
};

// The smallest of MemAvailable (/proc/meminfo), the cgroup limit less usage, SLURM's memory request less this
// process's resident memory and the address-space limit (RLIMIT_AS) less what is mapped.
HostMemory host_available_memory();

// The memory a process may still use under its cgroups' limits, or -1 when none is set: the smallest
// limit less usage over the cgroups `membership` (the text of /proc/self/cgroup) names and their
// ancestors, for cgroup v2 (memory.max) and v1's memory controller (memory.limit_in_bytes), with `root`
// where they are mounted (/sys/fs/cgroup).
int64_t cgroup_memory_left(const std::filesystem::path& root, const std::string& membership);

// What SLURM's memory request leaves this process, or -1 outside a job or when the request is all of the node's
// memory (--mem=0): SLURM_MEM_PER_NODE (--mem), else SLURM_MEM_PER_CPU (--mem-per-cpu) times SLURM_CPUS_ON_NODE,
// in MiB as SLURM writes them, less `resident` (this process's resident bytes). A site that enforces the request
// by polling (JobAcctGather's OverMemoryKill) rather than with a cgroup kills a job that goes over it. The
// variables' values are the arguments (null when unset); a value that is no number is ignored. host_available_memory
// applies it in a job step on its node only (SLURMD_NODENAME set: not in a salloc shell on the login node).
int64_t slurm_memory_left(const char* mem_per_node, const char* mem_per_cpu, const char* cpus_on_node,
                          int64_t resident);

// This process's resident memory (VmRSS), -1 when unknown.
int64_t process_resident_bytes();

// "1.5 GiB"
std::string gib_text(int64_t bytes);

// Throws MemoryError "<what> needs <bytes> of memory, <available> is left (<bound>); <fix>" when `bytes`
// exceeds what the host has left. Reads the limits only for 64 MiB or more (small reads never fail here).
void check_host_memory(int64_t bytes, std::string_view what, std::string_view fix);

// Watches what a parser holds while it reads a file whose size in memory is unknown until its end (an
// MSA in a compressed file: 5 MB may hold 20 million rows). Every 16 MiB it checks that the memory left
// could hold as much again (what the parsed data becomes next, features or a profile, needs at least
// that); when not, throws MemoryError naming the file, the rows read so far and `fix`.
class ReadMemoryGuard {
 public:
  ReadMemoryGuard(std::string source, std::string fix) : source_(std::move(source)), fix_(std::move(fix)) {}
  // `bytes` more are held, `rows` in all so far.
  void add(int64_t bytes, int64_t rows) {
    held_ += bytes;
    if (held_ >= next_check_) check(rows);
  }

 private:
  void check(int64_t rows);

  std::string source_;
  std::string fix_;
  int64_t held_ = 0;
  int64_t next_check_ = int64_t{16} << 20;
};

}  // namespace kfold::data
