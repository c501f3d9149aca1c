/* common.c — MPI context, messages, allocation, time. */
#define _GNU_SOURCE
#include "tgmm/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

tgmm_mpi_ctx tgmm_mpi = {MPI_COMM_WORLD, 0, 1, 1, 0, 0, 0};
volatile sig_atomic_t tgmm_stop_signal = 0;

#include "tgmm_git_commit.h" /* written at every build (CMakeLists.txt, "version stamp") */
#ifndef TGMM_GIT_COMMIT
#define TGMM_GIT_COMMIT "unknown"
#endif

const char *tgmm_git_commit(void) { return TGMM_GIT_COMMIT; }

/* Open MPI's sharedfp/lockedfile component (selected when any MPI-IO file is opened, though
 * tgmm uses no shared file pointer) smashes its stack for file paths of about 244 characters
 * and more, while tgmm accepts paths of 4,090; so it is excluded, unless the user chose the
 * sharedfp components (OMPI_MCA_sharedfp set, even to empty): theirs is respected. */
/* A process started without a launcher (no mpirun, no srun: a singleton) spawns its own local
 * runtime, whose PMIx security would first try munge: where munge is installed but its daemon
 * is not running (a laptop with Slurm's packages), every start waited about 2.3 s for it. A
 * singleton's runtime is its own child, so the same-user check (psec native) is enough; a
 * user's PMIX_MCA_psec is respected. */
void tgmm_mpi_env_fix(void) {
  if (!getenv("OMPI_MCA_sharedfp")) setenv("OMPI_MCA_sharedfp", "^lockedfile", 0);
  int singleton = !getenv("PMIX_RANK") && !getenv("OMPI_COMM_WORLD_SIZE");
  if (singleton && !getenv("PMIX_MCA_psec")) setenv("PMIX_MCA_psec", "native", 0);
}

static void vmessage(const char *prefix, const char *fmt, va_list ap) {
  char buf[8192];
  vsnprintf(buf, sizeof buf, fmt, ap);
  fprintf(stderr, "%s%s\n", prefix, buf);
  fflush(stderr);
}

void tgmm_detail(const char *fmt, ...) {
  if (tgmm_mpi.rank != 0 || tgmm_mpi.verbosity < 2) return;
  va_list ap;
  va_start(ap, fmt);
  vmessage("", fmt, ap);
  va_end(ap);
}

void tgmm_info(const char *fmt, ...) {
  if (tgmm_mpi.rank != 0 || tgmm_mpi.verbosity < 1) return;
  va_list ap;
  va_start(ap, fmt);
  vmessage("", fmt, ap);
  va_end(ap);
}

void tgmm_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char prefix[64];
  const char *what = tgmm_mpi.warn_only > 0 ? "warning" : "error";
  if (tgmm_mpi.size > 1)
    snprintf(prefix, sizeof prefix, "tgmm: %s (rank %d): ", what, tgmm_mpi.rank);
  else
    snprintf(prefix, sizeof prefix, "tgmm: %s: ", what);
  vmessage(prefix, fmt, ap);
  va_end(ap);
}

void tgmm_error0(const char *fmt, ...) {
  if (tgmm_mpi.rank != 0) return;
  va_list ap;
  va_start(ap, fmt);
  vmessage(tgmm_mpi.warn_only > 0 ? "tgmm: warning: " : "tgmm: error: ", fmt, ap);
  va_end(ap);
}

int tgmm_task_line(void) {
  if (tgmm_mpi.verbosity >= 1 || tgmm_mpi.task_lines < TGMM_TASK_LINES) {
    tgmm_mpi.task_lines++;
    return 1;
  }
  tgmm_mpi.task_lines_hidden++;
  return 0;
}

void tgmm_task_lines_summary(void) {
  long long hidden = tgmm_mpi.task_lines_hidden, all = hidden;
  MPI_Reduce(&hidden, &all, 1, MPI_LONG_LONG, MPI_SUM, 0, tgmm_mpi.comm);
  if (tgmm_mpi.rank == 0 && all > 0)
    fprintf(stderr, "tgmm: %lld further per-task line%s not shown (-q shows the first %d of each "
            "rank; without -q: all)\n", all, all > 1 ? "s" : "", TGMM_TASK_LINES);
}

void tgmm_warn0(const char *fmt, ...) {
  if (tgmm_mpi.rank != 0) return;
  va_list ap;
  va_start(ap, fmt);
  vmessage("tgmm: warning: ", fmt, ap);
  va_end(ap);
}

int tgmm_agree(int rc) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) return rc;
  int all = rc;
  MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, tgmm_mpi.comm);
  return all;
}

void tgmm_bcast_bytes(void *buf, size_t n, int root, MPI_Comm comm, size_t piece) {
  if (piece == 0 || piece > ((size_t)1 << 30)) piece = (size_t)1 << 30;
  for (size_t off = 0; off < n; off += piece) {
    size_t len = n - off < piece ? n - off : piece;
    MPI_Bcast((char *)buf + off, (int)len, MPI_BYTE, root, comm);
  }
}

int tgmm_bcast_text(char **text, int root, MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  long long len = rank == root ? (*text ? (long long)strlen(*text) : -1) : 0;
  MPI_Bcast(&len, 1, MPI_LONG_LONG, root, comm);
  if (rank != root) *text = NULL;
  if (len < 0) return TGMM_OK;
  int rc = TGMM_OK;
  if (rank != root && !(*text = tgmm_malloc((size_t)len + 1))) rc = TGMM_ENOMEM;
  int all = rc;
  MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, comm);
  if (all != TGMM_OK) {
    if (rank != root) free(*text), *text = NULL;
    return all;
  }
  tgmm_bcast_bytes(*text, (size_t)len + 1, root, comm, 0);
  return TGMM_OK;
}

void *tgmm_malloc(size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p) tgmm_error("out of memory allocating %zu bytes", bytes);
  return p;
}

void *tgmm_calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) tgmm_error("out of memory allocating %zu x %zu bytes", n, size);
  return p;
}

double tgmm_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tgmm_progress(const char *what, double t_start, double *t_last, double done) {
  double now = tgmm_now();
  if (tgmm_mpi.rank != 0 || now - *t_last < 5.0 || !(done > 0)) return;
  *t_last = now;
  tgmm_info("%s: %.0f%% done, %.0f s elapsed, ETA %.0f s", what, 100 * done, now - t_start,
            (now - t_start) * (1 - done) / done);
}
