/* eval_write.c — the results file of `tgmm eval` and the summary printed at the end.
 *
 * Results layout (one row per (setting, task, method); R = task slots x methods; row q*M + j is
 * slot q, method j):
 *   /setting int32 [R], /task int64 [R] (the task's index: within its setting on a grid, in the
 *   file with --data), /method string [R], /K int32 [R], /N int32 [R],
 *   /method: the column's name: tgmm, em, spectral, oracle, lloyd, tgmm_em, truth, a variant
 *   (em_kpp10, ...), or with eval.iterations em@c / lloyd@c / em_kpp10@c (EM / Lloyd run with
 *   max_iter = c; tgmm, spectral and oracle once per task),
 *   /status string [R] (ok | not_applicable | failed), /iterations int32 [R],
 *   /loglik, /l2_means, /l2_weights, /accuracy, /misclustering, /seconds, /l2_scales float64 [R]
 *   (l2_scales: of the aligned standard deviations, for fits with a covariance: tgmm on an
 *   anisotropic model, EM/oracle with em.covariance other than identity, spectral)
 *   (a truth metric the data cannot give, e.g. --data without /means, is NaN);
 *   /delta float64 [R]: the task's smallest Euclidean distance between two true means (the same
 *   in every row of a task; NaN for K = 1 or --data without /means) — a covariate for the
 *   misclustering rate, not a metric, so not in the summary;
 *   with eval.save_predictions: /pred_weights float64 [R, Kmax], /pred_means [R, Kmax, d],
 *   /pred_scales [R, Kmax, d] (standard deviations; when a setting is anisotropic or the model
 *   predicts scales): each row's fitted mixture in the method's own component order, not aligned
 *   to the truth; components beyond the row's K (and coordinates beyond its d) are 0; a row that
 *   is not ok holds NaN in its first K components; with a label-head model also /pred_labels
 *   int32 [R, N_max]: the labels of the label rows (tgmm), -1 beyond a task's N and in every
 *   other row. A label row (tgmm of a model.head = labels | both model) has misclustering and
 *   accuracy = 1 - misclustering from its own labels and NaN parameter metrics; with
 *   model.head = both the method tgmm_plugin holds the plug-in labels of the mixture read-out.
 *   /settings/label string [S]; /settings/<grid key> [S] (the key's value per setting: int64 or
 *   float64 when every value is a number or a one-element list of one, else strings);
 *   with --data also /settings/K int32.
 * Root attributes: config, seed, world_size, version, git_commit, checkpoint, step (the
 * checkpoint's training step; 0 for an exported model or without tgmm), data, and with tgmm
 * model_config (the evaluated model's stored config: its depth, width, head).
 *
 * Every rank writes the rows it computed (collective hyperslab writes; a rank with none selects
 * none), so no rank ever holds all rows; the file is the same for any rank count. The summary is
 * printed by rank 0 from per-(setting, method) counts, sums and sums of squares reduced over the
 * ranks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval_impl.h"
#include "tgmm/baseline.h"
#include "tgmm/common.h"
#include "tgmm/h5io.h"
#include "tgmm/results.h"

/* Setting of task slot q (the last s with slot0[s] <= q). */
static int slot_setting(const evaluator *ev, int64_t q) {
  int lo = 0, hi = ev->ns - 1;
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (ev->slot0[mid] <= q) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/* Global row of local row i (blocks in order). Calls are sequential in i: *b, *k track the
 * block and the row within it. */
static int64_t global_row(const evaluator *ev, int *b, hsize_t *k) {
  while (*k >= ev->blk_nrows[*b]) {
    *k = 0;
    (*b)++;
  }
  return (int64_t)(ev->blk_row0[*b] + (*k)++);
}

static int write_col(hid_t f, const evaluator *ev, const char *name, hid_t type, int ndim,
                     const hsize_t *dims, const void *buf) {
  return tgmm_h5_write_row_blocks(f, name, type, ndim, dims, ev->nblk, ev->blk_row0,
                                  ev->blk_nrows, buf);
}

/* One buffer of 8 bytes a local row, reused for every column. */
static int write_numbers(hid_t f, const evaluator *ev, void *buf) {
  hsize_t R = (hsize_t)ev->nrows;
  double *col = buf;
  int32_t *ic = buf;
  int64_t *lc = buf;
  static const char *const fnames[] = {"/loglik", "/l2_means", "/l2_weights", "/accuracy",
                                       "/misclustering", "/seconds", "/l2_scales", "/delta"};
  static const int fcols[] = {C_LOGLIK, C_L2M, C_L2W, C_ACC, C_MIS, C_SEC, C_L2S, -1};
  static const char *const inames[] = {"/K", "/N", "/iterations"};

  int rc = TGMM_OK;
  for (int c = 0; c < 8 && rc == TGMM_OK; c++) {
    for (int64_t r = 0; r < ev->nloc; r++)
      col[r] = fcols[c] < 0 ? ev->rows[r].delta : ev->rows[r].f[fcols[c]];
    rc = write_col(f, ev, fnames[c], H5T_NATIVE_DOUBLE, 1, &R, col);
  }
  for (int c = 0; c < 3 && rc == TGMM_OK; c++) {
    for (int64_t r = 0; r < ev->nloc; r++) {
      const ev_row *w = &ev->rows[r];
      ic[r] = c == 0 ? w->K : c == 1 ? w->N : w->iterations;
    }
    rc = write_col(f, ev, inames[c], H5T_NATIVE_INT32, 1, &R, ic);
  }
  for (int pass = 0; pass < 2 && rc == TGMM_OK; pass++) {
    int b = 0;
    hsize_t k = 0;
    for (int64_t r = 0; r < ev->nloc; r++) {
      int64_t q = global_row(ev, &b, &k) / ev->nm;
      int s = slot_setting(ev, q);
      if (pass == 0) ic[r] = s;
      else lc[r] = ev->slot_task ? ev->slot_task[q] : q - ev->slot0[s];
    }
    rc = pass == 0 ? write_col(f, ev, "/setting", H5T_NATIVE_INT32, 1, &R, ic)
                   : write_col(f, ev, "/task", H5T_NATIVE_INT64, 1, &R, lc);
  }
  if (rc != TGMM_OK || !ev->save_pred) return rc;
  hsize_t dw[2] = {R, (hsize_t)ev->pred_K}, dm[3] = {R, (hsize_t)ev->pred_K, (hsize_t)ev->pred_d};
  rc = write_col(f, ev, "/pred_weights", H5T_NATIVE_DOUBLE, 2, dw, ev->pw);
  if (rc == TGMM_OK) rc = write_col(f, ev, "/pred_means", H5T_NATIVE_DOUBLE, 3, dm, ev->pm);
  if (rc == TGMM_OK && ev->pred_scales)
    rc = write_col(f, ev, "/pred_scales", H5T_NATIVE_DOUBLE, 3, dm, ev->psd);
  hsize_t dl[2] = {R, (hsize_t)ev->pred_N};
  if (rc == TGMM_OK && ev->pred_N)
    rc = write_col(f, ev, "/pred_labels", H5T_NATIVE_INT32, 2, dl, ev->plab);
  return rc;
}

/* /settings/<key>: a number per setting when every value of the key is one (int64 when all
 * are integers, else float64; a one-element list [3] counts as 3), else the values as strings. */
static int write_grid_values(hid_t f, const evaluator *ev, int g, const char *name, const char **s) {
  hsize_t S = (hsize_t)ev->ns, ns = tgmm_mpi.rank == 0 ? S : 0;
  double *x = tgmm_calloc(S ? S : 1, sizeof(double));
  int64_t *iv = tgmm_calloc(S ? S : 1, sizeof(int64_t));
  if (!x || !iv) {
    free(x), free(iv);
    return TGMM_ENOMEM;
  }
  int numeric = 1, integral = 1;
  for (int v = 0; v < ev->cfg->eval.grid[g].n; v++) { /* the same answer on every rank */
    char bare[64], *end;
    tgmm_report_bare_value(ev->cfg->eval.grid[g].vals[v], bare, sizeof bare);
    double y = strtod(bare, &end);
    numeric &= bare[0] && !*end && isfinite(y);
    integral &= numeric && y == floor(y) && fabs(y) < 9e15;
  }
  for (hsize_t i = 0; i < ns; i++) {
    const char *val = ev->cfg->eval.grid[g].vals[ev->value_idx[i][g]];
    char bare[64];
    tgmm_report_bare_value(val, bare, sizeof bare);
    x[i] = numeric ? strtod(bare, NULL) : 0;
    iv[i] = (int64_t)x[i];
    s[i] = val;
  }
  int rc = !numeric ? tgmm_h5_write_strings(f, name, S, 64, 0, ns, s)
           : integral ? tgmm_h5_write_rows(f, name, H5T_NATIVE_INT64, 1, &S, 0, ns, iv)
                      : tgmm_h5_write_rows(f, name, H5T_NATIVE_DOUBLE, 1, &S, 0, ns, x);
  free(x), free(iv);
  return rc;
}

/* buf: 16 bytes a local row, reused for /method and /status. */
static int write_strings(hid_t f, const evaluator *ev, char *buf) {
  hsize_t R = (hsize_t)ev->nrows, S = (hsize_t)ev->ns, ns = tgmm_mpi.rank == 0 ? S : 0;
  int b = 0;
  hsize_t k = 0;
  for (int64_t r = 0; r < ev->nloc; r++)
    strncpy(buf + 16 * r, tgmm_eval_column_name(ev, (int)(global_row(ev, &b, &k) % ev->nm)), 16);
  int rc = tgmm_h5_write_packed_strings(f, "/method", R, 16, ev->nblk, ev->blk_row0,
                                        ev->blk_nrows, buf);
  for (int64_t r = 0; r < ev->nloc; r++)
    strncpy(buf + 16 * r, tgmm_status_name[ev->rows[r].status], 16);
  if (rc == TGMM_OK)
    rc = tgmm_h5_write_packed_strings(f, "/status", R, 16, ev->nblk, ev->blk_row0,
                                      ev->blk_nrows, buf);
  const char **s = tgmm_malloc(sizeof(char *) * (S ? S : 1));
  if (!s) rc = TGMM_ENOMEM;
  for (hsize_t i = 0; rc == TGMM_OK && i < ns; i++) s[i] = ev->label[i];
  if (rc == TGMM_OK) rc = tgmm_h5_write_strings(f, "/settings/label", S, 512, 0, ns, s);
  for (int g = 0; g < ev->cfg->eval.n_grid && rc == TGMM_OK; g++) {
    char name[128];
    snprintf(name, sizeof name, "/settings/%s", ev->cfg->eval.grid[g].key);
    rc = write_grid_values(f, ev, g, name, s);
  }
  if (rc == TGMM_OK && ev->slot_task) {
    int32_t *K = tgmm_calloc(S ? S : 1, sizeof(int32_t));
    for (hsize_t i = 0; K && i < ns; i++) K[i] = ev->scfg[i].K[0];
    rc = K ? tgmm_h5_write_rows(f, "/settings/K", H5T_NATIVE_INT32, 1, &S, 0, ns, K) : TGMM_ENOMEM;
    free(K);
  }
  free(s);
  return rc;
}

/* Rank 0: the summary table from the per-(setting, method) sums reduced over the ranks. */
static int summary(const evaluator *ev) {
  _Static_assert(EV_NF == TGMM_REPORT_NMETRIC, "the row's float columns are the report's metrics");
  size_t cells = (size_t)ev->ns * (size_t)ev->nm, len = cells * TGMM_REPORT_NMETRIC * EV_NSUM;
  double *sum = tgmm_calloc(len ? len : 1, sizeof(double));
  int rc = tgmm_agree(sum ? TGMM_OK : TGMM_ENOMEM);
  if (rc != TGMM_OK) {
    free(sum);
    return rc;
  }
  int b = 0;
  hsize_t k = 0;
  for (int64_t r = 0; r < ev->nloc; r++) {
    int64_t g = global_row(ev, &b, &k);
    size_t cell = (size_t)slot_setting(ev, g / ev->nm) * (size_t)ev->nm + (size_t)(g % ev->nm);
    const ev_row *row = &ev->rows[r];
    for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
      double v = row->f[c], *sm = sum + (cell * TGMM_REPORT_NMETRIC + (size_t)c) * EV_NSUM;
      if (row->status != TGMM_STATUS_OK || !isfinite(v)) {
        sm[SUM_NOTHER] += 1;
      } else {
        sm[SUM_NOK] += 1;
        sm[SUM_S1] += v;
        sm[SUM_S2] += v * v;
      }
    }
  }
  for (size_t off = 0; off < len; off += (size_t)1 << 27) { /* counts of at most 2^27 doubles */
    int cnt = (int)(len - off < ((size_t)1 << 27) ? len - off : (size_t)1 << 27);
    MPI_Reduce(tgmm_mpi.rank == 0 ? MPI_IN_PLACE : sum + off, sum + off, cnt, MPI_DOUBLE, MPI_SUM,
               0, tgmm_mpi.comm);
  }
  if (tgmm_mpi.rank == 0) {
    const char *names[EV_MAXCOL];
    for (int j = 0; j < ev->nm; j++) names[j] = tgmm_eval_column_name(ev, j);
    tgmm_report r;
    static const int metrics[] = {0, 1, 2, 3, 6};
    if (tgmm_report_from_sums(&r, ev->ns, ev->nm, (const char(*)[512])ev->label, names, sum) ==
        TGMM_OK)
      tgmm_report_markdown(&r, metrics, 4 + tgmm_report_has_metric(&r, 6), stdout);
    tgmm_report_free(&r);
  }
  free(sum);
  return TGMM_OK;
}

int tgmm_eval_write(evaluator *ev, const char *path) {
  long long mine = ev->nloc, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_LONG_LONG, MPI_SUM, tgmm_mpi.comm);
  if (all != ev->nrows) {
    tgmm_error0("eval: internal error: %lld rows computed for %lld", all, (long long)ev->nrows);
    return TGMM_EFAIL;
  }
  tgmm_h5out out;
  TGMM_TRY(tgmm_agree(tgmm_h5_create(&out, path, tgmm_mpi.comm)));
  char *buf = tgmm_calloc((size_t)(ev->nloc ? ev->nloc : 1), 16);
  int rc = buf ? write_numbers(out.file, ev, buf) : TGMM_ENOMEM;
  if (rc == TGMM_OK) rc = write_strings(out.file, ev, buf);
  free(buf);
  if (rc == TGMM_OK) rc = tgmm_h5_write_meta(out.file, ev->cfg, tgmm_mpi.size);
  if (rc == TGMM_OK) rc = tgmm_h5_attr_str(out.file, "checkpoint", ev->ckpt ? ev->ckpt : "");
  if (rc == TGMM_OK) rc = tgmm_h5_attr_i64(out.file, "step", ev->step);
  if (rc == TGMM_OK) rc = tgmm_h5_attr_str(out.file, "data", ev->data ? ev->data : "");
  if (rc == TGMM_OK && ev->model_ok && ev->tcfg.text) /* the evaluated model's own config */
    rc = tgmm_h5_attr_str(out.file, "model_config", ev->tcfg.text);
  rc = tgmm_agree(rc);
  if (rc != TGMM_OK) {
    tgmm_h5_abort(&out);
    return rc;
  }
  TGMM_TRY(tgmm_h5_commit(&out));
  if (tgmm_mpi.verbosity >= 2) return summary(ev); /* the tables are tgmm report's (once) */
  tgmm_info("eval: tables and the paired verdict: tgmm report --data %s (or eval --verbose)", path);
  return TGMM_OK;
}
