/* report_rows.c — `tgmm report ... --rows ROWS.csv`: every row of every results file of a merged
 * report in one CSV for pandas (run, file, setting, task, method, status, the metrics, delta, the
 * grid keys and the runs' differing keys as columns). Rank 0 only. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_impl.h"
#include "tgmm/common.h"
#include "tgmm/h5io.h"
#include "tgmm/out.h"

static void csv_str(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* One file's rows into the CSV. */
static int rows_of(const runset *rs, int r, const tgmm_report_keys *k, char (*gk)[64], int ng,
                   FILE *out) {
  const run *u = &rs->runs[r];
  hid_t f;
  TGMM_TRY(tgmm_h5_open_read(u->path, MPI_COMM_SELF, &f));
  hsize_t d[1] = {0};
  int rc = tgmm_h5_dims(f, u->path, "/setting", 1, H5T_INTEGER, d);
  hsize_t R = d[0];
  size_t n = (size_t)(R ? R : 1);
  int32_t *set = tgmm_malloc(n * sizeof(int32_t));
  int64_t *task = tgmm_malloc(n * sizeof(int64_t));
  char *meth = tgmm_malloc(n * 16), *st = tgmm_malloc(n * 16);
  double *col[TGMM_REPORT_NMETRIC] = {0}, *delta = tgmm_malloc(n * sizeof(double));
  int ok = set && task && meth && st && delta;
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) ok = (col[c] = tgmm_malloc(n * sizeof(double))) && ok;
  if (!ok) rc = TGMM_ENOMEM;
  if (rc == TGMM_OK && R) rc = tgmm_h5_read(f, u->path, "/setting", H5T_NATIVE_INT32, 1, &R, set);
  int has_task = tgmm_h5_exists(f, "/task");
  if (rc == TGMM_OK && R && has_task) rc = tgmm_h5_read(f, u->path, "/task", H5T_NATIVE_INT64, 1, &R, task);
  if (rc == TGMM_OK && R) rc = tgmm_h5_read_strings(f, u->path, "/method", R, 16, meth);
  if (rc == TGMM_OK && R) rc = tgmm_h5_read_strings(f, u->path, "/status", R, 16, st);
  for (int c = 0; c < TGMM_REPORT_NMETRIC && rc == TGMM_OK && R; c++) {
    char name[64];
    snprintf(name, sizeof name, "/%s", tgmm_report_metric_name[c]);
    if (c == 6 && !tgmm_h5_exists(f, name)) /* a file written before l2_scales */
      for (hsize_t i = 0; i < R; i++) col[c][i] = NAN;
    else
      rc = tgmm_h5_read(f, u->path, name, H5T_NATIVE_DOUBLE, 1, &R, col[c]);
  }
  if (rc == TGMM_OK && R && tgmm_h5_exists(f, "/delta"))
    rc = tgmm_h5_read(f, u->path, "/delta", H5T_NATIVE_DOUBLE, 1, &R, delta);
  else if (delta) /* a file written before /delta */
    for (hsize_t i = 0; i < R; i++) delta[i] = NAN;
  H5Fclose(f);
  int gidx[64];
  for (int g = 0; g < ng; g++) {
    gidx[g] = -1;
    for (int j = 0; j < k->nkey; j++)
      if (!strcmp(k->key[j], gk[g])) gidx[g] = j;
  }
  for (hsize_t i = 0; i < R && rc == TGMM_OK; i++) {
    int s = set[i];
    if (s < 0 || s >= u->r.ns) {
      tgmm_error("%s: row %llu: setting %d out of range", u->path, (unsigned long long)i, s);
      rc = TGMM_EUSER;
      break;
    }
    fprintf(out, "%d,", r);
    csv_str(out, u->path);
    fprintf(out, ",%d,%lld,%.16s,%.16s", s, has_task ? (long long)task[i] : (long long)i,
            meth + 16 * i, st + 16 * i);
    for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) {
      if (isfinite(col[c][i])) fprintf(out, ",%.17g", col[c][i]);
      else fprintf(out, ",");
    }
    if (isfinite(delta[i])) fprintf(out, ",%.17g", delta[i]);
    else fprintf(out, ",");
    for (int g = 0; g < ng; g++) {
      fputc(',', out);
      if (gidx[g] >= 0) csv_str(out, k->val[s][gidx[g]]);
    }
    for (int q = 0; q < rs->ndiff; q++) fputc(',', out), csv_str(out, rs->dval[r][q]);
    fputc('\n', out);
  }
  free(set), free(task), free(meth), free(st), free(delta);
  for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) free(col[c]);
  return rc;
}

/* --rows: one line per (run, setting, task, method); columns named plainly for pandas (delta:
 * the task's /delta, empty when NaN or for a file written before it). */
int tgmm_runs_write_rows(const runset *rs, const char *path) {
  tgmm_report_keys *k = tgmm_calloc((size_t)rs->n, sizeof *k);
  char gk[64][64];
  int ng = 0, rc = k ? TGMM_OK : TGMM_ENOMEM;
  for (int r = 0; r < rs->n && rc == TGMM_OK; r++) {
    rc = tgmm_report_keys_parse(&rs->runs[r].r, &k[r]);
    for (int g = 0; rc == TGMM_OK && g < k[r].nkey; g++) {
      int j = 0;
      while (j < ng && strcmp(gk[j], k[r].key[g])) j++;
      if (j == ng && ng < 64) snprintf(gk[ng++], 64, "%s", k[r].key[g]);
    }
  }
  tgmm_out o;
  FILE *f = rc == TGMM_OK ? tgmm_out_text(&o, path) : NULL;
  if (rc == TGMM_OK && !f) rc = TGMM_EUSER;
  if (rc == TGMM_OK) {
    fprintf(f, "run,file,setting,task,method,status");
    for (int c = 0; c < TGMM_REPORT_NMETRIC; c++) fprintf(f, ",%s", tgmm_report_metric_name[c]);
    fprintf(f, ",delta");
    for (int g = 0; g < ng; g++) fputc(',', f), csv_str(f, gk[g]);
    for (int q = 0; q < rs->ndiff; q++) fputc(',', f), csv_str(f, rs->dcol[q]);
    fputc('\n', f);
    for (int r = 0; r < rs->n && rc == TGMM_OK; r++) rc = rows_of(rs, r, &k[r], gk, ng, f);
    if (rc == TGMM_OK) rc = tgmm_out_commit(&o);
    else tgmm_out_abort(&o);
  }
  for (int r = 0; k && r < rs->n; r++) tgmm_report_keys_free(&k[r]);
  free(k);
  if (rc == TGMM_OK) tgmm_info("report: wrote %s (every row, for pandas.read_csv)", path);
  return rc;
}

