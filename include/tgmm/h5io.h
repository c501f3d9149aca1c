/* h5io.h — parallel HDF5 (MPI-IO) helpers (src/io/h5io.c): atomic output files, row-block
 * collective writes, metadata attributes, reading. Files one process writes alone (tables, plots,
 * the run's metrics.h5): include/tgmm/out.h; the task dataset reader: include/tgmm/dataset.h.
 *
 * Every function here is collective over `comm` unless it says "local". */
#ifndef TGMM_H5IO_H
#define TGMM_H5IO_H

#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "tgmm/config.h"

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

/* Any size, in the `want` arrays below. */
#define TGMM_H5_ANY ((hsize_t)-1)
/* Dims of dataset `name`: TGMM_EUSER with a message naming file and dataset if it is missing,
 * has another rank than `ndim`, or is not of numeric class `cls` (H5T_FLOAT / H5T_INTEGER). */
int tgmm_h5_dims(hid_t file, const char *fname, const char *name, int ndim, H5T_class_t cls,
                 hsize_t *dims /* [ndim] */);
/* The same, with each dimension checked against want[i] (TGMM_H5_ANY: any size); the message
 * names the dataset, its shape and the expected one. got may be NULL. Local. */
int tgmm_h5_shape(hid_t file, const char *fname, const char *name, H5T_class_t cls, int ndim,
                  const hsize_t *want /* [ndim] */, hsize_t *got /* [ndim] */);
/* 1 if a dataset called `name` exists, 0 otherwise (local). */
int tgmm_h5_exists(hid_t file, const char *name);

/* Read rows row0..row0+nrows-1 along dim 0 of dataset `name` into buf as `memtype`.
 * Independent I/O (callable by one rank alone). */
int tgmm_h5_read_rows(hid_t file, const char *fname, const char *name, hid_t memtype,
                      hsize_t row0, hsize_t nrows, void *buf);
/* The one way to read a whole dataset: only after checking that it exists, holds values of
 * memtype's class and has exactly `ndim` dimensions of the sizes dims[] (buf holds their
 * product of memtype elements); else a message naming the file, the dataset, its shape and the
 * expected one, and TGMM_EUSER. Integers read into a type narrower than 64 bits must fit it (a
 * value beyond is an error naming the entry, never saturated). Independent I/O. */
int tgmm_h5_read(hid_t file, const char *fname, const char *name, hid_t memtype, int ndim,
                 const hsize_t *dims /* [ndim] */, void *buf);
/* Fixed-length string dataset `name` of exactly n entries -> n NUL-terminated strings of `width`
 * bytes each in out [n, width]; a different length is a user error naming file and dataset.
 * Independent I/O. */
int tgmm_h5_read_strings(hid_t file, const char *fname, const char *name, hsize_t n, int width,
                         char *out);
/* Read a string attribute of the root group into a malloc'd string (*out NULL if absent). */
int tgmm_h5_read_attr_str(hid_t file, const char *name, char **out);

#endif
