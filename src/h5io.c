/* h5io.c — parallel HDF5 helpers and the task dataset reader (see include/tgmm/h5io.h). */
#define _GNU_SOURCE
#include "tgmm/h5io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tgmm/blas_core.h"
#include "tgmm/common.h"

/* ---------- output files ---------- */

static hid_t mpio_fapl(MPI_Comm comm) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  return fapl;
}

int tgmm_h5_create(tgmm_h5out *out, const char *path, MPI_Comm comm) {
  memset(out, 0, sizeof *out);
  out->file = H5I_INVALID_HID;
  out->comm = comm;
  if (strlen(path) >= sizeof out->path) {
    tgmm_error0("output path too long: %s", path);
    return TGMM_EUSER;
  }
  snprintf(out->path, sizeof out->path, "%s", path);
  snprintf(out->tmp, sizeof out->tmp, "%s.tmp", path);
  hid_t fapl = mpio_fapl(comm);
  hid_t f = H5I_INVALID_HID;
  H5E_BEGIN_TRY { f = H5Fcreate(out->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl); }
  H5E_END_TRY;
  H5Pclose(fapl);
  if (f < 0) {
    tgmm_error0("cannot create output file %s (is the directory there and writable?)", out->tmp);
    return TGMM_EUSER;
  }
  out->file = f;
  return TGMM_OK;
}

int tgmm_h5_commit(tgmm_h5out *out) {
  int rc = TGMM_OK;
  if (out->file >= 0 && H5Fclose(out->file) < 0) rc = TGMM_EFAIL;
  out->file = H5I_INVALID_HID;
  rc = tgmm_agree(rc);
  if (rc == TGMM_OK) {
    int rank;
    MPI_Comm_rank(out->comm, &rank);
    int rrc = TGMM_OK;
    if (rank == 0 && rename(out->tmp, out->path) != 0) {
      tgmm_error("cannot rename %s to %s", out->tmp, out->path);
      rrc = TGMM_EFAIL;
    }
    MPI_Bcast(&rrc, 1, MPI_INT, 0, out->comm);
    rc = rrc;
  }
  if (rc != TGMM_OK) tgmm_h5_abort(out);
  return rc;
}

void tgmm_h5_abort(tgmm_h5out *out) {
  if (out->file >= 0) {
    H5E_BEGIN_TRY { H5Fclose(out->file); }
    H5E_END_TRY;
  }
  out->file = H5I_INVALID_HID;
  int rank = 0;
  MPI_Comm_rank(out->comm, &rank);
  if (rank == 0 && out->tmp[0]) unlink(out->tmp);
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

int tgmm_h5_read_attr_str(hid_t file, const char *name, char **out) {
  *out = NULL;
  if (H5Aexists(file, name) <= 0) return TGMM_OK;
  hid_t a = H5Aopen(file, name, H5P_DEFAULT);
  if (a < 0) return TGMM_EFAIL;
  hid_t ftype = H5Aget_type(a);
  int rc = TGMM_EFAIL;
  if (H5Tget_class(ftype) == H5T_STRING && !H5Tis_variable_str(ftype)) {
    size_t n = H5Tget_size(ftype);
    char *s = tgmm_calloc(n + 1, 1);
    hid_t mtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(mtype, n + 1);
    if (s && H5Aread(a, mtype, s) >= 0) {
      *out = s;
      rc = TGMM_OK;
    } else {
      free(s);
    }
    H5Tclose(mtype);
  }
  H5Tclose(ftype);
  H5Aclose(a);
  return rc;
}

/* ---------- collective row-block writes ---------- */

/* Create the groups of "a/b/c" (all but the last component). */
static hid_t lcpl_with_parents(void) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  return lcpl;
}

static int write_block(hid_t file, const char *name, hid_t type, hid_t mtype, int ndim,
                       const hsize_t *dims, hsize_t row0, hsize_t nrows, const void *buf) {
  hid_t fspace = H5Screate_simple(ndim, dims, NULL);
  hid_t lcpl = lcpl_with_parents();
  hid_t ds = H5Dcreate2(file, name, type, fspace, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  if (ds < 0) {
    H5Sclose(fspace);
    tgmm_error("cannot create dataset %s", name);
    return TGMM_EFAIL;
  }
  hsize_t start[8] = {0}, count[8];
  for (int i = 0; i < ndim; i++) count[i] = dims[i];
  start[0] = row0;
  count[0] = nrows;
  hid_t mspace;
  if (nrows == 0 || dims[0] == 0) {
    H5Sselect_none(fspace);
    hsize_t one = 1;
    mspace = H5Screate_simple(1, &one, NULL);
    H5Sselect_none(mspace);
  } else {
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL);
    mspace = H5Screate_simple(ndim, count, NULL);
  }
  hid_t dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
  herr_t e = H5Dwrite(ds, mtype, mspace, fspace, dxpl, buf);
  H5Pclose(dxpl);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Dclose(ds);
  if (e < 0) {
    tgmm_error("cannot write dataset %s", name);
    return TGMM_EFAIL;
  }
  return TGMM_OK;
}

int tgmm_h5_write_rows(hid_t file, const char *name, hid_t type, int ndim, const hsize_t *dims,
                       hsize_t row0, hsize_t nrows, const void *buf) {
  return write_block(file, name, type, type, ndim, dims, row0, nrows, buf);
}

int tgmm_h5_write_strings(hid_t file, const char *name, hsize_t n, int width, hsize_t row0,
                          hsize_t nrows, const char *const *strs) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, (size_t)width);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  char *buf = tgmm_calloc(nrows ? nrows : 1, (size_t)width);
  if (!buf) {
    H5Tclose(type);
    return TGMM_ENOMEM;
  }
  for (hsize_t i = 0; i < nrows; i++) strncpy(buf + i * (size_t)width, strs[i], (size_t)width);
  int rc = write_block(file, name, type, type, 1, &n, row0, nrows, buf);
  free(buf);
  H5Tclose(type);
  return rc;
}

/* ---------- reading ---------- */

int tgmm_h5_open_read(const char *path, MPI_Comm comm, hid_t *file) {
  *file = H5I_INVALID_HID;
  if (access(path, R_OK) != 0) {
    tgmm_error0("cannot open %s: no such readable file", path);
    return TGMM_EUSER;
  }
  hid_t fapl = mpio_fapl(comm);
  hid_t f = H5I_INVALID_HID;
  H5E_BEGIN_TRY { f = H5Fopen(path, H5F_ACC_RDONLY, fapl); }
  H5E_END_TRY;
  H5Pclose(fapl);
  if (f < 0) {
    tgmm_error0("cannot open %s: not an HDF5 file", path);
    return TGMM_EUSER;
  }
  *file = f;
  return TGMM_OK;
}

int tgmm_h5_exists(hid_t file, const char *name) {
  htri_t e = 0;
  H5E_BEGIN_TRY { e = H5Lexists(file, name, H5P_DEFAULT); }
  H5E_END_TRY;
  if (e <= 0) return 0;
  hid_t ds;
  H5E_BEGIN_TRY { ds = H5Dopen2(file, name, H5P_DEFAULT); }
  H5E_END_TRY;
  if (ds < 0) return 0; /* a group or a named type, not a dataset */
  H5Dclose(ds);
  return 1;
}

int tgmm_h5_dims(hid_t file, const char *fname, const char *name, int ndim, H5T_class_t cls,
                 hsize_t *dims) {
  if (!tgmm_h5_exists(file, name)) {
    tgmm_error0("%s: dataset %s is missing", fname, name);
    return TGMM_EUSER;
  }
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  hid_t space = H5Dget_space(ds);
  hid_t type = H5Dget_type(ds);
  int rank = H5Sget_simple_extent_ndims(space);
  H5T_class_t c = H5Tget_class(type);
  int rc = TGMM_OK;
  if (rank != ndim) {
    tgmm_error0("%s: dataset %s has %d dimensions, expected %d", fname, name, rank, ndim);
    rc = TGMM_EUSER;
  } else if (c != cls) {
    tgmm_error0("%s: dataset %s has the wrong type (expected %s)", fname, name,
                cls == H5T_FLOAT ? "floating point" : "integer");
    rc = TGMM_EUSER;
  } else {
    H5Sget_simple_extent_dims(space, dims, NULL);
  }
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(ds);
  return rc;
}

int tgmm_h5_read_rows(hid_t file, const char *fname, const char *name, hid_t memtype,
                      hsize_t row0, hsize_t nrows, void *buf) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0) {
    tgmm_error("%s: cannot open dataset %s", fname, name);
    return TGMM_EUSER;
  }
  hid_t fspace = H5Dget_space(ds);
  int ndim = H5Sget_simple_extent_ndims(fspace);
  hsize_t dims[8], start[8] = {0};
  H5Sget_simple_extent_dims(fspace, dims, NULL);
  int rc = TGMM_OK;
  if (ndim < 1 || ndim > 8 || row0 + nrows > dims[0]) {
    tgmm_error("%s: dataset %s: rows %llu..%llu out of range", fname, name,
               (unsigned long long)row0, (unsigned long long)(row0 + nrows));
    rc = TGMM_EUSER;
  } else if (nrows > 0) {
    start[0] = row0;
    dims[0] = nrows;
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, dims, NULL);
    hid_t mspace = H5Screate_simple(ndim, dims, NULL);
    if (H5Dread(ds, memtype, mspace, fspace, H5P_DEFAULT, buf) < 0) {
      tgmm_error("%s: cannot read dataset %s", fname, name);
      rc = TGMM_EUSER;
    }
    H5Sclose(mspace);
  }
  H5Sclose(fspace);
  H5Dclose(ds);
  return rc;
}

int tgmm_h5_read_all(hid_t file, const char *fname, const char *name, hid_t memtype, void *buf) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0) {
    tgmm_error("%s: cannot open dataset %s", fname, name);
    return TGMM_EUSER;
  }
  herr_t e = H5Dread(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  H5Dclose(ds);
  if (e < 0) {
    tgmm_error("%s: cannot read dataset %s", fname, name);
    return TGMM_EUSER;
  }
  return TGMM_OK;
}
