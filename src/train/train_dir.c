/* train_dir.c — a run directory belongs to one run: creating it, the exclusive lock that rank 0
 * of `tgmm train` holds on RUN_DIR/.lock for the run's life (flock: the kernel releases it when
 * the process dies, so a killed run's directory is free again at once), whether it holds a run,
 * and moving an earlier run aside (train.resume: restart). Readers (report, eval, export) never
 * take the lock. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tgmm/common.h"
#include "train_impl.h"

static int mkdir_p(const char *dir) {
  char buf[TGMM_MAX_STR + 8];
  snprintf(buf, sizeof buf, "%s", dir);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return (mkdir(buf, 0777) != 0 && errno != EEXIST) ? -1 : 0;
}

int tgmm_train_dir_make(const tgmm_config *cfg) {
  int rc = TGMM_OK;
  if (tgmm_mpi.rank == 0 && mkdir_p(cfg->train.run_dir) != 0) {
    tgmm_error("cannot create train.run_dir '%s': %s", cfg->train.run_dir, strerror(errno));
    rc = TGMM_EUSER;
  }
  return tgmm_agree(rc);
}

int tgmm_train_dir_exists(const tgmm_config *cfg) {
  struct stat st;
  int e = tgmm_mpi.rank == 0 && stat(cfg->train.run_dir, &st) == 0 && S_ISDIR(st.st_mode);
  MPI_Bcast(&e, 1, MPI_INT, 0, tgmm_mpi.comm);
  return e;
}

/* Rank 0: who holds the lock, as its holder wrote it into the file. */
static void holder_of(int fd, char *out, size_t len) {
  ssize_t n = pread(fd, out, len - 1, 0);
  out[n > 0 ? n : 0] = 0;
  char *nl = strchr(out, '\n');
  if (nl) *nl = 0;
  if (!out[0]) snprintf(out, len, "a process that has not yet written its name");
}

static int lock_local(const char *dir, int *fd_out) {
  char path[TGMM_MAX_STR + 16];
  snprintf(path, sizeof path, "%s/.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    tgmm_error("cannot open the run directory's lock %s: %s", path, strerror(errno));
    return errno == ENOSPC || errno == EIO || errno == EDQUOT ? TGMM_EIO : TGMM_EUSER;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    char who[512];
    holder_of(fd, who, sizeof who);
    close(fd);
    if (e == EWOULDBLOCK)
      tgmm_error("train.run_dir '%s' is in use by another tgmm train (%s; lock %s): one run per "
                 "run directory; wait for it, stop it, or use another train.run_dir",
                 dir, who, path);
    else
      tgmm_error("cannot lock %s: %s", path, strerror(e));
    return TGMM_EUSER;
  }
  char host[256] = "?", line[600];
  gethostname(host, sizeof host - 1);
  time_t now = time(NULL);
  struct tm tm;
  char when[32] = "?";
  if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  int n = snprintf(line, sizeof line, "pid %ld on %s since %s\n", (long)getpid(), host, when);
  if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)n, 0) != n) { /* only informative */ }
  *fd_out = fd;
  return TGMM_OK;
}

int tgmm_train_dir_lock(const tgmm_config *cfg, int *fd) {
  int rc = TGMM_OK;
  if (tgmm_mpi.rank == 0 && *fd < 0) rc = lock_local(cfg->train.run_dir, fd);
  return tgmm_agree(rc);
}

void tgmm_train_dir_unlock(int *fd) {
  if (*fd >= 0) close(*fd); /* closing the last descriptor releases the flock */
  *fd = -1;
}

/* Rank 0: the names of an earlier run in a run directory: its checkpoints (set-aside ones
 * too), metrics series, log and config. */
static int run_file(const char *name) {
  return !strncmp(name, "ckpt_", 5) || !strcmp(name, "metrics.h5") || !strcmp(name, "train.log") ||
         !strcmp(name, "config.yaml");
}

int tgmm_train_dir_holds_run(const tgmm_config *cfg) {
  int holds = 0;
  if (tgmm_mpi.rank == 0) {
    DIR *d = opendir(cfg->train.run_dir);
    struct dirent *e;
    while (d && !holds && (e = readdir(d)) != NULL) /* a checkpoint or a metrics series */
      holds = (!strncmp(e->d_name, "ckpt_", 5) && strstr(e->d_name, ".h5") &&
               !strstr(e->d_name, ".tmp")) || !strcmp(e->d_name, "metrics.h5");
    if (d) closedir(d);
  }
  MPI_Bcast(&holds, 1, MPI_INT, 0, tgmm_mpi.comm);
  return holds;
}

/* Rank 0: move the run files of dir into dir/previous-N (the first N free). */
static int aside_local(const char *dir) {
  char to[TGMM_MAX_STR + 64], from[TGMM_MAX_STR + 300], dst[TGMM_MAX_STR + 400];
  int k = 1;
  for (; k < 100000; k++) {
    snprintf(to, sizeof to, "%s/previous-%d", dir, k);
    if (mkdir(to, 0777) == 0) break;
    if (errno != EEXIST) {
      tgmm_error("cannot create %s to move the earlier run aside: %s", to, strerror(errno));
      return TGMM_EIO;
    }
  }
  DIR *d = opendir(dir);
  struct dirent *e;
  int rc = d ? TGMM_OK : TGMM_EIO;
  while (d && rc == TGMM_OK && (e = readdir(d)) != NULL) {
    if (!run_file(e->d_name)) continue;
    snprintf(from, sizeof from, "%s/%s", dir, e->d_name);
    snprintf(dst, sizeof dst, "%s/%s", to, e->d_name);
    if (rename(from, dst) != 0) {
      tgmm_error("cannot move %s aside to %s: %s", from, dst, strerror(errno));
      rc = TGMM_EIO;
    }
  }
  if (d) closedir(d);
  if (rc == TGMM_OK)
    tgmm_info("train: train.resume = restart: the earlier run of %s is moved to %s", dir, to);
  return rc;
}

int tgmm_train_dir_move_aside(const tgmm_config *cfg) {
  return tgmm_agree(tgmm_mpi.rank == 0 ? aside_local(cfg->train.run_dir) : TGMM_OK);
}
