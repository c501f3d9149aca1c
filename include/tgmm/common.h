/* common.h — the MPI context, error codes, logging and small helpers shared by every module.
 *
 * Error convention: functions return 0 on success or a TGMM_E* code. A function that detects a
 * user-facing error prints one message naming the file/line/key or dataset (tgmm_error) before
 * returning. Commands turn a non-zero code into the same exit code on every rank together
 * (tgmm_agree), so mpirun never hangs and no rank leaves output behind. */
#ifndef TGMM_COMMON_H
#define TGMM_COMMON_H

#include <mpi.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

enum {
  TGMM_OK = 0,
  TGMM_EFAIL = 1,    /* internal failure (I/O, library) */
  TGMM_EUSER = 2,    /* bad input: config, CLI, dataset file — exit code 2 */
  TGMM_ENOMEM = 3,   /* allocation failed */
  TGMM_ENUM = 4,     /* non-finite loss or gradient */
  TGMM_EIO = 74,     /* an output could not be written (full disk, I/O error): every rank
                        abandoned the file together, its temporary is removed (EX_IOERR) */
  TGMM_REQUEUE = 75, /* checkpointed after SIGUSR1/SIGTERM: "requeue me" (EX_TEMPFAIL) */
};

/* The one global context: this process's place in MPI_COMM_WORLD. */
typedef struct {
  MPI_Comm comm;
  int rank, size;
  int verbosity; /* 0: --quiet (errors and results only), 1: default, 2: --verbose */
  long long task_lines, task_lines_hidden; /* per-task lines printed / held back under -q */
  int warn_only; /* > 0 while a failure is survivable (resume trying a checkpoint that may be
                    damaged): tgmm_error and tgmm_error0 print "tgmm: warning:" */
} tgmm_mpi_ctx;
extern tgmm_mpi_ctx tgmm_mpi;

/* The one signal flag: set by the SIGUSR1/SIGTERM handler, read at step boundaries. */
extern volatile sig_atomic_t tgmm_stop_signal;

#define TGMM_VERSION "0.1.0"

/* Rank-0 informational output to stderr (progress, resolved config), unless --quiet;
 * tgmm_detail: only with --verbose. */
void tgmm_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tgmm_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Error message to stderr from this rank, prefixed "tgmm: error: ". */
void tgmm_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Error message printed by rank 0 only (for errors every rank detects identically). */
void tgmm_error0(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Before a line about one task (a degenerate task's status, ...): 1 to print it; under -q only
 * the first TGMM_TASK_LINES of this process, then 0 (counted; tgmm_task_lines_summary says how
 * many were held back). */
enum { TGMM_TASK_LINES = 10 };
int tgmm_task_line(void);
/* Collective, at the end of a command: "N further per-task lines not shown (-q)" from rank 0. */
void tgmm_task_lines_summary(void);
/* A warning (the run goes on and exits 0): "tgmm: warning: ..." from rank 0. */
void tgmm_warn0(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Rank 0, at most every 5 s: "<what>: 42% done, 12 s elapsed, ETA 17 s" (done in (0, 1]; the
 * work started at t_start; *t_last is the time of the previous line). Local, no MPI. */
void tgmm_progress(const char *what, double t_start, double *t_last, double done);

/* Collective: the largest error code over all ranks (0 when every rank succeeded). */
int tgmm_agree(int rc);

/* Collective over comm: broadcast n bytes of buf from root. MPI counts are int, so a buffer
 * larger than `piece` bytes (0 = the default, 2^30) goes in several broadcasts. */
void tgmm_bcast_bytes(void *buf, size_t n, int root, MPI_Comm comm, size_t piece);
/* Collective over comm: *text (root: a malloc'd NUL-terminated string or NULL) reaches every
 * rank; the others receive a malloc'd copy (or NULL). TGMM_ENOMEM on every rank if a copy cannot
 * be allocated anywhere. */
int tgmm_bcast_text(char **text, int root, MPI_Comm comm);

/* Allocation that prints and returns NULL on failure; free with free(). */
void *tgmm_malloc(size_t bytes);
void *tgmm_calloc(size_t n, size_t size);

/* Wall-clock seconds (monotonic). */
double tgmm_now(void);

/* The git commit the binary was built from ("unknown" when not in a git checkout). */
const char *tgmm_git_commit(void);
/* Before MPI_Init: the MCA settings tgmm needs (sharedfp without lockedfile, unless the user
 * set OMPI_MCA_sharedfp; a singleton's PMIx security native, unless the user set
 * PMIX_MCA_psec). */
void tgmm_mpi_env_fix(void);

#define TGMM_TRY(expr)                                                                             \
  do {                                                                                             \
    int tgmm_rc_ = (expr);                                                                         \
    if (tgmm_rc_ != TGMM_OK) return tgmm_rc_;                                                      \
  } while (0)

#endif
