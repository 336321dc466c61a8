// LD_PRELOAD shim for the Python tests, file-system failures on request:
// - $KFOLD_TEST_FAIL_RENAME: the first rename(2) of a temporary file onto a path ending in it fails with EIO (a
//   file system error between the renames of a multi-file write);
// - $KFOLD_TEST_NO_HARD_LINKS (any value): every link(2) fails with EPERM, as on a file system without hard
//   links (some FUSE, SMB and object-store mounts).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int rename(const char* from, const char* to) {
  static int (*real_rename)(const char*, const char*) = NULL;
  static int failed = 0;
  if (real_rename == NULL) real_rename = (int (*)(const char*, const char*))dlsym(RTLD_NEXT, "rename");
  const char* suffix = getenv("KFOLD_TEST_FAIL_RENAME");
  if (!failed && suffix != NULL && *suffix != '\0' && strstr(from, ".tmp.") != NULL) {
    const size_t n = strlen(suffix), m = strlen(to);
    if (m >= n && strcmp(to + m - n, suffix) == 0) {
      failed = 1;
      errno = EIO;
      return -1;
    }
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
