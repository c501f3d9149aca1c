/* results.c — the results data model that `tgmm eval` writes and `tgmm report` reads: the
 * per-(setting, method) summary of a results file (mean, sd and counts of every metric, read and
 * aggregated here, with each method paired against tgmm over the shared tasks) or of the sums that
 * eval reduces over its ranks, its Markdown table, and the bare form of a grid value. Rank-local; no MPI communication. */
#include "tgmm/results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/h5io.h"

const char *const tgmm_report_metric_name[TGMM_REPORT_NMETRIC] = {
    "l2_means", "l2_weights", "accuracy", "misclustering", "loglik", "seconds", "l2_scales"};


typedef struct {
  hsize_t R, S;
  int32_t *setting;
  int64_t *task; /* NULL: a file without /task (no paired comparisons) */
  char (*method)[16], (*status)[16];
  double *col[TGMM_REPORT_NMETRIC];
} rows;

static void rows_free(rows *w) {
  free(w->setting), free(w->task), free(w->method), free(w->status);
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) free(w->col[c]);
}

static int read_rows(hid_t f, const char *path, rows *w, tgmm_report *r) {
  hsize_t d[1];
  TGMM_TRY(tgmm_h5_dims(f, path, "/setting", 1, H5T_INTEGER, d));
  w->R = d[0];
  TGMM_TRY(tgmm_h5_dims(f, path, "/settings/label", 1, H5T_STRING, d));
  w->S = d[0];
  size_t R = (size_t)(w->R ? w->R : 1);
  w->setting = tgmm_malloc(sizeof(int32_t) * R);
  w->method = tgmm_malloc(16 * R);
  w->status = tgmm_malloc(16 * R);
  r->label = tgmm_calloc((size_t)(w->S ? w->S : 1), 512);
  int ok = w->setting && w->method && w->status && r->label;
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) ok = (w->col[c] = tgmm_malloc(sizeof(double) * R)) && ok;
  if (!ok) return TGMM_ENOMEM;
  TGMM_TRY(tgmm_h5_read(f, path, "/setting", H5T_NATIVE_INT32, 1, &w->R, w->setting));
  TGMM_TRY(tgmm_h5_read_strings(f, path, "/method", w->R, 16, (char *)w->method));
  TGMM_TRY(tgmm_h5_read_strings(f, path, "/status", w->R, 16, (char *)w->status));
  TGMM_TRY(tgmm_h5_read_strings(f, path, "/settings/label", w->S, 512, (char *)r->label));
  if (tgmm_h5_exists(f, "/task")) {
    TGMM_TRY(tgmm_h5_dims(f, path, "/task", 1, H5T_INTEGER, d));
    if (d[0] == w->R && (w->task = tgmm_malloc(sizeof(int64_t) * R)) == NULL) return TGMM_ENOMEM;
    if (w->task) TGMM_TRY(tgmm_h5_read(f, path, "/task", H5T_NATIVE_INT64, 1, &w->R, w->task));
  }
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
    char name[64];
    snprintf(name, sizeof name, "/%s", tgmm_report_metric_name[c]);
    if (c == 6 && !tgmm_h5_exists(f, name)) { /* a file written before l2_scales */
      for (hsize_t i = 0; i < w->R; i++) w->col[c][i] = NAN;
      continue;
    }
    TGMM_TRY(tgmm_h5_dims(f, path, name, 1, H5T_FLOAT, d));
    if (d[0] != w->R) {
      tgmm_error("%s: dataset %s has %llu rows, /setting has %llu", path, name,
                 (unsigned long long)d[0], (unsigned long long)w->R);
      return TGMM_EUSER;
    }
    TGMM_TRY(tgmm_h5_read(f, path, name, H5T_NATIVE_DOUBLE, 1, &w->R, w->col[c]));
  }
  return TGMM_OK;
}

static int method_index(tgmm_report *r, const char *m) {
  for (int j = 0; j < r->nm; j++)
    if (!strcmp(r->method[j], m)) return j;
  if (r->nm == 32) return -1;
  snprintf(r->method[r->nm], 16, "%s", m);
  return r->nm++;
}

/* Mean and sd per (setting, method, metric). */
static int aggregate(const rows *w, tgmm_report *r, const char *path) {
  r->ns = (int)w->S;
  r->method = tgmm_calloc(32, 16);
  double *sum = tgmm_calloc((size_t)r->ns * 32 * TGMM_REPORT_NMETRIC * 2, sizeof(double));
  r->cell = tgmm_calloc((size_t)(r->ns ? r->ns : 1) * 32, sizeof(tgmm_report_cell));
  if (!r->method || !sum || !r->cell) {
    free(sum);
    return TGMM_ENOMEM;
  }
  for (hsize_t i = 0; i < w->R; i++) {
    int s = w->setting[i], j = method_index(r, w->method[i]);
    if (s < 0 || s >= r->ns || j < 0) {
      tgmm_error("%s: row %llu: setting %d or method '%s' out of range", path,
                 (unsigned long long)i, s, w->method[i]);
      free(sum);
      return TGMM_EUSER;
    }
    tgmm_report_cell *cl = &r->cell[s * 32 + j];
    double *sm = sum + ((size_t)s * 32 + j) * TGMM_REPORT_NMETRIC * 2;
    for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
      double v = w->col[c][i];
      if (strcmp(w->status[i], "ok") || !isfinite(v)) {
        cl->n_other[c]++;
        continue;
      }
      cl->n_ok[c]++;
      sm[2 * c] += v, sm[2 * c + 1] += v * v;
    }
  }
  for (int a = 0; a < r->ns * 32; a++)
    for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
      tgmm_report_cell *cl = &r->cell[a];
      double s1 = sum[(size_t)a * TGMM_REPORT_NMETRIC * 2 + 2 * c];
      double s2 = sum[(size_t)a * TGMM_REPORT_NMETRIC * 2 + 2 * c + 1];
      int n = cl->n_ok[c];
      cl->mean[c] = n ? s1 / n : NAN;
      cl->sd[c] = n > 1 ? sqrt(fmax(0, (s2 - s1 * s1 / n) / (n - 1))) : NAN;
    }
  free(sum);
  return TGMM_OK;
}

/* Rows ordered by (setting, method, task): qsort's context through a file-local pointer is not
 * allowed (no globals), so the keys are packed next to the row index. */
typedef struct {
  int32_t s, j;
  int64_t task;
  size_t row;
} rowkey;

static int cmp_rowkey(const void *a, const void *b) {
  const rowkey *x = a, *y = b;
  if (x->s != y->s) return x->s < y->s ? -1 : 1;
  if (x->j != y->j) return x->j < y->j ? -1 : 1;
  return (x->task > y->task) - (x->task < y->task);
}

/* Each cell's vs_tgmm: the rows of method j and of tgmm in setting s joined on /task. */
static void pair_block(const rows *w, const rowkey *a, size_t na, const rowkey *b, size_t nb,
                       double *d, tgmm_report_cell *cl) {
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
    int n = 0;
    for (size_t p = 0, q = 0; p < na && q < nb;) {
      if (a[p].task != b[q].task) {
        a[p].task < b[q].task ? p++ : q++;
        continue;
      }
      size_t i = a[p++].row, k = b[q++].row; /* i: tgmm, k: the method */
      double x = w->col[c][i], y = w->col[c][k];
      if (!strcmp(w->status[i], "ok") && !strcmp(w->status[k], "ok") && isfinite(x) && isfinite(y))
        d[n++] = x - y;
    }
    tgmm_paired_summary(d, n, &cl->vs_tgmm[c]);
  }
}

static int pair(const rows *w, tgmm_report *r) {
  int t = -1;
  for (int j = 0; j < r->nm; j++)
    if (!strcmp(r->method[j], "tgmm")) t = j;
  if (!w->task || t < 0 || w->R == 0) return TGMM_OK;
  rowkey *k = tgmm_malloc(sizeof *k * (size_t)w->R);
  double *d = tgmm_malloc(sizeof *d * (size_t)w->R);
  if (!k || !d) {
    free(k), free(d);
    return TGMM_ENOMEM;
  }
  for (size_t i = 0; i < w->R; i++) {
    int j = 0;
    while (j < r->nm && strcmp(r->method[j], w->method[i])) j++;
    k[i] = (rowkey){w->setting[i], j, w->task[i], i};
  }
  qsort(k, (size_t)w->R, sizeof *k, cmp_rowkey);
  size_t *tb = tgmm_calloc(2 * (size_t)(w->S ? w->S : 1), sizeof *tb); /* tgmm's block per setting */
  if (!tb) {
    free(k), free(d);
    return TGMM_ENOMEM;
  }
  for (size_t lo = 0, hi; lo < w->R; lo = hi) { /* one block per (setting, method) */
    for (hi = lo; hi < w->R && k[hi].s == k[lo].s && k[hi].j == k[lo].j;) hi++;
    if (k[lo].j == t) tb[2 * k[lo].s] = lo, tb[2 * k[lo].s + 1] = hi;
  }
  for (size_t lo = 0, hi; lo < w->R; lo = hi) {
    for (hi = lo; hi < w->R && k[hi].s == k[lo].s && k[hi].j == k[lo].j;) hi++;
    size_t t0 = tb[2 * k[lo].s], t1 = tb[2 * k[lo].s + 1];
    if (k[lo].j != t && t1 > t0)
      pair_block(w, k + t0, t1 - t0, k + lo, hi - lo, d, &r->cell[k[lo].s * 32 + k[lo].j]);
  }
  free(tb);
  free(k), free(d);
  return TGMM_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Each cell's median of every metric over its ok, finite rows (NaN when it has none), so that a
 * few wild tasks cannot hide behind a mean. */
static int medians(const rows *w, tgmm_report *r) {
  for (int a = 0; a < r->ns * 32; a++)
    for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) r->cell[a].median[c] = NAN;
  if (w->R == 0) return TGMM_OK;
  rowkey *k = tgmm_malloc(sizeof *k * (size_t)w->R);
  double *v = tgmm_malloc(sizeof *v * (size_t)w->R);
  if (!k || !v) {
    free(k), free(v);
    return TGMM_ENOMEM;
  }
  for (size_t i = 0; i < w->R; i++) k[i] = (rowkey){w->setting[i], method_index(r, w->method[i]), 0, i};
  qsort(k, (size_t)w->R, sizeof *k, cmp_rowkey);
  for (size_t lo = 0, hi; lo < w->R; lo = hi) { /* one block per (setting, method) */
    for (hi = lo; hi < w->R && k[hi].s == k[lo].s && k[hi].j == k[lo].j;) hi++;
    for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
      size_t n = 0;
      for (size_t q = lo; q < hi; q++) {
        size_t i = k[q].row;
        if (!strcmp(w->status[i], "ok") && isfinite(w->col[c][i])) v[n++] = w->col[c][i];
      }
      if (!n) continue;
      qsort(v, n, sizeof *v, cmp_double);
      r->cell[k[lo].s * 32 + k[lo].j].median[c] = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    }
  }
  free(k), free(v);
  return TGMM_OK;
}

int tgmm_report_from_sums(tgmm_report *r, int ns, int nm, const char (*label)[512],
                          const char *const *methods, const double *sums) {
  memset(r, 0, sizeof *r);
  if (nm > 32) return TGMM_EUSER;
  r->ns = ns;
  r->nm = nm;
  r->label = tgmm_calloc((size_t)(ns ? ns : 1), 512);
  r->method = tgmm_calloc(32, 16);
  r->cell = tgmm_calloc((size_t)(ns ? ns : 1) * 32, sizeof(tgmm_report_cell));
  if (!r->label || !r->method || !r->cell) return TGMM_ENOMEM;
  for (int s = 0; s < ns; s++) memcpy(r->label[s], label[s], 512);
  for (int j = 0; j < nm; j++) snprintf(r->method[j], 16, "%s", methods[j]);
  for (int s = 0; s < ns; s++)
    for (int j = 0; j < nm; j++)
      for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
        const double *sm = sums + (((size_t)s * nm + j) * TGMM_REPORT_NMETRIC + c) * 4;
        tgmm_report_cell *cl = &r->cell[s * 32 + j];
        int n = (int)sm[0];
        cl->n_ok[c] = n;
        cl->n_other[c] = (int)sm[1];
        cl->mean[c] = n ? sm[2] / n : NAN;
        cl->sd[c] = n > 1 ? sqrt(fmax(0, (sm[3] - sm[2] * sm[2] / n) / (n - 1))) : NAN;
        cl->median[c] = NAN; /* sums carry no median: the report of the file has it */
      }
  return TGMM_OK;
}

int tgmm_report_load(const char *path, tgmm_report *r) {
  memset(r, 0, sizeof *r);
  hid_t f;
  TGMM_TRY(tgmm_h5_open_read(path, MPI_COMM_SELF, &f));
  rows w;
  memset(&w, 0, sizeof w);
  int rc = read_rows(f, path, &w, r);
  if (rc == TGMM_OK) rc = aggregate(&w, r, path);
  if (rc == TGMM_OK) rc = medians(&w, r);
  if (rc == TGMM_OK) rc = pair(&w, r);
  rows_free(&w);
  H5Fclose(f);
  return rc;
}

void tgmm_report_free(tgmm_report *r) {
  free(r->label), free(r->method), free(r->cell);
  memset(r, 0, sizeof *r);
}

int tgmm_report_has_metric(const tgmm_report *r, int c) {
  for (int a = 0; a < r->ns * 32; a++)
    if (r->cell[a].n_ok[c]) return 1;
  return 0;
}

void tgmm_report_markdown(const tgmm_report *r, const int *metrics, int nmetric, FILE *f) {
  for (int q = 0; q < nmetric; q++) {
    int c = metrics[q];
    fprintf(f, "\n%s (mean ± sd over tasks, then (median); [n] = tasks not ok or not finite)\n\n| setting |",
            tgmm_report_metric_name[c]);
    for (int j = 0; j < r->nm; j++) fprintf(f, " %s |", r->method[j]);
    fprintf(f, "\n|---|");
    for (int j = 0; j < r->nm; j++) fprintf(f, "---|");
    fprintf(f, "\n");
    for (int s = 0; s < r->ns; s++) {
      fprintf(f, "| %s |", r->label[s]);
      for (int j = 0; j < r->nm; j++) {
        const tgmm_report_cell *cl = tgmm_report_at(r, s, j);
        if (!cl->n_ok[c] || !isfinite(cl->mean[c])) fprintf(f, " n/a"); /* e.g. the parameter metrics of a label-head model */
        else if (!isfinite(cl->sd[c])) fprintf(f, " %.4g", cl->mean[c]);
        else fprintf(f, " %.4g ± %.2g", cl->mean[c], cl->sd[c]);
        if (cl->n_ok[c] && isfinite(cl->median[c])) fprintf(f, " (%.3g)", cl->median[c]);
        if (cl->n_other[c]) fprintf(f, " [%d]", cl->n_other[c]);
        fprintf(f, " |");
      }
      fprintf(f, "\n");
    }
  }
  fflush(f);
}

/* A grid value for display and for tables: "[3]" -> "3" (a one-element list). */
void tgmm_report_bare_value(const char *v, char *out, size_t n) {
  size_t len = strlen(v);
  if (len >= 2 && v[0] == '[' && v[len - 1] == ']' && !memchr(v, ',', len))
    snprintf(out, n, "%.*s", (int)(len - 2), v + 1);
  else
    snprintf(out, n, "%s", v);
}
