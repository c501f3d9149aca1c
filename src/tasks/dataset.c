/* dataset.c — the reader of task dataset files (layout: include/tgmm/dataset.h and README
 * "Dataset files"): open and validate a file, read a task, its truth or a range of samples. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/dataset.h"
#include "tgmm/h5io.h"

static int check_truth(tgmm_dataset *ds, const char *name, int ndim, int *has) {
  *has = 0;
  if (!tgmm_h5_exists(ds->file, name)) return TGMM_OK;
  hsize_t dims[3];
  TGMM_TRY(tgmm_h5_dims(ds->file, ds->path, name, ndim, H5T_FLOAT, dims));
  int ok = dims[0] == (hsize_t)ds->T && (ndim < 2 || dims[1] == (hsize_t)ds->Kmax) &&
           (ndim < 3 || dims[2] == (hsize_t)ds->d);
  if (!ok) {
    tgmm_error0("%s: dataset %s has shape inconsistent with T=%lld, Kmax=%d, d=%d", ds->path, name,
                (long long)ds->T, ds->Kmax, ds->d);
    return TGMM_EUSER;
  }
  *has = 1;
  return TGMM_OK;
}

/* A 1-D integer dataset `name` with n entries (`what`: what n counts, for the message). */
static int check_int1(tgmm_dataset *ds, const char *name, int64_t n, const char *what) {
  hsize_t dd[1];
  TGMM_TRY(tgmm_h5_dims(ds->file, ds->path, name, 1, H5T_INTEGER, dd));
  if (dd[0] != (hsize_t)n) {
    tgmm_error0("%s: dataset %s has %llu entries, but %s %lld", ds->path, name,
                (unsigned long long)dd[0], what, (long long)n);
    return TGMM_EUSER;
  }
  return TGMM_OK;
}

static int read_index(tgmm_dataset *ds, int default_K) {
  hsize_t xd[2], od[1];
  TGMM_TRY(tgmm_h5_dims(ds->file, ds->path, "/x", 2, H5T_FLOAT, xd));
  TGMM_TRY(tgmm_h5_dims(ds->file, ds->path, "/offsets", 1, H5T_INTEGER, od));
  if (od[0] < 1 || xd[1] < 1) {
    tgmm_error0("%s: dataset /offsets must have T+1 >= 1 entries and /x at least one column",
                ds->path);
    return TGMM_EUSER;
  }
  ds->S = (int64_t)xd[0];
  ds->d = (int)xd[1];
  ds->T = (int64_t)od[0] - 1;
  if (ds->T == 0) {
    tgmm_error0("%s: the file holds no tasks (dataset /offsets has a single entry)", ds->path);
    return TGMM_EUSER;
  }
  ds->offsets = tgmm_malloc(sizeof(int64_t) * (size_t)(ds->T + 1));
  ds->K = tgmm_malloc(sizeof(int32_t) * (size_t)(ds->T ? ds->T : 1));
  if (!ds->offsets || !ds->K) return TGMM_ENOMEM;
  TGMM_TRY(tgmm_h5_read(ds->file, ds->path, "/offsets", H5T_NATIVE_INT64, 1, (hsize_t[]){(hsize_t)ds->T + 1}, ds->offsets));
  if (ds->offsets[0] != 0 || ds->offsets[ds->T] != ds->S) {
    tgmm_error0("%s: dataset /offsets must start at 0 and end at the number of rows of /x (%lld)",
                ds->path, (long long)ds->S);
    return TGMM_EUSER;
  }
  for (int64_t t = 0; t < ds->T; t++)
    if (ds->offsets[t + 1] < ds->offsets[t]) {
      tgmm_error0("%s: dataset /offsets decreases at entry %lld", ds->path, (long long)t + 1);
      return TGMM_EUSER;
    }
  if (tgmm_h5_exists(ds->file, "/K")) {
    TGMM_TRY(check_int1(ds, "/K", ds->T, "/offsets describes tasks:"));
    TGMM_TRY(tgmm_h5_read(ds->file, ds->path, "/K", H5T_NATIVE_INT32, 1, (hsize_t[]){(hsize_t)ds->T}, ds->K));
  } else if (default_K < 1) { /* the config's K list has several values: which one is meant? */
    tgmm_error0("%s: no dataset /K (each task's number of components), and the config's K lists "
                "several values: give the file's K with K=[k] (e.g. K=[3] for 3 clusters), or "
                "write /K", ds->path);
    return TGMM_EUSER;
  } else {
    for (int64_t t = 0; t < ds->T; t++) ds->K[t] = default_K;
  }
  return TGMM_OK;
}

static int find_kmax(tgmm_dataset *ds) {
  int kmax = 1;
  for (int64_t t = 0; t < ds->T; t++) {
    if (ds->K[t] < 1) {
      tgmm_error0("%s: dataset /K has K = %d < 1 for task %lld", ds->path, ds->K[t], (long long)t);
      return TGMM_EUSER;
    }
    if (ds->K[t] > kmax) kmax = ds->K[t];
  }
  const char *shaped[] = {"/weights", "/means", "/scales"}, *by = "/K";
  for (int i = 0; i < 3; i++) {
    if (!tgmm_h5_exists(ds->file, shaped[i])) continue;
    hsize_t dims[3];
    TGMM_TRY(tgmm_h5_dims(ds->file, ds->path, shaped[i], i == 0 ? 2 : 3, H5T_FLOAT, dims));
    if ((int)dims[1] < kmax) {
      tgmm_error0("%s: dataset %s has %llu components, but %s %s %d", ds->path, shaped[i],
                  (unsigned long long)dims[1], by, by[1] == 'K' ? "holds K =" : "has", kmax);
      return TGMM_EUSER;
    }
    kmax = (int)dims[1];
    by = shaped[i];
  }
  ds->Kmax = kmax;
  return TGMM_OK;
}

static int open_impl(tgmm_dataset *ds, int default_K) {
  TGMM_TRY(read_index(ds, default_K));
  TGMM_TRY(find_kmax(ds));
  if (tgmm_h5_exists(ds->file, "/z")) {
    TGMM_TRY(check_int1(ds, "/z", ds->S, "/x has rows:"));
    ds->has_z = 1;
  }
  TGMM_TRY(check_truth(ds, "/weights", 2, &ds->has_weights));
  TGMM_TRY(check_truth(ds, "/means", 3, &ds->has_means));
  TGMM_TRY(check_truth(ds, "/scales", 3, &ds->has_scales));
  return TGMM_OK;
}

/* Every value of /x is finite: each rank scans its share of the rows (independent reads of
 * blocks of rows), and the first non-finite row over all ranks is reported by rank 0 naming the
 * file, the dataset, the row and its task. Collective over comm. */
static int check_finite(tgmm_dataset *ds, MPI_Comm comm) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int64_t r0 = ds->S * rank / size, r1 = ds->S * (rank + 1) / size;
  int64_t blk = ds->d > 0 ? (1 << 20) / ds->d + 1 : 1;
  double *x = tgmm_malloc(sizeof(double) * (size_t)blk * (size_t)ds->d);
  int64_t bad = x ? INT64_MAX : -1;
  int rc = x ? TGMM_OK : TGMM_ENOMEM;
  for (int64_t r = r0; rc == TGMM_OK && bad == INT64_MAX && r < r1; r += blk) {
    int64_t n = r1 - r < blk ? r1 - r : blk;
    rc = tgmm_dataset_read_samples(ds, r, n, x, NULL);
    for (int64_t i = 0; rc == TGMM_OK && i < n * ds->d; i++)
      if (!isfinite(x[i])) {
        bad = r + i / ds->d;
        break;
      }
  }
  free(x);
  int all = rc;
  MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, comm);
  if (all != TGMM_OK) return all;
  int64_t first = bad;
  MPI_Allreduce(&bad, &first, 1, MPI_INT64_T, MPI_MIN, comm);
  if (first == INT64_MAX) return TGMM_OK;
  int64_t t = 0;
  while (t + 1 < ds->T && ds->offsets[t + 1] <= first) t++;
  tgmm_error0("%s: dataset /x has a non-finite value (NaN or infinity) in row %lld (task %lld, "
              "its sample %lld); the data must be finite", ds->path, (long long)first,
              (long long)t, (long long)(first - ds->offsets[t]));
  return TGMM_EUSER;
}

/* Every rank opens the file (the sample arrays are read by hyperslab, collectively or not);
 * rank 0 alone reads and checks the index (/offsets, /K, the shapes) and broadcasts it. */
int tgmm_dataset_open(tgmm_dataset *ds, const char *path, MPI_Comm comm, int default_K) {
  memset(ds, 0, sizeof *ds);
  ds->file = H5I_INVALID_HID;
  snprintf(ds->path, sizeof ds->path, "%s", path);
  int rank, rc = TGMM_OK;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    hid_t f;
    rc = tgmm_h5_open_read(path, MPI_COMM_SELF, &f);
    if (rc == TGMM_OK) {
      ds->file = f;
      rc = open_impl(ds, default_K);
      H5Fclose(f);
      ds->file = H5I_INVALID_HID;
    }
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
  if (rc == TGMM_OK) {
    int64_t hdr[8] = {ds->T, ds->S, ds->d, ds->Kmax, ds->has_z, ds->has_weights, ds->has_means,
                      ds->has_scales};
    MPI_Bcast(hdr, 8, MPI_INT64_T, 0, comm);
    ds->T = hdr[0], ds->S = hdr[1], ds->d = (int)hdr[2], ds->Kmax = (int)hdr[3];
    ds->has_z = (int)hdr[4], ds->has_weights = (int)hdr[5], ds->has_means = (int)hdr[6];
    ds->has_scales = (int)hdr[7];
    if (rank != 0) {
      ds->offsets = tgmm_malloc(sizeof(int64_t) * (size_t)(ds->T + 1));
      ds->K = tgmm_malloc(sizeof(int32_t) * (size_t)(ds->T ? ds->T : 1));
    }
    int mine = ds->offsets && ds->K ? TGMM_OK : TGMM_ENOMEM, all;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MAX, comm);
    rc = all;
  }
  if (rc == TGMM_OK) {
    tgmm_bcast_bytes(ds->offsets, sizeof(int64_t) * (size_t)(ds->T + 1), 0, comm, 0);
    tgmm_bcast_bytes(ds->K, sizeof(int32_t) * (size_t)ds->T, 0, comm, 0);
    rc = tgmm_h5_open_read(path, comm, &ds->file);
  }
  if (rc == TGMM_OK) rc = check_finite(ds, comm);
  if (rc != TGMM_OK) tgmm_dataset_close(ds);
  return rc;
}

int tgmm_dataset_read_samples(const tgmm_dataset *ds, int64_t row0, int64_t n, double *x,
                              int32_t *z) {
  TGMM_TRY(tgmm_h5_read_rows(ds->file, ds->path, "/x", H5T_NATIVE_DOUBLE, (hsize_t)row0,
                             (hsize_t)n, x));
  if (z && ds->has_z)
    TGMM_TRY(tgmm_h5_read_rows(ds->file, ds->path, "/z", H5T_NATIVE_INT32, (hsize_t)row0,
                               (hsize_t)n, z));
  return TGMM_OK;
}

/* One row of a [T, Kmax(, d)] truth dataset; its first `len` values into out. */
static int truth_row(const tgmm_dataset *ds, const char *name, int64_t t, double *buf,
                     size_t len, double *out) {
  TGMM_TRY(tgmm_h5_read_rows(ds->file, ds->path, name, H5T_NATIVE_DOUBLE, (hsize_t)t, 1, buf));
  memcpy(out, buf, sizeof(double) * len);
  return TGMM_OK;
}

int tgmm_dataset_read_truth(const tgmm_dataset *ds, int64_t t, double *w, double *m, double *s) {
  size_t K = (size_t)ds->K[t], d = (size_t)ds->d;
  double *buf = tgmm_malloc(sizeof(double) * (size_t)ds->Kmax * d);
  if (!buf) return TGMM_ENOMEM;
  int rc = TGMM_OK;
  if (w && ds->has_weights) rc = truth_row(ds, "/weights", t, buf, K, w);
  if (rc == TGMM_OK && m && ds->has_means) rc = truth_row(ds, "/means", t, buf, K * d, m);
  if (rc == TGMM_OK && s && ds->has_scales) rc = truth_row(ds, "/scales", t, buf, K * d, s);
  free(buf);
  return rc;
}

int tgmm_dataset_read_task(const tgmm_dataset *ds, int64_t t, tgmm_task *task) {
  memset(task, 0, sizeof *task);
  int64_t n = ds->offsets[t + 1] - ds->offsets[t];
  task->id = t;
  task->cls = -1;
  task->d = ds->d;
  task->K = ds->K[t];
  task->N = (int)n;
  size_t K = (size_t)task->K, d = (size_t)ds->d;
  task->weights = tgmm_calloc(K, sizeof(double));
  task->means = tgmm_calloc(K * d, sizeof(double));
  task->scales = tgmm_malloc(sizeof(double) * K * d);
  task->x = tgmm_malloc(sizeof(double) * (size_t)(n ? n : 1) * d);
  task->z = tgmm_calloc((size_t)(n ? n : 1), sizeof(int32_t));
  if (!task->weights || !task->means || !task->scales || !task->x || !task->z) {
    tgmm_task_free(task);
    return TGMM_ENOMEM;
  }
  for (size_t i = 0; i < K * d; i++) task->scales[i] = 1.0;
  for (size_t k = 0; k < K; k++) task->weights[k] = 1.0 / (double)K;
  int rc = tgmm_dataset_read_samples(ds, ds->offsets[t], n, task->x, task->z);
  if (rc == TGMM_OK) rc = tgmm_dataset_read_truth(ds, t, task->weights, task->means, task->scales);
  if (rc != TGMM_OK) tgmm_task_free(task);
  return rc;
}

void tgmm_dataset_close(tgmm_dataset *ds) {
  if (ds->file >= 0) H5Fclose(ds->file);
  ds->file = H5I_INVALID_HID;
  free(ds->offsets);
  free(ds->K);
  ds->offsets = NULL;
  ds->K = NULL;
}
