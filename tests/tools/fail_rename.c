// LD_PRELOAD shim for the Python tests: the first rename(2) of a temporary file onto a path ending in
// $KFOLD_TEST_FAIL_RENAME fails with EIO (a file system error between the renames of a multi-file write).
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
