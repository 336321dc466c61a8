// The host's available memory and the read guards (data/host_memory.hpp): cgroup limits as SLURM and
// containers set them, a read too large for what is left refused with the file named (MemoryError),
// not ended by the allocator or the kernel's OOM killer.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <new>
#include <string>

#include "data/error.hpp"
#include "data/host_memory.hpp"
#include "data/msa_file.hpp"
#include "test_support.hpp"

namespace data = kfold::data;

namespace {

// Runs `body` in a child process; returns its exit code (-1 when it did not exit).
int in_child(const std::function<int()>& body) {
  const int status = kfold::test::wait_status_in_child(body);
  REQUIRE(status != -1);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The address space this process maps (VmSize), in bytes.
int64_t mapped_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.starts_with("VmSize:")) return std::stoll(line.substr(7)) * 1024;
  return -1;
}

}  // namespace

TEST_CASE("cgroup limits: v2 and v1, the tightest of the process's cgroup and its ancestors") {
  kfold::test::ScratchDir root("cgroup_memory");
  const auto write = [&](const std::string& file, const std::string& text) {
    std::filesystem::create_directories((root / file).parent_path());
    std::ofstream(root / file) << text << "\n";
  };
  // v2: a SLURM job's limit (4 GiB, 1 GiB used) above an unlimited step; the root has no files.
  write("system.slice/job_7/memory.max", "4294967296");
  write("system.slice/job_7/memory.current", "1073741824");
  write("system.slice/job_7/step_0/memory.max", "max");
  write("system.slice/job_7/step_0/memory.current", "1048576");
  CHECK(data::cgroup_memory_left(root.path(), "0::/system.slice/job_7/step_0\n") == int64_t{3} << 30);
  CHECK(data::cgroup_memory_left(root.path(), "0::/\n") == -1);  // no limit anywhere
  // A container's namespace root (memory.max at the top), the process's path unknown there.
  write("memory.max", "2147483648");
  write("memory.current", "536870912");
  CHECK(data::cgroup_memory_left(root.path(), "0::/docker/abc\n") == int64_t{3} << 29);
  // v1: the memory controller's hierarchy, beside others; "no limit" is LLONG_MAX rounded to a page.
  write("memory/slurm/job_9/memory.limit_in_bytes", "1073741824");
  write("memory/slurm/job_9/memory.usage_in_bytes", "268435456");
  write("memory/slurm/job_9/task_0/memory.limit_in_bytes", "9223372036854771712");
  write("memory/slurm/job_9/task_0/memory.usage_in_bytes", "4096");
  CHECK(data::cgroup_memory_left(root.path(), "5:cpuacct,cpu:/slurm/job_9\n3:memory:/slurm/job_9/task_0\n") ==
        int64_t{3} << 28);
  // Usage above the limit leaves nothing, not a negative number.
  write("memory/slurm/job_9/memory.usage_in_bytes", "2147483648");
  CHECK(data::cgroup_memory_left(root.path(), "3:memory:/slurm/job_9/task_0") == 0);
  // Inactive page cache (a database the job read) is reclaimed before anything is killed: not used memory.
  // v1's hierarchical total_inactive_file, v2's inactive_file (its memory.stat is hierarchical).
  write("memory/slurm/job_9/memory.stat", "cache 1879048192\ninactive_file 1\ntotal_inactive_file 1879048192");
  CHECK(data::cgroup_memory_left(root.path(), "3:memory:/slurm/job_9/task_0") == int64_t{3} << 28);
  write("system.slice/job_7/memory.stat", "anon 536870912\nfile 536870912\ninactive_file 536870912");
  write("memory.stat", "inactive_file 268435456");  // the namespace root (2 GiB, 512 MiB used) binds: 1.75 GiB
  CHECK(data::cgroup_memory_left(root.path(), "0::/system.slice/job_7/step_0\n") == int64_t{7} << 28);
}

TEST_CASE("SLURM's memory request: --mem, else --mem-per-cpu times the CPUs, less the resident memory") {
  constexpr int64_t kMiB = int64_t{1} << 20;
  CHECK(data::slurm_memory_left(nullptr, nullptr, nullptr, 0) == -1);  // not in a job
  CHECK(data::slurm_memory_left("4096", nullptr, nullptr, 1000 * kMiB) == 3096 * kMiB);
  CHECK(data::slurm_memory_left("4096", "100", "8", 0) == 4096 * kMiB);  // --mem first
  CHECK(data::slurm_memory_left(nullptr, "1000", "8", 500 * kMiB) == 7500 * kMiB);
  CHECK(data::slurm_memory_left(nullptr, "1000", nullptr, 0) == -1);  // CPUs unknown
  CHECK(data::slurm_memory_left("0", nullptr, nullptr, 0) == -1);     // --mem=0: the whole node
  CHECK(data::slurm_memory_left("100", nullptr, nullptr, 200 * kMiB) == 0);
  CHECK(data::slurm_memory_left(nullptr, "4611686018427387905", "4", 0) == -1);  // (the product overflowed)
  for (const char* text : {"", "4G", "-5", "1e3", "99999999999999999999"})
    CHECK_MESSAGE(data::slurm_memory_left(text, nullptr, nullptr, 0) == -1, text);
  // In the environment, in a job step on its node (SLURMD_NODENAME): the bound the messages name. A salloc shell on
  // the login node has the request's variables and no SLURMD_NODENAME: its commands are not bounded by it.
  setenv("SLURM_MEM_PER_NODE", "1", 1);
  const auto in_salloc_shell = data::host_available_memory();
  setenv("SLURMD_NODENAME", "node17", 1);
  const auto memory = data::host_available_memory();
  unsetenv("SLURM_MEM_PER_NODE");
  unsetenv("SLURMD_NODENAME");
  CHECK(memory.bytes == 0);  // 1 MiB less this test's resident memory
  CHECK(memory.bound == "the SLURM job's memory request (--mem, --mem-per-cpu) less this process's resident memory");
  CHECK(in_salloc_shell.bytes > 0);
  CHECK(in_salloc_shell.bound.find("SLURM") == std::string::npos);
}

TEST_CASE("check_host_memory: a read larger than the memory left is a MemoryError naming it and the fix") {
  const data::HostMemory memory = data::host_available_memory();
  REQUIRE(memory.bytes > 0);  // Linux: MemAvailable at least
  CHECK(!memory.bound.empty());
  data::check_host_memory(int64_t{1} << 20, "small.h5: dataset 'msa'", "never said");  // below 64 MiB: no check
  try {
    data::check_host_memory(memory.bytes + (int64_t{1} << 40), "big.h5: dataset 'msa' (shape [9, 9])", "the fix");
    FAIL("expected a MemoryError");
  } catch (const kfold::MemoryError& e) {
    const std::string what = e.what();
    CHECK(what.find("big.h5: dataset 'msa' (shape [9, 9]) needs") == 0);
    CHECK(what.find(memory.bound) != std::string::npos);
    CHECK(what.ends_with("; the fix"));
    CHECK(e.exit_code() == 1);
  }
}

TEST_CASE("An MSA file too large for the memory left stops with its name, not the allocator's bad_alloc") {
#if defined(__SANITIZE_ADDRESS__)
  return;  // AddressSanitizer's shadow memory and allocator do not work under an address-space limit
#endif
  // 200,000 rows of 300 columns: about 330 MB once parsed, under an address-space limit 256 MiB above what
  // the process maps (as ulimit -v sets one; a 5 MB .a3m.gz of repeated rows does the same to a worker). The
  // same MSA of 2,000 rows fits and is read.
  kfold::test::ScratchDir dir("host_memory_msa");
  const std::string row(300, 'A');
  for (const int rows : {2000, 200000}) {
    std::ofstream a3m(dir / fmt::format("{}.a3m", rows));
    std::ofstream sto(dir / fmt::format("{}.sto", rows));
    sto << "# STOCKHOLM 1.0\n";
    for (int i = 0; i < rows; ++i) {
      a3m << ">r" << i << "\n" << row << "\n";
      sto << "r" << i << " " << row << "\n";
    }
    sto << "//\n";
  }
  for (const char* format : {"a3m", "sto"}) {
    CAPTURE(format);
    const auto small = dir / fmt::format("2000.{}", format), deep = dir / fmt::format("200000.{}", format);
    const int code = in_child([&] {
      const int64_t mapped = mapped_bytes();
      if (mapped < 0) return 10;
      const rlimit limit{static_cast<rlim_t>(mapped + (int64_t{256} << 20)), RLIM_INFINITY};
      if (::setrlimit(RLIMIT_AS, &limit) != 0) return 11;
      try {
        if (data::read_msa_file(small).depth() != 2000) return 16;
        data::read_msa_file(deep);
        return 12;  // it fit: the limit did not bind
      } catch (const kfold::MemoryError& e) {
        const std::string what = e.what();
        return what.starts_with(deep.string() + ": ") && what.find("hhfilter") != std::string::npos &&
                       what.find("ulimit -v") != std::string::npos
                   ? 0
                   : 13;
      } catch (const std::bad_alloc&) {
        return 14;  // the allocator's failure: no file named
      } catch (...) {
        return 15;
      }
    });
    CHECK(code == 0);
  }
}
