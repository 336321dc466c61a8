// LD_PRELOAD shim for the Python tests, file-system failures on request:
// - $KFOLD_TEST_FAIL_RENAME: the first rename(2) of a temporary file onto a path ending in it fails with EIO (a
//   file system error between the renames of a multi-file write);
// - $KFOLD_TEST_KILL_AT_RENAME: the process dies by SIGKILL at the first rename(2) of a temporary file onto a path
//   ending in it, before renaming (a run killed between the renames: the OOM killer, scancel's SIGKILL);
// - $KFOLD_TEST_NO_HARD_LINKS (any value): every link(2) fails with EPERM, as on a file system without hard
//   links (some FUSE, SMB and object-store mounts);
// - $KFOLD_TEST_CLOCK_SHIFT=SECONDS: time(2), gettimeofday(2) and clock_gettime(2)'s CLOCK_REALTIME run that far
//   ahead (negative: behind), as on a cluster node whose clock is off; the file system still stamps files with
//   the kernel's time, as an NFS server does with its own.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

// Whether `to` ends in $variable's value and `from` is a temporary file.
static int temp_renamed_onto(const char* variable, const char* from, const char* to) {
  const char* suffix = getenv(variable);
  if (suffix == NULL || *suffix == '\0' || strstr(from, ".tmp.") == NULL) return 0;
  const size_t n = strlen(suffix), m = strlen(to);
  return m >= n && strcmp(to + m - n, suffix) == 0;
}

int rename(const char* from, const char* to) {
  static int (*real_rename)(const char*, const char*) = NULL;
  static int failed = 0;
  if (real_rename == NULL) real_rename = (int (*)(const char*, const char*))dlsym(RTLD_NEXT, "rename");
  if (temp_renamed_onto("KFOLD_TEST_KILL_AT_RENAME", from, to)) raise(SIGKILL);
  if (!failed && temp_renamed_onto("KFOLD_TEST_FAIL_RENAME", from, to)) {
    failed = 1;
    errno = EIO;
    return -1;
  }
  return real_rename(from, to);
}

int link(const char* from, const char* to) {
  static int (*real_link)(const char*, const char*) = NULL;
  if (real_link == NULL) real_link = (int (*)(const char*, const char*))dlsym(RTLD_NEXT, "link");
  if (getenv("KFOLD_TEST_NO_HARD_LINKS") != NULL) {
    errno = EPERM;
    return -1;
  }
  return real_link(from, to);
}

static long clock_shift(void) {
  const char* shift = getenv("KFOLD_TEST_CLOCK_SHIFT");
  return shift != NULL ? atol(shift) : 0;
}

int clock_gettime(clockid_t clock, struct timespec* now) {
  static int (*real_clock_gettime)(clockid_t, struct timespec*) = NULL;
  if (real_clock_gettime == NULL)
    real_clock_gettime = (int (*)(clockid_t, struct timespec*))dlsym(RTLD_NEXT, "clock_gettime");
  const int result = real_clock_gettime(clock, now);
  if (result == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) now->tv_sec += clock_shift();
  return result;
}

// glibc 2.31 made the second parameter void*; before it is struct timezone* (with _GNU_SOURCE), and a definition
// of the other type does not compile.
#if defined(__GLIBC__) && !__GLIBC_PREREQ(2, 31)
typedef struct timezone* timezone_arg;
#else
typedef void* timezone_arg;
#endif

int gettimeofday(struct timeval* now, timezone_arg zone) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
  if (now != NULL) {
    now->tv_sec = ts.tv_sec;
    now->tv_usec = ts.tv_nsec / 1000;
  }
  if (zone != NULL) memset(zone, 0, sizeof(struct timezone));
  return 0;
}

time_t time(time_t* out) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out != NULL) *out = ts.tv_sec;
  return ts.tv_sec;
}
