/* h5read.c — reading HDF5 files (see include/tgmm/h5io.h): opening, the one shape-checked
 * read (tgmm_h5_read: a dataset is read only after its class, rank and every dimension are
 * checked against what the caller's buffer holds, and integers against the range of the type
 * they are read into), row blocks, fixed-length strings, string attributes. Local (independent
 * I/O) unless a function says otherwise. */
#define _GNU_SOURCE
#include "tgmm/h5io.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_impl.h"
#include "tgmm/common.h"

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
  } else if (H5Tget_class(ftype) == H5T_STRING) { /* variable length: what h5py writes for a str */
    hid_t space = H5Aget_space(a);
    hid_t mtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(mtype, H5T_VARIABLE);
    H5Tset_cset(mtype, H5Tget_cset(ftype));
    char *v = NULL;
    if (H5Sget_simple_extent_npoints(space) == 1 && H5Aread(a, mtype, &v) >= 0) {
      *out = v ? strdup(v) : NULL;
      rc = *out ? TGMM_OK : TGMM_EFAIL;
      if (v) H5free_memory(v);
    }
    H5Tclose(mtype);
    H5Sclose(space);
  }
  H5Tclose(ftype);
  H5Aclose(a);
  return rc;
}


/* ---------- reading ---------- */

int tgmm_h5_open_read(const char *path, MPI_Comm comm, hid_t *file) {
  *file = H5I_INVALID_HID;
  struct stat st;
  if (access(path, R_OK) != 0 || stat(path, &st) != 0) {
    tgmm_error0("cannot open %s: no such readable file", path);
    return TGMM_EUSER;
  }
  if (!S_ISREG(st.st_mode)) { /* MPI-IO would print its own errors for a directory */
    tgmm_error0("cannot open %s: %s, not an HDF5 file", path,
                S_ISDIR(st.st_mode) ? "a directory" : "not a regular file");
    return TGMM_EUSER;
  }
  if (st.st_size == 0) {
    tgmm_error0("cannot open %s: an empty file (0 bytes), not an HDF5 file", path);
    return TGMM_EUSER;
  }
  hid_t fapl = tgmm_io_mpio_fapl(comm);
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

/* "[a, b, c]" of n dims. */
static void fmt_dims(char *out, size_t len, int n, const hsize_t *d) {
  size_t k = (size_t)snprintf(out, len, "[");
  for (int i = 0; i < n && k < len; i++)
    k += (size_t)snprintf(out + k, len - k, "%s%llu", i ? ", " : "", (unsigned long long)d[i]);
  if (k < len) snprintf(out + k, len - k, "]");
}

static const char *class_name(H5T_class_t c) {
  return c == H5T_FLOAT ? "floating point" : c == H5T_INTEGER ? "integer" : c == H5T_STRING ? "string" : "other";
}

/* Check dataset `ds` against class `cls`, `ndim` dims of sizes want[] (TGMM_H5_ANY: any); the
 * sizes found go to got[] (may be NULL). Prints and returns TGMM_EUSER on a mismatch. */
static int check_shape(hid_t ds, const char *fname, const char *name, H5T_class_t cls, int ndim,
                       const hsize_t *want, hsize_t *got) {
  hid_t space = H5Dget_space(ds), type = H5Dget_type(ds);
  int rank = H5Sget_simple_extent_ndims(space);
  H5T_class_t c = H5Tget_class(type);
  hsize_t d[H5S_MAX_RANK] = {0};
  if (rank > 0 && rank <= H5S_MAX_RANK) H5Sget_simple_extent_dims(space, d, NULL);
  H5Tclose(type);
  H5Sclose(space);
  if (c != cls) {
    tgmm_error0("%s: dataset %s holds %s values, expected %s", fname, name, class_name(c),
               class_name(cls));
    return TGMM_EUSER;
  }
  int same = rank == ndim;
  for (int i = 0; same && i < ndim; i++) same = want[i] == TGMM_H5_ANY || d[i] == want[i];
  if (!same) {
    char g[256], w[256];
    fmt_dims(g, sizeof g, rank < 0 ? 0 : rank, d);
    hsize_t wd[H5S_MAX_RANK];
    for (int i = 0; i < ndim; i++) wd[i] = want[i];
    fmt_dims(w, sizeof w, ndim, wd);
    for (char *p = strstr(w, "18446744073709551615"); p; p = strstr(w, "18446744073709551615"))
      memmove(p + 1, p + 20, strlen(p + 20) + 1), *p = '*';
    tgmm_error0("%s: dataset %s has shape %s, expected %s", fname, name, g, w);
    return TGMM_EUSER;
  }
  for (int i = 0; got && i < ndim; i++) got[i] = d[i];
  return TGMM_OK;
}

int tgmm_h5_shape(hid_t file, const char *fname, const char *name, H5T_class_t cls, int ndim,
                  const hsize_t *want, hsize_t *got) {
  if (!tgmm_h5_exists(file, name)) {
    tgmm_error0("%s: dataset %s is missing", fname, name);
    return TGMM_EUSER;
  }
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  int rc = check_shape(ds, fname, name, cls, ndim, want, got);
  H5Dclose(ds);
  return rc;
}

int tgmm_h5_dims(hid_t file, const char *fname, const char *name, int ndim, H5T_class_t cls,
                 hsize_t *dims) {
  hsize_t any[H5S_MAX_RANK];
  for (int i = 0; i < H5S_MAX_RANK; i++) any[i] = TGMM_H5_ANY;
  return tgmm_h5_shape(file, fname, name, cls, ndim, any, dims);
}

/* Integers into a type narrower than 64 bits: read as int64 and check each value's range, so a
 * value beyond the type is an error naming the entry, never saturated by the conversion. */
static int read_narrow_int(hid_t ds, const char *fname, const char *name, hid_t memtype,
                           size_t n, void *buf) {
  int64_t *t = tgmm_malloc(sizeof(int64_t) * (n ? n : 1));
  if (!t) return TGMM_ENOMEM;
  int rc = TGMM_OK;
  if (n && H5Dread(ds, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, t) < 0) {
    tgmm_error("%s: cannot read dataset %s", fname, name);
    rc = TGMM_EUSER;
  }
  int sgn = H5Tget_sign(memtype) == H5T_SGN_2;
  size_t bits = 8 * H5Tget_size(memtype);
  int64_t lo = sgn ? -((int64_t)1 << (bits - 1)) : 0;
  int64_t hi = sgn ? ((int64_t)1 << (bits - 1)) - 1 : (int64_t)((1ull << bits) - 1);
  for (size_t i = 0; i < n && rc == TGMM_OK; i++) {
    if (t[i] < lo || t[i] > hi) {
      tgmm_error0("%s: dataset %s holds %" PRId64 " at entry %zu, beyond what tgmm reads it as "
                 "(%s %zu-bit integers: %" PRId64 "..%" PRId64 ")", fname, name, t[i], i,
                 sgn ? "signed" : "unsigned", bits, lo, hi);
      rc = TGMM_EUSER;
    } else if (bits == 32) {
      if (sgn) ((int32_t *)buf)[i] = (int32_t)t[i];
      else ((uint32_t *)buf)[i] = (uint32_t)t[i];
    } else if (bits == 16) {
      ((int16_t *)buf)[i] = (int16_t)t[i];
    } else {
      ((int8_t *)buf)[i] = (int8_t)t[i];
    }
  }
  free(t);
  return rc;
}

int tgmm_h5_read(hid_t file, const char *fname, const char *name, hid_t memtype, int ndim,
                 const hsize_t *dims, void *buf) {
  if (!tgmm_h5_exists(file, name)) {
    tgmm_error0("%s: dataset %s is missing", fname, name);
    return TGMM_EUSER;
  }
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  H5T_class_t cls = H5Tget_class(memtype);
  int rc = check_shape(ds, fname, name, cls, ndim, dims, NULL);
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= (size_t)dims[i];
  if (rc == TGMM_OK && cls == H5T_INTEGER && H5Tget_size(memtype) < 8) {
    rc = read_narrow_int(ds, fname, name, memtype, n, buf);
  } else if (rc == TGMM_OK && n > 0) {
    herr_t e;
    H5E_BEGIN_TRY { e = H5Dread(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); }
    H5E_END_TRY;
    if (e < 0) {
      tgmm_error("%s: cannot read dataset %s (a damaged file?)", fname, name);
      rc = TGMM_EUSER;
    }
  }
  H5Dclose(ds);
  return rc;
}

int tgmm_h5_read_strings(hid_t file, const char *fname, const char *name, hsize_t n, int width,
                         char *out) {
  hid_t mt = H5Tcopy(H5T_C_S1);
  H5Tset_size(mt, (size_t)width);
  H5Tset_strpad(mt, H5T_STR_NULLTERM);
  int rc = tgmm_h5_read(file, fname, name, mt, 1, &n, out);
  H5Tclose(mt);
  return rc;
}
