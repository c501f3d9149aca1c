/* h5io.h — parallel HDF5 (MPI-IO) helpers: atomic output files, row-block collective writes,
 * metadata attributes, and the reader of the task dataset layout written by `tgmm gen`.
 *
 * Dataset layout (README.md "Dataset files"): /x float64 [S, d] all samples of all tasks
 * concatenated; /z int32 [S]; /offsets int64 [T+1]; /K int32 [T]; /weights float64 [T, Kmax];
 * /means float64 [T, Kmax, d]; /scales float64 [T, Kmax, d]. Only /x and /offsets are
 * required; /K defaults to Kmax from the config; the truth datasets are optional. Root
 * attributes (config, seed, world_size, version, git_commit) are never required by readers.
 *
 * Every function here is collective over `comm` unless it says "local". */
#ifndef TGMM_H5IO_H
#define TGMM_H5IO_H

#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "tgmm/config.h"
#include "tgmm/task.h"

/* An output file under construction: written as "<path>.tmp" and renamed to <path> by
 * tgmm_h5_commit, so a failed or killed run never leaves a half-written file under the real name. */
typedef struct {
  hid_t file;
  MPI_Comm comm;
  char path[4096];
  char tmp[4200];
} tgmm_h5out;

int tgmm_h5_create(tgmm_h5out *out, const char *path, MPI_Comm comm);
/* Close and rename to the final name. */
int tgmm_h5_commit(tgmm_h5out *out);
/* Close and delete the temporary file (on error paths). */
void tgmm_h5_abort(tgmm_h5out *out);

/* The same path for a file one process writes alone (local): text (report tables, plot data),
 * a serial HDF5 file (the run's metrics.h5), or a file another program writes (gnuplot's PNG:
 * give it the temporary name tgmm_out_begin returns). Every output of tgmm reaches its real name
 * only through tgmm_out_commit or tgmm_h5_commit. */
typedef struct {
  char path[4096];
  char tmp[4200]; /* "" once committed or aborted */
  FILE *f;
  hid_t h5;
} tgmm_out;
/* The temporary name to write (NULL, with a message, if the path is too long). */
const char *tgmm_out_begin(tgmm_out *o, const char *path);
/* Begin and open the temporary file as text / as a new serial HDF5 file (NULL / negative with a
 * message on failure). */
FILE *tgmm_out_text(tgmm_out *o, const char *path);
hid_t tgmm_out_h5(tgmm_out *o, const char *path);
/* Close what was opened and rename to the real name (on failure the temporary is removed). */
int tgmm_out_commit(tgmm_out *o);
/* Close and remove the temporary file. */
void tgmm_out_abort(tgmm_out *o);

/* Root attributes: config (text), seed, world_size, version, git_commit, openblas_core. */
int tgmm_h5_write_meta(hid_t file, const tgmm_config *cfg, int world_size);

/* Create dataset `name` (intermediate groups created) of type `type` and global dims
 * dims[0..ndim-1]; this rank writes rows row0..row0+nrows-1 of dim 0 from buf (contiguous,
 * row-major). A rank with nrows == 0 still takes part (H5Sselect_none). */
int tgmm_h5_write_rows(hid_t file, const char *name, hid_t type, int ndim, const hsize_t *dims,
                       hsize_t row0, hsize_t nrows, const void *buf);

/* Fixed-length string dataset [n] (e.g. /status): rank writes rows row0.. from strs. */
int tgmm_h5_write_strings(hid_t file, const char *name, hsize_t n, int width, hsize_t row0,
                          hsize_t nrows, const char *const *strs);

/* Like tgmm_h5_write_rows, for a rank whose rows are several blocks along dim 0: block b is rows
 * row0[b]..row0[b]+nrows[b]-1 (blocks in increasing order, not overlapping; any rank may hold
 * any blocks, or none), and buf holds the blocks' rows one after another. */
int tgmm_h5_write_row_blocks(hid_t file, const char *name, hid_t type, int ndim,
                             const hsize_t *dims, int nblk, const hsize_t *row0 /* [nblk] */,
                             const hsize_t *nrows /* [nblk] */, const void *buf);
/* Fixed-length strings in blocks (strs: one per row of the blocks, in order). */
int tgmm_h5_write_string_blocks(hid_t file, const char *name, hsize_t n, int width, int nblk,
                                const hsize_t *row0 /* [nblk] */, const hsize_t *nrows /* [nblk] */,
                                const char *const *strs);

/* The same from packed fixed-width strings: packed [rows of the blocks, width] (NUL-padded). */
int tgmm_h5_write_packed_strings(hid_t file, const char *name, hsize_t n, int width, int nblk,
                                 const hsize_t *row0 /* [nblk] */, const hsize_t *nrows /* [nblk] */,
                                 const char *packed);

/* Scalar attributes on an object (local to the caller's view but must be called by all ranks). */
int tgmm_h5_attr_str(hid_t obj, const char *name, const char *value);
int tgmm_h5_attr_i64(hid_t obj, const char *name, int64_t value);
int tgmm_h5_attr_f64(hid_t obj, const char *name, double value);

/* Open an existing file read-only with MPI-IO; prints "cannot open <path>: ..." on failure and
 * returns TGMM_EUSER. */
int tgmm_h5_open_read(const char *path, MPI_Comm comm, hid_t *file);

/* Dims of dataset `name`: TGMM_EUSER with a message naming file and dataset if it is missing,
 * has another rank than `ndim`, or is not of numeric class `cls` (H5T_FLOAT / H5T_INTEGER). */
int tgmm_h5_dims(hid_t file, const char *fname, const char *name, int ndim, H5T_class_t cls,
                 hsize_t *dims /* [ndim] */);
/* 1 if a dataset called `name` exists, 0 otherwise (local). */
int tgmm_h5_exists(hid_t file, const char *name);

/* Read rows row0..row0+nrows-1 along dim 0 of dataset `name` into buf as `memtype`.
 * Independent I/O (callable by one rank alone). */
int tgmm_h5_read_rows(hid_t file, const char *fname, const char *name, hid_t memtype,
                      hsize_t row0, hsize_t nrows, void *buf);
/* Read a whole small dataset into buf (independent). */
int tgmm_h5_read_all(hid_t file, const char *fname, const char *name, hid_t memtype, void *buf);
/* Fixed-length string dataset `name` of exactly n entries -> n NUL-terminated strings of `width`
 * bytes each in out [n, width]; a different length is a user error naming file and dataset.
 * Independent I/O. */
int tgmm_h5_read_strings(hid_t file, const char *fname, const char *name, hsize_t n, int width,
                         char *out);
/* Read a string attribute of the root group into a malloc'd string (*out NULL if absent). */
int tgmm_h5_read_attr_str(hid_t file, const char *name, char **out);

/* A task dataset file opened for reading. */
typedef struct {
  hid_t file;
  char path[4096];
  int64_t T, S;   /* tasks, samples */
  int d, Kmax;
  int64_t *offsets; /* [T+1] */
  int32_t *K;       /* [T] */
  int has_z, has_weights, has_means, has_scales;
} tgmm_dataset;

/* Open and validate the layout (shapes consistent, offsets non-decreasing from 0 to S,
 * 1 <= K <= Kmax). `default_K` is used when /K is absent. Errors name the file and dataset. */
int tgmm_dataset_open(tgmm_dataset *ds, const char *path, MPI_Comm comm, int default_K);
/* Read task t wholly (x, z if present, truth if present) into *task (allocates). Local. */
int tgmm_dataset_read_task(const tgmm_dataset *ds, int64_t t, tgmm_task *task);
/* The truth of task t that the file holds: weights [K], means [K, d], scales [K, d] (a NULL
 * pointer or a dataset the file lacks is skipped). Local. */
int tgmm_dataset_read_truth(const tgmm_dataset *ds, int64_t t, double *w, double *m, double *s);
/* Read samples row0..row0+n-1 of /x (and /z if z != NULL and present). Local. */
int tgmm_dataset_read_samples(const tgmm_dataset *ds, int64_t row0, int64_t n,
                              double *x /* [n, d] */, int32_t *z /* [n] or NULL */);
void tgmm_dataset_close(tgmm_dataset *ds);

#endif
