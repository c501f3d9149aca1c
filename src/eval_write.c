/* eval_write.c — the results file of `tgmm eval` and the summary printed at the end.
 *
 * Results layout (one row per (setting, task, method); R = settings x tasks x methods):
 *   /setting int32 [R], /task int64 [R], /method string [R], /K int32 [R], /N int32 [R],
 *   /status string [R] (ok | not_applicable | failed), /iterations int32 [R],
 *   /loglik, /l2_means, /l2_weights, /accuracy, /misclustering, /seconds float64 [R]
 *   /settings/label string [S]; /settings/<grid key> string [S] (the key's value per setting)
 * Root attributes: config, seed, world_size, version, git_commit, checkpoint. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_impl.h"
#include "tgmm/baseline.h"
#include "tgmm/common.h"
#include "tgmm/h5io.h"

static int write_numbers(hid_t f, const evaluator *ev, hsize_t n) {
  hsize_t R = (hsize_t)ev->nrows;
  double *col = tgmm_malloc(sizeof(double) * (R ? R : 1));
  int32_t *ic = tgmm_malloc(sizeof(int32_t) * (R ? R : 1));
  int64_t *lc = tgmm_malloc(sizeof(int64_t) * (R ? R : 1));
  if (!col || !ic || !lc) {
    free(col), free(ic), free(lc);
    return TGMM_ENOMEM;
  }
  static const char *const fnames[] = {"/loglik", "/l2_means", "/l2_weights", "/accuracy",
                                       "/misclustering", "/seconds"};
  static const int fcols[] = {C_LOGLIK, C_L2M, C_L2W, C_ACC, C_MIS, C_SEC};
  static const char *const inames[] = {"/K", "/N", "/iterations"};
  static const int icols[] = {C_K, C_N, C_ITER};
  int rc = TGMM_OK;
  for (int c = 0; c < 6 && rc == TGMM_OK; c++) {
    for (hsize_t r = 0; r < n; r++) col[r] = ev->rows[r * EV_NCOL + fcols[c]];
    rc = tgmm_h5_write_rows(f, fnames[c], H5T_NATIVE_DOUBLE, 1, &R, 0, n, col);
  }
  for (int c = 0; c < 3 && rc == TGMM_OK; c++) {
    for (hsize_t r = 0; r < n; r++) ic[r] = (int32_t)ev->rows[r * EV_NCOL + icols[c]];
    rc = tgmm_h5_write_rows(f, inames[c], H5T_NATIVE_INT32, 1, &R, 0, n, ic);
  }
  if (rc == TGMM_OK) {
    for (hsize_t r = 0; r < n; r++) ic[r] = (int32_t)(r / (hsize_t)(ev->tps * ev->nm));
    rc = tgmm_h5_write_rows(f, "/setting", H5T_NATIVE_INT32, 1, &R, 0, n, ic);
  }
  if (rc == TGMM_OK) {
    for (hsize_t r = 0; r < n; r++) lc[r] = (int64_t)((r / (hsize_t)ev->nm) % (hsize_t)ev->tps);
    rc = tgmm_h5_write_rows(f, "/task", H5T_NATIVE_INT64, 1, &R, 0, n, lc);
  }
  free(col), free(ic), free(lc);
  return rc;
}

static int write_strings(hid_t f, const evaluator *ev, hsize_t n) {
  hsize_t R = (hsize_t)ev->nrows, S = (hsize_t)ev->ns, ns = tgmm_mpi.rank == 0 ? S : 0;
  const char **s = tgmm_malloc(sizeof(char *) * (R > S ? R : S) + 1);
  if (!s) return TGMM_ENOMEM;
  for (hsize_t r = 0; r < n; r++) s[r] = tgmm_eval_method_name(ev->methods[r % (hsize_t)ev->nm]);
  int rc = tgmm_h5_write_strings(f, "/method", R, 16, 0, n, s);
  for (hsize_t r = 0; r < n; r++) s[r] = tgmm_status_name[(int)ev->rows[r * EV_NCOL + C_STATUS]];
  if (rc == TGMM_OK) rc = tgmm_h5_write_strings(f, "/status", R, 16, 0, n, s);
  for (hsize_t i = 0; i < ns; i++) s[i] = ev->label[i];
  if (rc == TGMM_OK) rc = tgmm_h5_write_strings(f, "/settings/label", S, 512, 0, ns, s);
  for (int g = 0; g < ev->cfg->eval.n_grid && rc == TGMM_OK; g++) {
    char name[128];
    snprintf(name, sizeof name, "/settings/%s", ev->cfg->eval.grid[g].key);
    for (hsize_t i = 0; i < ns; i++) s[i] = ev->cfg->eval.grid[g].vals[ev->value_idx[i][g]];
    rc = tgmm_h5_write_strings(f, name, S, 64, 0, ns, s);
  }
  free(s);
  return rc;
}

int tgmm_eval_write(evaluator *ev, const char *path) {
  size_t count = (size_t)ev->nrows * EV_NCOL;
  if (tgmm_mpi.size > 1) /* each row was filled by exactly one rank; the others hold zeros */
    MPI_Reduce(tgmm_mpi.rank == 0 ? MPI_IN_PLACE : ev->rows, ev->rows, (int)count, MPI_DOUBLE,
               MPI_SUM, 0, tgmm_mpi.comm);
  int rc = TGMM_OK;
  if (tgmm_mpi.rank == 0)
    for (int64_t r = 0; r < ev->nrows; r++)
      if (ev->rows[r * EV_NCOL + C_DONE] != 1) {
        tgmm_error("eval: internal error: row %lld was computed %g times", (long long)r,
                   ev->rows[r * EV_NCOL + C_DONE]);
        rc = TGMM_EFAIL;
        break;
      }
  TGMM_TRY(tgmm_agree(rc));
  tgmm_h5out out;
  TGMM_TRY(tgmm_agree(tgmm_h5_create(&out, path, tgmm_mpi.comm)));
  hsize_t n = tgmm_mpi.rank == 0 ? (hsize_t)ev->nrows : 0; /* rank 0 writes, all take part */
  rc = write_numbers(out.file, ev, n);
  if (rc == TGMM_OK) rc = write_strings(out.file, ev, n);
  if (rc == TGMM_OK) rc = tgmm_h5_write_meta(out.file, ev->cfg, tgmm_mpi.size);
  if (rc == TGMM_OK) rc = tgmm_h5_attr_str(out.file, "checkpoint", ev->ckpt ? ev->ckpt : "");
  rc = tgmm_agree(rc);
  if (rc != TGMM_OK) {
    tgmm_h5_abort(&out);
    return rc;
  }
  return tgmm_h5_commit(&out);
}

