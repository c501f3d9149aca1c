/* h5io.c — parallel HDF5 (MPI-IO): output files written to a temporary and renamed with every
 * rank agreeing on each collective step (a full disk fails all ranks together), collective
 * row-block writes, attributes, reading (see include/tgmm/h5io.h). The temporary-then-rename
 * primitives it shares with the local outputs: out.c. */
#define _GNU_SOURCE
#include "tgmm/h5io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_impl.h"
#include "tgmm/blas_core.h"
#include "tgmm/common.h"

/* ---------- output files ---------- */

/* MPI-IO access. The hint cb_buffer_size = 4 MiB bounds the buffer of each rank that
 * aggregates a collective write (Open MPI's default is 32 MiB), so that a rank's memory in
 * `tgmm eval` stays near its own share of the rows. */
hid_t tgmm_io_mpio_fapl(MPI_Comm comm) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  MPI_Info info;
  MPI_Info_create(&info);
  MPI_Info_set(info, "cb_buffer_size", "4194304");
  H5Pset_fapl_mpio(fapl, comm, info);
  MPI_Info_free(&info);
  return fapl;
}

/* The final name of a file whose temporary is `tmp` ("<path>.tmp" -> "<path>"). */
static void final_name(const char *tmp, char *dst, size_t len) {
  snprintf(dst, len, "%s", tmp);
  size_t n = strlen(dst);
  if (n > 4 && strcmp(dst + n - 4, ".tmp") == 0) dst[n - 4] = 0;
}

/* The I/O-failure agreement, after every collective step of a parallel output file (creating
 * a dataset and writing it, closing the file): every rank of `comm` learns whether any failed.
 * The lowest failing rank prints the one message (path, what failed, the system's reason);
 * every rank returns TGMM_EIO, so all abandon the file together. `err` is this rank's errno of
 * the failure, or -1 for no failure. */
static int io_agree(MPI_Comm comm, int err, const char *path, const char *what, int report) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int mine = err >= 0 ? rank : size, first = mine;
  if (size > 1) MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == size) return TGMM_OK;
  if (first == rank && report) {
    char fin[4200];
    final_name(path, fin, sizeof fin);
    tgmm_error("cannot write %s (%s): %s; the output is abandoned and its temporary %s "
               "removed", fin, what, strerror(tgmm_io_errno(err, path)), path);
  }
  return TGMM_EIO;
}

/* The communicator of a parallel (MPI-IO) file; MPI_COMM_NULL for a file one process writes.
 * Free a returned communicator with MPI_Comm_free. Collective for a parallel file. */
static MPI_Comm file_comm(hid_t file) {
  MPI_Comm comm = MPI_COMM_NULL;
  hid_t fapl = H5Fget_access_plist(file);
  if (fapl < 0) return comm;
  if (H5Pget_driver(fapl) == H5FD_MPIO) {
    MPI_Info info = MPI_INFO_NULL;
    if (H5Pget_fapl_mpio(fapl, &comm, &info) < 0) comm = MPI_COMM_NULL;
    if (info != MPI_INFO_NULL) MPI_Info_free(&info);
  }
  H5Pclose(fapl);
  return comm;
}

/* Reserve disk space for the file to grow to `bytes` (rank 0 of the file, before a collective
 * step): a full disk then shows here, in a step of our own, rather than inside HDF5's collective
 * writes and metadata flush, which cannot fail on one rank without leaving the others waiting.
 * Returns -1 when reserved (or when the file system cannot reserve: best effort), else errno. */
static int reserve_space(const char *tmp, hsize_t bytes) {
  int fd = open(tmp, O_WRONLY);
  if (fd < 0) return errno;
  int err = -1;
  if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)bytes) != 0 && errno != EOPNOTSUPP &&
      errno != ENOSYS)
    err = errno;
  close(fd);
  return err;
}

/* Slack for the metadata a collective step adds (object headers, the heap, the superblock). */
enum { META_SLACK = 32 * 1024 };

/* Rank 0 of the file reserves its current size + `more` bytes + slack; every rank agrees. */
static int reserve_agree(MPI_Comm comm, const char *tmp, hsize_t more,
                         const char *what) {
  int rank = 0;
  if (comm != MPI_COMM_NULL) MPI_Comm_rank(comm, &rank);
  int err = -1;
  if (rank == 0) {
    struct stat st; /* what is written so far; the slack covers allocated metadata */
    hsize_t size = stat(tmp, &st) == 0 ? (hsize_t)st.st_size : 0;
    err = reserve_space(tmp, size + more + META_SLACK);
  }
  return io_agree(comm != MPI_COMM_NULL ? comm : MPI_COMM_SELF, err, tmp, what, 1);
}

int tgmm_h5_create(tgmm_h5out *out, const char *path, MPI_Comm comm) {
  memset(out, 0, sizeof *out);
  out->file = H5I_INVALID_HID;
  out->comm = comm;
  int rc = tgmm_io_tmp_name(path, out->path, sizeof out->path, out->tmp, sizeof out->tmp);
  if (rc != TGMM_OK) {
    tgmm_error0("output path too long: %s", path);
    out->tmp[0] = 0;
    return rc;
  }
  struct stat st; /* HDF5 reports a directory in the way as "Bad file descriptor" */
  if (stat(out->tmp, &st) == 0 && S_ISDIR(st.st_mode)) {
    tgmm_error0("cannot create output file %s: a directory of that name is in the way", out->tmp);
    out->tmp[0] = 0;
    return TGMM_EUSER;
  }
  hid_t fapl = tgmm_io_mpio_fapl(comm);
  hid_t f = H5I_INVALID_HID;
  errno = 0;
  H5E_BEGIN_TRY { f = H5Fcreate(out->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl); }
  H5E_END_TRY;
  int err = errno;
  H5Pclose(fapl);
  if (f < 0) {
    err = tgmm_io_errno(err, out->tmp);
    tgmm_error0("cannot create output file %s: %s", out->tmp, strerror(err));
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0) unlink(out->tmp); /* HDF5 may have created it before failing */
    out->tmp[0] = 0; /* nothing of ours to remove */
    return err == ENOSPC || err == EIO || err == EDQUOT ? TGMM_EIO : TGMM_EUSER;
  }
  out->file = f;
  return TGMM_OK;
}

/* Close the file on every rank (H5Fclose is collective: a full disk may first show there, when
 * the metadata is flushed) and agree on the result. */
static int close_agree(tgmm_h5out *out, int report) {
  int err = -1;
  if (report && out->file >= 0) {
    int rc = reserve_agree(out->comm, out->tmp, 0, "closing the file");
    if (rc != TGMM_OK) return rc; /* the file stays open: the caller aborts */
  }
  if (out->file >= 0) {
    herr_t e;
    errno = 0;
    H5E_BEGIN_TRY { e = H5Fclose(out->file); }
    H5E_END_TRY;
    if (e < 0) err = errno;
  }
  out->file = H5I_INVALID_HID;
  return io_agree(out->comm, err, out->tmp, "closing the file", report);
}

int tgmm_h5_commit(tgmm_h5out *out) {
  int rc = close_agree(out, 1);
  if (rc == TGMM_OK) {
    int rank;
    MPI_Comm_rank(out->comm, &rank);
    if (rank == 0) tgmm_io_release_space(out->tmp);
    int rrc = rank == 0 ? tgmm_io_rename(out->tmp, out->path) : TGMM_OK;
    MPI_Bcast(&rrc, 1, MPI_INT, 0, out->comm);
    rc = rrc;
  }
  if (rc != TGMM_OK) tgmm_h5_abort(out);
  return rc;
}

void tgmm_h5_abort(tgmm_h5out *out) {
  /* Every rank calls abort together; the failure that led here was already reported. The
   * contents are abandoned, so rank 0 first empties the temporary: on a full disk that frees
   * the space the (collective) close needs to flush the file's metadata, which HDF5 cannot
   * fail on one rank alone without leaving the others waiting. */
  int rank = 0;
  MPI_Comm_rank(out->comm, &rank);
  if (out->file >= 0) {
    if (rank == 0 && out->tmp[0]) (void)truncate(out->tmp, 0);
    MPI_Barrier(out->comm);
    (void)close_agree(out, 0);
  }
  out->file = H5I_INVALID_HID;
  if (rank == 0 && out->tmp[0]) unlink(out->tmp);
  out->tmp[0] = 0;
}

/* ---------- attributes ---------- */

int tgmm_h5_attr_str(hid_t obj, const char *name, const char *value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, strlen(value) + 1);
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t e = a < 0 ? -1 : H5Awrite(a, type, value);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
  return e < 0 ? TGMM_EFAIL : TGMM_OK;
}

static int attr_num(hid_t obj, const char *name, hid_t type, const void *v) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t e = a < 0 ? -1 : H5Awrite(a, type, v);
  if (a >= 0) H5Aclose(a);
  H5Sclose(space);
  return e < 0 ? TGMM_EFAIL : TGMM_OK;
}

int tgmm_h5_attr_i64(hid_t obj, const char *name, int64_t value) {
  return attr_num(obj, name, H5T_NATIVE_INT64, &value);
}

int tgmm_h5_attr_f64(hid_t obj, const char *name, double value) {
  return attr_num(obj, name, H5T_NATIVE_DOUBLE, &value);
}

int tgmm_h5_write_meta(hid_t file, const tgmm_config *cfg, int world_size) {
  TGMM_TRY(tgmm_h5_attr_str(file, "config", cfg->text ? cfg->text : ""));
  TGMM_TRY(tgmm_h5_attr_i64(file, "seed", cfg->seed));
  TGMM_TRY(tgmm_h5_attr_i64(file, "world_size", world_size));
  TGMM_TRY(tgmm_h5_attr_str(file, "version", TGMM_VERSION));
  TGMM_TRY(tgmm_h5_attr_str(file, "git_commit", tgmm_git_commit()));
  TGMM_TRY(tgmm_h5_attr_str(file, "openblas_core", tgmm_blas_core()));
  return TGMM_OK;
}

/* ---------- collective row-block writes ---------- */

/* Create the groups of "a/b/c" (all but the last component). */
static hid_t lcpl_with_parents(void) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  return lcpl;
}

/* Create dataset `name` [dims] and write this rank's blocks of rows: collective over the
 * file's communicator, followed by the I/O-failure agreement (io_agree), so that every rank
 * returns the same code. A file one process writes (no MPI-IO) just writes. */
static int write_blocks(hid_t file, const char *name, hid_t type, int ndim, const hsize_t *dims,
                        int nblk, const hsize_t *row0, const hsize_t *nrows, const void *buf) {
  MPI_Comm comm = file_comm(file);
  char fname[4200] = "";
  H5Fget_name(file, fname, sizeof fname);
  char what[300];
  snprintf(what, sizeof what, "dataset %s", name);
  hsize_t bytes = H5Tget_size(type);
  for (int i = 0; i < ndim; i++) bytes *= dims[i];
  int rc = reserve_agree(comm, fname, bytes, what);
  if (rc != TGMM_OK) {
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
    return rc;
  }
  hid_t fspace = H5Screate_simple(ndim, dims, NULL);
  hid_t lcpl = lcpl_with_parents();
  hid_t ds;
  errno = 0;
  H5E_BEGIN_TRY { ds = H5Dcreate2(file, name, type, fspace, lcpl, H5P_DEFAULT, H5P_DEFAULT); }
  H5E_END_TRY;
  int err = ds < 0 ? errno : -1;
  H5Pclose(lcpl);
  herr_t e = -1;
  if (ds >= 0) {
    hsize_t start[8] = {0}, count[8], total = 0;
    for (int i = 0; i < ndim; i++) count[i] = dims[i];
    H5Sselect_none(fspace);
    for (int b = 0; b < nblk; b++) {
      if (nrows[b] == 0) continue;
      /* consecutive blocks that touch are one hyperslab */
      hsize_t r0 = row0[b], n = nrows[b];
      while (b + 1 < nblk && row0[b + 1] == r0 + n) n += nrows[++b];
      start[0] = r0;
      count[0] = n;
      H5Sselect_hyperslab(fspace, H5S_SELECT_OR, start, NULL, count, NULL);
      total += n;
    }
    hid_t mspace;
    if (total == 0 || dims[0] == 0) {
      H5Sselect_none(fspace);
      hsize_t one = 1;
      mspace = H5Screate_simple(1, &one, NULL);
      H5Sselect_none(mspace);
    } else {
      count[0] = total;
      mspace = H5Screate_simple(ndim, count, NULL);
    }
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
    if (comm != MPI_COMM_NULL) H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    errno = 0;
    H5E_BEGIN_TRY { e = H5Dwrite(ds, type, mspace, fspace, dxpl, buf); }
    H5E_END_TRY;
    if (e < 0) err = errno;
    H5Pclose(dxpl);
    H5Sclose(mspace);
    H5E_BEGIN_TRY { H5Dclose(ds); }
    H5E_END_TRY;
  }
  H5Sclose(fspace);
  if (comm != MPI_COMM_NULL) {
    rc = io_agree(comm, err, fname, what, 1);
    MPI_Comm_free(&comm);
  } else {
    rc = io_agree(MPI_COMM_SELF, err, fname, what, 1);
  }
  return rc;
}

int tgmm_h5_write_rows(hid_t file, const char *name, hid_t type, int ndim, const hsize_t *dims,
                       hsize_t row0, hsize_t nrows, const void *buf) {
  return write_blocks(file, name, type, ndim, dims, 1, &row0, &nrows, buf);
}

int tgmm_h5_write_row_blocks(hid_t file, const char *name, hid_t type, int ndim,
                             const hsize_t *dims, int nblk, const hsize_t *row0,
                             const hsize_t *nrows, const void *buf) {
  for (int b = 1; b < nblk; b++)
    if (row0[b] < row0[b - 1] + nrows[b - 1]) {
      tgmm_error("%s: internal error: row blocks out of order", name);
      return TGMM_EFAIL;
    }
  return write_blocks(file, name, type, ndim, dims, nblk, row0, nrows, buf);
}

int tgmm_h5_write_packed_strings(hid_t file, const char *name, hsize_t n, int width, int nblk,
                                 const hsize_t *row0, const hsize_t *nrows, const char *packed) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, (size_t)width);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  int rc = tgmm_h5_write_row_blocks(file, name, type, 1, &n, nblk, row0, nrows, packed);
  H5Tclose(type);
  return rc;
}

int tgmm_h5_write_string_blocks(hid_t file, const char *name, hsize_t n, int width, int nblk,
                                const hsize_t *row0, const hsize_t *nrows,
                                const char *const *strs) {
  hsize_t total = 0;
  for (int b = 0; b < nblk; b++) total += nrows[b];
  char *buf = tgmm_calloc(total ? total : 1, (size_t)width);
  if (!buf) return TGMM_ENOMEM;
  for (hsize_t i = 0; i < total; i++) strncpy(buf + i * (size_t)width, strs[i], (size_t)width);
  int rc = tgmm_h5_write_packed_strings(file, name, n, width, nblk, row0, nrows, buf);
  free(buf);
  return rc;
}

int tgmm_h5_write_strings(hid_t file, const char *name, hsize_t n, int width, hsize_t row0,
                          hsize_t nrows, const char *const *strs) {
  return tgmm_h5_write_string_blocks(file, name, n, width, 1, &row0, &nrows, strs);
}
