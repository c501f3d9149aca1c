/* report_rate.c — the misclustering-rate figure of `tgmm report` (He et al., arXiv 2502.06007):
 * PREFIX.rate.png (with PREFIX.rate.gp and PREFIX.rate.dat kept), drawn when a results file has
 * /delta (the task's smallest distance between two true means) and misclustering values.
 *
 * x: delta, in quantile bins (equal numbers of tasks: up to 10 bins of at least 20 distinct
 * tasks; a bin is drawn at the mean delta of its tasks); y: the mean misclustering rate of each
 * method's ok rows in the bin, on a log axis; every bin is drawn: a bin where the method has
 * tasks but misclusters no sample (rate 0) on the bottom edge of the axis, labelled 0, and a bin
 * without a task of the method as a gap in its line (both said in the key); beside them the
 * minimax rate exp(-delta^2/8) of Lu & Zhou for identity
 * covariance. EM's and Lloyd's truncated columns (em@c, lloyd@c) are shades of one colour, light
 * for few iterations; with both em and lloyd columns, EM and Lloyd get a panel each and tgmm,
 * spectral and the oracle appear in both. Several files (a merged report): every line is told
 * apart by its run's differing keys (tag); a baseline's lines of several runs become one only
 * when they are the same (runs that differ in the model alone evaluate the same tasks), never
 * pooled across runs whose tasks differ. Rank 0 only. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tgmm/common.h"
#include "tgmm/h5io.h"
#include "tgmm/out.h"
#include "tgmm/report.h"

#define RATE_MAXSER 64
#define RATE_MAXBIN 10
#define RATE_MINBIN 20 /* distinct tasks per bin at least */

typedef struct {
  int nser, nbin, nord;
  int order[RATE_MAXSER];   /* drawing order: tgmm lines, em@c, lloyd@c, the others */
  char name[RATE_MAXSER][160];
  char method[RATE_MAXSER][16];
  int hidden[RATE_MAXSER];  /* a baseline's line of another run, the same as a shown one */
  int run[RATE_MAXSER];     /* the file of a line (its dash pattern among a method's lines) */
  double s1[RATE_MAXSER][RATE_MAXBIN];
  int n[RATE_MAXSER][RATE_MAXBIN];
  double edge[RATE_MAXBIN]; /* lower edge of each bin */
  double x[RATE_MAXBIN];    /* mean delta of the bin's distinct tasks */
  double *dl;               /* [nd] the distinct deltas, sorted */
  int nd, cap;
} rate;

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* One file's rows: R, method [R,16], status [R,16], delta [R], misclustering [R]. */
typedef struct {
  hsize_t R;
  char *method, *status;
  double *delta, *mis;
} rate_rows;

static void rows_free(rate_rows *w) { free(w->method), free(w->status), free(w->delta), free(w->mis); }

/* TGMM_RATE_READ: read; 0: the file has no /delta (written before it); else an error code
 * (once 1 meant "read" and every error code, being positive, was taken for it: a damaged
 * /delta printed an error and the report exited 0). */
enum { TGMM_RATE_READ = -1 };
static int read_file(const char *path, rate_rows *w) {
  memset(w, 0, sizeof *w);
  hid_t f;
  TGMM_TRY(tgmm_h5_open_read(path, MPI_COMM_SELF, &f));
  if (!tgmm_h5_exists(f, "/delta")) {
    H5Fclose(f);
    return 0;
  }
  hsize_t d[1] = {0};
  int rc = tgmm_h5_dims(f, path, "/delta", 1, H5T_FLOAT, d);
  w->R = d[0];
  size_t n = (size_t)(w->R ? w->R : 1);
  w->method = tgmm_malloc(16 * n), w->status = tgmm_malloc(16 * n);
  w->delta = tgmm_malloc(sizeof(double) * n), w->mis = tgmm_malloc(sizeof(double) * n);
  if (rc == TGMM_OK && !(w->method && w->status && w->delta && w->mis)) rc = TGMM_ENOMEM;
  if (rc == TGMM_OK) rc = tgmm_h5_dims(f, path, "/misclustering", 1, H5T_FLOAT, d);
  if (rc == TGMM_OK && d[0] != w->R) {
    tgmm_error("%s: /delta has %llu rows, /misclustering %llu", path, (unsigned long long)w->R,
               (unsigned long long)d[0]);
    rc = TGMM_EUSER;
  }
  if (rc == TGMM_OK && w->R) rc = tgmm_h5_read(f, path, "/delta", H5T_NATIVE_DOUBLE, 1, &w->R, w->delta);
  if (rc == TGMM_OK && w->R)
    rc = tgmm_h5_read(f, path, "/misclustering", H5T_NATIVE_DOUBLE, 1, &w->R, w->mis);
  if (rc == TGMM_OK && w->R) rc = tgmm_h5_read_strings(f, path, "/method", w->R, 16, w->method);
  if (rc == TGMM_OK && w->R) rc = tgmm_h5_read_strings(f, path, "/status", w->R, 16, w->status);
  H5Fclose(f);
  return rc == TGMM_OK ? TGMM_RATE_READ : rc;
}

static int usable(const rate_rows *w, hsize_t i) {
  return !strcmp(w->status + 16 * i, "ok") && isfinite(w->delta[i]) && isfinite(w->mis[i]);
}

/* The distinct deltas of the usable rows (a task's rows share one delta). */
static int add_deltas(rate *q, const rate_rows *w) {
  for (hsize_t i = 0; i < w->R; i++) {
    if (!usable(w, i)) continue;
    if (q->nd == q->cap) {
      int cap = q->cap ? 2 * q->cap : 1024;
      double *t = realloc(q->dl, sizeof(double) * (size_t)cap);
      if (!t) return TGMM_ENOMEM;
      q->dl = t, q->cap = cap;
    }
    q->dl[q->nd++] = w->delta[i];
  }
  return TGMM_OK;
}

/* Quantile bins over the distinct deltas. */
static void make_bins(rate *q) {
  qsort(q->dl, (size_t)q->nd, sizeof(double), cmp_dbl);
  int u = 0;
  for (int i = 0; i < q->nd; i++)
    if (!u || q->dl[i] != q->dl[u - 1]) q->dl[u++] = q->dl[i];
  q->nd = u;
  q->nbin = u / RATE_MINBIN < RATE_MAXBIN ? u / RATE_MINBIN : RATE_MAXBIN;
  if (q->nbin < 1) q->nbin = 1;
  for (int b = 0; b < q->nbin; b++) {
    int i0 = (int)((long)b * u / q->nbin), i1 = (int)((long)(b + 1) * u / q->nbin);
    double s = 0;
    for (int i = i0; i < i1; i++) s += q->dl[i];
    q->edge[b] = q->dl[i0];
    q->x[b] = i1 > i0 ? s / (i1 - i0) : q->dl[i0];
  }
}

static int bin_of(const rate *q, double delta) {
  int b = 0;
  while (b + 1 < q->nbin && q->edge[b + 1] <= delta) b++;
  return b;
}

static int series_of(rate *q, const char *method, const char *tag, int run) {
  char name[160];
  if (tag && *tag) snprintf(name, sizeof name, "%.15s %s", method, tag);
  else snprintf(name, sizeof name, "%.15s", method);
  for (int s = 0; s < q->nser; s++)
    if (!strcmp(q->name[s], name)) return s;
  if (q->nser == RATE_MAXSER) return -1;
  snprintf(q->name[q->nser], sizeof q->name[0], "%s", name);
  snprintf(q->method[q->nser], sizeof q->method[0], "%.15s", method);
  q->run[q->nser] = run;
  return q->nser++;
}

static int same_data(const rate *q, int a, int b) {
  for (int k = 0; k < q->nbin; k++)
    if (q->n[a][k] != q->n[b][k] ||
        fabs(q->s1[a][k] - q->s1[b][k]) > 1e-9 * fmax(1, fabs(q->s1[a][k])))
      return 0;
  return 1;
}

/* A baseline's lines of several runs: one line under the method's name when all are the same
 * data, else each run's own. */
static void merge_same(rate *q) {
  for (int a = 0; a < q->nser; a++) {
    if (q->hidden[a] || !strncmp(q->method[a], "tgmm", 4) || !strcmp(q->name[a], q->method[a])) continue;
    int all = 1, cnt = 1;
    for (int b = a + 1; b < q->nser && all; b++)
      if (!strcmp(q->method[b], q->method[a])) all = same_data(q, a, b), cnt++;
    if (!all || cnt < 2) continue;
    for (int b = a + 1; b < q->nser; b++) q->hidden[b] |= !strcmp(q->method[b], q->method[a]);
    snprintf(q->name[a], sizeof q->name[a], "%s", q->method[a]);
  }
}

static void add_rows(rate *q, const rate_rows *w, const char *tag, int run) {
  for (hsize_t i = 0; i < w->R; i++) {
    if (!usable(w, i)) continue;
    int s = series_of(q, w->method + 16 * i, tag, run), b = bin_of(q, w->delta[i]);
    if (s < 0) continue;
    q->s1[s][b] += w->mis[i];
    q->n[s][b]++;
  }
}

static void series_style(const rate *q, int s, char *style, size_t n) {
  const char *names[RATE_MAXSER]; /* the shown lines */
  int at = 0;
  for (int t = 0; t < q->nord; t++) {
    names[t] = q->method[q->order[t]];
    if (q->order[t] == s) at = t;
  }
  char col[8];
  tgmm_report_method_colour(names, q->nord, at, col);
  const char *nm = q->method[s];
  if (tgmm_report_method_family(nm)) snprintf(style, n, "lw 2 pt 7 ps 0.9 lc rgb '%s' dt 1", col);
  else if (!strncmp(nm, "tgmm", 4)) snprintf(style, n, "lw 3 pt 5 ps 1.1 lc rgb '%s' dt 1", col);
  else if (!strcmp(nm, "oracle")) /* grey for every run: told apart by dashes and markers */
    snprintf(style, n, "lw 2 pt %d ps 1.0 lc rgb '%s' dt %d", 9 - q->run[s] % 3, col, 2 + 3 * (q->run[s] % 2));
  else snprintf(style, n, "lw 2 pt 11 ps 1.0 lc rgb '%s' dt 4", col);
}

static int group(const char *name) {
  int f = tgmm_report_method_family(name);
  return !strncmp(name, "tgmm", 4) ? 0 : f ? f : 3;
}

static void make_order(rate *q) {
  int n = 0;
  for (int gr = 0; gr < 4; gr++)
    for (int s = 0; s < q->nser; s++)
      if (!q->hidden[s] && group(q->method[s]) == gr) q->order[n++] = s;
  q->nord = n;
}

static int write_dat(const rate *q, const char *dat) {
  tgmm_out o;
  FILE *d = tgmm_out_text(&o, dat);
  if (!d) return TGMM_EUSER;
  fprintf(d, "# misclustering rate against delta (smallest distance between two true means), "
             "in %d quantile bins of the distinct tasks' delta\n# one block per method (gnuplot "
             "'index'): mean delta of the bin, mean misclustering ('?': no row of the method in "
             "the bin), rows, lower edge of the bin\n", q->nbin);
  for (int i = 0; i < q->nord; i++) {
    int s = q->order[i];
    fprintf(d, "%s# %s\n", i ? "\n\n" : "", q->name[s]);
    for (int b = 0; b < q->nbin; b++) {
      if (q->n[s][b])
        fprintf(d, "%.9g %.9g %d %.17g\n", q->x[b], q->s1[s][b] / q->n[s][b], q->n[s][b], q->edge[b]);
      else fprintf(d, "%.9g ? 0 %.17g\n", q->x[b], q->edge[b]);
    }
  }
  return tgmm_out_commit(&o);
}

/* Panel p (0: all, or EM with both families; 1: Lloyd) shows series s? */
static int in_panel(const rate *q, int s, int p, int split) {
  int f = tgmm_report_method_family(q->method[s]);
  return !split || f == 0 || f == p + 1;
}

/* Whether a shown line has a bin at rate 0 (zero) or a bin without its tasks (gap). */
static void zeros_gaps(const rate *q, int *zero, int *gap) {
  *zero = *gap = 0;
  for (int i = 0; i < q->nord; i++)
    for (int b = 0; b < q->nbin; b++) {
      int s = q->order[i];
      *gap |= !q->n[s][b];
      *zero |= q->n[s][b] && !(q->s1[s][b] > 0);
    }
}

static int write_gp(const rate *q, const char *gp, const char *dat, const char *png,
                    const char *subtitle) {
  int has_em = 0, has_ll = 0, zero, gap;
  double lo = 1, x0 = q->x[0], x1 = q->x[q->nbin - 1];
  for (int i = 0; i < q->nord; i++) {
    int s = q->order[i], f = tgmm_report_method_family(q->method[s]);
    has_em |= f == 1, has_ll |= f == 2;
    for (int b = 0; b < q->nbin; b++)
      if (q->n[s][b] && q->s1[s][b] > 0) lo = fmin(lo, q->s1[s][b] / q->n[s][b]);
  }
  zeros_gaps(q, &zero, &gap);
  int split = has_em && has_ll, np = split ? 2 : 1;
  lo = fmax(lo / 3, 1e-6); /* the bottom edge, where a rate 0 is drawn (labelled 0) */
  double pad = x1 > x0 ? 0.04 * (x1 - x0) : 0.5;
  tgmm_out o;
  FILE *g = tgmm_out_text(&o, gp);
  if (!g) return TGMM_EUSER;
  fprintf(g, "# misclustering rate against delta; rerun with: gnuplot ");
  tgmm_report_gp_comment(g, gp);
  fprintf(g, "\n");
  fprintf(g, "set terminal pngcairo size %d,820 noenhanced font 'sans,11'\nif (!exists('out')) out = ",
          split ? 1600 : 950);
  tgmm_report_gp_quote(g, png);
  fprintf(g, "\nset output out\nset datafile missing '?'\nset grid\nset logscale y\n"
             "set format y '%%g'\nset yrange [%.6g:1]\nset ytics add ('0' %.6g)\n"
             "set xrange [%.6g:%.6g]\n"
             "set xlabel 'delta = smallest distance between two true means (%d quantile bins)'\n"
             "set ylabel 'misclustering rate (mean over tasks)'\n"
             "set key outside below center horizontal box samplen 3 width 1 font ',10' maxrows 5\n"
             "set bmargin 12\nset xlabel offset 0,0.3\n"
             "minimax(x) = exp(-x*x/8)\n", lo, lo, x0 - pad, x1 + pad, q->nbin);
  if (zero || gap) { /* what a point on the bottom edge and a gap in a line mean */
    char note[256];
    snprintf(note, sizeof note, "%s%s%s",
             zero ? "on the bottom edge (0): rate 0, no sample of the tasks in the bin misclustered" : "",
             zero && gap ? "; " : "", gap ? "a gap: no task of the method in the bin" : "");
    char xl[400];
    snprintf(xl, sizeof xl, "delta = smallest distance between two true means (%d quantile bins)\n%s",
             q->nbin, note);
    fprintf(g, "set xlabel ");
    tgmm_report_gp_quote(g, xl);
    fprintf(g, "\n");
  }
  char title[1024];
  snprintf(title, sizeof title, "Misclustering rate against separation%s%s",
           subtitle && *subtitle ? " — " : "", subtitle ? subtitle : "");
  if (split) {
    fprintf(g, "set multiplot layout 1,2 title ");
    tgmm_report_gp_quote(g, title);
    fprintf(g, "\n");
  }
  for (int p = 0; p < np; p++) {
    fprintf(g, "set title ");
    tgmm_report_gp_quote(g, split ? (p == 0 ? "EM by iterations" : "Lloyd by iterations") : title);
    fprintf(g, "\nplot ");
    for (int i = 0; i < q->nord; i++) {
      int s = q->order[i];
      if (!in_panel(q, s, p, split)) continue;
      char style[160];
      series_style(q, s, style, sizeof style);
      tgmm_report_gp_quote(g, dat);
      /* a rate 0 on the bottom edge; '?' (no task) undefined: a gap in the line */
      fprintf(g, " index %d using 1:($2 > %.6g ? $2 : %.6g) with linespoints %s title ", i, lo, lo, style);
      tgmm_report_gp_quote(g, q->name[s]);
      fprintf(g, ", \\\n     ");
    }
    fprintf(g, "minimax(x) with lines lw 2 dt 3 lc rgb '#d7301f' title "
               "'minimax rate exp(-delta^2/8)'\n");
  }
  if (split) fprintf(g, "unset multiplot\n");
  return tgmm_out_commit(&o);
}

int tgmm_report_rate_plot(int nfile, const char *const *paths, const char *const *tags,
                          const char *prefix, const char *subtitle, int *made) {
  *made = 0;
  rate *q = tgmm_calloc(1, sizeof *q);
  rate_rows *w = tgmm_calloc((size_t)(nfile ? nfile : 1), sizeof *w);
  int *has = tgmm_calloc((size_t)(nfile ? nfile : 1), sizeof(int));
  int rc = q && w && has ? TGMM_OK : TGMM_ENOMEM, any = 0;
  for (int f = 0; f < nfile && rc == TGMM_OK; f++) {
    int r = read_file(paths[f], &w[f]);
    if (r != 0 && r != TGMM_RATE_READ) rc = r; /* an error code (all positive) */
    else has[f] = r == TGMM_RATE_READ;
    if (r == TGMM_RATE_READ) rc = add_deltas(q, &w[f]);
  }
  if (rc == TGMM_OK && q->nd > 0) {
    make_bins(q);
    for (int f = 0; f < nfile; f++)
      if (has[f]) add_rows(q, &w[f], tags ? tags[f] : NULL, f);
    merge_same(q);
    make_order(q);
    any = 1;
  }
  if (rc == TGMM_OK && any && tgmm_report_has_gnuplot()) {
    char dat[4200], gp[4200], png[4200];
    snprintf(dat, sizeof dat, "%s.rate.dat", prefix);
    snprintf(gp, sizeof gp, "%s.rate.gp", prefix);
    snprintf(png, sizeof png, "%s.rate.png", prefix);
    rc = write_dat(q, dat);
    if (rc == TGMM_OK) rc = write_gp(q, gp, dat, png, subtitle);
    if (rc == TGMM_OK) rc = tgmm_report_gnuplot(gp, png);
    *made = rc == TGMM_OK;
  }
  for (int f = 0; w && f < nfile; f++) rows_free(&w[f]);
  if (q) free(q->dl);
  free(q), free(w), free(has);
  return rc;
}
