/*
 * files.h — looking at what a test's engine left on disk (header-only): is_file and
 * count_files (test_recordings, test_resilience_process, test_fault_modes, test_soak,
 * test_hostile_cdr).
 */
#ifndef DT_HARNESS_FILES_H
#define DT_HARNESS_FILES_H
#include <dirent.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

/* True when p names a regular file. */
static inline bool is_file(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Files in dir whose names end with suffix (and are longer than it), dot files left out;
   0 when dir cannot be read. */
static inline int count_files(const char *dir, const char *suffix) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  size_t sl = strlen(suffix);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t l = strlen(de->d_name);
    if (de->d_name[0] != '.' && l > sl && strcmp(de->d_name + l - sl, suffix) == 0) n++;
  }
  closedir(d);
  return n;
}

#endif
