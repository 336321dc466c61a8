// The host's available memory and the read guards (data/host_memory.hpp).
#include "data/host_memory.hpp"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "data/error.hpp"

namespace kfold::data {

namespace fs = std::filesystem;

namespace {

// A cgroup limit this large is none (v1 writes LLONG_MAX rounded down to a page for "no limit").
constexpr int64_t kNoCgroupLimit = int64_t{1} << 62;

int64_t read_number(const fs::path& path) {
  std::ifstream in(path);
  int64_t value = -1;
  if (!(in >> value)) return -1;
  return value;
}

// The value of `key` in a memory.stat file ("key value" lines), 0 when absent.
int64_t read_stat(const fs::path& path, std::string_view key) {
  std::ifstream in(path);
  std::string name;
  int64_t value = 0;
  while (in >> name >> value)
    if (name == key) return value;
  return 0;
}

// The kibibytes after `key` in a /proc file of "Key: N kB" lines, -1 when absent.
int64_t read_kib(const char* file, std::string_view key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(key)) {
      std::istringstream fields(line.substr(key.size()));
      if (int64_t kib = 0; fields >> kib) return kib * 1024;
    }
  return -1;
}

}  // namespace

HostMemory host_available_memory() {
  HostMemory memory;
  const auto limit = [&](int64_t candidate, const char* what) {
    if (candidate >= 0 && (memory.bytes < 0 || candidate < memory.bytes)) {
      memory.bytes = candidate;
      memory.bound = what;
    }
  };
  limit(read_kib("/proc/meminfo", "MemAvailable:"), "the system's free memory, MemAvailable");
  std::ifstream cgroups("/proc/self/cgroup");
  const std::string membership((std::istreambuf_iterator<char>(cgroups)), std::istreambuf_iterator<char>());
  limit(cgroup_memory_left("/sys/fs/cgroup", membership), "the cgroup's memory limit less its use");
  // Only in a job's step on its node (slurmd sets SLURMD_NODENAME there): a salloc shell on the login node carries
  // the request's variables to every command it runs, which the allocation does not bound.
  if (std::getenv("SLURMD_NODENAME") != nullptr)
    limit(slurm_memory_left(std::getenv("SLURM_MEM_PER_NODE"), std::getenv("SLURM_MEM_PER_CPU"),
                            std::getenv("SLURM_CPUS_ON_NODE"), process_resident_bytes()),
          "the SLURM job's memory request (--mem, --mem-per-cpu) less this process's resident memory");
  // An address-space limit (ulimit -v, prlimit --as; some clusters set it per job): what the process may
  // still map. Mapped, not resident, memory counts there: the libraries' reservations too.
  if (rlimit as{}; getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
    if (const int64_t mapped = read_kib("/proc/self/status", "VmSize:"); mapped >= 0) {
      memory.address_space_left = std::max<int64_t>(static_cast<int64_t>(as.rlim_cur) - mapped, 0);
      limit(memory.address_space_left, "the address-space limit (ulimit -v, RLIMIT_AS) less what this process maps");
    }
  return memory;
}

int64_t slurm_memory_left(const char* mem_per_node, const char* mem_per_cpu, const char* cpus_on_node,
                          int64_t resident) {
  const auto number = [](const char* text) -> int64_t {  // a whole number, else -1
    if (text == nullptr) return -1;
    int64_t value = -1;
    const char* end = text + std::strlen(text);
    const auto [stop, ec] = std::from_chars(text, end, value);
    return ec == std::errc() && stop == end && value >= 0 ? value : -1;
  };
  int64_t mib = number(mem_per_node);
  if (const int64_t per_cpu = number(mem_per_cpu), cpus = number(cpus_on_node); mib < 0 && per_cpu >= 0 && cpus > 0)
    mib = per_cpu <= (kNoCgroupLimit >> 20) / cpus ? per_cpu * cpus : -1;  // (a product beyond any machine: none)
  if (mib <= 0 || mib > (kNoCgroupLimit >> 20)) return -1;                 // (0: --mem=0, the whole node)
  return std::max<int64_t>((mib << 20) - std::max<int64_t>(resident, 0), 0);
}

int64_t process_resident_bytes() { return read_kib("/proc/self/status", "VmRSS:"); }

int64_t cgroup_memory_left(const fs::path& root, const std::string& membership) {
  int64_t left = -1;
  // Limit less usage of the cgroup and of each ancestor up to the hierarchy's root: the tightest binds.
  // Usage counts the page cache the cgroup's files left, which the kernel reclaims before it kills
  // anything: the inactive part is not used here (the working set, as the kubelet and docker count it; a
  // job that read a 2.5 GB database was refused a run that fits).
  const auto walk = [&](const fs::path& hierarchy, const std::string& cgroup, const char* limit_file,
                        const char* usage_file, std::string_view inactive_file_key) {
    const fs::path relative = fs::path(cgroup).relative_path();
    for (fs::path dir = relative.empty() ? hierarchy : hierarchy / relative;; dir = dir.parent_path()) {
      const int64_t limit = read_number(dir / limit_file);  // "max" (v2, no limit) reads as -1
      int64_t usage = read_number(dir / usage_file);
      if (usage >= 0) usage -= std::min(usage, read_stat(dir / "memory.stat", inactive_file_key));
      if (limit > 0 && limit < kNoCgroupLimit && usage >= 0) {
        const int64_t here = std::max<int64_t>(limit - usage, 0);
        left = left < 0 ? here : std::min(left, here);
      }
      if (dir.native().size() <= hierarchy.native().size()) break;  // the hierarchy's root, read last
    }
  };
  std::istringstream lines(membership);
  for (std::string line; std::getline(lines, line);) {
    // "hierarchy-id:controllers:path": v2 is "0::/path", v1's memory controller "N:memory:/path" (or with others).
    const auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1), path = line.substr(second + 1);
    if (controllers.empty())
      walk(root, path, "memory.max", "memory.current", "inactive_file");
    else if (("," + controllers + ",").find(",memory,") != std::string::npos)
      walk(root / "memory", path, "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file");
  }
  return left;
}

std::string gib_text(int64_t bytes) { return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1 << 30)); }

void check_host_memory(int64_t bytes, std::string_view what, std::string_view fix) {
  if (bytes < (int64_t{64} << 20)) return;
  const HostMemory memory = host_available_memory();
  if (memory.bytes < 0 || bytes <= memory.bytes) return;
  throw MemoryError(fmt::format("{} needs {} of memory, {} is left ({}); {}", what, gib_text(bytes),
                                gib_text(memory.bytes), memory.bound, fix));
}

void ReadMemoryGuard::check(int64_t rows) {
  next_check_ = held_ + (int64_t{16} << 20);
  const HostMemory memory = host_available_memory();
  if (memory.bytes < 0 || memory.bytes >= held_) return;
  throw MemoryError(fmt::format(
      "{}: after {} rows this input holds {} of memory and is not read to its end, and {} is left ({}): what "
      "it becomes next needs at least as much again; {}",
      source_, rows, gib_text(held_), gib_text(memory.bytes), memory.bound, fix_));
}

}  // namespace kfold::data
